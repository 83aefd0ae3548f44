// Virtual memory management on the worker (vmm.cc): what the generated handlers call.
#pragma once
#include <cuda.h>

#include <cstddef>

#include "common/vmm_rules.h"

namespace gvirtus::backend::cuda {

// cuMemSetAccess's server_check (api/cuda.api): access from the host is refused by the client
// (common/vmm_rules.h); one that arrives anyway ends the session (SessionFault).
void vmm_check_access(const CUmemAccessDesc* desc, size_t count);

}  // namespace gvirtus::backend::cuda
