// The GPU memory a session holds, and its quota ("gpu_memory" in the config's "limits";
// docs/security.md, "GPU memory quota"). One ledger per worker process (one worker per session).
//
// The ledger records what each allocation holds, under a (family, key) pair:
//   family kDevicePointer   key: the device address (cudaMalloc*, cudaMallocAsync, cuMemAlloc*,
//                           managed memory): every free of any API finds it by its address
//   family kArray / kMipmappedArray   key: the worker's handle id of the array
//   family kVmmAllocation   key: the driver's handle of a cuMemCreate allocation, given back
//                           when the driver frees it (last mapping and reference gone)
//   any other family        a library object (cuBLAS handle, cuFFT plan...): family is the call
//                           id that destroys it, key its id as the client names it
// so a free gives back exactly what its allocation was charged, and a free of something the
// ledger never charged (a foreign pointer, a double free) gives back nothing.
//
// Pure bookkeeping (no CUDA): the hooks that call it are in quota_calls.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace gvirtus::backend::quota {

enum Family : uint32_t {
  kDevicePointer = 1,
  kArray = 2,
  kMipmappedArray = 3,
  kDeviceLimit = 4,  // cudaDeviceSetLimit's reservations, key: the device
  kVmmAllocation = 5,  // cuMemCreate's physical memory, key: the driver's handle value
  // Library objects: the destroying call id (>= 100).
};

// Devices the ledger reports one by one (the stats block's kMaxDevices); memory of a device
// beyond counts in the total only.
constexpr int kDevices = 32;

class Ledger {
 public:
  explicit Ledger(int64_t limit = -1) : limit_(limit) {}
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // -1: no limit (everything is still counted, for the operators' figures).
  void set_limit(int64_t limit);
  int64_t limit() const;

  // Is there room for `bytes` more now? A pre-check before allocating; charge() decides.
  bool fits(uint64_t bytes) const;

  // Records that (family, key) holds `bytes` on `device`. false, recording nothing, if that
  // would take the session over its limit or overflow the count. A key already recorded keeps
  // its old charge and gets `bytes` added (a library object that allocates again). A zero
  // charge of a new key records nothing and succeeds.
  bool charge(uint32_t family, uint64_t key, uint64_t bytes, int device);
  // Like charge(), but records even over the limit (memory a library call already took and
  // that cannot be given back until its object is destroyed). Returns whether the session is
  // within its limit afterwards. Overflow saturates.
  bool charge_anyway(uint32_t family, uint64_t key, uint64_t bytes, int device);
  // Gives back what (family, key) holds and forgets it; 0 for a key that holds nothing.
  uint64_t release(uint32_t family, uint64_t key);
  // Forgets everything held on `device` (a reset of its primary context freed it all), except
  // kVmmAllocation charges (physical memory belongs to no context); returns the bytes given
  // back.
  uint64_t release_device(int device);
  // What (family, key) holds (0: nothing).
  uint64_t held_by(uint32_t family, uint64_t key) const;

  uint64_t held() const;                // now, every device
  uint64_t peak() const;                // the most held at once since the session began
  uint64_t held_on(int device) const;   // now, one device (0 outside 0..kDevices-1)
  int devices() const;                  // 1 + the highest device index ever charged (<= kDevices)
  size_t entries() const;

  // What on_change publishes.
  struct Figures {
    uint64_t held = 0, peak = 0;
    int devices = 0;
    uint64_t per_device[kDevices] = {};
  };
  // fn runs after every change, under the ledger's lock (so figures arrive in order): it must
  // be short and must not call the ledger.
  void on_change(std::function<void(const Figures&)> fn);

 private:
  struct Entry {
    uint64_t bytes;
    int device;
  };
  bool add(uint32_t family, uint64_t key, uint64_t bytes, int device, bool checked);
  void changed();

  mutable std::mutex mu_;
  int64_t limit_;
  uint64_t held_ = 0;
  uint64_t peak_ = 0;
  uint64_t per_device_[kDevices] = {};
  int devices_ = 0;
  std::map<std::pair<uint32_t, uint64_t>, Entry> entries_;
  std::function<void(const Figures&)> on_change_;
};

// The worker's ledger. Its changes are published to the session's stats block (stats.h):
// held bytes per device and the peak.
Ledger& ledger();

// The refusal text logged when an allocation is over the limit.
std::string over_limit_text(uint64_t bytes, const Ledger& l);

}  // namespace gvirtus::backend::quota
