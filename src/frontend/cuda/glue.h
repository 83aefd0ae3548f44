// Helpers shared by the generated driver stubs (build/gen/cuda_client.cc) and the hand-written
// functions in this folder. Contract between the generator (api/cuda.api) and this library.
#pragma once
#include <cuda.h>

#include "frontend/core/client.h"

namespace gvirtus::cuda {

// The session is gone: every call made after the backend went away returns this
// (CUDA_ERROR_DEVICE_UNAVAILABLE, the code libcudart gives in the same state).
CUresult lost();

// Completes a call that got a reply: its status. The driver API keeps no last-error state. A
// deferred failure of an earlier request sent without reply (the runtime's <<<>>> launches) is
// not the driver call's result: it is posted to the client core, where libcudart's
// cudaGetLastError finds it.
CUresult finish(const client::Call& c);

}  // namespace gvirtus::cuda
