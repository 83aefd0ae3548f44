// Cross-connection ordering in the worker: Session::request_done / wait_done and the Fence
// control call, which a client sends on a new connection so that its first calls cannot overtake
// NoReply requests still in flight on the process's other connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/log.h"
#include "test_streams.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;
using testing::request_frame;

constexpr uint32_t kSlow = 600;
std::atomic<bool> g_slow_done{false};

// A NoReply request that takes a while: stands for a launch queued behind others.
void slow(CallContext& c) {
  c.in.expect_end();
  std::this_thread::sleep_for(300ms);
  g_slow_done = true;
}

const HandlerEntry kHandlers[] = {{kSlow, "Slow", &slow}};

const Registry& fence_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    reg->add_plugin("fence-test", kHandlers, 1);
    return reg;
  }();
  return *r;
}

std::vector<uint8_t> fence_payload(std::initializer_list<std::pair<uint64_t, uint64_t>> waits) {
  wire::Writer w;
  w.put<uint32_t>(static_cast<uint32_t>(waits.size()));
  for (auto& p : waits) {
    w.put<uint64_t>(p.first);
    w.put<uint64_t>(p.second);
  }
  return w.buffer();
}

void send(Stream& s, const std::vector<uint8_t>& bytes) {
  struct iovec iov = {const_cast<uint8_t*>(bytes.data()), bytes.size()};
  ASSERT_TRUE(s.send(&iov, 1));
}

class Fence : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
  }
  void TearDown() override { log::set_level(saved_); }
  // Serves connection `id` of session_ on a new stream pair; returns the client end.
  // The connection is registered before this returns, as the worker registers it before its
  // Welcome.
  std::unique_ptr<Stream> serve(uint64_t id, std::future<Status>* done) {
    std::unique_ptr<Stream> client, server;
    EXPECT_TRUE(stream_pair(&client, &server));
    Stream* raw = server.release();
    auto conn = std::make_shared<ConnState>(session_, id);
    session_.conn_opened(*conn);
    *done = std::async(std::launch::async, [this, conn, raw] {
      std::unique_ptr<Stream> s(raw);
      Status st = serve_connection(session_, *conn, *s, fence_registry());
      session_.conn_closed(*conn);
      return st;
    });
    return client;
  }
  log::Level saved_;
  Session session_{ClientInfo{}, SessionOptions{false}};
};

TEST_F(Fence, WaitDoneReturnsWhenTheRequestIsDoneOrTheConnectionCloses) {
  ConnState a(session_, 1);
  session_.conn_opened(a);
  auto waiter = std::async(std::launch::async, [&] { session_.wait_done(1, 5); });
  EXPECT_EQ(waiter.wait_for(100ms), std::future_status::timeout);
  session_.request_done(a, 4);
  EXPECT_EQ(waiter.wait_for(100ms), std::future_status::timeout);
  session_.request_done(a, 5);
  EXPECT_EQ(waiter.wait_for(2s), std::future_status::ready);

  auto on_close = std::async(std::launch::async, [&] { session_.wait_done(1, 99); });
  EXPECT_EQ(on_close.wait_for(100ms), std::future_status::timeout);
  session_.conn_closed(a);
  EXPECT_EQ(on_close.wait_for(2s), std::future_status::ready);
  // A connection that is not open (closed, or never seen) is never waited for.
  auto unknown = std::async(std::launch::async, [&] { session_.wait_done(42, 1); });
  EXPECT_EQ(unknown.wait_for(2s), std::future_status::ready);
}

TEST_F(Fence, FenceReplyComesAfterTheNamedNoReplyRequest) {
  g_slow_done = false;
  std::future<Status> done1, done2;
  auto c1 = serve(1, &done1);
  auto c2 = serve(2, &done2);
  send(*c1, request_frame(kSlow, 1, {}, wire::kFlagNoReply));
  send(*c2, request_frame(kCallFence, 1, fence_payload({{1, 1}})));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*c2, wire::kMaxPayload, &h));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(h.status, 0);
  EXPECT_TRUE(g_slow_done) << "the fence was answered before the request it names was done";
  c1.reset();
  c2.reset();
  // Both sessions end because the client went away, not because of a fault.
  for (auto* d : {&done1, &done2}) {
    Status st = d->get();
    EXPECT_TRUE(st.is_ok() || st.code() == Code::kDisconnected) << st.to_string();
  }
}

TEST_F(Fence, FenceOnItsOwnConnectionOrTooLongEndsTheSession) {
  std::future<Status> done;
  auto c = serve(3, &done);
  send(*c, request_frame(kCallFence, 1, fence_payload({{3, 5}})));
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(done.get().code(), Code::kProtocol);

  wire::Writer w;
  w.put<uint32_t>(1u << 30);  // announces a billion entries
  auto c2 = serve(4, &done);
  send(*c2, request_frame(kCallFence, 1, w.buffer()));
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(done.get().code(), Code::kProtocol);
}

}  // namespace
}  // namespace gvirtus::backend
