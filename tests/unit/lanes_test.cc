// Laned requests through the worker's serve loop (docs/protocol.md, "Lanes"): a launch flagged
// laned waits only for the two tickets it names; a global request still waits for every
// earlier one; a hostile laned frame (on a call that is not a launch, too short, naming a
// ticket before the first, without a ticket) ends only its own connection.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
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

constexpr uint32_t kLaunch = 610;  // kEntryLane: records its tag
constexpr uint32_t kPlain = 611;   // records its tag
constexpr uint32_t kSync = 612;    // kEntryLane | kEntryWaits: records its tag, then waits

std::mutex g_mu;
std::vector<uint32_t> g_ran;

void record(CallContext& c) {
  uint32_t tag = c.in.get<uint32_t>();
  c.in.expect_end();
  std::lock_guard<std::mutex> g(g_mu);
  g_ran.push_back(tag);
}

// What a laned synchronisation waits for ("the GPU"), set by the test.
std::promise<void>* g_gpu = nullptr;

void record_and_wait(CallContext& c) {
  record(c);
  if (g_gpu) g_gpu->get_future().wait();
}

const HandlerEntry kHandlers[] = {{kLaunch, "Launch", &record, kEntryLane},
                                  {kPlain, "Plain", &record},
                                  {kSync, "Sync", &record_and_wait, kEntryLane | kEntryWaits}};

const Registry& lanes_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    reg->add_plugin("lanes-test", kHandlers, 3);
    return reg;
  }();
  return *r;
}

std::vector<uint8_t> request(uint32_t call, uint64_t request_id, uint64_t ticket, uint32_t tag,
                             uint16_t flags = 0, const wire::LaneDeps* deps = nullptr) {
  wire::Writer w;
  if (deps) {
    uint8_t d[wire::kLaneDepsSize];
    wire::encode_lane_deps(*deps, d);
    w.put_bytes(d, sizeof d);
    flags |= wire::kFlagLaned;
  }
  w.put<uint32_t>(tag);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.call_id = call;
  h.request_id = request_id;
  h.flags = flags;
  wire::set_ticket(&h, ticket);
  return testing::frame_bytes(h, w.buffer());
}

std::vector<uint8_t> laned(uint64_t request_id, uint64_t ticket, uint32_t lane_back,
                           uint32_t global_back, uint32_t tag, uint16_t flags = 0) {
  wire::LaneDeps d{lane_back, global_back};
  return request(kLaunch, request_id, ticket, tag, flags, &d);
}

void send(Stream& s, const std::vector<uint8_t>& bytes) {
  struct iovec iov = {const_cast<uint8_t*>(bytes.data()), bytes.size()};
  ASSERT_TRUE(s.send(&iov, 1));
}

void expect_reply(Stream& s) {
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(s, wire::kMaxPayload, &h));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(h.status, 0);
}

class Lanes : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
    std::lock_guard<std::mutex> g(g_mu);
    g_ran.clear();
  }
  void TearDown() override { log::set_level(saved_); }
  std::unique_ptr<Stream> serve(uint64_t id, std::future<Status>* done) {
    return testing::serve_on_pair(session_, id, lanes_registry(), done);
  }
  std::vector<uint32_t> ran() {
    std::lock_guard<std::mutex> g(g_mu);
    return g_ran;
  }
  // Serves one connection, sends `bytes`, and returns how the connection ended.
  Status fault_of(const std::vector<uint8_t>& bytes) {
    std::future<Status> d;
    auto c = serve(1, &d);
    send(*c, bytes);
    if (d.wait_for(5s) != std::future_status::ready) return failed("the connection did not end");
    return d.get();
  }
  log::Level saved_;
  Session session_{ClientInfo{}, SessionOptions{false}};
};

TEST_F(Lanes, LanedLaunchDoesNotWaitForAnotherLanesEarlierTicket) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  // Ticket 1 (connection 1's) is not sent yet. Ticket 2, laned with no dependency, runs.
  send(*c2, laned(1, 2, 0, 0, 20));
  expect_reply(*c2);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20}));
  // Ticket 3 follows 2 on its lane: runs too.
  send(*c2, laned(2, 3, 1, 0, 30, wire::kFlagNoReply));
  // A global request (ticket 4) waits for ticket 1.
  send(*c2, request(kPlain, 3, 4, 40));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20, 30}));
  // And so does a laned one that names ticket 4 as its global dependency.
  send(*c2, laned(4, 5, 0, 1, 50));
  send(*c1, request(kPlain, 1, 1, 10));
  expect_reply(*c1);
  expect_reply(*c2);
  expect_reply(*c2);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20, 30, 10, 40, 50}));
  testing::close_and_expect_clean_ends(c1, c2, d1, d2);
}

// A laned stream synchronisation (3.8) runs once its lane and global dependencies are released,
// not after another lane's earlier ticket, and gives its turn back before it waits: a later
// global request runs while it still waits.
TEST_F(Lanes, LanedSynchronisationRunsAheadAndGivesItsTurnBackWhileItWaits) {
  std::promise<void> gpu;
  g_gpu = &gpu;
  struct Release {  // whatever fails below, the synchronisation's wait ends
    std::promise<void>& p;
    bool done = false;
    void now() {
      if (!done) p.set_value();
      done = true;
    }
    ~Release() { now(); }
  } release{gpu};
  std::future<Status> d1, d2, d3;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  auto c3 = serve(3, &d3);
  // A reply that never comes (the turn not given back) fails the test instead of hanging it.
  timeval tv{5, 0};
  if (c3->fd() >= 0) {
    ASSERT_EQ(setsockopt(c3->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  }
  wire::LaneDeps none{0, 0};
  send(*c2, request(kSync, 1, 2, 20, 0, &none));  // ticket 2; ticket 1 not sent yet
  for (auto until = std::chrono::steady_clock::now() + 5s;
       ran().empty() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20}));
  send(*c1, request(kPlain, 1, 1, 10));
  expect_reply(*c1);
  send(*c3, request(kPlain, 1, 3, 30));  // global: after 1 and 2, while 2 still waits
  expect_reply(*c3);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20, 10, 30}));
  release.now();
  expect_reply(*c2);
  g_gpu = nullptr;
  c1.reset();
  c2.reset();
  c3.reset();
  d1.get();
  d2.get();
  d3.get();
}

TEST_F(Lanes, LanedLaunchWaitsForThePreviousLaunchOfItsLane) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  // Ticket 3 follows ticket 1 on the same stream (sent by another thread, not yet here).
  send(*c2, laned(1, 3, 2, 0, 30));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(ran().empty()) << "ran before the previous launch of its stream";
  send(*c1, laned(1, 1, 0, 0, 10, wire::kFlagNoReply));
  expect_reply(*c2);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{10, 30}));
  c1.reset();
  c2.reset();
  d1.get();
  d2.get();
}

TEST_F(Lanes, LanedFlagOnACallThatIsNotALaunchEndsTheConnection) {
  wire::LaneDeps d{};
  Status st = fault_of(request(kPlain, 1, 1, 10, 0, &d));
  EXPECT_EQ(st.code(), Code::kProtocol) << st.to_string();
  EXPECT_NE(st.message().find("not a launch"), std::string::npos) << st.message();
  EXPECT_TRUE(ran().empty());
}

TEST_F(Lanes, LanedRequestShorterThanItsDependenciesEndsTheConnection) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.call_id = kLaunch;
  h.request_id = 1;
  h.flags = wire::kFlagLaned;
  wire::set_ticket(&h, 1);
  Status st = fault_of(testing::frame_bytes(h, {1, 2, 3}));
  EXPECT_EQ(st.code(), Code::kProtocol) << st.to_string();
  EXPECT_NE(st.message().find("shorter than its dependencies"), std::string::npos)
      << st.message();
}

TEST_F(Lanes, DependencyBeforeTheFirstTicketEndsTheConnection) {
  // Ticket 5 naming 5 back (ticket 0) or more: a bogus dependency, in either field.
  for (auto [lane_back, global_back] : {std::pair<uint32_t, uint32_t>{5, 0}, {0, 5},
                                        {0xffffffffu, 0}, {0, 6}}) {
    Status st = fault_of(laned(1, 5, lane_back, global_back, 50));
    EXPECT_EQ(st.code(), Code::kProtocol) << st.to_string();
    EXPECT_NE(st.message().find("depends on a ticket before the first"), std::string::npos)
        << st.message();
  }
  EXPECT_TRUE(ran().empty());
}

TEST_F(Lanes, LanedRequestWithoutATicketEndsTheConnection) {
  Status st = fault_of(laned(1, 0, 0, 0, 10));
  EXPECT_EQ(st.code(), Code::kProtocol) << st.to_string();
  EXPECT_NE(st.message().find("without a ticket"), std::string::npos) << st.message();
}

TEST_F(Lanes, ReplayedLanedTicketEndsTheConnection) {
  std::future<Status> d;
  auto c = serve(1, &d);
  send(*c, laned(1, 2, 0, 0, 20, wire::kFlagNoReply));
  send(*c, laned(2, 2, 0, 0, 21));
  ASSERT_EQ(d.wait_for(5s), std::future_status::ready);
  Status st = d.get();
  EXPECT_EQ(st.code(), Code::kProtocol) << st.to_string();
  EXPECT_NE(st.message().find("already used"), std::string::npos) << st.message();
  EXPECT_EQ(ran(), (std::vector<uint32_t>{20}));
}

// A laned launch that names a ticket that never comes waits (nothing else of the session is
// held up but what follows it) until its client goes, then the connection ends: no hang.
TEST_F(Lanes, DependencyThatNeverComesEndsWhenTheClientGoes) {
  std::future<Status> d1, d2;
  auto c1 = serve(1, &d1);
  auto c2 = serve(2, &d2);
  send(*c1, laned(1, 9, 1, 0, 90));  // waits for ticket 8, never sent
  send(*c2, laned(1, 10, 0, 0, 100));
  expect_reply(*c2);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{100}));
  c1.reset();
  ASSERT_EQ(d1.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(d1.get().code(), Code::kDisconnected);
  EXPECT_EQ(ran(), (std::vector<uint32_t>{100}));
  c2.reset();
  d2.get();
}

// The worker's own table: the laned flag is accepted on exactly the launches and stream
// synchronisations the client may send laned (annotation word `lane`), never on a cooperative
// launch, a graph launch, a host function or a device synchronisation, which stay in the global
// order.
TEST(LaneEntries, OnlyLaunchesAndStreamSynchronisationsAcceptTheLanedFlag) {
  const Registry& r = registry();
  ASSERT_TRUE(r.has_plugin("cudart"));
  ASSERT_TRUE(r.has_plugin("cuda"));
  std::set<std::string> laned;
  for (uint32_t id = 1; id < 6000; ++id)
    if (const HandlerEntry* e = r.find(id); e && (e->flags & kEntryLane)) laned.insert(e->name);
  const std::set<std::string> want = {"__cudaLaunchKernel",       "cudaLaunchKernel",
                                      "cudaLaunchKernelExC",      "cuLaunchKernel",
                                      "cuLaunchKernelEx",         "cudaStreamSynchronize",
                                      "cudaStreamSynchronize_ptsz", "cuStreamSynchronize",
                                      "cuStreamSynchronize_ptsz"};
  EXPECT_EQ(laned, want);
}

}  // namespace
}  // namespace gvirtus::backend
