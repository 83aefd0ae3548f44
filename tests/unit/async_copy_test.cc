// Asynchronous device-to-host copies into page-locked memory over a socket transport
// (frontend/core/deliveries.h) against a fake worker: the "device" is a byte array, staging
// buffers are byte vectors, and gvStagingFromDevice copies into a buffer at once but reports the
// copy running (gvStagingRead mode 0 answers cudaErrorNotReady) while the test says so. Checks
// that the call returns with nothing written, that the bytes land at a synchronisation (through
// the call hook) and not before, that a later copy reading the memory waits for them, that a
// host callback gets the copies that are done, that frees drop them, that failures are the
// call's, that buffers are pooled, and that pageable memory keeps the synchronous path.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "cudart_calls.h"
#include "fake_backend.h"
#include "fake_staging.h"
#include "frontend/core/deliveries.h"
#include "frontend/core/lent_ranges.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::testing {
namespace {

using namespace std::chrono_literals;

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;
namespace dl = gvirtus::client::deliveries;

constexpr uint64_t kDev = 0x7b0000000000ull;  // the fake device's first byte
constexpr size_t kDevBytes = 24 << 20;  // room for a copy of several 8 MiB frames

struct FakeWorker : FakeStaging {
  std::vector<uint8_t> mem = std::vector<uint8_t>(kDevBytes);
};
FakeWorker* g_w = nullptr;

// The fields of gvStagingFromDevice / gvStagingToDevice: buffer id, offset, device pointer,
// pitch, width, rows, stream. False (status set) for a range outside the fake device.
struct Rect {
  uint64_t id, off, dev, pitch, width, rows;
};
bool read_rect(be::CallContext& ctx, Rect* r) {
  r->id = ctx.in.get<uint64_t>();
  r->off = ctx.in.get<uint64_t>();
  r->dev = ctx.in.get<uint64_t>();
  r->pitch = ctx.in.get<uint64_t>();
  r->width = ctx.in.get<uint64_t>();
  r->rows = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();  // stream
  ctx.in.expect_end();
  if (r->dev < kDev || (r->rows - 1) * r->pitch + r->width > kDevBytes - (r->dev - kDev)) {
    ctx.status = cudaErrorInvalidValue;
    return false;
  }
  return true;
}

// Packed rows of the fake device into the buffer.
void f_from_device(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  Rect r;
  if (!read_rect(ctx, &r)) return;
  auto& b = g_w->buffer(r.id);
  for (uint64_t i = 0; i < r.rows; ++i)
    std::memcpy(b.data() + r.off + i * r.width, &g_w->mem[r.dev - kDev + i * r.pitch], r.width);
}

// As f_from_device, the other way.
void f_to_device(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  Rect r;
  if (!read_rect(ctx, &r)) return;
  auto& b = g_w->buffer(r.id);
  for (uint64_t i = 0; i < r.rows; ++i)
    std::memcpy(&g_w->mem[r.dev - kDev + i * r.pitch], b.data() + r.off + i * r.width, r.width);
}

void f_h2d(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  uint64_t dev = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t rows = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  const uint8_t* p = ctx.in.get_bytes(width * rows);
  std::memcpy(&g_w->mem[dev - kDev], p, width * rows);
}

void f_d2h(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
  uint64_t dev = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t rows = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  ctx.bulk = &g_w->mem[dev - kDev];
  ctx.bulk_len = width * rows;
}

void f_ok(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_w->mu);
  g_w->note(ctx);
}

const be::Registry& registry() {
  static be::Registry* r = [] {
    auto* reg = new be::Registry;
    be::register_core_plugin(*reg);
    static const be::HandlerEntry entries[] = {
        {cr::kCall_gvStagingAlloc, "gvStagingAlloc", staging_alloc},
        {cr::kCall_gvStagingFree, "gvStagingFree", staging_free},
        {cr::kCall_gvStagingRead, "gvStagingRead", staging_read},
        {cr::kCall_gvStagingFromDevice, "gvStagingFromDevice", f_from_device},
        {cr::kCall_gvStagingWrite, "gvStagingWrite", staging_write},
        {cr::kCall_gvStagingToDevice, "gvStagingToDevice", f_to_device},
        {cr::kCall_gvMemcpyH2DChunk, "gvMemcpyH2DChunk", f_h2d},
        {cr::kCall_gvMemcpyD2HChunk, "gvMemcpyD2HChunk", f_d2h},
        {cr::kCall_cudaStreamSynchronize, "cudaStreamSynchronize", f_ok},
        {cr::kCall_cudaStreamQuery, "cudaStreamQuery", f_ok},
        {cr::kCall_gvContextCheck, "gvContextCheck", f_ok},
    };
    reg->add_plugin("cudart", entries, sizeof entries / sizeof entries[0]);
    return reg;
  }();
  return *r;
}

// The page-locked memory of these tests: what the runtime's table would answer.
std::atomic<uintptr_t> g_locked_lo{0}, g_locked_hi{0};
bool test_is_page_locked(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a >= g_locked_lo.load() && a < g_locked_hi.load();
}

cudaStream_t stream_id(uint64_t v) { return reinterpret_cast<cudaStream_t>(v); }
void* dev(uint64_t off) { return reinterpret_cast<void*>(kDev + off); }

class AsyncCopies : public ::testing::Test {
 protected:
  void SetUp() override {
    g_w = &w_;
    fake_staging() = &w_;
    cr::set_page_locked_probe(&test_is_page_locked);
    pinned_.assign(1 << 16, 0);
    g_locked_lo = reinterpret_cast<uintptr_t>(pinned_.data());
    g_locked_hi = g_locked_lo + pinned_.size();
    std::iota(w_.mem.begin(), w_.mem.end(), 0);
    cr::track_device_allocation(kDev, kDevBytes);
  }
  void TearDown() override {
    dl::reset_for_testing();
    cr::set_page_locked_probe(nullptr);
    g_locked_lo = g_locked_hi = 0;
    cr::untrack_device_allocation(kDev);
    use_.reset();
    session_.reset();
    backend_.stop();
    g_w = nullptr;
    fake_staging() = nullptr;
  }
  size_t count(uint32_t id, int mode = -1) {
    std::lock_guard<std::mutex> g(w_.mu);
    size_t n = 0;
    for (auto& [c, m] : w_.calls) n += c == id && (mode < 0 || m == mode);
    return n;
  }
  // A call that waits for its reply: everything the client sent before it has been carried out
  // (the lent bytes of a host-to-device copy, sent after the call returned, included).
  bool flushed() {
    client::Call c(cr::id(cr::Call::kCall_gvContextCheck));
    return c.invoke();
  }
  bool synchronize(uint64_t stream) {
    client::Call c(cr::id(cr::Call::kCall_cudaStreamSynchronize));
    c.args().put<uint64_t>(stream);
    return c.invoke();
  }
  void running(bool v) {
    std::lock_guard<std::mutex> g(w_.mu);
    w_.busy = v;
  }

  std::vector<uint8_t> pinned_;
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

TEST_F(AsyncCopies, PinnedDestinationLandsAtTheSynchronisationAndNotBefore) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  running(true);
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(100), 4096, cudaMemcpyDeviceToHost, t), cudaSuccess);
  // Returned with the copy enqueued and nothing written.
  EXPECT_EQ(count(cr::kCall_gvStagingFromDevice), 1u);
  EXPECT_EQ(count(cr::kCall_gvMemcpyD2HChunk), 0u);
  EXPECT_EQ(dl::pending(), 1u);
  EXPECT_EQ(pinned_[0], 0);
  // A synchronisation that does not cover it (the copy still runs): nothing lands.
  ASSERT_TRUE(synchronize(0x0100000000000009ull));
  EXPECT_EQ(count(cr::kCall_gvStagingRead, 0), 1u);
  EXPECT_EQ(dl::pending(), 1u);
  EXPECT_EQ(pinned_[0], 0);
  // One that does: the bytes are there when it returns.
  running(false);
  ASSERT_TRUE(synchronize(0x0100000000000007ull));
  EXPECT_EQ(dl::pending(), 0u);
  for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(pinned_[i], static_cast<uint8_t>(100 + i)) << i;
  EXPECT_EQ(pinned_[4096], 0);
  // The buffer is kept and reused: the next copy allocates nothing.
  EXPECT_EQ(dl::pooled(), 1u);
  ASSERT_EQ(cr::copy_1d(pinned_.data() + 8192, dev(7), 1000, cudaMemcpyDeviceToHost, t),
            cudaSuccess);
  EXPECT_EQ(count(cr::kCall_gvStagingAlloc), 1u);
  // A call that is not a synchronisation delivers nothing; a successful query does.
  client::Call other(cr::id(cr::Call::kCall_gvContextCheck));
  ASSERT_TRUE(other.invoke());
  EXPECT_EQ(dl::pending(), 1u);
  client::Call q(cr::id(cr::Call::kCall_cudaStreamQuery));
  q.args().put<uint64_t>(0x0100000000000007ull);
  ASSERT_TRUE(q.invoke());
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(pinned_[8192], 7);
  EXPECT_EQ(pinned_[8192 + 999], static_cast<uint8_t>(1006));
}

TEST_F(AsyncCopies, StridedRowsLandInTheHostLayout) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  // 3 rows of 10 bytes: device rows 256 apart, host rows 16 apart.
  ASSERT_EQ(cr::copy(pinned_.data(), 16, dev(0), 256, 10, 3, cudaMemcpyDeviceToHost, t, true),
            cudaSuccess);
  ASSERT_TRUE(dl::deliver_finished());
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 16; ++i)
      ASSERT_EQ(pinned_[r * 16 + i], i < 10 ? static_cast<uint8_t>(r * 256 + i) : 0) << r << i;
}

TEST_F(AsyncCopies, ReadingThePendingMemoryWaitsForIt) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  running(true);
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(300), 512, cudaMemcpyDeviceToHost, t), cudaSuccess);
  // Host-to-device from the same bytes on the same stream: reads what the first copy delivers.
  ASSERT_EQ(cr::copy_1d(dev(65536), pinned_.data() + 100, 64, cudaMemcpyHostToDevice, t),
            cudaSuccess);
  ASSERT_TRUE(flushed());  // its bytes go after the call returned
  EXPECT_EQ(count(cr::kCall_gvStagingRead, 1), 1u);  // waited for
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(w_.mem[65536], static_cast<uint8_t>(400));
  EXPECT_EQ(w_.mem[65536 + 63], static_cast<uint8_t>(463));
  // Memory nobody copies into is not waited for.
  ASSERT_EQ(cr::copy_1d(pinned_.data() + 4096, dev(0), 64, cudaMemcpyDeviceToHost, t),
            cudaSuccess);
  std::vector<uint8_t> elsewhere(64, 1);
  ASSERT_EQ(cr::copy_1d(dev(65536), elsewhere.data(), 64, cudaMemcpyHostToDevice, t),
            cudaSuccess);
  EXPECT_EQ(count(cr::kCall_gvStagingRead, 1), 1u);
  EXPECT_EQ(dl::pending(), 1u);
  // A host-to-host copy out of it waits too.
  std::vector<uint8_t> out(8, 0);
  ASSERT_EQ(cr::copy_1d(out.data(), pinned_.data() + 4096, 8, cudaMemcpyHostToHost, t),
            cudaSuccess);
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(out[1], 1);
}

TEST_F(AsyncCopies, HostCallbackGetsTheCopiesThatAreDone) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  running(true);
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(5), 16, cudaMemcpyDeviceToHost, t), cudaSuccess);
  dl::before_callback();  // still running: not ahead of this callback
  EXPECT_EQ(dl::pending(), 1u);
  EXPECT_EQ(pinned_[0], 0);
  running(false);
  dl::before_callback();
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(pinned_[0], 5);
  // Delivered once: a later synchronisation does not write it again.
  pinned_[0] = 42;
  ASSERT_TRUE(synchronize(0x0100000000000007ull));
  EXPECT_EQ(pinned_[0], 42);
}

TEST_F(AsyncCopies, FreedMemoryDropsItsCopiesAndTheirBuffers) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  running(true);
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(5), 16, cudaMemcpyDeviceToHost, t), cudaSuccess);
  ASSERT_EQ(cr::copy_1d(pinned_.data() + 1024, dev(5), 16, cudaMemcpyDeviceToHost, t),
            cudaSuccess);
  dl::forget_range(pinned_.data(), 512);
  EXPECT_EQ(dl::pending(), 1u);
  // Its copy may still run: the buffer is freed (the worker waits), never reused.
  EXPECT_EQ(w_.freed.size(), 1u);
  EXPECT_EQ(dl::pooled(), 0u);
  running(false);
  ASSERT_TRUE(dl::deliver_finished());
  EXPECT_EQ(pinned_[0], 0);
  EXPECT_EQ(pinned_[1024], 5);
}

TEST_F(AsyncCopies, AFailedEnqueueIsTheCallsErrorAndLeavesNothingPending) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  // Past the device's end (the client does not know the allocation's size here).
  cr::untrack_device_allocation(kDev);
  cr::track_device_allocation(kDev, 2 * kDevBytes);
  EXPECT_EQ(cr::copy_1d(pinned_.data(), dev(kDevBytes - 8), 16, cudaMemcpyDeviceToHost, t),
            cudaErrorInvalidValue);
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(dl::pooled(), 1u);  // nothing was enqueued into it
}

TEST_F(AsyncCopies, PinnedSourceIsWrittenWithoutWaitingThenCopiedOnTheStream) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  std::iota(pinned_.begin(), pinned_.end(), 3);
  ASSERT_EQ(cr::copy_1d(dev(1000), pinned_.data(), 20000, cudaMemcpyHostToDevice, t),
            cudaSuccess);
  ASSERT_TRUE(flushed());  // the bytes and the enqueue go after the call returned
  EXPECT_EQ(count(cr::kCall_gvStagingWrite, 1), 1u);  // sent without waiting
  EXPECT_EQ(count(cr::kCall_gvStagingToDevice), 1u);
  EXPECT_EQ(count(cr::kCall_gvMemcpyH2DChunk), 0u);
  for (size_t i = 0; i < 20000; ++i)
    ASSERT_EQ(w_.mem[1000 + i], static_cast<uint8_t>(3 + i)) << i;
  // Its buffer may still be read by the stream: reused only after a synchronisation.
  EXPECT_EQ(dl::pooled(), 0u);
  ASSERT_TRUE(synchronize(0x0100000000000007ull));
  EXPECT_EQ(dl::pooled(), 1u);
  // Strided rows: 4 rows of 10 bytes, host rows 32 apart, device rows 100 apart.
  ASSERT_EQ(cr::copy(dev(50000), 100, pinned_.data() + 1, 32, 10, 4, cudaMemcpyHostToDevice, t,
                     true),
            cudaSuccess);
  ASSERT_TRUE(flushed());
  EXPECT_EQ(count(cr::kCall_gvStagingAlloc), 1u);  // the pooled buffer
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(w_.mem[50000 + r * 100], static_cast<uint8_t>(3 + 1 + r * 32)) << r;
    EXPECT_EQ(w_.mem[50000 + r * 100 + 9], static_cast<uint8_t>(3 + 10 + r * 32)) << r;
    EXPECT_EQ(w_.mem[50000 + r * 100 + 10], static_cast<uint8_t>(50000 + r * 100 + 10)) << r;
  }
  // A failed enqueue is the call's error.
  EXPECT_EQ(cr::copy_1d(dev(kDevBytes - 8), pinned_.data(), 16, cudaMemcpyHostToDevice, t),
            cudaErrorInvalidValue);
}

TEST_F(AsyncCopies, PageableAndSynchronousCopiesKeepTheChunkPath) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  std::vector<uint8_t> pageable(64, 0);
  ASSERT_EQ(cr::copy_1d(pageable.data(), dev(9), 64, cudaMemcpyDeviceToHost, t), cudaSuccess);
  EXPECT_EQ(pageable[0], 9);  // complete on return, as CUDA promises for pageable memory
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(9), 64, cudaMemcpyDeviceToHost, cr::sync_legacy()),
            cudaSuccess);
  EXPECT_EQ(pinned_[0], 9);
  EXPECT_EQ(count(cr::kCall_gvMemcpyD2HChunk), 2u);
  EXPECT_EQ(count(cr::kCall_gvStagingFromDevice), 0u);
  EXPECT_EQ(dl::pending(), 0u);
}

// A copy the worker will surely accept (rows inside a known allocation) returns before its
// bytes have gone: they are lent to the connection's send queue. Freeing that memory waits until
// they are sent; a later call that waits for a reply finds them carried out.
TEST_F(AsyncCopies, LentBytesGoAfterTheCallReturnsAndFreeingWaitsForThem) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  const size_t n = 20u << 20;  // three frames: the worker reads one, then stalls in its handler
  std::vector<uint8_t> big(n);
  for (size_t i = 0; i < n; ++i) big[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  g_locked_lo = reinterpret_cast<uintptr_t>(big.data());
  g_locked_hi = g_locked_lo + n;
  // A first copy, so that the staging buffer exists and is pooled (no reply to wait for later).
  ASSERT_EQ(cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t), cudaSuccess);
  ASSERT_TRUE(synchronize(0x0100000000000007ull));
  ASSERT_EQ(dl::pooled(), 1u);
  for (size_t i = 0; i < n; ++i) big[i] = static_cast<uint8_t>(i * 13 + 1);

  std::unique_lock<std::mutex> stall(w_.mu);  // the worker's handlers wait for this
  // The call runs on a thread of its own, which is joined only once the worker goes on: a
  // thread's end sends what its connection still holds.
  std::atomic<int> result{-1};
  std::thread caller([&] {
    result = cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t);
  });
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (result.load() < 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(result.load(), cudaSuccess) << "the call waited for its bytes (-1: not returned)";
  // The worker holds one frame; the socket cannot hold the rest: bytes are still lent.
  EXPECT_GT(client::lent::count(), 0u);
  auto freeing = std::async(std::launch::async, [&] { dl::forget_range(big.data(), n); });
  EXPECT_EQ(freeing.wait_for(200ms), std::future_status::timeout);
  stall.unlock();
  ASSERT_EQ(freeing.wait_for(10s), std::future_status::ready);
  // Given back: the program may reuse it at once. Every byte had left before the wait ended,
  // so the worker still gets what the copy read.
  std::fill(big.begin(), big.end(), uint8_t{0xee});
  caller.join();
  EXPECT_EQ(client::lent::count(), 0u);
  ASSERT_TRUE(flushed());
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(w_.mem[i], static_cast<uint8_t>(i * 13 + 1)) << i;
}

// Bytes lent from a buffer hold back only what writes it: a second copy from the same
// page-locked buffer returns at once, as natively, while the first one's bytes are still unsent.
TEST_F(AsyncCopies, ASecondCopyFromLentBytesDoesNotWaitForThem) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  const size_t n = 20u << 20;
  std::vector<uint8_t> big(n);
  for (size_t i = 0; i < n; ++i) big[i] = static_cast<uint8_t>(i * 5 + 3);
  g_locked_lo = reinterpret_cast<uintptr_t>(big.data());
  g_locked_hi = g_locked_lo + n;
  // Two staging buffers made and pooled beforehand, so neither copy below waits for a reply.
  ASSERT_EQ(cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t), cudaSuccess);
  ASSERT_EQ(cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t), cudaSuccess);
  ASSERT_TRUE(synchronize(0x0100000000000007ull));
  ASSERT_EQ(dl::pooled(), 2u);

  std::unique_lock<std::mutex> stall(w_.mu);
  std::atomic<int> first{-1}, second{-1};
  std::thread caller([&] {
    first = cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t);
    second = cr::copy_1d(dev(0), big.data(), n, cudaMemcpyHostToDevice, t);
  });
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (second.load() < 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(first.load(), cudaSuccess);
  EXPECT_EQ(second.load(), cudaSuccess) << "the second copy waited for the first's bytes";
  EXPECT_GT(client::lent::count(), 0u);
  stall.unlock();
  caller.join();
  ASSERT_TRUE(flushed());
  EXPECT_EQ(client::lent::count(), 0u);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(w_.mem[i], static_cast<uint8_t>(i * 5 + 3)) << i;
}

TEST_F(AsyncCopies, ASynchronousCopyDeliversWhatItsStreamsFinished) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(1), 8, cudaMemcpyDeviceToHost, t), cudaSuccess);
  std::vector<uint8_t> pageable(8, 0);
  ASSERT_EQ(cr::copy_1d(pageable.data(), dev(2), 8, cudaMemcpyDeviceToHost, cr::sync_legacy()),
            cudaSuccess);
  EXPECT_EQ(dl::pending(), 0u);
  EXPECT_EQ(pinned_[0], 1);
}

TEST_F(AsyncCopies, ALostSessionFailsTheSynchronisationInsteadOfHanging) {
  const cr::Target t = cr::async_on(stream_id(0x0100000000000007ull));
  running(true);
  ASSERT_EQ(cr::copy_1d(pinned_.data(), dev(1), 8, cudaMemcpyDeviceToHost, t), cudaSuccess);
  backend_.stop();
  EXPECT_FALSE(dl::deliver_finished());
  EXPECT_FALSE(dl::wait_range(pinned_.data(), 8));
  EXPECT_EQ(pinned_[0], 0);
}

}  // namespace
}  // namespace gvirtus::testing
