// Helpers shared by the generated cuRAND stubs (build/gen/curand_client.cc) and the hand-written
// functions in this folder. Contract between the generator (api/curand.api) and this library.
#pragma once
#include <curand.h>

#include <cstddef>

#include "frontend/core/client.h"

namespace gvirtus::curand {

// The session is gone: CURAND_STATUS_INITIALIZATION_FAILED, what cuRAND answers when it cannot
// set up the GPU.
curandStatus_t lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core.
curandStatus_t finish(const client::Call& c);

// Host generators (curandCreateGeneratorHost) that this client created and has not destroyed:
// their output is the application's host memory and comes back with the reply.
void note_host_generator(curandGenerator_t g, bool host);
bool is_host_generator(curandGenerator_t g);

}  // namespace gvirtus::curand
