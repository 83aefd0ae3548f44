// The client's bookkeeping for graph memcpy nodes with host memory (frontend/cudart/graph_host.h)
// against a fake worker: staging buffers are byte vectors, a "device" is a byte array, and a
// staged launch runs the graph's host-to-device nodes, a fake kernel (out = in + 1, bytewise)
// and the device-to-host nodes. Checks when host bytes travel (at launch, the contents then),
// when results land (at the synchronisation hook, only once the launch is done), that an earlier
// result is delivered before its buffer is launched again, and that buffers follow graphs into
// executable graphs, clones, parents and captures and are freed with the last user.
#include <cuda.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "cudart_calls.h"
#include "fake_backend.h"
#include "fake_staging.h"
#include "frontend/core/answers.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;
namespace gh = gvirtus::cudart::graph_host;

constexpr uint64_t kDev = 0x7c0000000000ull;  // the fake device's first byte

struct Node {
  uint8_t dir;  // 0 to the device, 1 to the host
  uint64_t staging, dev, width;
};

struct FakeWorker : FakeStaging {
  std::vector<uint8_t> mem = std::vector<uint8_t>(1 << 16);
  std::vector<Node> nodes;  // of every graph (one graph per test)
  uint64_t next_node = 0x0600000000000001ull;
  bool capturing = false;
  int launches = 0;
};
FakeWorker* g_w = nullptr;

void f_add_node(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  ctx.in.get<uint64_t>();
  uint32_t deps = ctx.in.get<uint32_t>();
  for (uint32_t i = 0; i < deps; ++i) ctx.in.get<uint64_t>();
  Node n;
  n.dir = ctx.in.get<uint8_t>();
  n.staging = ctx.in.get<uint64_t>();
  EXPECT_EQ(ctx.in.get<uint64_t>(), 0u);  // offset
  n.dev = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();  // pitch
  ctx.in.get<uint64_t>();  // rows per slice
  ctx.in.get<cudaPos>();
  n.width = ctx.in.get<uint64_t>();
  EXPECT_EQ(ctx.in.get<uint64_t>(), 1u);
  EXPECT_EQ(ctx.in.get<uint64_t>(), 1u);
  ctx.in.expect_end();
  g_w->nodes.push_back(n);
  ctx.out.put<uint64_t>(g_w->next_node++);
}

// Runs the nodes whose buffers the launch names: uploads, the kernel, downloads.
void f_launch(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  uint32_t n = ctx.in.get<uint32_t>();
  std::vector<uint64_t> ids(n);
  for (auto& id : ids) id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  auto named = [&](uint64_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  for (const Node& x : g_w->nodes)
    if (x.dir == 0 && named(x.staging))
      std::memcpy(&g_w->mem[x.dev - kDev], g_w->buffer(x.staging).data(), x.width);
  for (size_t i = 0; i < 4096; ++i) g_w->mem[8192 + i] = static_cast<uint8_t>(g_w->mem[i] + 1);
  for (const Node& x : g_w->nodes)
    if (x.dir == 1 && named(x.staging))
      std::memcpy(g_w->buffer(x.staging).data(), &g_w->mem[x.dev - kDev], x.width);
  ++g_w->launches;
}

void f_capture_copy(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  ctx.in.get<uint64_t>();
  uint8_t dir = ctx.in.get<uint8_t>();
  uint64_t dev = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (!g_w->capturing) {
    ctx.out.put<uint8_t>(0);
    return;
  }
  g_w->staging[g_w->next].assign(width * height, 0);
  g_w->nodes.push_back(Node{dir, g_w->next, dev, width * height});
  ctx.out.put<uint8_t>(1);
  ctx.out.put<uint64_t>(g_w->next++);
  ctx.out.put<uint64_t>(77);  // the capture's id
}

// As the worker's handler over the real runtime: the capture status is a required output of
// cudaStreamGetCaptureInfo (NULL: cudaErrorInvalidValue), the id an optional one.
void f_capture_info(be::CallContext& ctx) {
  g_w->note(ctx);
  ctx.in.get<uint64_t>();
  const uint8_t want = ctx.in.get<uint8_t>();
  ctx.in.expect_end();
  if (!(want & 1)) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  ctx.out.put<int32_t>(g_w->capturing ? cudaStreamCaptureStatusActive
                                       : cudaStreamCaptureStatusNone);
  if (want & 2) ctx.out.put<uint64_t>(77);
}

void f_ok(be::CallContext& ctx) { g_w->note(ctx); }

// Ordinary copy chunks, as the worker answers them: refused on a capturing stream
// (backend/cudart/memory.cc, refuse_capture).
void f_chunk(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  if (g_w->capturing) {
    ctx.status = cudaErrorStreamCaptureUnsupported;
    return;
  }
  if (ctx.header.call_id == cr::kCall_gvMemcpyD2HChunk) {
    ctx.in.get<uint64_t>();  // device address
    ctx.in.get<uint64_t>();  // pitch
    const uint64_t width = ctx.in.get<uint64_t>();
    const uint64_t rows = ctx.in.get<uint64_t>();
    static std::vector<uint8_t> zeros;
    zeros.assign(width * rows, 0);
    ctx.bulk = zeros.data();
    ctx.bulk_len = zeros.size();
  }
}

const be::Registry& registry() {
  static be::Registry* r = [] {
    auto* reg = new be::Registry;
    be::register_core_plugin(*reg);
    static const be::HandlerEntry entries[] = {
        {cr::kCall_gvStagingAlloc, "gvStagingAlloc", staging_alloc},
        {cr::kCall_gvStagingFree, "gvStagingFree", staging_free},
        {cr::kCall_gvStagingWrite, "gvStagingWrite", staging_write},
        {cr::kCall_gvStagingRead, "gvStagingRead", staging_read},
        {cr::kCall_gvGraphAddStagedMemcpyNode, "gvGraphAddStagedMemcpyNode", f_add_node},
        {cr::kCall_gvGraphLaunchStaged, "gvGraphLaunchStaged", f_launch},
        {cr::kCall_gvCaptureStagedCopy, "gvCaptureStagedCopy", f_capture_copy},
        {cr::kCall_cudaStreamGetCaptureInfo, "cudaStreamGetCaptureInfo", f_capture_info},
        {cr::kCall_gvContextCheck, "gvContextCheck", f_ok},
        {cr::kCall_gvMemcpyH2DChunk, "gvMemcpyH2DChunk", f_chunk},
        {cr::kCall_gvMemcpyD2HChunk, "gvMemcpyD2HChunk", f_chunk},
    };
    reg->add_plugin("cudart", entries, sizeof entries / sizeof entries[0]);
    return reg;
  }();
  return *r;
}

cudaGraph_t graph_id(uint64_t v) { return reinterpret_cast<cudaGraph_t>(v); }
cudaGraphExec_t exec_id(uint64_t v) { return reinterpret_cast<cudaGraphExec_t>(v); }
cudaStream_t stream_id(uint64_t v) { return reinterpret_cast<cudaStream_t>(v); }

class GraphHost : public ::testing::Test {
 protected:
  void SetUp() override {
    g_w = &w_;
    fake_staging() = &w_;
    cr::track_device_allocation(kDev, w_.mem.size());
  }
  void TearDown() override {
    cr::untrack_device_allocation(kDev);
    use_.reset();
    session_.reset();
    backend_.stop();
    g_w = nullptr;
    fake_staging() = nullptr;
  }
  size_t count(uint32_t id, uint8_t extra = 2) {
    std::lock_guard<std::mutex> g(w_.mu);
    size_t n = 0;
    for (auto& [c, x] : w_.calls) n += c == id && (extra == 2 || x == extra);
    return n;
  }
  // A graph: host `in` (4096 bytes) to device 0, device 8192 to host `out`.
  cudaGraph_t explicit_graph(uint64_t gid, std::vector<uint8_t>& in, std::vector<uint8_t>& out) {
    cudaGraph_t g = graph_id(gid);
    cudaGraphNode_t up, down;
    auto e1 = std::make_shared<gh::HostEnd>();
    e1->to_device = true;
    e1->host = in.data();
    e1->width = e1->pitch = in.size();
    gh::DeviceEnd d1;
    d1.ptr = kDev;
    EXPECT_EQ(gh::add_memcpy_node(&up, g, nullptr, 0, d1, e1), cudaSuccess);
    auto e2 = std::make_shared<gh::HostEnd>();
    e2->to_device = false;
    e2->host = out.data();
    e2->width = e2->pitch = out.size();
    gh::DeviceEnd d2;
    d2.ptr = kDev + 8192;
    EXPECT_EQ(gh::add_memcpy_node(&down, g, &up, 1, d2, e2), cudaSuccess);
    return g;
  }

  FakeWorker w_;
  be::Session server_session_{be::ClientInfo{}, be::SessionOptions{false}};
  FakeBackend backend_{[this](Stream& s, const wire::Hello&) {
    be::ConnState conn(server_session_, server_session_.next_connection_id());
    be::serve_connection(server_session_, conn, s, registry());
  }};
  std::unique_ptr<client::Session> session_{
      new client::Session(test_session_options(backend_.connector()))};
  std::unique_ptr<SessionOverride> use_{new SessionOverride(session_.get())};
};

TEST_F(GraphHost, HostBytesTravelAtLaunchAndResultsLandAtTheSynchronisation) {
  std::vector<uint8_t> in(4096), out(4096, 0);
  cudaGraph_t g = explicit_graph(0x0500000000000101ull, in, out);
  EXPECT_EQ(gh::ends_of_graph(g), 2u);
  cudaGraphExec_t x = exec_id(0x0700000000000101ull);
  gh::instantiated(x, g);
  EXPECT_EQ(gh::ends_of_exec(x), 2u);

  for (int round = 0; round < 3; ++round) {
    std::iota(in.begin(), in.end(), static_cast<uint8_t>(round * 7));
    w_.busy = true;
    auto r = gh::launch(x, stream_id(0x0100000000000003ull));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, cudaSuccess);
    EXPECT_EQ(gh::pending(), 1u);
    gh::deliver_finished();  // the launch still runs: nothing lands
    EXPECT_EQ(gh::pending(), 1u);
    w_.busy = false;
    gh::deliver_finished();
    EXPECT_EQ(gh::pending(), 0u);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<uint8_t>(in[i] + 1)) << i;
  }
  EXPECT_EQ(w_.launches, 3);

  // A host callback while the launch runs reads the buffers as they are, and they stay pending.
  w_.busy = true;
  std::iota(in.begin(), in.end(), static_cast<uint8_t>(40));
  ASSERT_EQ(gh::launch(x, nullptr), cudaSuccess);
  std::fill(out.begin(), out.end(), 0);
  w_.calls.clear();
  gh::before_callback();
  EXPECT_EQ(out[0], 41);
  ASSERT_EQ(w_.calls.size(), 1u);
  EXPECT_EQ(w_.calls[0].first, static_cast<uint32_t>(cr::kCall_gvStagingRead));
  EXPECT_EQ(w_.calls[0].second, 2);  // read as it is now
  EXPECT_EQ(gh::pending(), 1u);
  w_.busy = false;
  gh::deliver_finished();
  EXPECT_EQ(gh::pending(), 0u);

  // A graph without host ends is launched as usual.
  EXPECT_FALSE(gh::launch(exec_id(0x0700000000000999ull), nullptr).has_value());

  // Launched again before its result was delivered: that result lands first (waiting).
  w_.calls.clear();
  w_.busy = true;
  ASSERT_EQ(gh::launch(x, nullptr), cudaSuccess);
  std::iota(in.begin(), in.end(), static_cast<uint8_t>(100));
  ASSERT_EQ(gh::launch(x, nullptr), cudaSuccess);
  EXPECT_EQ(count(cr::kCall_gvStagingRead, 1), 1u);
  EXPECT_EQ(gh::pending(), 1u);
  w_.busy = false;
  gh::deliver_finished();
  EXPECT_EQ(out[0], 101);

  // The buffers live as long as a graph or an executable graph uses them.
  gh::graph_destroyed(g);
  EXPECT_TRUE(w_.freed.empty());
  gh::exec_destroyed(x);
  EXPECT_EQ(w_.freed.size(), 2u);
  EXPECT_TRUE(w_.staging.empty());
}

TEST_F(GraphHost, EndsFollowClonesParentsAndUpdates) {
  std::vector<uint8_t> in(4096), out(4096);
  cudaGraph_t g = explicit_graph(0x0500000000000201ull, in, out);
  cudaGraph_t clone = graph_id(0x0500000000000202ull), parent = graph_id(0x0500000000000203ull);
  gh::graph_cloned(clone, g);
  gh::child_added(parent, reinterpret_cast<cudaGraphNode_t>(0x0600000000000f01ull), g);
  EXPECT_EQ(gh::ends_of_graph(clone), 2u);
  EXPECT_EQ(gh::ends_of_graph(parent), 2u);
  gh::graph_destroyed(g);
  gh::graph_destroyed(clone);
  EXPECT_TRUE(w_.freed.empty());  // the parent still holds them
  // Destroying the child node drops them from the parent.
  gh::node_destroyed(reinterpret_cast<cudaGraphNode_t>(0x0600000000000f01ull));
  EXPECT_EQ(gh::ends_of_graph(parent), 0u);
  EXPECT_EQ(w_.freed.size(), 2u);

  // An executable graph updated to another graph takes that graph's ends.
  std::vector<uint8_t> in2(4096), out2(4096);
  cudaGraph_t a = explicit_graph(0x0500000000000204ull, in, out);
  cudaGraph_t b = explicit_graph(0x0500000000000205ull, in2, out2);
  cudaGraphExec_t x = exec_id(0x0700000000000201ull);
  gh::instantiated(x, a);
  gh::exec_updated(x, b);
  std::iota(in2.begin(), in2.end(), static_cast<uint8_t>(3));
  std::fill(out.begin(), out.end(), 0);
  ASSERT_EQ(gh::launch(x, nullptr), cudaSuccess);
  gh::deliver_finished();
  EXPECT_EQ(out2[0], 4);
  EXPECT_EQ(out[0], 0);
  // Refused: changing a child graph of an executable graph with host ends.
  auto r = gh::child_params_changing(x, a);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, cudaErrorNotSupported);
  (void)cr::take_last_error();
  gh::exec_destroyed(x);
  gh::graph_destroyed(a);
  gh::graph_destroyed(b);
  EXPECT_TRUE(w_.staging.empty());
}

TEST_F(GraphHost, CapturedHostCopiesJoinTheCapturedGraph) {
  std::vector<uint8_t> in(4096), out(4096);
  // Not capturing: the copy goes the usual way.
  EXPECT_FALSE(gh::capture_copy(3, true, kDev, 4096, in.data(), 4096, 4096, 1).has_value());
  w_.capturing = true;
  auto r = gh::capture_copy(3, true, kDev, 4096, in.data(), 4096, 4096, 1);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, cudaSuccess);
  ASSERT_EQ(gh::capture_copy(3, false, kDev + 8192, 4096, out.data(), 4096, 4096, 1), cudaSuccess);
  EXPECT_FALSE(gh::ending_capture(stream_id(3)).has_value());
  EXPECT_EQ(count(cr::kCall_cudaStreamGetCaptureInfo), 1u);
  cudaGraph_t g = graph_id(0x0500000000000301ull);
  client::note_capture_begun();  // capture_ended counts the capture as ended
  gh::capture_ended(stream_id(3), &g);
  EXPECT_EQ(gh::ends_of_graph(g), 2u);
  cudaGraphExec_t x = exec_id(0x0700000000000301ull);
  gh::instantiated(x, g);
  for (int round = 0; round < 2; ++round) {
    std::iota(in.begin(), in.end(), static_cast<uint8_t>(round * 50));
    ASSERT_EQ(gh::launch(x, nullptr), cudaSuccess);
    gh::deliver_finished();
    EXPECT_EQ(out[10], static_cast<uint8_t>(round * 50 + 11));
  }
  gh::exec_destroyed(x);
  gh::graph_destroyed(g);
  EXPECT_EQ(w_.freed.size(), 2u);
}

// Through the driver API (libcuda.so.1, and every copy of a statically linked cudart) an async
// host copy on a capturing stream is captured against a staging buffer as the runtime's is (the
// driver's graph calls keep the same table: frontend/cuda/graph_host_hooks.h). A synchronous
// one goes as an ordinary copy, which the worker refuses on a capturing stream.
TEST_F(GraphHost, DriverHostCopiesOnACapturingStreamAreStaged) {
  std::vector<uint8_t> in(4096, 7), out(4096, 1);
  w_.capturing = true;
  client::note_capture_begun();
  cudaStream_t s = stream_id(3);
  const cr::Target drv = cr::driver_api(cr::async_on(s));
  EXPECT_EQ(cr::copy(reinterpret_cast<void*>(kDev), 4096, in.data(), 4096, 4096, 1,
                     cudaMemcpyHostToDevice, drv, false),
            cudaSuccess);
  EXPECT_EQ(cr::copy(out.data(), 4096, reinterpret_cast<void*>(kDev + 8192), 4096, 4096, 1,
                     cudaMemcpyDeviceToHost, drv, false),
            cudaSuccess);
  EXPECT_EQ(count(cr::kCall_gvCaptureStagedCopy), 2u);
  EXPECT_EQ(count(cr::kCall_gvMemcpyH2DChunk), 0u);
  EXPECT_EQ(count(cr::kCall_gvMemcpyD2HChunk), 0u);
  EXPECT_EQ(w_.staging.size(), 2u);
  EXPECT_EQ(cr::copy(reinterpret_cast<void*>(kDev), 4096, in.data(), 4096, 4096, 1,
                     cudaMemcpyHostToDevice, cr::driver_api(cr::sync_legacy()), false),
            cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(count(cr::kCall_gvCaptureStagedCopy), 2u);
  EXPECT_EQ(count(cr::kCall_gvMemcpyH2DChunk), 1u);
  (void)cr::take_last_error();
  // The capture ends into a graph, which the copies join; the graph is launched as the
  // runtime's would be (cuGraphLaunch's hook is graph_host::launch).
  EXPECT_FALSE(gh::ending_capture(s).has_value());
  cudaGraph_t g = graph_id(0x0500000000000401ull);
  gh::capture_ended(s, &g);
  EXPECT_FALSE(client::capture_may_be_active());
  EXPECT_EQ(gh::ends_of_graph(g), 2u);
  w_.capturing = false;
  cudaGraphExec_t x = exec_id(0x0700000000000401ull);
  gh::instantiated(x, g);
  ASSERT_EQ(gh::launch(x, s), cudaSuccess);
  gh::deliver_finished();
  EXPECT_EQ(out[0], 8);  // the fake kernel: out = in + 1
  gh::exec_destroyed(x);
  gh::graph_destroyed(g);
  EXPECT_TRUE(w_.staging.empty());
}

// A cudaStreamEndCapture / cuStreamEndCapture that fails: an invalidated (or unjoined) capture
// ended with the call, so the client's count of active captures goes down and the copies it
// captured are freed; any other failure (not capturing, wrong thread) changes nothing.
TEST_F(GraphHost, AFailedEndOfAnInvalidatedCaptureEndsIt) {
  std::vector<uint8_t> in(4096, 7);
  ASSERT_FALSE(client::capture_may_be_active());
  w_.capturing = true;
  client::note_capture_begun();
  ASSERT_EQ(gh::capture_copy(3, true, kDev, 4096, in.data(), 4096, 4096, 1), cudaSuccess);
  EXPECT_EQ(w_.staging.size(), 1u);
  // Not capturing / wrong thread: the capture goes on, its copy kept.
  for (int32_t e : {static_cast<int32_t>(cudaErrorIllegalState),
                    static_cast<int32_t>(cudaErrorStreamCaptureWrongThread)}) {
    EXPECT_FALSE(gh::ending_capture(stream_id(3)).has_value());
    cudaGraph_t kept = graph_id(0x0500000000000998ull);
    gh::capture_end_failed(&kept, e);
    EXPECT_EQ(kept, graph_id(0x0500000000000998ull)) << e;
    EXPECT_TRUE(client::capture_may_be_active()) << e;
    EXPECT_EQ(w_.staging.size(), 1u) << e;
  }
  EXPECT_FALSE(gh::ending_capture(stream_id(3)).has_value());
  cudaGraph_t g = graph_id(0x0500000000000999ull);  // what the application's variable held
  gh::capture_end_failed(&g, cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(g, nullptr);
  EXPECT_FALSE(client::capture_may_be_active());
  EXPECT_TRUE(w_.staging.empty());
  EXPECT_EQ(w_.freed.size(), 1u);
  // The driver's code for it (CUDA_ERROR_STREAM_CAPTURE_UNJOINED) is the same number.
  client::note_capture_begun();
  gh::capture_end_failed(nullptr, CUDA_ERROR_STREAM_CAPTURE_UNJOINED);
  EXPECT_FALSE(client::capture_may_be_active());
  // A second failed end never takes the count below zero.
  gh::capture_end_failed(nullptr, cudaErrorStreamCaptureInvalidated);
  client::note_capture_begun();
  EXPECT_TRUE(client::capture_may_be_active());
  gh::capture_ended(stream_id(3), nullptr);
  EXPECT_FALSE(client::capture_may_be_active());
}

TEST_F(GraphHost, PackedRowsFollowTheHostLayout) {
  // 3 slices of 2 rows of 4 bytes, rows 6 bytes apart, 3 rows a slice.
  std::vector<uint8_t> host(6 * 3 * 3, 0xee);
  gh::HostEnd e;
  e.host = host.data();
  e.width = 4;
  e.height = 2;
  e.depth = 3;
  e.pitch = 6;
  e.ysize = 3;
  std::vector<uint8_t> packed(e.bytes());
  std::iota(packed.begin(), packed.end(), 0);
  e.unpack(packed.data());
  EXPECT_EQ(host[0], 0);
  EXPECT_EQ(host[4], 0xee);   // the row's padding
  EXPECT_EQ(host[6], 4);      // second row
  EXPECT_EQ(host[12], 0xee);  // the slice's third row is not copied
  EXPECT_EQ(host[18], 8);     // second slice
  std::vector<uint8_t> again(e.bytes());
  e.pack(again.data());
  EXPECT_EQ(again, packed);
}

}  // namespace
}  // namespace gvirtus::testing
