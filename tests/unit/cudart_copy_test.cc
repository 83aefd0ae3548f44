// libcudart's copy engine and kernel path end to end in one process: the client code talks to
// the backend's real serve loop, whose handler table has fake-device handlers for the copy,
// module and launch calls (a byte array stands for device memory). Checks the bytes that land,
// the chunking, the NoReply pattern, 2D packing, error draining and the launch payload.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/digest.h"
#include "cuda_calls.h"
#include "cudart_calls.h"
#include "fake_backend.h"
#include "fatbin_builder.h"
#include "frontend/core/answers.h"
#include "frontend/cudart/batch_copy.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/managed_var_table.h"
#include "frontend/cudart/graph_wire.h"
#include "frontend/cudart/launch_check.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"
#include "frontend/cudart/modules.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;

constexpr uint64_t kDevBase = 0x7e0000000000ull;
// Managed allocations of the fake device live here (the client maps host pages at the same
// addresses in this process, so they must be free: far from kDevBase's tracked range).
constexpr uint64_t kManagedBase = kDevBase + (uint64_t{1} << 39);

// The fake device and what the fake handlers saw. One per test (reset by the fixture).
struct FakeDevice {
  std::mutex mu;
  std::vector<uint8_t> mem;
  uint64_t limit = 0;       // accesses reaching past kDevBase + limit fail
  uint64_t fail_below = 0;  // accesses starting below kDevBase + fail_below fail
  std::vector<std::pair<uint32_t, uint16_t>> calls;  // call id, flags
  std::vector<uint64_t> streams;
  std::vector<uint8_t> module;  // the last module uploaded
  int modules_loaded = 0;
  // kModuleTargets: answered only when set (else "no device", as a machine without a GPU).
  bool targets_known = false;
  bool cache_enabled = false;
  std::vector<std::pair<int32_t, int32_t>> targets;
  std::map<std::string, std::vector<uint8_t>> cache;  // by hex digest, the modules uploaded
  int cache_hits = 0;
  std::string kernel_name;
  std::vector<uint8_t> launch_args;
  std::vector<cudaLaunchAttribute> launch_attrs;  // of the last cudaLaunchKernelExC
  uint64_t launch_stream = 0;
  dim3 launch_grid, launch_block;
  int32_t sticky = 0;  // what gvStickyError answers
  int sticky_checks = 0;
  int32_t context = 0;  // what gvContextCheck answers
  std::vector<uint8_t> managed;          // device bytes at kManagedBase
  std::vector<uint64_t> managed_next;    // addresses gvManagedAlloc hands out, in order
  uint64_t var_address = 0;              // what gvManagedVarGet answers
  std::vector<uint64_t> managed_freed;   // what gvManagedFree was given
  int syncs = 0;                         // cudaDeviceSynchronize calls
};
FakeDevice* g_dev = nullptr;

void note(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->calls.push_back({ctx.header.call_id, ctx.header.flags});
}

// Device bytes [addr, addr+n) or nullptr if outside the fake device.
uint8_t* dev(uint64_t addr, uint64_t n) {
  if (addr >= kManagedBase) {
    uint64_t off = addr - kManagedBase;
    if (off > g_dev->managed.size() || n > g_dev->managed.size() - off) return nullptr;
    return g_dev->managed.data() + off;
  }
  if (addr < kDevBase + g_dev->fail_below || addr - kDevBase > g_dev->limit ||
      n > g_dev->limit - (addr - kDevBase))
    return nullptr;
  return g_dev->mem.data() + (addr - kDevBase);
}

struct ChunkFields {
  uint64_t dev, pitch, width, rows, stream;
};
ChunkFields read_chunk(be::CallContext& ctx) {
  ChunkFields c;
  c.dev = ctx.in.get<uint64_t>();
  c.pitch = ctx.in.get<uint64_t>();
  c.width = ctx.in.get<uint64_t>();
  c.rows = ctx.in.get<uint64_t>();
  c.stream = ctx.in.get<uint64_t>();
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->streams.push_back(c.stream);
  return c;
}

void fake_h2d(be::CallContext& ctx) {
  note(ctx);
  ChunkFields c = read_chunk(ctx);
  if (ctx.in.remaining() != c.width * c.rows) throw be::SessionFault("size");
  const uint8_t* src = ctx.in.get_bytes(c.width * c.rows);
  for (uint64_t r = 0; r < c.rows; ++r) {
    uint8_t* d = dev(c.dev + r * c.pitch, c.width);
    if (!d) {
      ctx.status = cudaErrorInvalidValue;
      return;
    }
    std::memcpy(d, src + r * c.width, c.width);
  }
}

void fake_d2h(be::CallContext& ctx) {
  note(ctx);
  ChunkFields c = read_chunk(ctx);
  ctx.in.expect_end();
  uint8_t* buf = ctx.conn.d2h_buffer(c.width * c.rows);
  for (uint64_t r = 0; r < c.rows; ++r) {
    uint8_t* s = dev(c.dev + r * c.pitch, c.width);
    if (!s) {
      ctx.status = cudaErrorInvalidValue;
      return;
    }
    std::memcpy(buf + r * c.width, s, c.width);
  }
  ctx.bulk = buf;
  ctx.bulk_len = c.width * c.rows;
}

void fake_d2d(be::CallContext& ctx) {
  note(ctx);
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.get<uint64_t>();
  if (ctx.header.call_id == cr::kCall_cudaMemcpyAsync) {
    std::lock_guard<std::mutex> g(g_dev->mu);
    g_dev->streams.push_back(ctx.in.get<uint64_t>());
  }
  ctx.in.expect_end();
  uint8_t* d = dev(dst, n);
  uint8_t* s = dev(src, n);
  if (!d || !s) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  std::memmove(d, s, n);
}

void fake_module(be::CallContext& ctx) {
  note(ctx);
  static std::vector<uint8_t> pending;
  uint8_t op = ctx.in.get<uint8_t>();
  std::lock_guard<std::mutex> g(g_dev->mu);
  if (op == cr::kModuleWhole) {
    uint64_t n = ctx.in.get<uint64_t>();
    const uint8_t* p = ctx.in.get_bytes(n);
    ctx.in.expect_end();
    g_dev->module.assign(p, p + n);
    ++g_dev->modules_loaded;
    ctx.out.put<uint64_t>(0x0300000000000001ull);
  } else if (op == cr::kModuleBegin) {
    uint64_t total = ctx.in.get<uint64_t>();
    pending.clear();
    pending.reserve(total);
    ctx.out.put<uint64_t>(77);
  } else if (op == cr::kModuleAppend) {
    EXPECT_EQ(ctx.in.get<uint64_t>(), 77u);
    EXPECT_EQ(ctx.in.get<uint64_t>(), pending.size());
    uint64_t n = ctx.in.get<uint64_t>();
    const uint8_t* p = ctx.in.get_bytes(n);
    pending.insert(pending.end(), p, p + n);
  } else if (op == cr::kModuleEnd) {
    EXPECT_EQ(ctx.in.get<uint64_t>(), 77u);
    g_dev->module = pending;
    ++g_dev->modules_loaded;
    ctx.out.put<uint64_t>(0x0300000000000002ull);
  } else if (op == cr::kModuleTargets) {
    ctx.in.expect_end();
    if (!g_dev->targets_known) {
      ctx.status = cudaErrorNoDevice;
      return;
    }
    ctx.out.put<uint8_t>(g_dev->cache_enabled ? 1 : 0);
    ctx.out.put<uint32_t>(static_cast<uint32_t>(g_dev->targets.size()));
    for (auto [major, minor] : g_dev->targets) {
      ctx.out.put<int32_t>(major);
      ctx.out.put<int32_t>(minor);
    }
    return;
  } else if (op == cr::kModuleCached) {
    Digest d;
    std::memcpy(d.data(), ctx.in.get_bytes(d.size()), d.size());
    uint64_t n = ctx.in.get<uint64_t>();
    ctx.in.expect_end();
    auto it = g_dev->cache.find(hex(d));
    if (it == g_dev->cache.end() || it->second.size() != n) {
      ctx.out.put<uint64_t>(0);
      return;
    }
    g_dev->module = it->second;
    ++g_dev->cache_hits;
    ctx.out.put<uint64_t>(0x0300000000000003ull);
    return;
  }
  if (op == cr::kModuleWhole || op == cr::kModuleEnd)
    g_dev->cache[hex(sha256(g_dev->module.data(), g_dev->module.size()))] = g_dev->module;
}

// The fake kernel: (struct {char; double;}, char, int*) -> offsets 0/16/24, sizes 16/1/8.
void fake_kernel_get(be::CallContext& ctx) {
  note(ctx);
  ctx.in.get<uint64_t>();
  std::string name = ctx.in.get_string(1 << 16);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->kernel_name = name;
  if (name == "missing") {
    ctx.status = cudaErrorSymbolNotFound;
    return;
  }
  ctx.out.put<uint64_t>(0x0400000000000009ull);
  ctx.out.put<uint32_t>(3);
  for (uint32_t v : {0u, 16u, 16u, 1u, 24u, 8u}) ctx.out.put<uint32_t>(v);
}

// A stream the fake worker says was destroyed.
constexpr uint64_t kDeadStream = 0x0200000000000dedull;

void fake_launch(be::CallContext& ctx) {
  note(ctx);
  EXPECT_EQ(ctx.in.get<uint64_t>(), 0x0400000000000009ull);
  dim3 grid = ctx.in.get<dim3>();
  dim3 block = ctx.in.get<dim3>();
  ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  uint32_t n = ctx.in.get<uint32_t>();
  const uint8_t* p = ctx.in.get_bytes(n);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->launch_args.assign(p, p + n);
  g_dev->launch_stream = stream;
  g_dev->launch_grid = grid;
  g_dev->launch_block = block;
  if (grid.x == 0) ctx.status = cudaErrorInvalidConfiguration;
  if (stream == kDeadStream) ctx.status = cudaErrorInvalidResourceHandle;
}

// Device 0 of an H200-like GPU; the fake kernel may use 256 threads and 1000 bytes of dynamic
// shared memory.
void fake_launch_limits(be::CallContext& ctx) {
  note(ctx);
  EXPECT_EQ(ctx.in.get<uint64_t>(), 0x0400000000000009ull);
  ctx.in.expect_end();
  ctx.out.put<int32_t>(0);
  for (int32_t v : {2147483647, 65535, 65535, 1024, 1024, 64}) ctx.out.put<int32_t>(v);
  ctx.out.put<int32_t>(256);
  ctx.out.put<int32_t>(1000);
}

void fake_sticky(be::CallContext& ctx) {
  note(ctx);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  ++g_dev->sticky_checks;
  ctx.status = g_dev->sticky;
}

void fake_managed_alloc(be::CallContext& ctx) {
  note(ctx);
  ctx.in.get<uint64_t>();  // size
  ctx.in.get<uint32_t>();  // flags
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  if (g_dev->managed_next.empty()) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ctx.out.put<uint64_t>(g_dev->managed_next.front());
  g_dev->managed_next.erase(g_dev->managed_next.begin());
}

void fake_managed_free(be::CallContext& ctx) {
  note(ctx);
  uint64_t addr = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->managed_freed.push_back(addr);
}

// gvManagedPeek / gvManagedPoke: the managed bytes, straight (the worker's side stream).
void fake_managed_peek(be::CallContext& ctx) {
  note(ctx);
  uint64_t addr = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  const uint8_t* s = dev(addr, n);
  if (!s || addr < kManagedBase) throw be::SessionFault("peek outside managed memory");
  ctx.out.put_bytes(s, n);
}

void fake_managed_poke(be::CallContext& ctx) {
  note(ctx);
  uint64_t addr = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.remaining();
  const uint8_t* bytes = ctx.in.get_bytes(n);
  std::lock_guard<std::mutex> g(g_dev->mu);
  uint8_t* d = dev(addr, n);
  if (!d || addr < kManagedBase) throw be::SessionFault("poke outside managed memory");
  std::memcpy(d, bytes, n);
}

// gvManagedVarGet: every __managed__ variable lives at g_dev->var_address (4 bytes).
void fake_managed_var_get(be::CallContext& ctx) {
  note(ctx);
  ctx.in.get<uint64_t>();
  ctx.in.get_string(1 << 16);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  ctx.out.put<uint64_t>(g_dev->var_address);
  ctx.out.put<uint64_t>(4);
}

void fake_device_sync(be::CallContext& ctx) {
  note(ctx);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  ++g_dev->syncs;
}

void fake_context(be::CallContext& ctx) {
  note(ctx);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  ctx.status = g_dev->context;
}

void fake_launch_ex(be::CallContext& ctx) {
  note(ctx);
  ctx.in.get<uint64_t>();
  ctx.in.get<dim3>();
  ctx.in.get<dim3>();
  ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  uint32_t na = ctx.in.get<uint32_t>();
  std::vector<cudaLaunchAttribute> attrs(na);
  if (na) std::memcpy(attrs.data(), ctx.in.get_bytes(na * sizeof(cudaLaunchAttribute)),
                      na * sizeof(cudaLaunchAttribute));
  uint32_t n = ctx.in.get<uint32_t>();
  ctx.in.get_bytes(n);
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_dev->mu);
  g_dev->launch_attrs = attrs;
}

const be::Registry& fake_registry() {
  static be::Registry* r = [] {
    auto* reg = new be::Registry;
    be::register_core_plugin(*reg);
    static const be::HandlerEntry entries[] = {
        {cr::kCall_gvMemcpyH2DChunk, "gvMemcpyH2DChunk", fake_h2d},
        {cr::kCall_gvMemcpyD2HChunk, "gvMemcpyD2HChunk", fake_d2h},
        {cr::kCall_cudaMemcpy, "cudaMemcpy", fake_d2d},
        {cr::kCall_cudaMemcpyAsync, "cudaMemcpyAsync", fake_d2d},
        {cr::kCall_gvModuleLoad, "gvModuleLoad", fake_module},
        {cr::kCall_gvKernelGet, "gvKernelGet", fake_kernel_get},
        {cr::kCall___cudaLaunchKernel, "__cudaLaunchKernel", fake_launch},
        {cr::kCall_cudaLaunchKernel, "cudaLaunchKernel", fake_launch},
        {cr::kCall_cudaLaunchKernelExC, "cudaLaunchKernelExC", fake_launch_ex},
        {cr::kCall_gvStickyError, "gvStickyError", fake_sticky},
        {cr::kCall_gvLaunchLimits, "gvLaunchLimits", fake_launch_limits},
        {cr::kCall_gvContextCheck, "gvContextCheck", fake_context},
        {cr::kCall_gvManagedAlloc, "gvManagedAlloc", fake_managed_alloc},
        {cr::kCall_gvManagedFree, "gvManagedFree", fake_managed_free},
        {cr::kCall_gvManagedPeek, "gvManagedPeek", fake_managed_peek},
        {cr::kCall_gvManagedVarGet, "gvManagedVarGet", fake_managed_var_get},
        {cr::kCall_gvManagedPoke, "gvManagedPoke", fake_managed_poke},
        {cr::kCall_cudaDeviceSynchronize, "cudaDeviceSynchronize", fake_device_sync},
    };
    reg->add_plugin("cudart", entries, sizeof entries / sizeof entries[0]);
    return reg;
  }();
  return *r;
}

class CopyEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    dev_.mem.assign(64u << 20, 0);
    dev_.limit = dev_.mem.size();
    g_dev = &dev_;
    cr::track_device_allocation(kDevBase, dev_.mem.size());
    (void)cr::take_last_error();
    // Every fake kernel has the same id: answers kept by an earlier test would stand in.
    client::forget_answers("");
    client::forget_current_device();
  }
  void TearDown() override {
    cr::untrack_device_allocation(kDevBase);
    use_.reset();
    session_.reset();
    backend_.stop();
    g_dev = nullptr;
  }

  std::vector<std::pair<uint32_t, uint16_t>> calls() {
    std::lock_guard<std::mutex> g(dev_.mu);
    return dev_.calls;
  }
  void clear_calls() {
    std::lock_guard<std::mutex> g(dev_.mu);
    dev_.calls.clear();
    dev_.streams.clear();
  }
  bool ping_ok() {
    client::Call c(client::kCallPing);
    return c.invoke() && c.status() == 0;
  }

  FakeDevice dev_;
  be::Session server_session_{be::ClientInfo{}, be::SessionOptions{false}};
  FakeBackend backend_{[this](Stream& s, const wire::Hello&) {
    be::ConnState conn(server_session_, server_session_.next_connection_id());
    be::serve_connection(server_session_, conn, s, fake_registry());
  }};
  std::unique_ptr<client::Session> session_{
      new client::Session(test_session_options(backend_.connector()))};
  std::unique_ptr<SessionOverride> use_{new SessionOverride(session_.get())};
};

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void* dptr(uint64_t off) { return reinterpret_cast<void*>(kDevBase + off); }

TEST_F(CopyEngine, LargeRoundTripInChunks) {
  const size_t n = 2 * wire::kCopyChunk + 123;
  auto src = pattern(n, 1);
  ASSERT_EQ(cr::copy_1d(dptr(100), src.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 100, src.data(), n), 0);
  auto c = calls();
  ASSERT_EQ(c.size(), 3u);  // all but the last chunk without a reply; each says the source is
                            // pageable (a vector)
  EXPECT_EQ(c[0].second, wire::kFlagNoReply | wire::kFlagPageableSource);
  EXPECT_EQ(c[1].second, wire::kFlagNoReply | wire::kFlagPageableSource);
  EXPECT_EQ(c[2].second, wire::kFlagPageableSource);
  EXPECT_EQ(session_->current_connection()->unanswered(), 0u);

  clear_calls();
  std::vector<uint8_t> back(n, 0);
  ASSERT_EQ(cr::copy_1d(back.data(), dptr(100), n, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(back, src);
  EXPECT_EQ(calls().size(), 3u);
}

// What the runtime's table of page-locked memory answers in the tests below.
std::atomic<uintptr_t> g_locked_lo{0}, g_locked_hi{0};
bool test_is_page_locked(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a >= g_locked_lo.load() && a < g_locked_hi.load();
}

// A host-to-device copy says whether its source is pageable (kFlagPageableSource, protocol
// 3.11): the worker may then answer a small synchronous one once its bytes are staged. Never
// from page-locked memory, whose copy natively is complete when it returns, nor for a copy the
// other way.
TEST_F(CopyEngine, AHostToDeviceCopySaysWhetherItsSourceIsPageable) {
  // The first half pageable, the second page-locked.
  std::vector<uint8_t> host = pattern(128, 11);
  const uint8_t* locked = host.data() + 64;
  cr::set_page_locked_probe(&test_is_page_locked);
  g_locked_lo = reinterpret_cast<uintptr_t>(locked);
  g_locked_hi = g_locked_lo + 64;
  EXPECT_EQ(cr::copy_1d(dptr(0), host.data(), 4, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(cr::copy_1d(dptr(64), locked, 4, cudaMemcpyHostToDevice, cr::Target{}), cudaSuccess);
  // Its last byte page-locked: not all pageable.
  EXPECT_EQ(cr::copy_1d(dptr(128), locked - 2, 4, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  std::vector<uint8_t> back(4);
  EXPECT_EQ(cr::copy_1d(back.data(), dptr(0), 4, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaSuccess);
  cr::set_page_locked_probe(nullptr);
  g_locked_lo = g_locked_hi = 0;
  EXPECT_EQ(std::memcmp(dev_.mem.data(), host.data(), 4), 0);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 64, locked, 4), 0);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 128, locked - 2, 4), 0);
  EXPECT_EQ(std::memcmp(back.data(), host.data(), 4), 0);
  auto c = calls();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], std::make_pair(static_cast<uint32_t>(cr::kCall_gvMemcpyH2DChunk),
                                 uint16_t{wire::kFlagPageableSource}));
  EXPECT_EQ(c[1].second, 0);
  EXPECT_EQ(c[2].second, 0);
  EXPECT_EQ(c[3], std::make_pair(static_cast<uint32_t>(cr::kCall_gvMemcpyD2HChunk), uint16_t{0}));
}

// A backend before protocol 3.11 ends the session on a flag it does not know: none is sent.
TEST_F(CopyEngine, NoPageableSourceFlagTowardsAnOlderBackend) {
  wire::Welcome older;
  older.minor = wire::kPageableSourceMinor - 1;
  FakeBackend backend{[this](Stream& s, const wire::Hello&) {
                        be::ConnState conn(server_session_, server_session_.next_connection_id());
                        be::serve_connection(server_session_, conn, s, fake_registry());
                      },
                      older};
  client::Session session(test_session_options(backend.connector()));
  SessionOverride use(&session);
  auto src = pattern(4, 13);
  EXPECT_EQ(cr::copy_1d(dptr(0), src.data(), 4, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(dev_.mem.data(), src.data(), 4), 0);
  auto c = calls();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].second, 0);
}

TEST_F(CopyEngine, DefaultKindFollowsTheTrackedRanges) {
  auto src = pattern(4096, 2);
  ASSERT_EQ(cr::copy_1d(dptr(0), src.data(), src.size(), cudaMemcpyDefault, cr::Target{}),
            cudaSuccess);
  std::vector<uint8_t> back(4096);
  ASSERT_EQ(cr::copy_1d(back.data(), dptr(0), back.size(), cudaMemcpyDefault, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(back, src);
  ASSERT_EQ(cr::copy_1d(dptr(8192), dptr(0), 4096, cudaMemcpyDefault, cr::Target{}), cudaSuccess);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 8192, src.data(), 4096), 0);
  clear_calls();
  std::vector<uint8_t> host2(4096);
  ASSERT_EQ(cr::copy_1d(host2.data(), back.data(), 4096, cudaMemcpyDefault, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(host2, src);
  EXPECT_TRUE(calls().empty());  // host to host stays here
}

TEST_F(CopyEngine, DeviceToDeviceIsOneCallWithTheStream) {
  std::memset(dev_.mem.data(), 0xab, 64);
  ASSERT_EQ(cr::copy_1d(dptr(1000), dptr(0), 64, cudaMemcpyDeviceToDevice, cr::Target{}),
            cudaSuccess);
  ASSERT_EQ(cr::copy_1d(dptr(2000), dptr(0), 64, cudaMemcpyDeviceToDevice,
                        cr::Target{0x0100000000000005ull, true}),
            cudaSuccess);
  auto c = calls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].first, static_cast<uint32_t>(cr::kCall_cudaMemcpy));
  EXPECT_EQ(c[1].first, static_cast<uint32_t>(cr::kCall_cudaMemcpyAsync));
  EXPECT_EQ(dev_.streams, (std::vector<uint64_t>{0x0100000000000005ull}));
  EXPECT_EQ(dev_.mem[1063], 0xab);
  EXPECT_EQ(dev_.mem[2063], 0xab);
}

TEST_F(CopyEngine, AsyncCopiesCarryTheirStream) {
  auto src = pattern(100, 3);
  ASSERT_EQ(cr::copy_1d(dptr(0), src.data(), 100, cudaMemcpyHostToDevice,
                        cr::Target{2 /* cudaStreamPerThread */, true}),
            cudaSuccess);
  std::vector<uint8_t> back(100);
  ASSERT_EQ(cr::copy_1d(back.data(), dptr(0), 100, cudaMemcpyDeviceToHost,
                        cr::Target{0x0100000000000007ull, true}),
            cudaSuccess);
  EXPECT_EQ(dev_.streams, (std::vector<uint64_t>{2, 0x0100000000000007ull}));
  EXPECT_EQ(back, src);
}

TEST_F(CopyEngine, TwoDimensionalWithPitches) {
  const size_t width = 3000, height = 4000, spitch = 3100, dpitch = 3072;
  auto host = pattern(spitch * height, 4);
  ASSERT_EQ(cr::copy(dptr(0), dpitch, host.data(), spitch, width, height, cudaMemcpyHostToDevice,
                     cr::Target{}, true),
            cudaSuccess);
  for (size_t r = 0; r < height; r += 397) {
    ASSERT_EQ(std::memcmp(dev_.mem.data() + r * dpitch, host.data() + r * spitch, width), 0) << r;
    EXPECT_EQ(dev_.mem[r * dpitch + width], 0);  // the padding is untouched
  }
  EXPECT_GT(calls().size(), 1u);  // 12 MB: more than one chunk of whole rows
  const size_t hpitch = 3500;
  std::vector<uint8_t> back(hpitch * height, 0xcd);
  ASSERT_EQ(cr::copy(back.data(), hpitch, dptr(0), dpitch, width, height, cudaMemcpyDeviceToHost,
                     cr::Target{}, true),
            cudaSuccess);
  for (size_t r = 0; r < height; ++r) {
    ASSERT_EQ(std::memcmp(back.data() + r * hpitch, host.data() + r * spitch, width), 0) << r;
    ASSERT_EQ(back[r * hpitch + width], 0xcd) << r;  // host padding untouched
  }
}

TEST_F(CopyEngine, RowsLongerThanAChunk) {
  const size_t width = wire::kCopyChunk + 1000, height = 2, pitch = width + 24;
  auto host = pattern(pitch * height, 5);
  ASSERT_EQ(cr::copy(dptr(0), pitch, host.data(), pitch, width, height, cudaMemcpyHostToDevice,
                     cr::Target{}, true),
            cudaSuccess);
  std::vector<uint8_t> back(pitch * height, 0);
  ASSERT_EQ(cr::copy(back.data(), pitch, dptr(0), pitch, width, height, cudaMemcpyDeviceToHost,
                     cr::Target{}, true),
            cudaSuccess);
  for (size_t r = 0; r < height; ++r)
    EXPECT_EQ(std::memcmp(back.data() + r * pitch, host.data() + r * pitch, width), 0);
}

TEST_F(CopyEngine, PitchRulesAndBadKinds) {
  std::vector<uint8_t> h(100);
  EXPECT_EQ(cr::copy(dptr(0), 8, h.data(), 10, 10, 2, cudaMemcpyHostToDevice, cr::Target{}, true),
            cudaErrorInvalidPitchValue);
  EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidPitchValue);
  EXPECT_EQ(cr::copy_1d(dptr(0), h.data(), 10, static_cast<cudaMemcpyKind>(9), cr::Target{}),
            cudaErrorInvalidMemcpyDirection);
  // A pointer known to be on the device is never read as host memory.
  EXPECT_EQ(cr::copy_1d(dptr(0), dptr(64), 10, cudaMemcpyHostToDevice, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::copy_1d(dptr(0), h.data(), 10, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::copy_1d(nullptr, h.data(), 10, cudaMemcpyHostToDevice, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::copy_1d(nullptr, nullptr, 0, cudaMemcpyHostToDevice, cr::Target{}), cudaSuccess);
  // Nothing was copied: the only calls allowed are the context checks that make a context
  // error win over an argument error, as natively.
  for (auto& [call, flags] : calls())
    EXPECT_EQ(call, static_cast<uint32_t>(cr::Call::kCall_gvContextCheck));
}

TEST_F(CopyEngine, ContextErrorWinsOverArgumentError) {
  dev_.context = cudaErrorDevicesUnavailable;
  std::vector<uint8_t> h(16);
  EXPECT_EQ(cr::copy_1d(h.data(), nullptr, 4, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaErrorDevicesUnavailable);
  EXPECT_EQ(cr::take_last_error(), cudaErrorDevicesUnavailable);
  dev_.context = cudaSuccess;
  EXPECT_EQ(cr::copy_1d(h.data(), nullptr, 4, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaErrorInvalidValue);
}

TEST_F(CopyEngine, DeviceToHostFailureMidwayDrainsAndStaysInStep) {
  dev_.limit = wire::kCopyChunk + 10;  // the second chunk onwards fails
  const size_t n = 5 * size_t{wire::kCopyChunk};
  std::vector<uint8_t> back(n);
  EXPECT_EQ(cr::copy_1d(back.data(), dptr(0), n, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidValue);
  EXPECT_LE(calls().size(), 5u);
  EXPECT_TRUE(ping_ok());  // every reply was read: the connection is still in step
  EXPECT_FALSE(session_->lost());
}

TEST_F(CopyEngine, HostToDeviceFailureInANoReplyChunkIsReported) {
  // Only the first chunk (sent without a reply) fails; the last one succeeds. With nothing
  // outstanding before the copy, the deferred failure is the copy's own.
  dev_.fail_below = 1;
  const size_t n = 2 * size_t{wire::kCopyChunk};
  auto src = pattern(n, 6);
  EXPECT_EQ(cr::copy_1d(dptr(0), src.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidValue);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + wire::kCopyChunk, src.data() + wire::kCopyChunk,
                        wire::kCopyChunk),
            0);
  EXPECT_TRUE(ping_ok());
  EXPECT_FALSE(session_->lost());
}

TEST_F(CopyEngine, LostSessionGivesDevicesUnavailable) {
  session_->mark_lost("test");
  std::vector<uint8_t> h(10);
  EXPECT_EQ(cr::copy_1d(dptr(0), h.data(), 10, cudaMemcpyHostToDevice, cr::Target{}),
            cudaErrorDevicesUnavailable);
  EXPECT_EQ(cr::copy_1d(h.data(), dptr(0), 10, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaErrorDevicesUnavailable);
  EXPECT_EQ(cr::take_last_error(), cudaErrorDevicesUnavailable);
}

// ---- the last-error state ----

TEST_F(CopyEngine, LastErrorAsksTheWorkerOnlyWhenItCanMatter) {
  auto checks = [&] {
    std::lock_guard<std::mutex> g(dev_.mu);
    return dev_.sticky_checks;
  };
  (void)cr::last_error(true);  // whatever state earlier tests left
  int base = checks();
  EXPECT_EQ(cr::last_error(true), cudaSuccess);
  EXPECT_EQ(cr::last_error(false), cudaSuccess);
  EXPECT_LE(checks(), base + 1);  // nothing failed since the last clean check: no round trip
  int after_clean = checks();
  EXPECT_EQ(cr::last_error(true), cudaSuccess);
  EXPECT_EQ(checks(), after_clean);

  // An error makes the next query ask; the thread's own error is what it returns.
  cr::set_last_error(cudaErrorInvalidValue);
  EXPECT_EQ(cr::last_error(false), cudaErrorInvalidValue);
  EXPECT_EQ(checks(), after_clean + 1);
  EXPECT_EQ(cr::last_error(true), cudaErrorInvalidValue);
  EXPECT_EQ(cr::last_error(true), cudaSuccess);  // reset
  EXPECT_EQ(checks(), after_clean + 1);

  // Requests without replies outstanding do not make it ask: what they may still report is
  // asynchronous (launch_check.h), and comes with a later reply.
  client::Call noreply(client::kCallPing);
  ASSERT_TRUE(noreply.send_async());
  EXPECT_EQ(cr::last_error(false), cudaSuccess);
  EXPECT_EQ(checks(), after_clean + 1);
}

TEST_F(CopyEngine, StickyErrorIsReturnedEveryTime) {
  dev_.sticky = cudaErrorIllegalAddress;
  cr::set_last_error(cudaErrorIllegalAddress);  // as the failing synchronize left it
  EXPECT_EQ(cr::last_error(true), cudaErrorIllegalAddress);
  EXPECT_EQ(cr::last_error(true), cudaErrorIllegalAddress);
  cr::set_last_error(cudaErrorInvalidValue);  // a later local failure does not hide it
  EXPECT_EQ(cr::last_error(false), cudaErrorIllegalAddress);
  dev_.sticky = 0;  // cudaDeviceReset
  cr::set_last_error(cudaErrorInvalidValue);
  EXPECT_EQ(cr::last_error(true), cudaErrorInvalidValue);
  EXPECT_EQ(cr::last_error(true), cudaSuccess);
}

// ---- kernels ----

std::vector<uint64_t> fake_fatbin(uint64_t payload) {
  std::vector<uint64_t> w((16 + payload + 7) / 8, 0);
  auto* b = reinterpret_cast<uint8_t*>(w.data());
  uint32_t magic = cr::kFatbinMagic;
  uint16_t version = 1, hs = 16;
  std::memcpy(b, &magic, 4);
  std::memcpy(b + 4, &version, 2);
  std::memcpy(b + 6, &hs, 2);
  std::memcpy(b + 8, &payload, 8);
  for (uint64_t i = 16; i < 16 + payload; ++i) b[i] = static_cast<uint8_t>(i * 13);
  return w;
}

void stub_a() {}
void stub_b() {}
void stub_c() {}
void stub_node() {}

// A module of the fake backend with one kernel (its layout: a {char, double} struct, a char, a
// pointer) registered under `stub`, and zeroed arguments for it. Unregisters the module when it
// goes out of scope.
struct FakeKernel {
  explicit FakeKernel(void (*stub)()) : image(fake_fatbin(64)) {
    cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
    module = cr::register_module(&w);
    cr::register_kernel(module, reinterpret_cast<const void*>(stub), "_Z2sk1ScPi");
    kernel = cr::find_kernel(reinterpret_cast<const void*>(stub));
  }
  ~FakeKernel() { cr::unregister_module(module); }
  FakeKernel(const FakeKernel&) = delete;
  FakeKernel& operator=(const FakeKernel&) = delete;

  std::vector<uint64_t> image;
  cr::Module* module = nullptr;
  cr::Kernel* kernel = nullptr;
  struct {
    char c;
    double d;
  } s{};
  char ch = 0;
  int* p = nullptr;
  void* args[3] = {&s, &ch, &p};
};

TEST_F(CopyEngine, KernelResolvesOnceAndLaunchesWithPackedArguments) {
  auto image = fake_fatbin(1000);
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_a), "_Z2sk1ScPi");
  cr::Kernel* k = cr::find_kernel(reinterpret_cast<const void*>(&stub_a));
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(cr::find_kernel(k), k);  // a handed-out cudaKernel_t is found too
  EXPECT_EQ(cr::find_kernel(reinterpret_cast<const void*>(&stub_c)), nullptr);

  struct S {
    char c;
    double d;
  } s{'q', 1.5};
  char ch = 'z';
  int* p = reinterpret_cast<int*>(0x1234);
  void* args[] = {&s, &ch, &p};
  ASSERT_EQ(cr::launch_kernel(k, dim3(7, 1, 1), dim3(32, 2, 1), args, 0, nullptr, false),
            cudaSuccess);
  ASSERT_TRUE(ping_ok());
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    EXPECT_EQ(dev_.module.size(), 1016u);
    EXPECT_EQ(std::memcmp(dev_.module.data(), image.data(), 1016), 0);
    EXPECT_EQ(dev_.kernel_name, "_Z2sk1ScPi");
    ASSERT_EQ(dev_.launch_args.size(), 32u);
    EXPECT_EQ(std::memcmp(dev_.launch_args.data(), &s, 16), 0);
    EXPECT_EQ(dev_.launch_args[16], 'z');
    EXPECT_EQ(dev_.launch_grid.x, 7u);
    EXPECT_EQ(dev_.launch_block.y, 2u);
  }
  // Launching again uploads nothing new.
  ASSERT_EQ(cr::launch_kernel(k, dim3(1), dim3(1), args, 0, nullptr, true), cudaSuccess);
  EXPECT_EQ(dev_.modules_loaded, 1);
  int launches = 0;
  for (auto& c : calls()) {
    if (c.first == cr::kCall___cudaLaunchKernel) {
      EXPECT_EQ(c.second, wire::kFlagNoReply);
      ++launches;
    }
  }
  EXPECT_EQ(launches, 1);

  // A configuration the client cannot prove acceptable waits for the worker: the launch
  // reports its own failure, as natively (<<<>>> and cudaLaunchKernel alike).
  EXPECT_EQ(cr::launch_kernel(k, dim3(0), dim3(1), args, 0, nullptr, false),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(cr::launch_kernel(k, dim3(0), dim3(1), args, 0, nullptr, true),
            cudaErrorInvalidConfiguration);
  // A failure the client cannot foresee (a destroyed stream) comes back as the deferred error
  // of the next reply.
  ASSERT_EQ(cr::launch_kernel(k, dim3(1), dim3(1), args, 0,
                              reinterpret_cast<cudaStream_t>(kDeadStream), false),
            cudaSuccess);
  client::Call ping(client::kCallPing);
  ASSERT_TRUE(ping.invoke());
  EXPECT_EQ(ping.deferred(), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cr::launch_kernel(k, dim3(1), dim3(1), nullptr, 0, nullptr, true),
            cudaErrorInvalidValue);  // arguments missing for a kernel that takes some

  cr::unregister_module(m);
  EXPECT_EQ(cr::find_kernel(reinterpret_cast<const void*>(&stub_a)), nullptr);
}

// The client sends a launch without waiting only when the worker is sure to accept it: within
// the device's grid and block limits, the kernel's thread limit and its dynamic shared memory.
TEST_F(CopyEngine, LaunchWaitsUnlessTheClientCanTellItIsAccepted) {
  FakeKernel fk(&stub_b);
  cr::Kernel* k = fk.kernel;
  void** args = fk.args;
  auto last_launch_flags = [&] {
    uint16_t f = 0xffff;
    for (auto& c : calls())
      if (c.first == cr::kCall___cudaLaunchKernel) f = c.second;
    return f;
  };
  struct Case {
    dim3 grid, block;
    size_t smem;
    bool async;
  };
  const Case cases[] = {
      {dim3(70000, 2, 3), dim3(16, 16, 1), 1000, true},
      {dim3(1), dim3(256), 0, true},
      {dim3(1), dim3(257), 0, false},      // over the kernel's 256 threads
      {dim3(1), dim3(1, 1, 65), 0, false}, // block z over 64
      {dim3(1, 65536), dim3(1), 0, false}, // grid y over 65535
      {dim3(1), dim3(0), 0, false},
      {dim3(1), dim3(1), 1001, false},     // dynamic shared memory over the kernel's allowance
  };
  for (const Case& c : cases) {
    (void)cr::launch_kernel(k, c.grid, c.block, args, c.smem, nullptr, false);
    ASSERT_TRUE(ping_ok());  // a launch without a reply has been handled once this returns
    EXPECT_EQ(last_launch_flags(), c.async ? wire::kFlagNoReply : 0)
        << c.grid.x << "x" << c.grid.y << " " << c.block.x << "x" << c.block.y << "x"
        << c.block.z << " smem " << c.smem;
  }
  // Asked once per kernel and device.
  size_t asked = 0;
  for (auto& c : calls()) asked += c.first == cr::kCall_gvLaunchLimits;
  EXPECT_EQ(asked, 1u);
  // While a stream capture may be active, every launch waits (the worker may refuse it).
  client::note_capture_begun();
  (void)cr::launch_kernel(k, dim3(1), dim3(1), args, 0, nullptr, false);
  EXPECT_EQ(last_launch_flags(), 0);
  client::note_capture_ended();
  (void)cr::launch_kernel(k, dim3(1), dim3(1), args, 0, nullptr, false);
  ASSERT_TRUE(ping_ok());
  EXPECT_EQ(last_launch_flags(), wire::kFlagNoReply);
  // A kernel attribute set (the "func:" answers forgotten): the limits kept in the kernel's
  // record may be out of date, so the next launch asks again, once.
  client::forget_answers("func:");
  for (int i = 0; i < 3; ++i) {
    (void)cr::launch_kernel(k, dim3(1), dim3(1), args, 0, nullptr, false);
    ASSERT_TRUE(ping_ok());
    EXPECT_EQ(last_launch_flags(), wire::kFlagNoReply);
  }
  asked = 0;
  for (auto& c : calls()) asked += c.first == cr::kCall_gvLaunchLimits;
  EXPECT_EQ(asked, 2u);
}

// cudaMemsetAsync goes out without waiting when it stays inside one device allocation of this
// process (the fixture tracks 64 MiB at kDevBase) and no capture may be active.
TEST_F(CopyEngine, MemsetIsSentWithoutWaitingOnlyInsideAKnownAllocation) {
  const size_t size = dev_.mem.size();
  EXPECT_TRUE(cr::memset_surely_accepted(dptr(0), size));
  EXPECT_TRUE(cr::memset_surely_accepted(dptr(100), size - 100));
  EXPECT_FALSE(cr::memset_surely_accepted(dptr(100), size - 99));  // one byte past its end
  EXPECT_FALSE(cr::memset_surely_accepted(dptr(size), 1));         // after it
  EXPECT_FALSE(cr::memset_surely_accepted(reinterpret_cast<void*>(0x1000), 4));  // unknown
  EXPECT_FALSE(cr::memset_surely_accepted(dptr(0), 0));
  client::note_capture_begun();
  EXPECT_FALSE(cr::memset_surely_accepted(dptr(0), 4));
  client::note_capture_ended();
  EXPECT_TRUE(cr::memset_surely_accepted(dptr(0), 4));
}

// From any number of threads, launches go out without waiting (the worker orders them by
// ticket); a bad configuration still fails at once.
TEST_F(CopyEngine, LaunchesFromSeveralThreadsAreSentWithoutWaiting) {
  FakeKernel fk(&stub_b);
  cr::Kernel* k = fk.kernel;
  void** args = fk.args;
  auto launch_flags = [&] {
    std::vector<uint16_t> f;
    for (auto& c : calls())
      if (c.first == cr::kCall___cudaLaunchKernel) f.push_back(c.second);
    return f;
  };
  ASSERT_EQ(cr::launch_kernel(k, dim3(1), dim3(1), args, 0, nullptr, false), cudaSuccess);
  std::thread other([&] {
    EXPECT_EQ(cr::launch_kernel(k, dim3(2), dim3(1), args, 0, nullptr, false), cudaSuccess);
    EXPECT_EQ(client::open_connections(), 2u);
    EXPECT_EQ(cr::launch_kernel(k, dim3(0), dim3(1), args, 0, nullptr, false),
              cudaErrorInvalidConfiguration);
    EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidConfiguration);
  });
  other.join();
  ASSERT_TRUE(ping_ok());
  EXPECT_EQ(launch_flags(),
            (std::vector<uint16_t>{wire::kFlagNoReply, wire::kFlagNoReply, 0}));
}

TEST_F(CopyEngine, VariablesAreRecordedPerModule) {
  auto image = fake_fatbin(64);
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  static int shadow;
  cr::register_variable(m, &shadow, "gvar", sizeof shadow, true);
  const cr::Variable* v = cr::find_variable(&shadow);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->name, "gvar");
  EXPECT_EQ(v->size, sizeof shadow);
  EXPECT_TRUE(v->constant);
  EXPECT_TRUE(calls().empty());  // nothing sent
  cr::unregister_module(m);
  EXPECT_EQ(cr::find_variable(&shadow), nullptr);
}

TEST_F(CopyEngine, LargeModuleIsUploadedInChunks) {
  auto image = fake_fatbin((70u << 20) + 5);
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_b), "big");
  cr::Kernel* k = cr::find_kernel(reinterpret_cast<const void*>(&stub_b));
  ASSERT_EQ(cr::resolve(k), cudaSuccess);
  std::lock_guard<std::mutex> g(dev_.mu);
  ASSERT_EQ(dev_.module.size(), (70u << 20) + 5 + 16);
  EXPECT_EQ(std::memcmp(dev_.module.data(), image.data(), dev_.module.size()), 0);
  cr::unregister_module(m);
}

void stub_m1() {}
void stub_m2() {}

// Only the images the worker's GPUs can load travel, and a module the worker's cache holds
// (the same selected bytes, uploaded by an earlier module or process) does not travel again.
TEST_F(CopyEngine, ModulesTravelOnlyForTheGpusAndOnce) {
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    dev_.targets_known = true;
    dev_.cache_enabled = true;
    dev_.targets = {{9, 0}};
  }
  const FatbinEntry sm80{2, 80, 0x11, 4000, 0x80}, sm90{2, 90, 0x11, 3000, 0x90},
      ptx100{1, 100, 0x8011, 500, 0x10};
  auto image = make_fatbin({sm80, sm90, ptx100});
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_m1), "_Z2sk1ScPi");
  ASSERT_EQ(cr::resolve(cr::find_kernel(reinterpret_cast<const void*>(&stub_m1))), cudaSuccess);
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    EXPECT_EQ(dev_.module, fatbin_bytes({sm90}));
    EXPECT_EQ(dev_.modules_loaded, 1);
    EXPECT_EQ(dev_.cache_hits, 0);
  }
  // The same fatbinary registered again (another process, or another library with the same
  // device code): named by digest, nothing uploaded.
  auto copy = image;
  cr::FatbinWrapper w2{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, copy.data(), nullptr};
  cr::Module* m2 = cr::register_module(&w2);
  cr::register_kernel(m2, reinterpret_cast<const void*>(&stub_m2), "_Z2sk1ScPi");
  ASSERT_EQ(cr::resolve(cr::find_kernel(reinterpret_cast<const void*>(&stub_m2))), cudaSuccess);
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    EXPECT_EQ(dev_.modules_loaded, 1);
    EXPECT_EQ(dev_.cache_hits, 1);
  }
  // The worker's GPUs were asked once.
  size_t asked = 0;
  for (auto& c : calls())
    if (c.first == cr::kCall_gvModuleLoad) ++asked;
  EXPECT_EQ(asked, 4u);  // targets, miss, whole upload, hit
  cr::unregister_module(m);
  cr::unregister_module(m2);
}

TEST_F(CopyEngine, WithoutTargetsTheWholeImageTravels) {
  auto image = make_fatbin({{2, 80, 0x11, 100, 1}, {2, 90, 0x11, 100, 2}});
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_m1), "_Z2sk1ScPi");
  ASSERT_EQ(cr::resolve(cr::find_kernel(reinterpret_cast<const void*>(&stub_m1))), cudaSuccess);
  std::lock_guard<std::mutex> g(dev_.mu);
  EXPECT_EQ(dev_.module.size(), 16u + 2 * (64 + 100));
  EXPECT_EQ(cr::take_last_error(), cudaSuccess);  // the refused question is not the program's
  cr::unregister_module(m);
}

TEST_F(CopyEngine, MissingKernelAndBadImageFailStickily) {
  auto image = fake_fatbin(100);
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_c), "missing");
  cr::Kernel* k = cr::find_kernel(reinterpret_cast<const void*>(&stub_c));
  EXPECT_EQ(cr::resolve(k), cudaErrorSymbolNotFound);
  size_t n = calls().size();
  EXPECT_EQ(cr::launch_kernel(k, dim3(1), dim3(1), nullptr, 0, nullptr, false),
            cudaErrorSymbolNotFound);
  EXPECT_EQ(calls().size(), n);  // not asked again
  cr::unregister_module(m);

  cr::FatbinWrapper bad{0x1234, 1, image.data(), nullptr};
  cr::Module* mb = cr::register_module(&bad);
  cr::register_kernel(mb, reinterpret_cast<const void*>(&stub_c), "x");
  EXPECT_EQ(cr::resolve(cr::find_kernel(reinterpret_cast<const void*>(&stub_c))),
            cudaErrorInvalidKernelImage);
  cr::unregister_module(mb);
}

// Unregistering a module forgets its own kernels and variables only; a stub address that a
// later module registered again stays that module's.
TEST(ModuleRegistry, UnregisterForgetsOnlyTheModulesOwnKeys) {
  auto image = fake_fatbin(100);
  cr::FatbinWrapper wa{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::FatbinWrapper wb = wa;
  cr::Module* a = cr::register_module(&wa);
  cr::Module* b = cr::register_module(&wb);
  static int shadow_a = 0, shadow_b = 0;
  cr::register_kernel(a, reinterpret_cast<const void*>(&stub_a), "ka");
  cr::register_kernel(a, reinterpret_cast<const void*>(&stub_c), "kc_old");
  cr::register_variable(a, &shadow_a, "va", sizeof shadow_a, false);
  cr::register_kernel(b, reinterpret_cast<const void*>(&stub_b), "kb");
  cr::register_kernel(b, reinterpret_cast<const void*>(&stub_c), "kc_new");  // reused address
  cr::register_variable(b, &shadow_b, "vb", sizeof shadow_b, false);
  cr::unregister_module(a);
  EXPECT_EQ(cr::find_kernel(reinterpret_cast<const void*>(&stub_a)), nullptr);
  EXPECT_EQ(cr::find_variable(&shadow_a), nullptr);
  cr::Kernel* kb = cr::find_kernel(reinterpret_cast<const void*>(&stub_b));
  ASSERT_NE(kb, nullptr);
  EXPECT_EQ(kb->name, "kb");
  cr::Kernel* kc = cr::find_kernel(reinterpret_cast<const void*>(&stub_c));
  ASSERT_NE(kc, nullptr);
  EXPECT_EQ(kc->name, "kc_new");
  ASSERT_NE(cr::find_variable(&shadow_b), nullptr);
  cr::unregister_module(b);
  EXPECT_EQ(cr::find_kernel(reinterpret_cast<const void*>(&stub_c)), nullptr);
  EXPECT_EQ(cr::find_variable(&shadow_b), nullptr);
}

}  // namespace
}  // namespace gvirtus::testing

namespace gvirtus::testing {
namespace {

void stub_ex() {}

// cudaLaunchKernelExC: plain attributes travel as bytes; one that holds an event is refused
// before anything is sent.
TEST_F(CopyEngine, ExtendedLaunchCarriesPlainAttributesAndRefusesEvents) {
  FakeKernel fk(&stub_ex);
  cr::Kernel* k = fk.kernel;
  ASSERT_NE(k, nullptr);
  void** args = fk.args;
  cudaLaunchAttribute attrs[2] = {};
  attrs[0].id = cudaLaunchAttributePriority;
  attrs[0].val.priority = 3;
  attrs[1].id = cudaLaunchAttributeClusterDimension;
  attrs[1].val.clusterDim.x = 2;
  attrs[1].val.clusterDim.y = 1;
  attrs[1].val.clusterDim.z = 1;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(4);
  cfg.blockDim = dim3(32);
  cfg.attrs = attrs;
  cfg.numAttrs = 2;
  ASSERT_EQ(cr::launch_extended(k, cfg, nullptr, args), cudaSuccess);
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    ASSERT_EQ(dev_.launch_attrs.size(), 2u);
    EXPECT_EQ(dev_.launch_attrs[0].id, cudaLaunchAttributePriority);
    EXPECT_EQ(dev_.launch_attrs[0].val.priority, 3);
    EXPECT_EQ(dev_.launch_attrs[1].val.clusterDim.x, 2u);
  }
  // An event attribute travels with the client's event handle in its value; the worker
  // translates it.
  clear_calls();
  attrs[1] = cudaLaunchAttribute{};
  attrs[1].id = cudaLaunchAttributeLaunchCompletionEvent;
  attrs[1].val.launchCompletionEvent.event = reinterpret_cast<cudaEvent_t>(0x0200000000000003ull);
  ASSERT_EQ(cr::launch_extended(k, cfg, nullptr, args), cudaSuccess);
  {
    std::lock_guard<std::mutex> g(dev_.mu);
    ASSERT_EQ(dev_.launch_attrs.size(), 2u);
    EXPECT_EQ(dev_.launch_attrs[1].id, cudaLaunchAttributeLaunchCompletionEvent);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(dev_.launch_attrs[1].val.launchCompletionEvent.event),
              0x0200000000000003ull);
  }
  // Graph-node attributes are not translated: refused.
  clear_calls();
  attrs[1].id = cudaLaunchAttributeDeviceUpdatableKernelNode;
  EXPECT_EQ(cr::launch_extended(k, cfg, nullptr, args), cudaErrorNotSupported);
  cfg.numAttrs = 1000;
  EXPECT_EQ(cr::launch_extended(k, cfg, nullptr, args), cudaErrorInvalidValue);
  for (auto& c : calls()) EXPECT_NE(c.first, static_cast<uint32_t>(cr::kCall_cudaLaunchKernelExC));
}

// Graph kernel nodes carry the kernel id and the arguments packed like a launch's.
TEST_F(CopyEngine, KernelNodeParametersArePackedLikeALaunch) {
  FakeKernel fk(&stub_node);
  fk.s.c = 'k';
  fk.s.d = 2.5;
  fk.ch = 'x';
  fk.p = reinterpret_cast<int*>(0x4321);
  cudaKernelNodeParams p = {};
  p.func = reinterpret_cast<void*>(&stub_node);
  p.gridDim = dim3(4, 2, 1);
  p.blockDim = dim3(64);
  p.sharedMemBytes = 128;
  p.kernelParams = fk.args;
  wire::Writer w;
  ASSERT_EQ(cr::put_kernel_node(w, &p), cudaSuccess);
  wire::Reader r(w.data(), w.size());
  EXPECT_EQ(r.get<uint64_t>(), 0x0400000000000009ull);
  dim3 g = r.get<dim3>(), b = r.get<dim3>();
  EXPECT_EQ(g.x, 4u);
  EXPECT_EQ(g.y, 2u);
  EXPECT_EQ(b.x, 64u);
  EXPECT_EQ(r.get<uint32_t>(), 128u);
  ASSERT_EQ(r.get<uint32_t>(), 32u);
  const uint8_t* args = r.get_bytes(32);
  EXPECT_EQ(std::memcmp(args, &fk.s, 16), 0);
  EXPECT_EQ(args[16], 'x');
  int* ptr = nullptr;
  std::memcpy(&ptr, args + 24, 8);
  EXPECT_EQ(ptr, fk.p);
  r.expect_end();
  // extra is not supported; a missing argument or an unknown function is refused.
  void* extra[] = {nullptr};
  p.extra = extra;
  wire::Writer w2;
  EXPECT_EQ(cr::put_kernel_node(w2, &p), cudaErrorNotSupported);
  p.extra = nullptr;
  void* missing[] = {&fk.s, nullptr, &fk.p};
  p.kernelParams = missing;
  EXPECT_EQ(cr::put_kernel_node(w2, &p), cudaErrorInvalidValue);
  p.func = reinterpret_cast<void*>(&stub_c);
  EXPECT_EQ(cr::put_kernel_node(w2, &p), cudaErrorInvalidResourceHandle);
}

// ---- managed and mapped memory (managed.h): mirrored at the device address ----

namespace mg = gvirtus::cudart::managed;

size_t page() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

// True if the page holding p is mapped in this process.
bool mapped(const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p) / page() * page();
  return ::msync(reinterpret_cast<void*>(a), page(), MS_ASYNC) == 0;
}

size_t count_calls(const std::vector<std::pair<uint32_t, uint16_t>>& c, uint32_t id) {
  size_t n = 0;
  for (auto& [call, flags] : c) n += call == id;
  return n;
}

TEST_F(CopyEngine, ManagedMemoryIsMirroredAndExchangedAtTheRightPoints) {
  dev_.managed.assign(1u << 20, 0xAB);
  const uint64_t addr = kManagedBase + 16 * page();
  dev_.managed_next = {addr};
  void* v = nullptr;
  ASSERT_EQ(mg::allocate(&v, 3 * page(), cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  auto* p = static_cast<uint8_t*>(v);
  ASSERT_EQ(reinterpret_cast<uint64_t>(p), addr);  // one pointer value for host and device
  EXPECT_EQ(p[0], 0xAB);                           // starts as the device's bytes
  EXPECT_TRUE(mg::contains(p + 3 * page() - 1));
  EXPECT_FALSE(mg::contains(p + 3 * page()));

  // Host writes reach the device before device work: only the pages that changed, in one run.
  std::memset(p, 1, 100);
  p[page() + 5] = 7;
  clear_calls();
  mg::before_device_work();
  uint8_t* d = dev_.managed.data() + 16 * page();
  EXPECT_EQ(d[99], 1);
  EXPECT_EQ(d[page() + 5], 7);
  EXPECT_EQ(d[2 * page()], 0xAB);
  EXPECT_EQ(count_calls(calls(), cr::kCall_gvMemcpyH2DChunk), 1u);
  clear_calls();
  mg::before_device_work();  // nothing changed since: nothing sent
  EXPECT_EQ(count_calls(calls(), cr::kCall_gvMemcpyH2DChunk), 0u);

  // Device writes reach the host after a synchronisation, once the device finished.
  d[2 * page() + 3] = 42;
  mg::after_synchronisation();
  EXPECT_EQ(dev_.syncs, 1);
  EXPECT_EQ(p[2 * page() + 3], 42);
  mg::after_synchronisation();  // no device work since the last read-back: nothing to do
  EXPECT_EQ(dev_.syncs, 1);

  // A synchronous copy into managed memory lands on the device and shows on the host after.
  auto src = pattern(300, 9);
  ASSERT_EQ(cr::copy_1d(p + 1000, src.data(), src.size(), cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(d + 1000, src.data(), src.size()), 0);
  EXPECT_EQ(std::memcmp(p + 1000, src.data(), src.size()), 0);
  // Managed memory is accepted as either side whatever the kind says.
  std::vector<uint8_t> back(300);
  ASSERT_EQ(cr::copy_1d(back.data(), p + 1000, back.size(), cudaMemcpyDeviceToHost, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(back, src);

  ASSERT_EQ(mg::release(p), cudaSuccess);
  EXPECT_EQ(dev_.managed_freed, std::vector<uint64_t>{addr});
  EXPECT_FALSE(mapped(p));
  EXPECT_FALSE(mg::contains(p));
}

void stub_managed_user() {}

// A module's __managed__ variables are mirrored when its first kernel is resolved, on the thread
// that launches it: a host callback behind that launch reading a variable calls
// __cudaInitModule (nvcc's first host access), which then asks nothing (asked from the
// callback, the lookup waited for the resolution lock the launching thread held while the
// worker waited for the callback: the GPU run's callback_managed hang).
TEST_F(CopyEngine, ManagedVariablesAreMirroredWhenTheirModuleIsFirstLaunched) {
  dev_.managed.assign(1u << 20, 0);
  dev_.var_address = kManagedBase + 128 * page();
  dev_.managed[128 * page()] = 42;
  auto image = fake_fatbin(64);
  cr::FatbinWrapper w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
  cr::Module* m = cr::register_module(&w);
  cr::register_kernel(m, reinterpret_cast<const void*>(&stub_managed_user), "_Z2sk1ScPi");
  static void* var_host = nullptr;  // nvcc's host pointer to the variable
  // What __cudaRegisterManagedVar does (managed_vars.cc).
  cr::register_variable(m, &var_host, "g_var", 4, false, /*managed=*/true);
  cr::managed_vars::add(m, &var_host);
  EXPECT_EQ(var_host, nullptr);
  cr::Kernel* k = cr::find_kernel(reinterpret_cast<const void*>(&stub_managed_user));
  ASSERT_NE(k, nullptr);
  clear_calls();
  ASSERT_EQ(cr::resolve(k), cudaSuccess);
  EXPECT_EQ(count_calls(calls(), cr::kCall_gvManagedVarGet), 1u);
  ASSERT_EQ(reinterpret_cast<uint64_t>(var_host), dev_.var_address);
  EXPECT_EQ(*static_cast<uint8_t*>(var_host), 42);  // the device's bytes, mirrored
  EXPECT_TRUE(mg::contains(var_host));
  // The first host access (from any thread, a host callback too) asks nothing.
  clear_calls();
  EXPECT_TRUE(cr::managed_vars::init_module(m));  // __cudaInitModule
  EXPECT_TRUE(calls().empty());
  EXPECT_EQ(cr::resolve(k), cudaSuccess);  // resolved once
  EXPECT_TRUE(calls().empty());
  ASSERT_EQ(mg::release(var_host), cudaSuccess);  // only the mirror ends
  cr::unregister_module(m);
}

TEST_F(CopyEngine, ManagedAllocationsSharingAPageKeepItMapped) {
  dev_.managed.assign(1u << 20, 0);
  const uint64_t a = kManagedBase + 64 * page() + 64, b = a + 128;  // packed like the driver does
  dev_.managed_next = {a, b};
  void *pa = nullptr, *pb = nullptr;
  ASSERT_EQ(mg::allocate(&pa, 100, cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  ASSERT_EQ(mg::allocate(&pb, 100, cudaMemAttachGlobal, mg::Kind::kMapped), cudaSuccess);
  EXPECT_EQ(reinterpret_cast<uint64_t>(pb), b);
  static_cast<uint8_t*>(pb)[10] = 5;
  ASSERT_EQ(mg::release(pa), cudaSuccess);
  EXPECT_TRUE(mapped(pb));  // the page still serves b
  EXPECT_EQ(static_cast<uint8_t*>(pb)[10], 5);
  EXPECT_TRUE(mg::owns(pb, mg::Kind::kMapped));
  EXPECT_FALSE(mg::owns(pb, mg::Kind::kManaged));
  ASSERT_EQ(mg::release(pb), cudaSuccess);
  EXPECT_FALSE(mapped(pb));
}

// A device reset freed the worker's copies of what was made while that device was current:
// their regions go without a word to the worker (no free, no exchange, no peek of freed
// memory), the managed host copy is unmapped, mapped host memory stays the program's, and
// another device's allocation stays mirrored.
TEST_F(CopyEngine, ADeviceResetDropsThatDevicesMirrors) {
  dev_.managed.assign(1u << 20, 0);
  const uint64_t a = kManagedBase + 200 * page(), b = a + 4 * page(), c = a + 8 * page();
  dev_.managed_next = {a, b, c};
  void *pa = nullptr, *pb = nullptr, *pc = nullptr;
  client::remember_current_device(0);
  ASSERT_EQ(mg::allocate(&pa, page(), cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  ASSERT_EQ(mg::allocate(&pb, page(), cudaMemAttachGlobal, mg::Kind::kMapped), cudaSuccess);
  client::remember_current_device(1);
  ASSERT_EQ(mg::allocate(&pc, page(), cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  static_cast<uint8_t*>(pb)[0] = 9;
  clear_calls();
  mg::drop_after_reset(0);
  EXPECT_TRUE(calls().empty()) << "nothing is asked of the worker";
  EXPECT_TRUE(dev_.managed_freed.empty());
  EXPECT_FALSE(mg::contains(pa));
  EXPECT_FALSE(mapped(pa)) << "the managed host copy goes";
  EXPECT_FALSE(mg::contains(pb));
  EXPECT_TRUE(mapped(pb)) << "mapped host memory stays the program's";
  EXPECT_EQ(static_cast<uint8_t*>(pb)[0], 9);
  EXPECT_FALSE(client::device_ranges().contains(pa));
  EXPECT_TRUE(mg::owns(pc, mg::Kind::kManaged)) << "device 1's";
  static_cast<uint8_t*>(pc)[3] = 4;
  mg::before_device_work();  // exchanges device 1's only
  EXPECT_EQ(dev_.managed[208 * page() + 3], 4);
  ASSERT_EQ(mg::release(pc), cudaSuccess);
  client::remember_current_device(0);
}

TEST_F(CopyEngine, ManagedAddressTakenOnTheClientFailsCleanly) {
  dev_.managed.assign(1u << 20, 0);
  const uint64_t addr = kManagedBase + 128 * page();
  void* mine = ::mmap(reinterpret_cast<void*>(addr), page(), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_EQ(mine, reinterpret_cast<void*>(addr));
  static_cast<uint8_t*>(mine)[0] = 77;
  dev_.managed_next = {addr};
  void* v = nullptr;
  EXPECT_EQ(mg::allocate(&v, 64, cudaMemAttachGlobal, mg::Kind::kManaged),
            cudaErrorMemoryAllocation);
  EXPECT_EQ(v, nullptr);
  EXPECT_EQ(dev_.managed_freed, std::vector<uint64_t>{addr});  // the worker's side is given back
  EXPECT_EQ(static_cast<uint8_t*>(mine)[0], 77);                // and ours left alone
  EXPECT_FALSE(mg::contains(mine));
  ::munmap(mine, page());
  (void)cr::take_last_error();
}

// The program's own memory made reachable from kernels (cudaHostRegisterMapped): the device copy
// lives at a worker address, the host copy stays where it is; same exchange points.
TEST_F(CopyEngine, AliasKeepsProgramMemoryAndWorkerCopyCoherent) {
  dev_.managed.assign(1u << 20, 0xEE);
  const uint64_t addr = kManagedBase + 200 * page();
  dev_.managed_next = {addr};
  std::vector<uint8_t> mine(2 * page() + 10, 3);  // not page-aligned, not a page multiple
  void* dv = nullptr;
  ASSERT_EQ(mg::alias(mine.data(), mine.size(), &dv), cudaSuccess);
  EXPECT_EQ(reinterpret_cast<uint64_t>(dv), addr);
  uint8_t* d = dev_.managed.data() + 200 * page();
  EXPECT_EQ(d[0], 3);  // the program's bytes are the starting point
  EXPECT_EQ(d[mine.size() - 1], 3);
  EXPECT_EQ(d[mine.size()], 0xEE);  // nothing past the range
  // The device address is device memory only; the host address stays host memory.
  EXPECT_FALSE(mg::contains(dv));
  EXPECT_FALSE(mg::contains(mine.data()));
  void* inner = nullptr;
  ASSERT_TRUE(mg::alias_device(mine.data() + 77, &inner));
  EXPECT_EQ(reinterpret_cast<uint64_t>(inner), addr + 77);
  EXPECT_FALSE(mg::alias_device(mine.data() + mine.size(), &inner));
  // Aliasing the same range again gives the same device copy, with no new allocation.
  void* again = nullptr;
  ASSERT_EQ(mg::alias(mine.data(), mine.size(), &again), cudaSuccess);
  EXPECT_EQ(again, dv);

  mine[page() + 1] = 9;
  mg::before_device_work();
  EXPECT_EQ(d[page() + 1], 9);
  d[5] = 42;  // a kernel's write
  mg::after_synchronisation();
  EXPECT_EQ(mine[5], 42);
  EXPECT_EQ(mine[page() + 1], 9);

  // After the alias ends, synchronisations leave the program's memory alone.
  ASSERT_EQ(mg::release_alias(mine.data()), cudaSuccess);
  EXPECT_EQ(dev_.managed_freed, std::vector<uint64_t>{addr});
  EXPECT_FALSE(mg::alias_device(mine.data(), &inner));
  ASSERT_EQ(mg::release_alias(mine.data()), cudaSuccess);  // none left: nothing to do
  d[6] = 43;
  mine[6] = 1;
  mg::before_device_work();
  mg::after_synchronisation();
  EXPECT_EQ(mine[6], 1);
  // release() is for mirrored allocations only: an alias's device address is refused.
  EXPECT_FALSE(mg::owns(dv, mg::Kind::kMapped));
  (void)cr::take_last_error();
}

// A __managed__ variable's memory already exists on the worker: mirrored at its address, with
// the device's bytes (the initialiser), and adopting it twice is harmless.
TEST_F(CopyEngine, AdoptedManagedVariableIsMirroredInPlace) {
  dev_.managed.assign(2u << 20, 0);
  const uint64_t addr = kManagedBase + 300 * page() + 16;
  uint8_t* d = dev_.managed.data() + 300 * page() + 16;
  d[0] = 5;
  ASSERT_EQ(mg::adopt(addr, 4), cudaSuccess);
  auto* p = reinterpret_cast<uint8_t*>(addr);
  EXPECT_TRUE(mapped(p));
  EXPECT_EQ(p[0], 5);
  EXPECT_TRUE(mg::contains(p));
  ASSERT_EQ(mg::adopt(addr, 4), cudaSuccess);
  EXPECT_EQ(mg::adopt(addr, 8), cudaErrorInvalidValue);  // a different size at that address
  p[0] = 7;
  mg::before_device_work();
  EXPECT_EQ(d[0], 7);
  d[1] = 1;
  mg::after_synchronisation();
  EXPECT_EQ(p[1], 1);
  EXPECT_EQ(mg::adopt(0, 4), cudaErrorInvalidValue);
  EXPECT_EQ(mg::adopt(addr + 64, 0), cudaErrorInvalidValue);
  // Ending the mirror leaves the variable to its module on the worker.
  EXPECT_EQ(mg::release(p), cudaSuccess);
  EXPECT_TRUE(dev_.managed_freed.empty());
  EXPECT_FALSE(mapped(p));
  EXPECT_FALSE(mg::contains(p));
  (void)cr::take_last_error();
}

// cudaMemcpyBatchAsync: each entry is the single copy its pointers make (host to device, device
// to host, device to device), on the batch's stream.
TEST_F(CopyEngine, BatchCopiesRunEachCopyOnTheStream) {
  constexpr uint64_t kStream = 0x0100000000000042ull;
  auto a = pattern(3000, 11), b = pattern(5000, 12);
  void* dsts[] = {dptr(0), dptr(8192)};
  const void* srcs[] = {a.data(), b.data()};
  size_t sizes[] = {a.size(), b.size()};
  cudaMemcpyAttributes attrs[1] = {};
  attrs[0].srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  size_t idxs[] = {0};
  const cr::Target t = cr::async_on(reinterpret_cast<cudaStream_t>(kStream));
  ASSERT_EQ(cr::check_batch(dsts, srcs, sizes, 2, attrs, idxs, 1), cudaSuccess);
  ASSERT_EQ(cr::run_batch(dsts, srcs, sizes, 2, t), cudaSuccess);
  EXPECT_EQ(std::memcmp(dev_.mem.data(), a.data(), a.size()), 0);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 8192, b.data(), b.size()), 0);

  std::vector<uint8_t> back(a.size());
  void* dsts2[] = {back.data(), dptr(20000)};
  const void* srcs2[] = {dptr(0), dptr(8192)};
  size_t sizes2[] = {a.size(), b.size()};
  clear_calls();
  ASSERT_EQ(cr::run_batch(dsts2, srcs2, sizes2, 2, t), cudaSuccess);
  EXPECT_EQ(back, a);
  EXPECT_EQ(std::memcmp(dev_.mem.data() + 20000, b.data(), b.size()), 0);
  auto c = calls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].first, static_cast<uint32_t>(cr::kCall_gvMemcpyD2HChunk));
  EXPECT_EQ(c[1].first, static_cast<uint32_t>(cr::kCall_cudaMemcpyAsync));
  EXPECT_EQ(dev_.streams, (std::vector<uint64_t>{kStream, kStream}));
}

// A copy that fails stops the batch: its error is returned and recorded, later copies are not
// sent.
TEST_F(CopyEngine, BatchStopsAtTheFirstFailingCopy) {
  dev_.limit = 4096;
  auto a = pattern(100, 13);
  void* dsts[] = {dptr(0), dptr(8192), dptr(200)};
  const void* srcs[] = {a.data(), a.data(), a.data()};
  size_t sizes[] = {100, 100, 100};
  ASSERT_EQ(cr::run_batch(dsts, srcs, sizes, 3, cr::async_on(cudaStreamPerThread)),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidValue);
  EXPECT_EQ(std::memcmp(dev_.mem.data(), a.data(), 100), 0);
  EXPECT_EQ(dev_.mem[200], 0);
  EXPECT_EQ(calls().size(), 2u);
}

// cudaMemcpy3DBatchAsync: a host operand with its own row length and layer height lands packed
// on the device, and comes back into another layout.
TEST_F(CopyEngine, ThreeDimensionalBatchHonoursRowLengthAndLayerHeight) {
  auto host = pattern(8 * 4 * 2, 14);
  cudaMemcpy3DBatchOp op{};
  op.src.type = op.dst.type = cudaMemcpyOperandTypePointer;
  op.src.op.ptr.ptr = host.data();
  op.src.op.ptr.rowLength = 8;
  op.src.op.ptr.layerHeight = 4;
  op.dst.op.ptr.ptr = dptr(64);
  op.extent = cudaExtent{5, 3, 2};
  op.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  const auto t = cr::async_on(cudaStreamPerThread);
  ASSERT_EQ(cr::run_3d_batch(1, &op, 0, nullptr, t), cudaSuccess);
  for (size_t z = 0; z < 2; ++z)
    for (size_t y = 0; y < 3; ++y)
      for (size_t x = 0; x < 5; ++x)
        ASSERT_EQ(dev_.mem[64 + z * 15 + y * 5 + x], host[z * 32 + y * 8 + x]) << z << y << x;

  std::vector<uint8_t> back(6 * 3 * 2, 0);
  cudaMemcpy3DBatchOp up{};
  up.src.type = up.dst.type = cudaMemcpyOperandTypePointer;
  up.src.op.ptr.ptr = dptr(64);
  up.dst.op.ptr.ptr = back.data();
  up.dst.op.ptr.rowLength = 6;
  up.extent = cudaExtent{5, 3, 2};
  up.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  ASSERT_EQ(cr::run_3d_batch(1, &up, 0, nullptr, t), cudaSuccess);
  for (size_t z = 0; z < 2; ++z)
    for (size_t y = 0; y < 3; ++y)
      for (size_t x = 0; x < 6; ++x)
        ASSERT_EQ(back[z * 18 + y * 6 + x], x < 5 ? host[z * 32 + y * 8 + x] : 0) << z << y << x;

  // Batch flags must be 0, and one bad operation refuses the whole batch before any copy.
  clear_calls();
  EXPECT_EQ(cr::run_3d_batch(1, &up, 1, nullptr, t), cudaErrorInvalidValue);
  cudaMemcpy3DBatchOp two[2] = {op, up};
  two[1].extent.depth = 0;
  EXPECT_EQ(cr::run_3d_batch(2, two, 0, nullptr, t), cudaErrorInvalidValue);
  for (auto& call : calls())
    EXPECT_EQ(call.first, static_cast<uint32_t>(cr::kCall_gvContextCheck));
  (void)cr::take_last_error();
}

// Around a host callback: the callback sees what device work wrote (read through
// gvManagedPeek, with no device synchronisation: the callback's own stream is held), and what it
// writes reaches the device before the work behind it (gvManagedPoke), never through the
// legacy-stream copy chunks, which would wait for the held stream.
TEST_F(CopyEngine, HostCallbacksSeeAndPublishManagedMemory) {
  dev_.managed.assign(1u << 20, 0x11);
  const uint64_t addr = kManagedBase + 64 * page();
  dev_.managed_next = {addr};
  void* v = nullptr;
  ASSERT_EQ(mg::allocate(&v, 2 * page(), cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  auto* p = static_cast<uint8_t*>(v);
  uint8_t* d = dev_.managed.data() + 64 * page();

  // No device work since the last read-back: nothing to read.
  mg::after_synchronisation();
  clear_calls();
  mg::before_callback();
  EXPECT_EQ(count_calls(calls(), cr::kCall_gvManagedPeek), 0u);

  // A kernel (device work) writes; a host write not sent yet must survive the read-back.
  mg::before_device_work();
  d[10] = 99;
  p[page() + 1] = 5;
  clear_calls();
  mg::before_callback();
  EXPECT_EQ(p[10], 99);
  EXPECT_EQ(p[page() + 1], 5);
  EXPECT_EQ(d[page() + 1], 5);
  auto c = calls();
  EXPECT_EQ(count_calls(c, cr::kCall_gvManagedPeek), 1u);
  EXPECT_EQ(count_calls(c, cr::kCall_gvManagedPoke), 1u);
  EXPECT_EQ(count_calls(c, cr::kCall_cudaDeviceSynchronize), 0u);
  EXPECT_EQ(count_calls(c, cr::kCall_gvMemcpyD2HChunk), 0u);

  // The callback's writes go to the device after it, page by changed page.
  p[3] = 77;
  clear_calls();
  mg::after_callback();
  EXPECT_EQ(d[3], 77);
  c = calls();
  EXPECT_EQ(count_calls(c, cr::kCall_gvManagedPoke), 1u);
  EXPECT_EQ(count_calls(c, cr::kCall_gvMemcpyH2DChunk), 0u);
  clear_calls();
  mg::after_callback();  // nothing written since
  EXPECT_EQ(calls().size(), 0u);

  ASSERT_EQ(mg::release(p), cudaSuccess);
}

// While a host callback runs, another thread's host writes go with gvManagedPoke, not with the
// legacy-stream chunks, which would wait for the stream the callback holds while holding the
// exchange's lock (the callback then gave up its write-back: cuda.static_callback_managed).
// After the callback's write-back they go the usual way again. The driver's waits and queries
// push nothing before them.
TEST_F(CopyEngine, WhileAHostCallbackRunsOtherWritesAvoidTheStreams) {
  dev_.managed.assign(1u << 20, 0x22);
  const uint64_t addr = kManagedBase + 96 * page();
  dev_.managed_next = {addr};
  void* v = nullptr;
  ASSERT_EQ(mg::allocate(&v, 2 * page(), cudaMemAttachGlobal, mg::Kind::kManaged), cudaSuccess);
  auto* p = static_cast<uint8_t*>(v);
  uint8_t* d = dev_.managed.data() + 96 * page();

  mg::before_callback();  // a callback starts (on this thread, as the callback thread)
  p[7] = 3;               // a write the callback is making, or another thread's
  clear_calls();
  mg::before_device_work();  // another thread's launch meanwhile
  EXPECT_EQ(d[7], 3);
  auto c = calls();
  EXPECT_EQ(count_calls(c, cr::kCall_gvManagedPoke), 1u);
  EXPECT_EQ(count_calls(c, cr::kCall_gvMemcpyH2DChunk), 0u);
  mg::after_callback();

  p[page() + 9] = 4;  // no callback running: the usual way
  clear_calls();
  mg::before_device_work();
  EXPECT_EQ(d[page() + 9], 4);
  c = calls();
  EXPECT_EQ(count_calls(c, cr::kCall_gvMemcpyH2DChunk), 1u);
  EXPECT_EQ(count_calls(c, cr::kCall_gvManagedPoke), 0u);

  ASSERT_EQ(mg::release(p), cudaSuccess);

  // Launches of either API push first; the waits and queries of either API do not.
  EXPECT_TRUE(mg::pushes_before(static_cast<uint32_t>(cr::kCall_cudaLaunchKernel)));
  EXPECT_TRUE(mg::pushes_before(static_cast<uint32_t>(cuda::Call::kCall_cuLaunchKernel)));
  EXPECT_TRUE(mg::pushes_before(static_cast<uint32_t>(cuda::Call::kCall_cuMemcpyDtoD_v2)));
  EXPECT_FALSE(mg::pushes_before(static_cast<uint32_t>(cr::kCall_cudaStreamSynchronize)));
  EXPECT_FALSE(mg::pushes_before(static_cast<uint32_t>(cuda::Call::kCall_cuStreamSynchronize)));
  EXPECT_FALSE(mg::pushes_before(static_cast<uint32_t>(cuda::Call::kCall_cuCtxSynchronize)));
  EXPECT_FALSE(mg::pushes_before(static_cast<uint32_t>(cuda::Call::kCall_cuEventQuery)));
}

}  // namespace
}  // namespace gvirtus::testing
