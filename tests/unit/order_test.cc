// The session-wide order of requests in the worker (tickets, docs/protocol.md): a ticketed
// request runs only after every smaller ticket, whichever connection carried it; a `waits`
// handler gives its place up before it blocks; a replayed ticket ends the connection.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/log.h"
#include "serve_pair.h"
#include "test_streams.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kSlow = 600;   // sleeps, then records its tag
constexpr uint32_t kQuick = 601;  // records its tag
constexpr uint32_t kBlock = 602;  // `waits`: blocks until kQuick ran, then records its tag

std::mutex g_mu;
std::vector<uint32_t> g_ran;  // tags in the order the handlers ran
std::atomic<bool> g_quick_ran{false};

void record(CallContext& c) {
  uint32_t tag = c.in.get<uint32_t>();
  c.in.expect_end();
  std::lock_guard<std::mutex> g(g_mu);
  g_ran.push_back(tag);
}
void slow(CallContext& c) {
  std::this_thread::sleep_for(200ms);
  record(c);
}
void quick(CallContext& c) {
  record(c);
  g_quick_ran = true;
}
void block(CallContext& c) {
  for (int i = 0; i < 500 && !g_quick_ran; ++i) std::this_thread::sleep_for(2ms);
  record(c);
}

const HandlerEntry kHandlers[] = {{kSlow, "Slow", &slow},
                                  {kQuick, "Quick", &quick},
                                  {kBlock, "Block", &block, kEntryWaits}};

const Registry& order_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    reg->add_plugin("order-test", kHandlers, 3);
    return reg;
  }();
  return *r;
}

std::vector<uint8_t> ticketed(uint32_t call, uint64_t request_id, uint64_t ticket, uint32_t tag,
                              uint16_t flags = 0) {
  wire::Writer w;
  w.put<uint32_t>(tag);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.call_id = call;
  h.request_id = request_id;
  h.flags = flags;
  wire::set_ticket(&h, ticket);
  return testing::frame_bytes(h, w.buffer());
}

void send(Stream& s, const std::vector<uint8_t>& bytes) {
  struct iovec iov = {const_cast<uint8_t*>(bytes.data()), bytes.size()};
  ASSERT_TRUE(s.send(&iov, 1));
}

class Order : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
    std::lock_guard<std::mutex> g(g_mu);
    g_ran.clear();
    g_quick_ran = false;
  }
  void TearDown() override { log::set_level(saved_); }
  // Serves connection `id` of session_ on a new stream pair; returns the client end.
  std::unique_ptr<Stream> serve(uint64_t id, std::future<Status>* done) {
    return testing::serve_on_pair(session_, id, order_registry(), done);
  }
  std::vector<uint32_t> ran() {
    std::lock_guard<std::mutex> g(g_mu);
    return g_ran;
  }
  log::Level saved_;
  Session session_{ClientInfo{}, SessionOptions{false}};
};

TEST_F(Order, LaterTicketWaitsForEarlierOnAnotherConnection) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  // Ticket 2 arrives first, on connection 2, and must wait for ticket 1 (slow, NoReply) on
  // connection 1, which is sent after it.
  send(*c2, ticketed(kQuick, 1, 2, 20));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(ran().empty()) << "ticket 2 ran before ticket 1 was sent";
  send(*c1, ticketed(kSlow, 1, 1, 10, wire::kFlagNoReply));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*c2, wire::kMaxPayload, &h));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(ran(), (std::vector<uint32_t>{10, 20}));
  // Unticketed requests (auxiliary connections) are not held back by a missing ticket.
  send(*c2, ticketed(kQuick, 2, 0, 30));
  ASSERT_TRUE(recv_header(*c2, wire::kMaxPayload, &h));
  EXPECT_EQ(ran().back(), 30u);
  testing::close_and_expect_clean_ends(c1, c2, d1, d2);
}

TEST_F(Order, WaitingCallGivesItsPlaceUp) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  // Ticket 1 blocks until ticket 2 has run: only possible because it is marked kEntryWaits.
  send(*c1, ticketed(kBlock, 1, 1, 10));
  send(*c2, ticketed(kQuick, 1, 2, 20));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*c1, wire::kMaxPayload, &h));
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20, 10}));
  c1.reset();
  c2.reset();
  d1.get();
  d2.get();
}

TEST_F(Order, ReplayedTicketEndsTheConnection) {
  std::future<Status> d1;
  auto c1 = serve(1, &d1);
  send(*c1, ticketed(kQuick, 1, 1, 10, wire::kFlagNoReply));
  send(*c1, ticketed(kQuick, 2, 1, 11));
  ASSERT_EQ(d1.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(d1.get().code(), Code::kProtocol);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{10}));
  // The turn moved on: a request with the next ticket on another connection still runs.
  std::future<Status> d2;
  auto c2 = serve(2, &d2);
  send(*c2, ticketed(kQuick, 1, 2, 20));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*c2, wire::kMaxPayload, &h));
  EXPECT_EQ(ran().back(), 20u);
  c2.reset();
  d2.get();
}

// A handler that throws (a malformed request) still gives its ticket back, so the client's
// other threads go on (only the broken connection ends).
TEST_F(Order, FaultingRequestReleasesItsTicket) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  wire::FrameHeader bad;
  bad.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  bad.call_id = kQuick;
  bad.request_id = 1;
  wire::set_ticket(&bad, 1);
  send(*c1, testing::frame_bytes(bad, {}));  // no tag: DecodeError
  send(*c2, ticketed(kQuick, 1, 2, 20));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*c2, wire::kMaxPayload, &h));
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20}));
  EXPECT_EQ(d1.get().code(), Code::kProtocol);
  c2.reset();
  d2.get();
}

}  // namespace
}  // namespace gvirtus::backend
