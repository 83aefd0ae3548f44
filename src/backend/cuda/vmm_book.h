// What the worker knows of its client's virtual memory management objects (cuMemCreate &
// co., backend/cuda/vmm.cc): each physical allocation's references and mappings, so that
//  - a handle the client names is one this session made and still holds (the driver's
//    behaviour for any other value is undefined: the handle is the address of a driver object);
//  - the session's GPU memory ledger gives an allocation's bytes back when the driver frees it,
//    which is neither at cuMemRelease (a mapping keeps the memory alive) nor at cuMemUnmap (a
//    reference does), but when the last of both is gone.
//
// Pure bookkeeping (no CUDA), thread-safe. An allocation is named by the driver's handle value
// (`raw`); the client names it by a HandleTable id, which the handlers translate.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace gvirtus::backend::cuda {

class VmmBook {
 public:
  struct Allocation {
    uint64_t bytes = 0;
    int device = 0;
    uint32_t refs = 0;  // cuMemCreate and each cuMemRetainAllocationHandle, less releases
    uint32_t maps = 0;  // live mappings of it
  };
  // An allocation that died: its memory is free (credit its bytes).
  struct Dead {
    uint64_t raw;
    uint64_t bytes;
    int device;
  };

  // cuMemCreate made `raw`: one reference, no mapping. false if raw is already known (the
  // driver reused a live handle: nothing is recorded).
  bool created(uint64_t raw, uint64_t bytes, int device);
  // cuMemRetainAllocationHandle gave `raw` again: one more reference. false if raw is not an
  // allocation of this session.
  bool retained(uint64_t raw);
  // cuMemRelease of raw succeeded: one reference less. Returns the references left (0: the
  // client's handle is gone); appends the allocation to *dead when its memory is free now.
  uint32_t released(uint64_t raw, std::vector<Dead>* dead);
  // cuMemMap of [va, va+size) onto raw succeeded. A mapping recorded over that range is stale
  // (the driver maps only unmapped addresses) and is dropped, which may free its allocation
  // (appended to *dead).
  void mapped(uint64_t va, uint64_t size, uint64_t raw, std::vector<Dead>* dead);
  // cuMemUnmap or cuMemAddressFree of [va, va+size) succeeded: what was mapped inside it is
  // gone (a mapping reaching outside keeps its outer parts: CUDA forbids unmapping part of a
  // mapping, but should a driver do it, what stays mapped stays counted). Appends the
  // allocations that died to *dead.
  void unmapped(uint64_t va, uint64_t size, std::vector<Dead>* dead);
  // The recorded mappings that start inside [va, va+size), as (address, size).
  std::vector<std::pair<uint64_t, uint64_t>> mappings_in(uint64_t va, uint64_t size) const;
  // The references raw holds (0: none, or not an allocation of this session). An allocation
  // kept alive only by a mapping has none: the driver no longer knows its handle, so the
  // client's id is refused until cuMemRetainAllocationHandle gives it a reference again.
  uint32_t references(uint64_t raw) const;

  // Held by the handlers across each driver call on an allocation and its bookkeeping
  // (backend/cuda/vmm.cc), so that two requests on one handle (a release racing a release from
  // another connection) reach the driver one after the other and find the record as the other
  // left it. Not taken by the methods above.
  std::mutex& calls() { return calls_; }

  // For tests and figures.
  bool find(uint64_t raw, Allocation* out) const;
  size_t allocations() const;
  size_t mappings() const;

 private:
  struct Mapping {
    uint64_t size;
    uint64_t raw;
  };
  // Drops every mapping overlapping [va, va+size), keeping their parts outside it when
  // keep_outside. REQUIRES: mu_.
  void drop_locked(uint64_t va, uint64_t size, bool keep_outside, std::vector<Dead>* dead);
  // Erases the allocation if nothing holds it any more. REQUIRES: mu_.
  void bury_locked(std::map<uint64_t, Allocation>::iterator it, std::vector<Dead>* dead);

  std::mutex calls_;
  mutable std::mutex mu_;
  std::map<uint64_t, Allocation> allocs_;  // raw -> allocation
  std::map<uint64_t, Mapping> maps_;       // va -> mapping
};

}  // namespace gvirtus::backend::cuda
