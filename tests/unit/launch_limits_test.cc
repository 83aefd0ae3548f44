// LaunchLimitsCache (src/frontend/cudart/launch_limits.h): a kernel's launch limits per device,
// read without a lock, good only under the answers generation they were kept with.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "frontend/core/answers.h"
#include "frontend/cudart/launch_limits.h"

namespace gvirtus::cudart {
namespace {

LaunchLimits limits(int32_t base) {
  LaunchLimits l;
  for (int i = 0; i < 3; ++i) l.grid[i] = base + i;
  for (int i = 0; i < 3; ++i) l.block[i] = base + 3 + i;
  l.threads = base + 6;
  l.dyn_smem = base + 7;
  return l;
}

bool same(const LaunchLimits& a, const LaunchLimits& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(LaunchLimitsCache, KeptPerDeviceAndGeneration) {
  LaunchLimitsCache c;
  LaunchLimits out{};
  EXPECT_FALSE(c.get(0, 1, &out));  // nothing kept
  c.put(0, 5, limits(100));
  c.put(3, 5, limits(300));
  ASSERT_TRUE(c.get(0, 5, &out));
  EXPECT_TRUE(same(out, limits(100)));
  ASSERT_TRUE(c.get(3, 5, &out));
  EXPECT_TRUE(same(out, limits(300)));
  EXPECT_FALSE(c.get(1, 5, &out));  // another device
  EXPECT_FALSE(c.get(0, 6, &out));  // answers forgotten since
  // Devices beyond the slots, or negative, are never kept.
  c.put(LaunchLimitsCache::kDevices, 5, limits(1));
  EXPECT_FALSE(c.get(LaunchLimitsCache::kDevices, 5, &out));
  EXPECT_FALSE(c.get(-1, 5, &out));
}

TEST(LaunchLimitsCache, ForgettingAnswersMovesTheGeneration) {
  const uint64_t g = client::answers_generation();
  EXPECT_NE(g, 0u);  // 0 is a slot's "nothing kept"
  client::forget_answers("func:");
  EXPECT_GT(client::answers_generation(), g);
}

// Readers never see a mix of two writes: every word read belongs to one put().
TEST(LaunchLimitsCache, ReadersSeeWholeWrites) {
  LaunchLimitsCache c;
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, hits{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (!stop.load()) {
        LaunchLimits l;
        if (!c.get(0, 1, &l)) continue;
        ++hits;
        const LaunchLimits want = limits(l.grid[0]);
        if (!same(l, want)) ++torn;
      }
    });
  // Writes until the readers have read a good many times (they may start late on a loaded
  // host), for at most 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; (i < 200000 || hits.load() < 1000) &&
                  std::chrono::steady_clock::now() < deadline;
       ++i)
    c.put(0, 1, limits((i % 2) ? 1000 : 2000));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(hits.load(), 0);
}

}  // namespace
}  // namespace gvirtus::cudart
