#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace gvirtus::log {
namespace {

TEST(Log, LevelNames) {
  Level l;
  ASSERT_TRUE(parse_level("trace", &l));
  EXPECT_EQ(l, Level::kTrace);
  ASSERT_TRUE(parse_level("DEBUG", &l));
  EXPECT_EQ(l, Level::kDebug);
  ASSERT_TRUE(parse_level("Info", &l));
  EXPECT_EQ(l, Level::kInfo);
  ASSERT_TRUE(parse_level("warning", &l));
  EXPECT_EQ(l, Level::kWarn);
  ASSERT_TRUE(parse_level("error", &l));
  EXPECT_EQ(l, Level::kError);
  ASSERT_TRUE(parse_level("off", &l));
  EXPECT_EQ(l, Level::kOff);
}

TEST(Log, OriginalNumericLevels) {
  Level l;
  const Level expect[] = {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn,
                          Level::kError, Level::kError, Level::kOff};
  for (int i = 0; i <= 6; ++i) {
    ASSERT_TRUE(parse_level(std::to_string(i), &l)) << i;
    EXPECT_EQ(l, expect[i]) << i;
    ASSERT_TRUE(parse_level(std::to_string(i * 10000), &l)) << i * 10000;  // log4cplus values
    EXPECT_EQ(l, expect[i]) << i * 10000;
  }
}

TEST(Log, RejectsOtherText) {
  Level l = Level::kInfo;
  for (const char* t : {"", "7", "-1", "70000", "15000", "verbose", "1e4", "info "})
    EXPECT_FALSE(parse_level(t, &l)) << t;
  EXPECT_EQ(l, Level::kInfo);
}

TEST(Log, FiltersBelowTheLevel) {
  Level saved = level();
  set_level(Level::kError);
  ::testing::internal::CaptureStderr();
  GV_INFO("hidden message");
  GV_ERROR("shown message");
  once(Level::kError, "k", "once message");
  once(Level::kError, "k", "once message");
  std::string err = ::testing::internal::GetCapturedStderr();
  set_level(saved);
  EXPECT_EQ(err.find("hidden message"), std::string::npos);
  EXPECT_NE(err.find("shown message"), std::string::npos);
  size_t first = err.find("once message");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(err.find("once message", first + 1), std::string::npos);
}

TEST(Log, LineCarriesComponentLevelAndPid) {
  Level saved = level();
  set_level(Level::kInfo);
  set_component("worker 77");
  ::testing::internal::CaptureStderr();
  GV_WARN("hello there");
  std::string err = ::testing::internal::GetCapturedStderr();
  set_component("test");
  set_level(saved);
  EXPECT_NE(err.find("[worker 77]"), std::string::npos) << err;
  EXPECT_NE(err.find("warn"), std::string::npos) << err;
  EXPECT_NE(err.find("pid " + std::to_string(getpid())), std::string::npos) << err;
  EXPECT_NE(err.find("hello there"), std::string::npos) << err;
}

}  // namespace
}  // namespace gvirtus::log
