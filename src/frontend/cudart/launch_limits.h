// A kernel's launch limits on each device (gvLaunchLimits, launch_check.cc), kept in its own
// record so that a launch reads them without a lock, a string key or a map lookup: per device
// slot, a sequence lock over plain atomics (writers, rare, are serialised by the caller).
#pragma once
#include <atomic>
#include <cstdint>

namespace gvirtus::cudart {

// What the worker's runtime checks a launch configuration against, on one device.
struct LaunchLimits {
  int32_t grid[3];
  int32_t block[3];
  int32_t threads;   // the kernel's maxThreadsPerBlock there (registers included)
  int32_t dyn_smem;  // the kernel's maxDynamicSharedSizeBytes there
};

class LaunchLimitsCache {
 public:
  // Devices 0 .. kDevices-1 are kept here; others ask the worker every time.
  static constexpr int kDevices = 16;

  // The limits kept for `device` under answers generation `generation`, if any. Lock-free.
  bool get(int device, uint64_t generation, LaunchLimits* out) const {
    if (device < 0 || device >= kDevices) return false;
    const Slot& s = slots_[device];
    const uint64_t seq = s.seq.load(std::memory_order_acquire);
    if ((seq & 1) != 0 || s.generation.load(std::memory_order_relaxed) != generation)
      return false;
    int32_t v[kWords];
    for (int i = 0; i < kWords; ++i) v[i] = s.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) != seq) return false;  // a writer came by
    out->grid[0] = v[0], out->grid[1] = v[1], out->grid[2] = v[2];
    out->block[0] = v[3], out->block[1] = v[4], out->block[2] = v[5];
    out->threads = v[6];
    out->dyn_smem = v[7];
    return true;
  }
  // REQUIRES: no other put() on this cache at the same time.
  void put(int device, uint64_t generation, const LaunchLimits& l) {
    if (device < 0 || device >= kDevices) return;
    Slot& s = slots_[device];
    const int32_t v[kWords] = {l.grid[0],  l.grid[1],  l.grid[2], l.block[0],
                               l.block[1], l.block[2], l.threads, l.dyn_smem};
    s.seq.fetch_add(1, std::memory_order_relaxed);  // odd: being written
    std::atomic_thread_fence(std::memory_order_release);
    for (int i = 0; i < kWords; ++i) s.words[i].store(v[i], std::memory_order_relaxed);
    s.generation.store(generation, std::memory_order_relaxed);
    s.seq.fetch_add(1, std::memory_order_release);  // even: readable
  }

 private:
  static constexpr int kWords = 8;
  struct Slot {
    std::atomic<uint64_t> seq{0};
    std::atomic<uint64_t> generation{0};  // 0: nothing kept (generations start at 1)
    std::atomic<int32_t> words[kWords] = {};
  };
  Slot slots_[kDevices];
};

}  // namespace gvirtus::cudart
