// Whether a kernel launch can be sent without waiting for its result (docs/frontend.md,
// "Launches"). CUDA reports a bad launch configuration at once, from the launch call itself and
// then cudaGetLastError; a launch sent without a reply could only report it at a later call.
// So a launch goes out without waiting only when the client can tell that the runtime on the
// worker will accept it: dimensions within the device's limits, threads per block within the
// kernel's own limit (registers), dynamic shared memory within the kernel's allowance, and no
// stream capture that could refuse it. Anything else waits for the worker's answer. What remains
// deferred fails asynchronously natively too (a kernel fault), or is a use of a destroyed stream.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "frontend/cudart/modules.h"

namespace gvirtus::cudart {

// True when a launch of k (resolved) with this configuration is sure to be accepted. Asks the
// worker once per kernel and device (gvLaunchLimits; the answers are kept).
bool launch_surely_accepted(Kernel* k, dim3 grid, dim3 block, size_t shmem);

// cudaMemsetAsync (`async_if=`): [ptr, ptr + count) lies in one device allocation this process
// made (not a virtual address reservation, whose pages may be unmapped or inaccessible), and no
// stream capture may be active. What can still fail (a destroyed stream) comes
// back with a later reply.
bool memset_surely_accepted(const void* ptr, size_t count);

}  // namespace gvirtus::cudart
