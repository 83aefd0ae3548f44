// gvirtus-bench-launch: what the client spends on one kernel launch sent without waiting (the
// check that the worker will accept it, packing the arguments, the request frame), measured on
// the CPU: the session's connections are streams that only count the bytes sent, so no backend
// and no GPU take part. Google Benchmark; run with --benchmark_filter=... as usual.
//   BM_LaunchCheck          launch_surely_accepted, the limits kept in the kernel's record
//   BM_LaunchCheckKeyedMap  the same lookup the way it was made before (a string key built per
//                           launch, then the process-wide answers map under its lock), for
//                           comparison
//   BM_LaunchNoReply        the whole client side of a <<<>>> launch (launch_kernel)
// Each from 1 and 4 threads (the 4-thread figures are per thread's launch).
// GVIRTUS_BENCH_LAUNCH_SOCKET=1 sends over Unix socket pairs instead (over_socket below).
#include <benchmark/benchmark.h>
#include <poll.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/transport.h"
#include "common/transport_memory.h"
#include "common/wire.h"
#include "frontend/core/answers.h"
#include "frontend/core/session.h"
#include "frontend/cudart/launch_check.h"
#include "frontend/cudart/modules.h"

namespace {

using namespace gvirtus;

// A Welcome frame: what each connection of the session reads once; the rest of its input is
// never read, because launches sent without waiting get no reply.
const std::vector<uint8_t>& welcome_frame() {
  static const std::vector<uint8_t> frame = [] {
    wire::Writer body;
    wire::encode_welcome(wire::Welcome{}, body);
    wire::FrameHeader h;
    h.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
    h.length = static_cast<uint32_t>(body.size());
    std::vector<uint8_t> f(wire::kHeaderSize);
    wire::encode_header(h, f.data());
    f.insert(f.end(), body.data(), body.data() + body.size());
    return f;
  }();
  return frame;
}

// GVIRTUS_BENCH_LAUNCH_SOCKET=1: each connection is a Unix socket pair whose other end a thread
// reads and drops, so a launch takes the path of a socket connection (the gathered sends of
// frontend/core/send_queue.h and their thread), not a stream that only counts.
bool over_socket() {
  const char* v = std::getenv("GVIRTUS_BENCH_LAUNCH_SOCKET");
  return v && std::strcmp(v, "1") == 0;
}

Status socket_connection(std::unique_ptr<Stream>* out) {
  std::unique_ptr<Stream> far;
  Status st = stream_pair(out, &far);
  if (!st) return st;
  std::thread([far = std::move(far)]() mutable {
    const auto& f = welcome_frame();
    struct iovec v = {const_cast<uint8_t*>(f.data()), f.size()};
    if (!far->send(&v, 1)) return;
    std::vector<uint8_t> sink(1 << 16);
    while (far->recv_nowait(sink.data(), sink.size()) != 0) {
      struct pollfd p = {far->fd(), POLLIN, 0};
      ::poll(&p, 1, 100);
    }
  }).detach();
  return Status::ok();
}

client::Session& bench_session() {
  static client::Session* s = [] {
    client::SessionOptions o;
    o.connect = [](std::unique_ptr<Stream>* out, std::string* where) {
      if (over_socket()) {
        *where = "socketpair";
        return socket_connection(out);
      }
      *where = "memory";
      const auto& f = welcome_frame();
      *out = std::make_unique<MemoryStream>(f.data(), f.size());
      return Status::ok();
    };
    std::memset(o.identity.token, 0x5a, sizeof o.identity.token);
    o.identity.program = "gvirtus-bench-launch";
    o.plugins = {"cudart"};
    o.print_loss = false;
    auto* made = new client::Session(std::move(o));
    client::swap_session_for_testing(made);
    return made;
  }();
  return *s;
}

constexpr cudart::LaunchLimits kLimits = {{2147483647, 65535, 65535}, {1024, 1024, 64}, 1024,
                                          49152};

// A resolved kernel of two parameters (a pointer and an int), its limits kept for device 0.
cudart::Kernel& kernel() {
  static cudart::Kernel* k = [] {
    auto* made = new cudart::Kernel;
    made->kernel_id = (uint64_t{4} << 56) | 1;
    if (!cudart::make_layout({{0, 8}, {8, 4}}, &made->layout).is_ok()) std::abort();
    made->resolved.store(true);
    auto* kept = new cudart::LaunchLimitsCache;
    kept->put(0, client::answers_generation(), kLimits);
    made->limits.store(kept);
    return made;
  }();
  return *k;
}

void per_thread_setup() {
  bench_session();
  client::remember_current_device(0);
  if (!client::connection()) std::abort();
}

void BM_LaunchCheck(benchmark::State& state) {
  per_thread_setup();
  cudart::Kernel& k = kernel();
  for (auto _ : state) {
    bool ok = cudart::launch_surely_accepted(&k, dim3(256), dim3(128), 0);
    benchmark::DoNotOptimize(ok);
  }
  if (!cudart::launch_surely_accepted(&k, dim3(256), dim3(128), 0))
    state.SkipWithError("the kept limits were not used");
}
BENCHMARK(BM_LaunchCheck)->Threads(1)->Threads(4);

// The former lookup: "func:limits:<device>:<kernel id>" built per launch, then the answers map.
void BM_LaunchCheckKeyedMap(benchmark::State& state) {
  per_thread_setup();
  const uint64_t kid = kernel().kernel_id;
  char key[64];
  std::snprintf(key, sizeof key, "func:limits:%d:%llu", 0, static_cast<unsigned long long>(kid));
  client::remember_answer(key, &kLimits, sizeof kLimits);
  for (auto _ : state) {
    int device = 0;
    cudart::LaunchLimits l;
    char buf[64];
    bool ok = client::recall_current_device(&device);
    std::snprintf(buf, sizeof buf, "func:limits:%d:%llu", device,
                  static_cast<unsigned long long>(kid));
    ok = ok && client::recall_answer(std::string(buf), &l, sizeof l);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(l);
  }
}
BENCHMARK(BM_LaunchCheckKeyedMap)->Threads(1)->Threads(4);

void BM_LaunchNoReply(benchmark::State& state) {
  per_thread_setup();
  cudart::Kernel& k = kernel();
  int value = 7;
  void* ptr = nullptr;
  void* args[] = {&ptr, &value};
  for (auto _ : state) {
    cudaError_t e = cudart::launch_kernel(&k, dim3(256), dim3(128), args, 0, nullptr, false);
    if (e != cudaSuccess) {
      state.SkipWithError("launch failed");
      break;
    }
  }
  if (client::connection()->unanswered() == 0) state.SkipWithError("nothing went out NoReply");
}
BENCHMARK(BM_LaunchNoReply)->Threads(1)->Threads(4);

}  // namespace

BENCHMARK_MAIN();
