// Host callbacks without a GPU: the worker's CallbackHub (trampolines publish and block until the
// client reports them done; hostile reports end the session; a closing session releases every
// blocked trampoline) and the client's decoding and calling of a callback record.
#include "backend/cudart/callbacks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "backend/worker.h"
#include "expect_fault.h"
#include "frontend/cudart/callback_thread.h"

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace bc = gvirtus::backend::cudart;
using namespace std::chrono_literals;

class Hub : public ::testing::Test {
 protected:
  // Runs hub.wait on connection `conn`.
  bool wait(be::ConnState& conn, uint64_t done, bc::ReadyCallback* r) {
    wire::FrameHeader hdr;
    be::CallContext ctx{session_, conn, hdr, wire::Reader(nullptr, 0), wire::Writer()};
    return hub_.wait(ctx, done, r);
  }
  bc::HostFn fn(uint64_t f, uint64_t user) {
    bc::HostFn h;
    h.hub = &hub_;
    h.fn = f;
    h.user = user;
    h.stream = 77;
    h.kind = bc::kStreamCallback;
    return h;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState primary_{session_, 0};
  be::ConnState cb_{session_, 3};
  bc::CallbackHub hub_;
};

// A session keeps at most kMaxKept host-node records (each may run at every launch of its
// graph): past that, keep() refuses and the callers answer cudaErrorMemoryAllocation, so that a
// client adding host nodes in a loop grows its worker only so far.
TEST_F(Hub, KeptRecordsAreBounded) {
  for (size_t i = 0; i < bc::CallbackHub::kMaxKept; ++i)
    ASSERT_NE(hub_.keep(std::make_unique<bc::HostFn>(fn(1, i))), nullptr) << i;
  EXPECT_EQ(hub_.keep(std::make_unique<bc::HostFn>(fn(1, 0))), nullptr);
}

TEST_F(Hub, TrampolineWaitsUntilTheClientReportsItDone) {
  hub_.attach(session_, 3);
  std::atomic<bool> returned{false};
  std::thread gpu([&] {
    hub_.run(fn(0x1234, 0x5678), 719);
    returned = true;
  });
  bc::ReadyCallback r;
  ASSERT_TRUE(wait(cb_, 0, &r));
  EXPECT_EQ(r.fn, 0x1234u);
  EXPECT_EQ(r.user, 0x5678u);
  EXPECT_EQ(r.stream, 77u);
  EXPECT_EQ(r.status, 719);
  EXPECT_EQ(r.kind, bc::kStreamCallback);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());  // the client is still running it
  // The next wait reports it done; nothing else is ready, so close to end that wait.
  std::thread closer([&] {
    while (!returned.load()) std::this_thread::sleep_for(1ms);
    hub_.close();
  });
  bc::ReadyCallback next;
  EXPECT_FALSE(wait(cb_, r.id, &next));
  gpu.join();
  closer.join();
  EXPECT_TRUE(returned.load());
}

TEST_F(Hub, CallbacksComeOutInTheOrderTheyWerePublished) {
  hub_.attach(session_, 3);
  std::thread a([&] { hub_.run(fn(1, 0), 0); });
  bc::ReadyCallback r1;
  ASSERT_TRUE(wait(cb_, 0, &r1));
  std::thread b([&] { hub_.run(fn(2, 0), 0); });
  std::this_thread::sleep_for(20ms);
  bc::ReadyCallback r2;
  ASSERT_TRUE(wait(cb_, r1.id, &r2));
  EXPECT_EQ(r1.fn, 1u);
  EXPECT_EQ(r2.fn, 2u);
  EXPECT_GT(r2.id, r1.id);
  a.join();
  hub_.close();
  b.join();
}

TEST_F(Hub, HostileReportsEndTheSession) {
  hub_.attach(session_, 3);
  bc::ReadyCallback r;
  // A callback it was never given.
  EXPECT_FAULT(wait(cb_, 12345, &r), "reports callback 12345 done, which it was not running");
  // Waiting on a connection that did not attach.
  EXPECT_FAULT(wait(primary_, 0, &r),
               "gvCallbackWait on connection 0, which is not the session's callback connection");
  // Reporting the same callback twice.
  std::thread g1([&] { hub_.run(fn(9, 9), 0); });
  ASSERT_TRUE(wait(cb_, 0, &r));
  std::thread g2([&] { hub_.run(fn(10, 10), 0); });
  bc::ReadyCallback r2;
  ASSERT_TRUE(wait(cb_, r.id, &r2));  // the first done, the second handed out
  g1.join();
  EXPECT_EQ(r2.fn, 10u);
  EXPECT_FAULT(wait(cb_, r.id, &r2), "reports callback 1 done, which it was not running");
  hub_.close();
  g2.join();
}

TEST_F(Hub, ClosingTheCallbackConnectionReleasesBlockedTrampolines) {
  hub_.attach(session_, 3);
  std::atomic<int> returned{0};
  std::thread t1([&] {
    hub_.run(fn(1, 1), 0);
    ++returned;
  });
  std::thread t2([&] {
    hub_.run(fn(2, 2), 0);
    ++returned;
  });
  bc::ReadyCallback r;
  ASSERT_TRUE(wait(cb_, 0, &r));  // one is running on the client, the other waits
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(returned.load(), 0);
  be::ConnState other(session_, 4);
  session_.conn_closed(other);  // an application thread ending changes nothing
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(returned.load(), 0);
  EXPECT_FALSE(hub_.closed());
  session_.conn_closed(cb_);
  t1.join();
  t2.join();
  EXPECT_EQ(returned.load(), 2);
  EXPECT_TRUE(hub_.closed());
  hub_.run(fn(3, 3), 0);  // later callbacks are skipped, never block
  EXPECT_FALSE(wait(cb_, 0, &r));
}

TEST_F(Hub, ThePrimaryClosingReleasesThemToo) {
  hub_.attach(session_, 3);
  std::thread t([&] { hub_.run(fn(1, 1), 0); });
  std::this_thread::sleep_for(20ms);
  session_.conn_closed(primary_);
  t.join();
  EXPECT_TRUE(hub_.closed());
}

int g_seen = 0;
void* g_user = nullptr;
cudaStream_t g_stream = nullptr;
cudaError_t g_status = cudaSuccess;
void CUDART_CB host_fn(void* user) {
  ++g_seen;
  g_user = user;
}
void CUDART_CB stream_fn(cudaStream_t s, cudaError_t status, void* user) {
  ++g_seen;
  g_user = user;
  g_stream = s;
  g_status = status;
}

TEST(CallbackRecord, DecodesAndCallsTheApplicationsFunction) {
  int data = 0;
  wire::Writer w;
  w.put<uint64_t>(5);
  w.put<uint8_t>(1);
  w.put<uint64_t>(reinterpret_cast<uintptr_t>(&stream_fn));
  w.put<uint64_t>(reinterpret_cast<uintptr_t>(&data));
  w.put<uint64_t>(0x0300000000000007ull);
  w.put<int32_t>(cudaErrorLaunchFailure);
  wire::Reader r(w.data(), w.size());
  cudart::CallbackRecord rec = cudart::read_callback_record(r);
  EXPECT_EQ(rec.id, 5u);
  g_seen = 0;
  EXPECT_TRUE(cudart::run_callback(rec));
  EXPECT_EQ(g_seen, 1);
  EXPECT_EQ(g_user, &data);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g_stream), 0x0300000000000007ull);
  EXPECT_EQ(g_status, cudaErrorLaunchFailure);

  rec.kind = 0;
  rec.fn = reinterpret_cast<uintptr_t>(&host_fn);
  EXPECT_TRUE(cudart::run_callback(rec));
  EXPECT_EQ(g_seen, 2);
  rec.kind = 2;  // unknown: nothing is called
  EXPECT_FALSE(cudart::run_callback(rec));
  EXPECT_EQ(g_seen, 2);

  wire::Writer longer = w;
  longer.put<uint8_t>(0);
  wire::Reader r2(longer.data(), longer.size());
  EXPECT_FAULT(cudart::read_callback_record(r2), "1 unexpected bytes at the end of the payload");
}

}  // namespace
}  // namespace gvirtus::testing
