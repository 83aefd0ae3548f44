// A connection's time by phase (serve_times.h, GVIRTUS_SERVE_TIMES).
#include "backend/serve_times.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/log.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;

TEST(ServeTimes, EachPhaseGetsTheTimeUntilItsMark) {
  const log::Level saved = log::level();
  log::set_level(log::Level::kOff);  // the destructor's line
  {
    ServeTimes t(3, true);
    std::this_thread::sleep_for(30ms);
    t.mark(ServeTimes::kReading);
    t.mark(ServeTimes::kTurn);
    std::this_thread::sleep_for(60ms);
    t.mark(ServeTimes::kHandler);
    t.mark(ServeTimes::kReplying);
    t.mark(ServeTimes::kReading);
    t.mark(ServeTimes::kTurn);
    t.mark(ServeTimes::kHandler);
    t.mark(ServeTimes::kReplying);  // a second request, all but instant
    EXPECT_EQ(t.requests(), 2u);
    EXPECT_GE(t.seconds(ServeTimes::kReading), 0.030);
    EXPECT_LT(t.seconds(ServeTimes::kReading), t.seconds(ServeTimes::kHandler));
    EXPECT_GE(t.seconds(ServeTimes::kHandler), 0.060);
    EXPECT_LT(t.seconds(ServeTimes::kTurn), 0.030);
    EXPECT_LT(t.seconds(ServeTimes::kReplying), 0.030);
  }
  {
    ServeTimes off(4, false);
    std::this_thread::sleep_for(5ms);
    off.mark(ServeTimes::kReading);
    off.mark(ServeTimes::kReplying);
    EXPECT_EQ(off.requests(), 0u);
    EXPECT_EQ(off.seconds(ServeTimes::kReading), 0.0);
  }
  log::set_level(saved);
}

}  // namespace
}  // namespace gvirtus::backend
