// Device variables of modules and libraries the driver API hands out (cuModuleGetGlobal,
// cuLibraryGetGlobal, generated, `after=` hooks): their addresses are device memory, recorded
// with the device ranges (client::record_device_range) while their module or library is loaded,
// so that the runtime's cudaMemcpyDefault and the driver's cuMemcpy know them (a copy to a
// global taken for host memory would write the worker's address in this process). Forgotten at
// cuModuleUnload / cuLibraryUnload.
#pragma once
#include <cuda.h>

#include <cstddef>

namespace gvirtus::cuda {

// A variable of `owner` (the module's or library's handle) at *dptr, of *bytes (either NULL:
// nothing is recorded, the size is not known).
void global_resolved(const void* owner, const CUdeviceptr* dptr, const size_t* bytes);
// `owner` was unloaded: its variables' ranges are forgotten.
void owner_unloaded(const void* owner);

}  // namespace gvirtus::cuda
