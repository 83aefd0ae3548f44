// gvirtus-bench-serve: how close a worker whose handlers are the bottleneck comes to their own
// rate, per transport, on the CPU (no GPU, no backend process). One client thread sends
// requests without waiting, as one thread's kernel launches go, and the worker's connection
// thread carries each out in `handler_ns` of busy work (about what cudaLaunchKernel costs the
// worker, 3-4 us on the H200), then a Ping that waits closes the batch. The client is the
// real one (its gathered sends over sockets, frontend/core/send_queue.h), the worker the real
// serve loop (backend/serve.cc), over a Unix socket pair, loopback TCP and an shm: pair.
//   gvirtus-bench-serve [HANDLER_NS [REQUESTS [ROUNDS]]]
// Prints the handler's own rate (alone in a loop) and, per transport,
// "serve_<transport>_per_s VALUE requests/s" and its share of that rate, best of ROUNDS. A share well below the others' says
// the transport costs the worker's thread time of its own (docs/profiling.md).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/dispatch.h"
#include "backend/worker.h"
#include "common/transport.h"
#include "common/transport_shm.h"
#include "common/wire.h"
#include "frontend/core/session.h"

namespace {

using namespace gvirtus;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kBenchCall = 60;  // an id of the worker's own range (1-99) no call uses
long g_handler_ns = 3200;
// GVIRTUS_BENCH_SERVE_TOUCH_KB: the handler also reads this many KiB of its own table (a cache
// line each), as a driver's launch path walks its structures: a transport that evicts them
// (system calls, its buffers) then slows the handler down, which a pure busy loop never shows.
std::vector<uint8_t> g_table;

void work() {
  unsigned sum = 0;
  for (size_t i = 0; i < g_table.size(); i += 64) sum += g_table[i];
  const auto until = Clock::now() + std::chrono::nanoseconds(g_handler_ns);
  while (Clock::now() < until) {
  }
  if (sum == 0xffffffffu) std::abort();  // keeps the reads
}

void busy_handler(backend::CallContext&) { work(); }

// The handler's own rate, on this thread, with nothing else going on.
double own_rate() {
  const int n = 20000;
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) work();
  return n / std::chrono::duration<double>(Clock::now() - t0).count();
}

const backend::HandlerEntry kEntries[] = {{kBenchCall, "BenchBusy", &busy_handler}};

const backend::Registry& registry() {
  static const backend::Registry* r = [] {
    auto* reg = new backend::Registry();
    backend::register_core_plugin(*reg);
    reg->add_plugin("bench-serve", kEntries, 1);
    return reg;
  }();
  return *r;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gvirtus-bench-serve: %s\n", what.c_str());
  std::exit(1);
}

// The worker's end: answers the Hello with a Welcome, then serves the connection.
void serve(std::unique_ptr<Stream> s) {
  wire::FrameHeader h;
  if (!recv_header(*s, wire::kMaxPayload, &h)) return;
  std::vector<uint8_t> hello(h.length);
  if (h.length && !s->recv(hello.data(), h.length)) return;
  wire::Writer body;
  wire::Welcome welcome;
  welcome.connection_id = 0;  // the primary
  wire::encode_welcome(welcome, body);
  wire::FrameHeader w;
  w.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
  struct iovec iov = {const_cast<uint8_t*>(body.data()), body.size()};
  if (!send_frame(*s, w, &iov, 1)) return;
  backend::Session session(backend::ClientInfo{}, backend::SessionOptions{false});
  backend::ConnState conn(session, 1);
  backend::serve_connection(session, conn, *s, registry());
  session.conn_closed(conn);
}

// A free loopback TCP port (the kernel's pick; free again when this returns).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// A loopback TCP pair.
Status tcp_pair(std::unique_ptr<Stream>* client, std::unique_ptr<Stream>* server) {
  Endpoint ep;
  Status st = parse_endpoint("tcp://127.0.0.1:" + std::to_string(free_port()), &ep);
  if (!st) return st;
  std::unique_ptr<Listener> l;
  if (!(st = listen_on(ep, &l))) return st;
  auto accepted = std::async(std::launch::async, [&] {
    std::unique_ptr<Stream> s;
    Status r = l->accept(&s);
    *server = std::move(s);
    return r;
  });
  if (!(st = connect_stream(ep, client))) return st;
  return accepted.get();
}

// One transport: the best rate of `rounds` batches of `n` requests.
double measure(const char* name, int n, int rounds) {
  std::unique_ptr<Stream> client_end, server_end;
  Status st;
  if (std::strcmp(name, "unix") == 0) st = stream_pair(&client_end, &server_end);
  else if (std::strcmp(name, "tcp") == 0) st = tcp_pair(&client_end, &server_end);
  else st = shm_stream_pair(&server_end, &client_end);
  if (!st) die(std::string(name) + ": " + st.message());
  std::thread worker(serve, std::move(server_end));

  client::SessionOptions o;
  Stream* handed = client_end.release();
  o.connect = [handed](std::unique_ptr<Stream>* out, std::string* where) mutable {
    if (!handed) return Status(Code::kDisconnected, "one connection only");
    *where = "bench";
    out->reset(handed);
    handed = nullptr;
    return Status::ok();
  };
  std::memset(o.identity.token, 0x5a, sizeof o.identity.token);
  o.identity.program = "gvirtus-bench-serve";
  o.print_loss = false;
  double best = 0;
  {
    client::Session session(std::move(o));
    client::Connection* c = session.connection();
    if (!c) die(std::string(name) + ": no connection: " + session.error());
    uint8_t args[80] = {};  // about a small kernel's launch request
    struct iovec iov = {args, sizeof args};
    for (int r = 0; r < rounds; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) {
        uint64_t id = 0;
        if (!c->send_request(kBenchCall, wire::kFlagNoReply, &iov, 1, &id))
          die(std::string(name) + ": send: " + session.error());
      }
      uint64_t id = 0;
      wire::FrameHeader h;
      if (!c->send_request(client::kCallPing, 0, nullptr, 0, &id) ||
          !c->recv_reply_header(id, &h) || h.status != 0)
        die(std::string(name) + ": ping: " + session.error());
      const double rate = n / std::chrono::duration<double>(Clock::now() - t0).count();
      if (rate > best) best = rate;
    }
  }  // the session says goodbye: the worker's loop ends
  worker.join();
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_handler_ns = std::atol(argv[1]);
  const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  if (g_handler_ns < 0 || n <= 0 || rounds <= 0)
    die("usage: gvirtus-bench-serve [HANDLER_NS [REQUESTS [ROUNDS]]]");
  if (const char* kb = std::getenv("GVIRTUS_BENCH_SERVE_TOUCH_KB"))
    g_table.assign(static_cast<size_t>(std::atol(kb)) << 10, 1);
  const double ideal = g_handler_ns > 0 || !g_table.empty() ? own_rate() : 0;
  if (ideal > 0) std::printf("serve_handler_alone_per_s %.4g requests/s\n", ideal);
  for (const char* t : {"unix", "tcp", "shm"}) {
    const double rate = measure(t, n, rounds);
    std::printf("serve_%s_per_s %.4g requests/s", t, rate);
    if (ideal > 0) std::printf(" (%.2f of the handler's own rate)", rate / ideal);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
