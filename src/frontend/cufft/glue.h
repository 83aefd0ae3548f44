// Helpers shared by the generated cuFFT stubs (build/gen/cufft_client.cc). Contract between the
// generator (api/cufft.api) and this library.
#pragma once
#include <cufft.h>

#include "frontend/core/client.h"

namespace gvirtus::cufft {

// The session is gone: CUFFT_SETUP_FAILED, what cuFFT answers when the CUDA runtime beneath it
// cannot be set up.
cufftResult lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core.
cufftResult finish(const client::Call& c);

}  // namespace gvirtus::cufft
