// A thread-safe map of non-overlapping address ranges [base, base+size), each with a small
// tag. The frontend keeps device allocations in one (so cudaMemcpyDefault can tell device
// pointers from host ones) and host allocations / registrations in others.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "frontend/core/client.h"

namespace gvirtus::client {

class GV_API RangeMap {
 public:
  struct Range {
    uintptr_t base = 0;
    size_t size = 0;
    uint32_t tag = 0;
    uint64_t gen = 0;  // which record this is (record_device_range); 0 in other maps
    int32_t device = -1;  // the recording thread's current device (record_device_range); -1: unknown
  };
  // Adds a range; false (and nothing changes) if it is empty, wraps around, or overlaps one.
  bool add(uintptr_t base, size_t size, uint32_t tag = 0);
  // Adds a range, first dropping any that overlap it (the backend just handed it out, so
  // whatever we remembered there is stale; appended to *dropped when given). False only if it
  // is empty or wraps around.
  bool assign(uintptr_t base, size_t size, uint32_t tag = 0,
              std::vector<Range>* dropped = nullptr, uint64_t gen = 0, int32_t device = -1);
  // Removes the range that starts exactly at base.
  bool remove(uintptr_t base, Range* removed = nullptr);
  // Whether any range overlaps [base, base+size).
  bool overlaps(uintptr_t base, size_t size) const;
  // The ranges that overlap [base, base+size), in address order.
  std::vector<Range> overlapping(uintptr_t base, size_t size) const;
  // The range containing p.
  bool find(uintptr_t p, Range* out = nullptr) const;
  bool contains(const void* p) const { return find(reinterpret_cast<uintptr_t>(p)); }
  size_t count() const;
  std::vector<Range> all() const;
  void clear();

 private:
  bool overlaps_locked(uintptr_t base, size_t size) const;  // REQUIRES: mu_ held
  mutable std::mutex mu_;
  std::map<uintptr_t, Range> by_base_;
};

// The device allocations of this process (cudaMalloc and friends, cuMemAlloc and friends):
// one map for libcudart.so.13 and libcuda.so.1 together, so that either can tell a device
// pointer the other handed out from host memory (cudaMemcpyDefault, cuMemcpy).
GV_API RangeMap& device_ranges();
// Device addresses are the worker's, recorded in this process's address space, where the
// application's own memory could lie at the same numbers: a host buffer there would be taken
// for device memory (a copy to it refused, cudaMemcpyDefault going the wrong way). So
// record_device_range also claims the whole pages inside the range in this process
// (PROT_NONE, MAP_NORESERVE: no memory behind them; tag kClaimedRange), so that no host
// memory can come to lie there while the range lives; memory already there is logged once.
// `claim` false: a range whose addresses this process maps itself (managed memory mirrored at
// its device address). forget_device_range drops a range starting at base and gives its pages
// back. Both drop and give back stale ranges the new one overlaps. Each record has a generation
// of its own, which record_device_range returns (0: nothing recorded).
GV_API uint64_t record_device_range(uintptr_t base, size_t size, uint32_t tag, bool claim);
GV_API bool forget_device_range(uintptr_t base, RangeMap::Range* removed = nullptr);
// Calls that give device memory back (frees, cuMemAddressFree, module unloads, IPC closes)
// keep its record while the worker frees it: device_range_at before the request, then, once it
// succeeded, forget_device_range_if_same. Between the worker's free and the reply another
// thread's allocation may get the same addresses: its record is another generation and stays
// (a forget by address would drop it, and its claim). The record of memory whose free failed
// is never dropped (a forget before sending would give its pages away meanwhile).
GV_API bool device_range_at(uintptr_t base, RangeMap::Range* out);
GV_API bool forget_device_range_if_same(const RangeMap::Range& r);
// Memory another process exported, opened here (cudaIpcOpenMemHandle, cuIpcOpenMemHandle): the
// driver gives the same address to each open of one allocation and unmaps it at the last close,
// so the range is recorded at each open and forgotten when its opens are all closed (after the
// last close succeeded, and only if it is still that record).
GV_API void ipc_opened(uintptr_t base, size_t size);
GV_API void ipc_closed(uintptr_t base);
// A device reset (cudaDeviceReset, cuDevicePrimaryCtxReset of `device`) frees every allocation
// of the device's primary context: their ranges are forgotten, and their claims given back, so
// that host memory may come to lie there. Only what is surely gone: ranges recorded while
// `device` was the recording thread's current device, and only while this process never made
// a context of its own (cuCtxCreate: its allocations outlive the reset, and their ranges carry
// the same device). Reservations and physical allocations of the virtual memory calls survive a
// reset (measured), and mirrored memory goes with its mirror: both stay.
GV_API void forget_device_ranges_at_reset(int device);
// cuCtxCreate succeeded: from now on resets forget no range (see above).
GV_API void context_created();
GV_API bool own_contexts_made();
// Forgets, and gives the pages back of, every claimed device range overlapping
// [base, base+size): stale ones, where this process is about to map memory of its own (managed
// memory mirrored at its device address). Ranges without a claim stay recorded.
GV_API void forget_claimed_ranges_in(uintptr_t base, size_t size);
// Only ranges of at least kClaimMinBytes are claimed (a collision's chance grows with the size,
// and each claim is a mapping of the process, counted against vm.max_map_count), and at most
// kMaxClaims at once; others are recorded without a claim.
constexpr size_t kClaimMinBytes = size_t{1} << 20;
constexpr size_t kMaxClaims = 8192;

// The tag of a range of device_ranges() that is a virtual address reservation
// (cuMemAddressReserve): device addresses, mapped or not, accessible or not. Other ranges
// (tag 0) are allocations, all of whose bytes may be used. kClaimedRange is added when this
// process holds the same addresses of its own address space (frontend/cuda/vmm.cc).
constexpr uint32_t kReservedRange = 1;
constexpr uint32_t kClaimedRange = 2;
// Memory this process mirrors at its device address (managed memory, mapped host memory:
// track_mirrored_allocation).
constexpr uint32_t kMirroredRange = 4;

}  // namespace gvirtus::client
