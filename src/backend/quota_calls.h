// Where the worker charges and credits the session's GPU memory ledger (memory_quota.h;
// docs/security.md, "GPU memory quota").
//
// 1. The runtime's allocation handlers (cudart/memory.cc, pools.cc, arrays.cc, managed.cc)
//    know the size they allocate: they ask room_for() before allocating, charge with
//    allocated() after, and credit with freed(). Exact, to the byte the client asked for
//    (pitch x rows for pitched allocations).
// 2. Every other call that allocates or frees device memory inside the driver or a library is
//    listed by name in quota_calls.cc and handled by run(), around its handler:
//    - device pointers of the driver API (cuMemAlloc_v2, ...): the allocation's exact size from
//      cuMemGetAddressRange, charged after the call; over the quota the memory is freed again
//      and the call answers CUDA_ERROR_OUT_OF_MEMORY;
//    - arrays and library objects (cuBLAS handles, cuFFT plans, ...): the worker process's own
//      device memory use on the current device (NVML's per-process figure for this pid) read
//      before and after the call, one such call at a time; the growth is charged to the object
//      and given back when the object is destroyed. A create call over the quota destroys what
//      it made and answers the library's allocation error; a call that grows an existing object
//      (cufftMakePlan*, cublasSetWorkspace...) answers that error and the object keeps its
//      memory, charged, until destroyed. Without NVML's figure for this process (no NVML, a PID
//      namespace that hides the worker's pid) these calls are refused under a quota.
#pragma once
#include <cstdint>

#include "backend/dispatch.h"

namespace gvirtus::backend::quota {

// The session's limit in bytes (-1: none), from WorkerStart.
void set_limit(int64_t bytes);

// ---- the runtime's own allocation handlers ----

// Room for `bytes` more? false: answer cudaErrorMemoryAllocation without allocating.
bool room_for(uint64_t bytes);
// A device allocation at ptr of `bytes` on the current device succeeded: charges it. false: over
// the quota; the handler frees it and answers cudaErrorMemoryAllocation.
bool allocated(uint64_t ptr, uint64_t bytes);
// A free of ptr succeeded (any API): gives back what it was charged (nothing for an address
// never charged: a foreign pointer, a second free).
void freed(uint64_t ptr);

// ---- virtual memory management (cuda/vmm.cc) ----

// Room for a cuMemCreate of `bytes`? false (logged): answer CUDA_ERROR_OUT_OF_MEMORY without
// allocating.
bool vmm_room_for(uint64_t bytes);
// cuMemCreate made `bytes` of physical memory on `device`, named by the driver's handle `raw`:
// charges it exactly. false: over the quota (the handler releases it and answers
// CUDA_ERROR_OUT_OF_MEMORY).
bool vmm_created(uint64_t raw, uint64_t bytes, int device);
// The driver freed that memory (its last mapping and reference are gone).
void vmm_freed(uint64_t raw);

// Loads and initialises NVML now, if not yet, and has it look at each GPU the worker sees: the
// first measured call (a library object's creation: cublasCreate, cudnnCreate, a cuFFT
// plan...) then does not wait for that (about 16 ms on the H100 machine). Any thread; the
// worker's plugin preload thread calls it for a session whose program needs a library. Makes
// no context.
void prepare_measurement();

// ---- every call ----

// Runs entry's handler, accounting for the calls of quota_calls.cc's table.
void run(const Registry& reg, const HandlerEntry& entry, CallContext& ctx);

// The table's rows, for tests: whether `name` is a call run() accounts for, and how
// ("device-pointer", "device-pointer-free", "create", "destroy", "grow"); nullptr if not listed.
const char* accounted_as(const char* name);

}  // namespace gvirtus::backend::quota
