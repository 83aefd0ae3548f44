// Helpers shared by the generated cudart stubs (build/gen/cudart_client.cc) and the hand-written
// functions in this folder. Contract between the generator and the hand-written code.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::cudart {

// The session is gone: records cudaErrorDevicesUnavailable as the thread's last error and
// returns it. Every call made after the backend went away returns this.
cudaError_t lost();

// Completes a call that got a reply: applies the reply's deferred error (aux) and then the
// call's own status to the thread's last error (as the real runtime does: a failing call sets
// it, a succeeding one leaves it), and returns the call's status.
cudaError_t finish(const client::Call& c);

// Sets / reads the thread's last error (the frontend keeps it; see cudaGetLastError).
void set_last_error(cudaError_t e);

// Device allocations the frontend knows of, so that cudaMemcpyDefault can tell device pointers
// from host ones. cudaMalloc and cudaMallocPitch record theirs; any other function that hands
// out device memory (cudaMallocAsync, cudaMallocManaged, ...) should call these too.
// The range's whole pages are claimed in this process too (client::record_device_range), so no
// host memory can come to lie at those addresses.
void track_device_allocation(uint64_t ptr, uint64_t size);
// The same for memory this process mirrors at its device address itself (managed memory,
// mapped host memory): recorded, not claimed.
void track_mirrored_allocation(uint64_t ptr, uint64_t size);
void untrack_device_allocation(uint64_t ptr);
// A free about to be sent: which record of the range starting at ptr it frees is noted for this
// thread. After the reply: free_done() on success forgets that record, unless another thread's
// allocation got the addresses meanwhile (client::forget_device_range_if_same); free_failed()
// on an error keeps it.
void free_begins(uint64_t ptr);
void free_done();
void free_failed();
// Inside a range recorded by track_device_allocation (libcuda.so.1's cuMemcpy asks).
bool is_tracked_device(uint64_t ptr);

// A kernel named by its host stub (or by a cudaKernel_t this library handed out) -> the
// worker's kernel id, uploading and resolving its module on first use. Used by generated stubs
// for parameters annotated `func`. cudaErrorInvalidResourceHandle for an unknown pointer, as
// the CUDA 13 runtime answers.
cudaError_t func_to_wire(const void* func, uint64_t* id);

// Handles travel as their 64-bit ids; the client never interprets them.
inline uint64_t to_wire(const void* handle) { return reinterpret_cast<uintptr_t>(handle); }
template <typename H>
inline H from_wire(uint64_t id) { return reinterpret_cast<H>(static_cast<uintptr_t>(id)); }

}  // namespace gvirtus::cudart
