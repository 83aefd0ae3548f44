// Device memory cleared before a client gets it (docs/security.md, "Isolation and quotas"):
// with clearing on (the worker's --clear-memory 1, set by the daemon from
// "clear_device_memory"), the runtime's allocation handlers zero what they allocate before
// answering, so a client never reads what an earlier session left in that memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace gvirtus::backend::cudart {

void set_clear_new_memory(bool on);
bool clear_new_memory();

// Zeroes n bytes at p. stream: for a stream-ordered allocation (cudaMallocAsync), the zeroing
// is enqueued on it, before anything the client enqueues there; otherwise (stream_ordered
// false) it runs on a private non-blocking stream of the current device and is complete
// when this returns. Returns the first error.
cudaError_t clear_allocation(void* p, size_t n, cudaStream_t stream, bool stream_ordered);

}  // namespace gvirtus::backend::cudart
