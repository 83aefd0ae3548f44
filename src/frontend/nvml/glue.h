// Helpers shared by the generated NVML stubs (build/gen/nvml_client.cc) and the hand-written
// functions in this folder. Contract between the generator (api/nvml.api) and this library.
#pragma once
#include <nvml.h>

#include "frontend/core/client.h"

namespace gvirtus::nvml {

// The session is gone (or no backend could be reached): NVML_ERROR_DRIVER_NOT_LOADED, what NVML
// answers when it cannot talk to the driver; tools such as nvidia-smi then say that they could
// not communicate with the driver.
nvmlReturn_t lost();

// Completes a call that got a reply: its status.
nvmlReturn_t finish(const client::Call& c);

}  // namespace gvirtus::nvml
