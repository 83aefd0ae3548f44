// The client side of lanes (docs/protocol.md, "Lanes"): which streams give a launch a lane
// (src/frontend/core/lanes.h), and the laned frames a session sends: flag, dependencies as
// distances back to the lane's previous launch and the last global request, payload after them;
// nothing laned towards a backend older than protocol 3.6, and stream synchronisations laned
// only towards 3.8 or later.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "fake_backend.h"
#include "frontend/core/client.h"
#include "frontend/core/lanes.h"
#include "frontend/core/session.h"

namespace gvirtus::testing {
namespace {

using client::Call;
using client::Session;

constexpr uint32_t kWork = 5200;

struct Seen {
  uint64_t ticket;
  bool laned;
  wire::LaneDeps deps;
  uint32_t tag;
};

// Records every request (its tag is the payload's last 4 bytes); answers those that want it.
class Recorder {
 public:
  FakeBackend::Script script() {
    return [this](Stream& s, const wire::Hello&) {
      for (;;) {
        wire::FrameHeader f;
        std::vector<uint8_t> p;
        if (!read_frame(s, &f, &p)) return;
        Seen seen{wire::ticket(f), (f.flags & wire::kFlagLaned) != 0, {}, 0};
        size_t at = 0;
        if (seen.laned && p.size() >= wire::kLaneDepsSize) {
          seen.deps = wire::decode_lane_deps(p.data());
          at = wire::kLaneDepsSize;
        }
        if (p.size() == at + 4) std::memcpy(&seen.tag, p.data() + at, 4);
        {
          std::lock_guard<std::mutex> g(mu_);
          seen_.push_back(seen);
        }
        if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 0, 0)) return;
      }
    };
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> g(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<Seen> seen_;
};

bool launch(uint64_t stream, uint32_t tag) {
  Call c(kWork);
  c.args().put<uint32_t>(tag);
  c.set_lane(client::launch_lane(stream));
  return c.send_async();
}

bool global(uint32_t tag) {
  Call c(kWork);
  c.args().put<uint32_t>(tag);
  return c.invoke();
}

TEST(ClientLanes, OnlyStreamsCreatedNonBlockingHaveALane) {
  client::note_lane_stream(0x7000, 1);
  client::note_lane_stream(0x7100, 0);
  EXPECT_EQ(client::launch_lane(0x7000), 0x7000u);
  EXPECT_EQ(client::launch_lane(0x7100), 0u);  // a blocking stream
  EXPECT_EQ(client::launch_lane(0x7200), 0u);  // not created here
  for (uint64_t special : {0, 1, 2}) {          // legacy and per-thread default streams
    client::note_lane_stream(special, 1);
    EXPECT_EQ(client::launch_lane(special), 0u);
  }
  client::forget_lane_stream(0x7000);
  EXPECT_EQ(client::launch_lane(0x7000), 0u);
  // An id created again with other flags takes those.
  client::note_lane_stream(0x7100, 1);
  EXPECT_EQ(client::launch_lane(0x7100), 0x7100u);
  client::note_lane_stream(0x7100, 0);
  EXPECT_EQ(client::launch_lane(0x7100), 0u);
  // Many streams, most destroyed again: the table's tombstones do not lose the live ones.
  for (uint64_t i = 0; i < 10000; ++i) {
    client::note_lane_stream(0x100000 + i, 1);
    if (i % 100) client::forget_lane_stream(0x100000 + i);
  }
  for (uint64_t i = 0; i < 10000; i += 100)
    ASSERT_EQ(client::launch_lane(0x100000 + i), 0x100000 + i) << i;
  EXPECT_EQ(client::launch_lane(0x100001), 0u);
  for (uint64_t i = 0; i < 10000; i += 100) client::forget_lane_stream(0x100000 + i);
}

TEST(ClientLanes, LaunchesCarryTheirLaneAndGlobalDependencies) {
  Recorder rec;
  FakeBackend be(rec.script());
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  client::note_lane_stream(0x8000, 1);
  client::note_lane_stream(0x8100, 1);
  ASSERT_TRUE(launch(0x8000, 1));  // ticket 1: nothing before it
  ASSERT_TRUE(launch(0x8000, 2));  // ticket 2: after 1 on its lane
  ASSERT_TRUE(global(3));          // ticket 3: global
  ASSERT_TRUE(launch(0x8000, 4));  // ticket 4: lane 2 back, global 1 back
  std::thread([] {
    EXPECT_TRUE(launch(0x8100, 5));  // ticket 5, another thread's lane: only the global, 2 back
    EXPECT_TRUE(launch(0x8000, 6));  // ticket 6, the first thread's lane: after 4
    EXPECT_TRUE(global(7));
  }).join();
  ASSERT_TRUE(launch(0x9999, 8));  // a stream not created non-blocking: global
  ASSERT_TRUE(global(9));
  const std::vector<Seen> s = rec.seen();
  ASSERT_EQ(s.size(), 9u);
  struct Want {
    bool laned;
    uint32_t lane_back, global_back;
  };
  const Want want[] = {{true, 0, 0}, {true, 1, 0}, {false, 0, 0}, {true, 2, 1}, {true, 0, 2},
                       {true, 2, 3}, {false, 0, 0}, {false, 0, 0}, {false, 0, 0}};
  // The secondary connection's frames may be recorded before the primary's: go by ticket.
  std::vector<Seen> by_ticket(10);
  for (const Seen& x : s) {
    ASSERT_GE(x.ticket, 1u);
    ASSERT_LE(x.ticket, 9u);
    by_ticket[x.ticket] = x;
  }
  for (uint64_t t = 1; t <= 9; ++t) {
    SCOPED_TRACE("ticket " + std::to_string(t));
    EXPECT_EQ(by_ticket[t].tag, t);  // the call's own payload follows the dependencies
    EXPECT_EQ(by_ticket[t].laned, want[t - 1].laned);
    EXPECT_EQ(by_ticket[t].deps.lane_back, want[t - 1].lane_back);
    EXPECT_EQ(by_ticket[t].deps.global_back, want[t - 1].global_back);
  }
  client::forget_lane_stream(0x8000);
  client::forget_lane_stream(0x8100);
}

TEST(ClientLanes, NothingLanedTowardsAnOlderBackend) {
  Recorder rec;
  wire::Welcome w;
  w.minor = wire::kLanedMinor - 1;
  FakeBackend be(rec.script(), w);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  client::note_lane_stream(0x8200, 1);
  ASSERT_TRUE(launch(0x8200, 1));
  ASSERT_TRUE(global(2));
  const std::vector<Seen> s = rec.seen();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_FALSE(s[0].laned);
  EXPECT_EQ(s[0].tag, 1u);
  client::forget_lane_stream(0x8200);
}

// A stream synchronisation (generated stubs: set_lane(sync_lane(stream))) is laned like a
// launch on its stream towards a backend of protocol 3.8 or later, and global before that.
bool sync(uint64_t stream, uint32_t tag) {
  Call c(kWork);
  c.args().put<uint32_t>(tag);
  c.set_lane(client::sync_lane(stream));
  return c.invoke();
}

TEST(ClientLanes, StreamSynchronisationsAreLanedTowardsA38Backend) {
  Recorder rec;
  wire::Welcome w;
  w.minor = wire::kLanedSyncMinor;
  FakeBackend be(rec.script(), w);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  client::note_lane_stream(0x8300, 1);
  ASSERT_TRUE(launch(0x8300, 1));  // ticket 1
  ASSERT_TRUE(sync(0x8300, 2));    // ticket 2: after 1 on its lane
  ASSERT_TRUE(launch(0x8300, 3));  // ticket 3: after the synchronisation on its lane
  ASSERT_TRUE(sync(0x9999, 4));    // a stream not created non-blocking: global
  const std::vector<Seen> s = rec.seen();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_TRUE(s[1].laned);
  EXPECT_EQ(s[1].deps.lane_back, 1u);
  EXPECT_TRUE(s[2].laned);
  EXPECT_EQ(s[2].deps.lane_back, 1u);
  EXPECT_FALSE(s[3].laned);
  client::forget_lane_stream(0x8300);
}

TEST(ClientLanes, StreamSynchronisationsStayGlobalTowardsA37Backend) {
  Recorder rec;
  wire::Welcome w;
  w.minor = wire::kLanedSyncMinor - 1;  // takes laned launches, not laned synchronisations
  FakeBackend be(rec.script(), w);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  client::note_lane_stream(0x8400, 1);
  ASSERT_TRUE(launch(0x8400, 1));
  ASSERT_TRUE(sync(0x8400, 2));
  const std::vector<Seen> s = rec.seen();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].laned);
  EXPECT_FALSE(s[1].laned);
  client::forget_lane_stream(0x8400);
}

}  // namespace
}  // namespace gvirtus::testing
