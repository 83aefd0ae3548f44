// Host<->device copies over shared host memory (shm: connections; frontend/core/shared_host.h,
// docs/zero-copy.md): one gvMemcpyShared request when the host side lies in memory shared with
// the worker (page-locked memory from cudaMallocHost & co.), or a pipeline through a shared
// staging area for other host memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "frontend/cudart/copy_plan.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::cudart {

// Pageable copies smaller than this go through the connection as before (one message is
// cheaper than a pipeline for them).
constexpr uint64_t kStagedMinBytes = 256u << 10;

// Tries the shared paths for a copy of `shape` (valid: shape_ok) between host memory at `host`
// and device address `dev`. false: neither applies (not shm:, a small pageable copy, no staging
// area), so the caller copies through the connection. true: *result is the copy's answer (the
// thread's last error is set on failure).
bool shared_copy(bool to_host, uint8_t* host, const CopyShape& shape, uint64_t dev,
                 const Target& t, cudaError_t* result);

}  // namespace gvirtus::cudart
