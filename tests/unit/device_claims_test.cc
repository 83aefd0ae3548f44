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

#include "frontend/core/answers.h"
#include "frontend/core/ranges.h"
#include "frontend/cuda/globals.h"
#include "frontend/cudart/glue.h"

namespace gvirtus::client {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
// Pages in a range large enough to be claimed (kClaimMinBytes).
const size_t kN = kClaimMinBytes / kPage + 8;

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
  const uintptr_t base = free_range((kN + 2) * kPage);
  // A device allocation that starts and ends inside pages: only the whole pages are claimed.
  record_device_range(base + 256, kN * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base + 256, &r));
  EXPECT_TRUE(r.tag & kClaimedRange);
  EXPECT_TRUE(mapped(base + kPage, (kN - 1) * kPage));
  EXPECT_FALSE(mapped(base, kPage)) << "the first, partial page is not claimed";
  // The kernel places no new memory there.
  void* hint = ::mmap(reinterpret_cast<void*>(base + 2 * kPage), kPage, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(reinterpret_cast<uintptr_t>(hint), base + 2 * kPage);
  ::munmap(hint, kPage);
  EXPECT_TRUE(forget_device_range(base + 256));
  EXPECT_FALSE(mapped(base + kPage, (kN - 1) * kPage)) << "given back";
  EXPECT_FALSE(device_ranges().find(base + 256));
}

TEST(DeviceClaims, HostMemoryAlreadyThereIsNeverTakenAway) {
  void* host = ::mmap(nullptr, kN * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
  ASSERT_NE(host, MAP_FAILED);
  std::memset(host, 0x5a, kN * kPage);
  const uintptr_t h = reinterpret_cast<uintptr_t>(host);
  record_device_range(h, kN * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(h, &r)) << "still recorded: the backend says it is device memory";
  EXPECT_FALSE(r.tag & kClaimedRange);
  EXPECT_TRUE(forget_device_range(h));
  EXPECT_EQ(static_cast<unsigned char*>(host)[kN * kPage - 1], 0x5a) << "the host memory is intact";
  ::munmap(host, kN * kPage);
}

TEST(DeviceClaims, AStaleRangeGivesItsPagesToTheNewOne) {
  const uintptr_t base = free_range(3 * kN * kPage);
  record_device_range(base, kN * kPage, 0, true);
  // The backend handed out an overlapping range: the old one was freed another way.
  record_device_range(base + kN / 2 * kPage, kN * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base + kN * kPage, &r));
  EXPECT_EQ(r.base, base + kN / 2 * kPage);
  EXPECT_TRUE(r.tag & kClaimedRange);
  EXPECT_FALSE(device_ranges().find(base));
  EXPECT_FALSE(mapped(base, kN / 2 * kPage)) << "the stale range's pages were given back";
  EXPECT_TRUE(forget_device_range(base + kN / 2 * kPage));
  EXPECT_FALSE(mapped(base, 3 * kN * kPage));
}

// Managed memory is mirrored by the client at its device address: a stale claimed range there
// (the worker handed the addresses out again) is forgotten first, its claim given back; a
// record without a claim (a __managed__ variable resolved just before its mirror) stays.
TEST(DeviceClaims, ForgettingClaimsInASpanKeepsUnclaimedRecords) {
  const uintptr_t base = free_range(3 * kN * kPage);
  record_device_range(base, kN * kPage, 0, true);
  record_device_range(base + 2 * kN * kPage, kN * kPage, 0, false);
  forget_claimed_ranges_in(base + kPage, 2 * kN * kPage);
  EXPECT_FALSE(device_ranges().find(base));
  EXPECT_FALSE(mapped(base, kN * kPage));
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base + 2 * kN * kPage, &r)) << "the mirrored record stays";
  EXPECT_EQ(r.size, kN * kPage);
  EXPECT_TRUE(forget_device_range(base + 2 * kN * kPage));
}

TEST(DeviceClaims, SmallRangesAreRecordedWithoutAClaim) {
  const uintptr_t base = free_range(16 * kPage);
  record_device_range(base, 16 * kPage, 0, true);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_FALSE(r.tag & kClaimedRange);
  EXPECT_FALSE(mapped(base, 16 * kPage));
  EXPECT_TRUE(forget_device_range(base));
}

TEST(DeviceClaims, MirroredRangesAreNotClaimed) {
  const uintptr_t base = free_range(kN * kPage);
  record_device_range(base, kN * kPage, 0, false);
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_FALSE(r.tag & kClaimedRange);
  EXPECT_FALSE(mapped(base, kN * kPage));
  EXPECT_TRUE(forget_device_range(base));
  // A reservation keeps its own tag beside the claim.
  record_device_range(base, kN * kPage, kReservedRange, true);
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_EQ(r.tag, kReservedRange | kClaimedRange);
  EXPECT_TRUE(forget_device_range(base));
}

// A free keeps its range until the reply: a failed free leaves it, claim included; a
// successful one forgets the record it freed, but not another thread's allocation that got the
// same addresses between the worker's free and the reply.
TEST(DeviceClaims, AFreeForgetsOnlyTheRecordItFreed) {
  const uintptr_t base = free_range(2 * kN * kPage);
  record_device_range(base, kN * kPage, 0, true);
  cudart::free_begins(base);
  EXPECT_TRUE(device_ranges().find(base)) << "kept while the free is on its way";
  EXPECT_TRUE(mapped(base, kN * kPage));
  cudart::free_failed();
  RangeMap::Range r;
  ASSERT_TRUE(device_ranges().find(base, &r));
  EXPECT_EQ(r.size, kN * kPage);
  EXPECT_TRUE(r.tag & kClaimedRange);
  EXPECT_TRUE(mapped(base, kN * kPage));
  cudart::free_begins(base);
  cudart::free_done();
  cudart::free_failed();  // nothing kept any more
  EXPECT_FALSE(device_ranges().find(base));
  EXPECT_FALSE(mapped(base, kN * kPage));
  // Another thread's allocation at the same base before the free's reply: it stays.
  record_device_range(base, kN * kPage, 0, true);
  cudart::free_begins(base);
  const uint64_t newer = record_device_range(base, 2 * kN * kPage, 0, true);
  EXPECT_NE(newer, 0u);
  cudart::free_done();
  ASSERT_TRUE(device_ranges().find(base, &r)) << "the newer allocation's record was dropped";
  EXPECT_EQ(r.gen, newer);
  EXPECT_EQ(r.size, 2 * kN * kPage);
  EXPECT_TRUE(mapped(base, 2 * kN * kPage));
  EXPECT_TRUE(forget_device_range(base));
  cudart::free_begins(base + 64);  // not a range's start: nothing
  cudart::free_done();
  EXPECT_FALSE(device_ranges().find(base));
}

// The driver API's device variables (cuModuleGetGlobal, cuLibraryGetGlobal) are device ranges
// while their module is loaded: cudaMemcpyDefault must not take them for host memory.
TEST(DeviceClaims, ADriverGlobalIsDeviceMemoryUntilItsModuleIsUnloaded) {
  const uintptr_t base = free_range(2 * kN * kPage);
  int module_a = 0, module_b = 0;  // stand for two modules' handles
  const CUdeviceptr big = base, small = base + kN * kPage + 64;
  const size_t big_bytes = kN * kPage, small_bytes = 16;
  cuda::global_resolved(&module_a, &big, &big_bytes);
  RangeMap::Range first;
  ASSERT_TRUE(device_range_at(base, &first));
  cuda::global_resolved(&module_a, &big, &big_bytes);  // asked again: the same record
  RangeMap::Range again;
  ASSERT_TRUE(device_range_at(base, &again));
  EXPECT_EQ(again.gen, first.gen);
  cuda::global_resolved(&module_b, &small, &small_bytes);
  cuda::global_resolved(&module_b, &small, nullptr);   // no size: nothing recorded
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(base + 100)));
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(small + 8)));
  EXPECT_TRUE(mapped(base, kN * kPage)) << "a large variable is claimed like an allocation";
  // An unload that fails keeps them.
  cuda::owner_unloading(&module_a);
  cuda::owner_unload_failed();
  cuda::owner_unloaded();  // nothing noted any more
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(base + 100)));
  cuda::owner_unloading(&module_a);
  cuda::owner_unloaded();
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(base + 100)));
  EXPECT_FALSE(mapped(base, kN * kPage));
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(small + 8))) << "another module's";
  cuda::owner_unloading(&module_b);
  cuda::owner_unloaded();
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(small + 8)));
}

// Between the worker's unload and its reply, another thread may get the same addresses (an
// allocation) and even the same module handle: what it recorded stays.
TEST(DeviceClaims, AnUnloadForgetsOnlyTheRecordsOfWhatItUnloaded) {
  const uintptr_t base = free_range(kN * kPage);
  int module = 0;
  const CUdeviceptr var = base;
  const size_t bytes = kN * kPage;
  cuda::global_resolved(&module, &var, &bytes);
  cuda::owner_unloading(&module);
  // Meanwhile: an allocation at the variable's addresses, and the same handle's new module
  // with a variable elsewhere.
  const uint64_t alloc = record_device_range(base, kN * kPage, 0, true);
  const CUdeviceptr other = base + kN * kPage + 4096;
  const size_t other_bytes = 8;
  cuda::global_resolved(&module, &other, &other_bytes);
  cuda::owner_unloaded();
  RangeMap::Range r;
  ASSERT_TRUE(device_range_at(base, &r)) << "the allocation's record was dropped";
  EXPECT_EQ(r.gen, alloc);
  EXPECT_TRUE(mapped(base, kN * kPage));
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(other))) << "the new module's";
  cuda::owner_unloading(&module);
  cuda::owner_unloaded();
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(other)));
  EXPECT_TRUE(forget_device_range(base));
}

// A library's modules (cuLibraryGetModule) are unloaded with it: their variables go too.
TEST(DeviceClaims, ALibrarysModulesVariablesGoWithTheLibrary) {
  const uintptr_t base = free_range(kN * kPage);
  int library = 0, module = 0;
  const CUmodule handle = reinterpret_cast<CUmodule>(&module);
  cuda::library_module(&library, &handle);
  const CUdeviceptr var = base;
  const size_t bytes = 64;
  cuda::global_resolved(handle, &var, &bytes);
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(base)));
  cuda::owner_unloading(&library);
  cuda::owner_unloaded();
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(base)));
}

// The driver maps an allocation opened twice (the same exported handle) once and unmaps it at
// the last close: the range lives until then.
TEST(DeviceClaims, AnIpcRangeLivesUntilItsLastClose) {
  const uintptr_t base = free_range(kN * kPage);
  ipc_opened(base, kN * kPage);
  ipc_opened(base, kN * kPage);
  ipc_closed(base);
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(base))) << "one open is left";
  EXPECT_TRUE(mapped(base, kN * kPage));
  ipc_closed(base);
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(base)));
  EXPECT_FALSE(mapped(base, kN * kPage));
  ipc_closed(base);  // not open: nothing
  // Closed, then the addresses given to another allocation before the close's record goes:
  ipc_opened(base, kN * kPage);
  const uint64_t alloc = record_device_range(base, kN * kPage, 0, true);
  ipc_closed(base);
  RangeMap::Range r;
  ASSERT_TRUE(device_range_at(base, &r));
  EXPECT_EQ(r.gen, alloc);
  EXPECT_TRUE(forget_device_range(base));
}

// A device reset frees the allocations of the device's primary context: their ranges go, their
// claims too; another device's stay, and so do virtual memory reservations (they survive a
// reset) and mirrored memory. Once the process made a context of its own, whose memory
// outlives the reset, nothing is forgotten. (Last in this file: context_created is for good.)
TEST(DeviceClaims, AResetForgetsTheRangesOfItsDeviceOnly) {
  const uintptr_t base = free_range(5 * kN * kPage);
  const uintptr_t a = base, b = base + kN * kPage, c = base + 2 * kN * kPage,
                  d = base + 3 * kN * kPage, e = base + 4 * kN * kPage;
  remember_current_device(0);
  record_device_range(a, kN * kPage, 0, true);
  record_device_range(c, kN * kPage, kReservedRange, true);
  record_device_range(d, kN * kPage, kMirroredRange, false);
  remember_current_device(1);
  record_device_range(b, kN * kPage, 0, true);
  forget_current_device();
  record_device_range(e, 4096, 0, true);  // recorded with no known device
  forget_device_ranges_at_reset(0);
  EXPECT_FALSE(device_ranges().contains(reinterpret_cast<void*>(a)));
  EXPECT_FALSE(mapped(a, kN * kPage)) << "its claim is given back";
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(b))) << "another device's";
  EXPECT_TRUE(mapped(b, kN * kPage));
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(c))) << "a reservation";
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(d))) << "mirrored memory";
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(e))) << "an unknown device's";
  context_created();
  forget_device_ranges_at_reset(1);
  EXPECT_TRUE(device_ranges().contains(reinterpret_cast<void*>(b)))
      << "a process with contexts of its own keeps every range";
  for (uintptr_t p : {b, c, d, e}) EXPECT_TRUE(forget_device_range(p));
  remember_current_device(0);
}

}  // namespace
}  // namespace gvirtus::client
