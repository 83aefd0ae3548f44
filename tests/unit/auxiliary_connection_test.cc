// Auxiliary connections (the host-callback thread's): not counted as an application thread's
// connection, and their requests carry no ticket (never ordered with the application's).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "fake_backend.h"
#include "frontend/core/client.h"
#include "frontend/core/session.h"

namespace gvirtus::testing {
namespace {

using client::Call;
using client::Session;

constexpr uint32_t kWork = 5100;

TEST(AuxiliaryConnection, IsNotCountedAndTakesNoTicket) {
  std::mutex mu;
  std::vector<uint64_t> secondary_first;  // ticket of the first request on each secondary
  FakeBackend be([&](Stream& s, const wire::Hello& hello) {
    bool first = true;
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      if (!hello.primary && first) {
        std::lock_guard<std::mutex> g(mu);
        secondary_first.push_back(wire::ticket(f));
      }
      first = false;
      if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  {
    Call c(kWork);
    ASSERT_TRUE(c.send_async());  // unconfirmed NoReply request on the primary
  }
  EXPECT_EQ(client::open_connections(), 1u);
  std::mutex step;
  std::unique_lock<std::mutex> hold(step);
  std::thread aux([&] {
    ASSERT_NE(client::auxiliary_connection(), nullptr);
    Call c(kWork);
    EXPECT_TRUE(c.invoke());
    std::lock_guard<std::mutex> wait_for_main(step);  // stays alive until the checks are done
  });
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> g(mu);
      if (!secondary_first.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(client::open_connections(), 1u);  // the auxiliary one is not counted
  hold.unlock();
  aux.join();
  // An ordinary thread is counted, and its request takes the next ticket.
  std::thread([&] {
    Call c(kWork);
    EXPECT_TRUE(c.invoke());
    EXPECT_EQ(client::open_connections(), 2u);
  }).join();
  std::lock_guard<std::mutex> g(mu);
  ASSERT_EQ(secondary_first.size(), 2u);
  EXPECT_EQ(secondary_first[0], 0u);  // the auxiliary connection's request is unordered
  EXPECT_EQ(secondary_first[1], 2u);  // after the primary's NoReply request (ticket 1)
}

}  // namespace
}  // namespace gvirtus::testing
