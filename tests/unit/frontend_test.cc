// The connection-free parts of libcudart's hand-written code: the error table (against the
// real runtime), argument packing, range maps, the <<<>>> configuration stack, copy planning.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "frontend/cudart/copy_plan.h"
#include "frontend/cudart/error_table.h"
#include "frontend/cudart/kernel_args.h"
#include "frontend/cudart/launch_config.h"
#include "frontend/core/ranges.h"

namespace gvirtus::cudart {
namespace {
using client::RangeMap;

// ---- error names and strings: identical to the real runtime (cudart_static, linked into
// this binary through the backend) for every code, known or not ----

TEST(ErrorTable, MatchesTheRealRuntimeForEveryCode) {
  ASSERT_GT(error_table_size(), 100);
  std::set<int> codes;
  for (int i = 0; i < error_table_size(); ++i) codes.insert(error_table_code(i));
  for (int c = -50; c < 12000; ++c) codes.insert(c);
  for (int c : {INT32_MIN, INT32_MAX, 65535, 1 << 20}) codes.insert(c);
  for (int c : codes) {
    auto e = static_cast<cudaError_t>(c);
    ASSERT_STREQ(error_name(c), ::cudaGetErrorName(e)) << "code " << c;
    ASSERT_STREQ(error_string(c), ::cudaGetErrorString(e)) << "code " << c;
  }
}

TEST(ErrorTable, KnownAndUnknown) {
  EXPECT_STREQ(error_name(0), "cudaSuccess");
  EXPECT_STREQ(error_name(cudaErrorDevicesUnavailable), "cudaErrorDevicesUnavailable");
  EXPECT_STREQ(error_string(1), "invalid argument");
  EXPECT_STREQ(error_name(1000), "unrecognized error code");
  EXPECT_STREQ(error_string(-1), "unrecognized error code");
}

// ---- argument packing ----

TEST(KernelArgs, LayoutTotalAndValidation) {
  ParamLayout l;
  ASSERT_TRUE(make_layout({{0, 16}, {16, 1}, {24, 8}}, &l));
  EXPECT_EQ(l.total, 32u);
  ASSERT_TRUE(make_layout({}, &l));
  EXPECT_EQ(l.total, 0u);
  EXPECT_FALSE(make_layout({{0, 0}}, &l));               // empty parameter
  EXPECT_FALSE(make_layout({{kMaxParamBytes, 1}}, &l));  // past the buffer
  EXPECT_FALSE(make_layout({{0xFFFFFFF0u, 0x20}}, &l));  // wraps around
  EXPECT_FALSE(make_layout(std::vector<ParamInfo>(kMaxParams + 1, {0, 1}), &l));
}

TEST(KernelArgs, PacksAtTheDriverOffsets) {
  // A kernel (struct S {char c; double d;}, char, int*) as the driver lays it out.
  struct S {
    char c;
    double d;
  } s{'x', 2.5};
  char ch = 'y';
  int* ptr = reinterpret_cast<int*>(0x1122334455667788ull);
  void* args[] = {&s, &ch, &ptr};
  ParamLayout l;
  ASSERT_TRUE(make_layout({{0, 16}, {16, 1}, {24, 8}}, &l));
  std::vector<uint8_t> buf(l.total, 0xee);
  ASSERT_TRUE(pack_args(l, args, buf.data()));
  EXPECT_EQ(std::memcmp(buf.data(), &s, 16), 0);
  EXPECT_EQ(buf[16], 'y');
  for (int i = 17; i < 24; ++i) EXPECT_EQ(buf[i], 0) << i;  // gaps are zeroed
  uint64_t p;
  std::memcpy(&p, buf.data() + 24, 8);
  EXPECT_EQ(p, 0x1122334455667788ull);
}

TEST(KernelArgs, MissingArguments) {
  ParamLayout l;
  ASSERT_TRUE(make_layout({{0, 4}}, &l));
  uint8_t buf[4];
  EXPECT_FALSE(pack_args(l, nullptr, buf));
  void* args[] = {nullptr};
  EXPECT_FALSE(pack_args(l, args, buf));
  ParamLayout none;
  ASSERT_TRUE(make_layout({}, &none));
  EXPECT_TRUE(pack_args(none, nullptr, buf));  // no parameters: no arguments needed
}

// ---- range maps ----

TEST(RangeMap, FindAddRemove) {
  RangeMap m;
  EXPECT_TRUE(m.add(0x1000, 0x100, 7));
  EXPECT_TRUE(m.add(0x2000, 0x10));
  RangeMap::Range r;
  ASSERT_TRUE(m.find(0x1000, &r));
  EXPECT_EQ(r.base, 0x1000u);
  EXPECT_EQ(r.tag, 7u);
  EXPECT_TRUE(m.find(0x10ff));
  EXPECT_FALSE(m.find(0x1100));  // one past the end
  EXPECT_FALSE(m.find(0xfff));
  EXPECT_TRUE(m.find(0x200f));
  EXPECT_FALSE(m.find(0x2010));
  EXPECT_FALSE(m.remove(0x1001));  // only by base
  EXPECT_TRUE(m.remove(0x1000, &r));
  EXPECT_EQ(r.size, 0x100u);
  EXPECT_FALSE(m.find(0x1050));
  EXPECT_EQ(m.count(), 1u);
}

TEST(RangeMap, RejectsOverlapsEmptyAndWrapping) {
  RangeMap m;
  ASSERT_TRUE(m.add(0x1000, 0x100));
  EXPECT_FALSE(m.add(0x10ff, 1));
  EXPECT_FALSE(m.add(0xf00, 0x101));
  EXPECT_FALSE(m.add(0x800, 0x2000));  // covers it entirely
  EXPECT_TRUE(m.add(0x1100, 1));       // adjacent is fine
  EXPECT_TRUE(m.add(0xf00, 0x100));
  EXPECT_FALSE(m.add(0x5000, 0));
  EXPECT_FALSE(m.add(UINTPTR_MAX - 4, 16));
  EXPECT_TRUE(m.overlaps(0x10f0, 0x20));
  EXPECT_FALSE(m.overlaps(0x1101, 0x100));
}

TEST(RangeMap, AssignReplacesStaleRanges) {
  RangeMap m;
  ASSERT_TRUE(m.add(0x1000, 0x100));
  ASSERT_TRUE(m.add(0x1200, 0x100));
  ASSERT_TRUE(m.add(0x2000, 0x100));
  // The backend hands out [0x1080, 0x1280): both earlier ranges it touches are stale.
  ASSERT_TRUE(m.assign(0x1080, 0x200));
  EXPECT_EQ(m.count(), 2u);
  RangeMap::Range r;
  ASSERT_TRUE(m.find(0x1100, &r));
  EXPECT_EQ(r.base, 0x1080u);
  EXPECT_FALSE(m.find(0x1000));
  EXPECT_TRUE(m.find(0x2000));
}

TEST(RangeMap, ThreadSafe) {
  RangeMap m;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&m, t] {
      for (uintptr_t i = 0; i < 2000; ++i) {
        uintptr_t base = (static_cast<uintptr_t>(t) << 32) + i * 0x100;
        EXPECT_TRUE(m.add(base, 0x80));
        EXPECT_TRUE(m.find(base + 0x7f));
        if (i % 2) {
          EXPECT_TRUE(m.remove(base));
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(m.count(), 4u * 1000u);
}

// ---- <<<>>> configuration stack ----

TEST(LaunchConfig, PushPopIsAStack) {
  ASSERT_EQ(config_depth(), 0);
  LaunchConfig outer{dim3(1, 2, 3), dim3(4, 5, 6), 7, reinterpret_cast<cudaStream_t>(8)};
  LaunchConfig inner{dim3(9), dim3(10), 0, nullptr};
  ASSERT_TRUE(push_config(outer));
  ASSERT_TRUE(push_config(inner));  // a launch inside the outer launch's arguments
  LaunchConfig got;
  ASSERT_TRUE(pop_config(&got));
  EXPECT_EQ(got.grid.x, 9u);
  EXPECT_EQ(got.grid.y, 1u);
  EXPECT_EQ(got.block.x, 10u);
  ASSERT_TRUE(pop_config(&got));
  EXPECT_EQ(got.grid.z, 3u);
  EXPECT_EQ(got.block.y, 5u);
  EXPECT_EQ(got.shmem, 7u);
  EXPECT_EQ(got.stream, reinterpret_cast<cudaStream_t>(8));
  EXPECT_FALSE(pop_config(&got));  // empty
}

TEST(LaunchConfig, PerThread) {
  ASSERT_TRUE(push_config(LaunchConfig{dim3(5), dim3(1), 0, nullptr}));
  std::thread t([] {
    LaunchConfig c;
    EXPECT_FALSE(pop_config(&c));  // another thread's stack is its own
    EXPECT_TRUE(push_config(LaunchConfig{dim3(6), dim3(1), 0, nullptr}));
    EXPECT_TRUE(pop_config(&c));
    EXPECT_EQ(c.grid.x, 6u);
  });
  t.join();
  LaunchConfig c;
  ASSERT_TRUE(pop_config(&c));
  EXPECT_EQ(c.grid.x, 5u);
}

TEST(LaunchConfig, Overflow) {
  for (int i = 0; i < kMaxConfigDepth; ++i) ASSERT_TRUE(push_config(LaunchConfig{}));
  EXPECT_FALSE(push_config(LaunchConfig{}));
  LaunchConfig c;
  for (int i = 0; i < kMaxConfigDepth; ++i) ASSERT_TRUE(pop_config(&c));
  EXPECT_FALSE(pop_config(&c));
}

// ---- copy planning ----

uint64_t total_bytes(const std::vector<CopyPiece>& ps) {
  uint64_t n = 0;
  for (const auto& p : ps) n += p.width * p.rows;
  return n;
}

TEST(CopyPlan, OneDimensionalChunks) {
  CopyShape s{20, 1, 20, 20};
  auto ps = plan_copy(s, 8);
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].width, 8u);
  EXPECT_EQ(ps[2].width, 4u);
  EXPECT_EQ(ps[2].dev_off, 16u);
  EXPECT_EQ(ps[2].host_off, 16u);
  EXPECT_EQ(total_bytes(ps), 20u);
  EXPECT_EQ(plan_copy(CopyShape{8, 1, 8, 8}, 8).size(), 1u);
}

TEST(CopyPlan, ContiguousTwoDimensionalIsOneRow) {
  auto ps = plan_copy(CopyShape{10, 5, 10, 10}, 64);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].width, 50u);
  EXPECT_EQ(ps[0].rows, 1u);
}

TEST(CopyPlan, RowsPerChunk) {
  CopyShape s{10, 7, 16, 12};  // device pitch 16, host pitch 12
  auto ps = plan_copy(s, 30);  // three rows fit a chunk
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].rows, 3u);
  EXPECT_EQ(ps[1].dev_off, 48u);
  EXPECT_EQ(ps[1].host_off, 36u);
  EXPECT_EQ(ps[2].rows, 1u);
  EXPECT_EQ(ps[2].dev_off, 96u);
  EXPECT_EQ(total_bytes(ps), 70u);
}

TEST(CopyPlan, RowsLongerThanAChunkAreSplit) {
  CopyShape s{20, 2, 32, 24};
  auto ps = plan_copy(s, 8);
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_EQ(ps[3].dev_off, 32u);
  EXPECT_EQ(ps[3].host_off, 24u);
  EXPECT_EQ(ps[5].width, 4u);
  EXPECT_EQ(ps[5].dev_off, 48u);
  for (const auto& p : ps) EXPECT_EQ(p.rows, 1u);
  EXPECT_EQ(total_bytes(ps), 40u);
}

TEST(CopyPlan, ShapeChecks) {
  EXPECT_TRUE(shape_ok(CopyShape{10, 3, 10, 16}));
  EXPECT_FALSE(shape_ok(CopyShape{0, 3, 10, 16}));
  EXPECT_FALSE(shape_ok(CopyShape{10, 0, 10, 16}));
  EXPECT_FALSE(shape_ok(CopyShape{10, 3, 9, 16}));  // device pitch below width
  EXPECT_FALSE(shape_ok(CopyShape{10, 3, 10, 9}));  // host pitch below width
  EXPECT_FALSE(shape_ok(CopyShape{16, UINT64_MAX / 8, 1ull << 62, 16}));  // wraps
  EXPECT_TRUE(shape_ok(CopyShape{5, 1, 0, 0}));                           // one row: pitches unused
}

}  // namespace
}  // namespace gvirtus::cudart
