// Device ranges claimed in the client's own address space (frontend/core/ranges.h,
// record_device_range): the whole pages of a recorded device range are a placeholder of this
// process, so no host memory can come to lie at those addresses while the range lives; memory
// already there is never taken away; mirrored ranges (managed memory) are not claimed.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "frontend/core/ranges.h"

namespace gvirtus::client {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// Whether [p, p+n) is mapped in this process (a fixed no-replace mapping there fails).
bool mapped(uintptr_t p, size_t n) {
  void* want = reinterpret_cast<void*>(p);
  void* got = ::mmap(want, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == want) {
    ::munmap(got, n);
    return false;
  }
  if (got != MAP_FAILED) ::munmap(got, n);
  return true;
}

// An address range free in this process, page aligned (mapped and unmapped again).
uintptr_t free_range(size_t n) {
  void* p = ::mmap(nullptr, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  ::munmap(p, n);
  return reinterpret_cast<uintptr_t>(p);
}

TEST(DeviceClaims, ARecordedRangeHoldsItsWholePagesUntilForgotten) {
  const uintptr_t base = free_range(8 * kPage);
  // A device allocation that starts and ends inside pages: only the whole pages are claimed.
  record_device_range(base + 256, 6 * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base + 256, &r));
  EXPECT_TRUE(r.tag & kClaimedRange);
  EXPECT_TRUE(mapped(base + kPage, 5 * kPage));
  EXPECT_FALSE(mapped(base, kPage)) << "the first, partial page is not claimed";
  // The kernel places no new memory there.
  void* hint = ::mmap(reinterpret_cast<void*>(base + 2 * kPage), kPage, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(reinterpret_cast<uintptr_t>(hint), base + 2 * kPage);
  ::munmap(hint, kPage);
  EXPECT_TRUE(forget_device_range(base + 256));
  EXPECT_FALSE(mapped(base + kPage, 5 * kPage)) << "given back";
  EXPECT_FALSE(device_ranges().find(base + 256));
}

TEST(DeviceClaims, HostMemoryAlreadyThereIsNeverTakenAway) {
  void* host = ::mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
  ASSERT_NE(host, MAP_FAILED);
  std::memset(host, 0x5a, 4 * kPage);
  const uintptr_t h = reinterpret_cast<uintptr_t>(host);
  record_device_range(h, 4 * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(h, &r)) << "still recorded: the backend says it is device memory";
  EXPECT_FALSE(r.tag & kClaimedRange);
  EXPECT_TRUE(forget_device_range(h));
  EXPECT_EQ(static_cast<unsigned char*>(host)[3 * kPage], 0x5a) << "the host memory is intact";
  ::munmap(host, 4 * kPage);
}

TEST(DeviceClaims, AStaleRangeGivesItsPagesToTheNewOne) {
  const uintptr_t base = free_range(8 * kPage);
  record_device_range(base, 4 * kPage, 0, true);
  // The backend handed out an overlapping range: the old one was freed another way.
  record_device_range(base + 2 * kPage, 4 * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base + 3 * kPage, &r));
  EXPECT_EQ(r.base, base + 2 * kPage);
  EXPECT_TRUE(r.tag & kClaimedRange);
  EXPECT_FALSE(device_ranges().find(base));
  EXPECT_FALSE(mapped(base, 2 * kPage)) << "the stale range's pages were given back";
  EXPECT_TRUE(forget_device_range(base + 2 * kPage));
  EXPECT_FALSE(mapped(base, 8 * kPage));
}

TEST(DeviceClaims, MirroredRangesAreNotClaimed) {
  const uintptr_t base = free_range(4 * kPage);
  record_device_range(base, 4 * kPage, 0, false);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_FALSE(r.tag & kClaimedRange);
  EXPECT_FALSE(mapped(base, 4 * kPage));
  EXPECT_TRUE(forget_device_range(base));
  // A reservation keeps its own tag beside the claim.
  record_device_range(base, 4 * kPage, kReservedRange, true);
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_EQ(r.tag, kReservedRange | kClaimedRange);
  EXPECT_TRUE(forget_device_range(base));
}

}  // namespace
}  // namespace gvirtus::client
