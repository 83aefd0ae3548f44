// Device variables of modules and libraries the driver API hands out (cuModuleGetGlobal,
// cuLibraryGetGlobal, generated, `after=` hooks): their addresses are device memory, recorded
// with the device ranges (client::record_device_range) while their module or library is loaded,
// so that the runtime's cudaMemcpyDefault and the driver's cuMemcpy know them (a copy to a
// global taken for host memory would write the worker's address in this process). Forgotten
// when cuModuleUnload / cuLibraryUnload succeeds (a library's modules, from cuLibraryGetModule,
// with it).
#pragma once
#include <cuda.h>

#include <cstddef>
#include <optional>

namespace gvirtus::cuda {

// A variable of `owner` (the module's or library's handle) at *dptr, of *bytes (either NULL:
// nothing is recorded, the size is not known).
void global_resolved(const void* owner, const CUdeviceptr* dptr, const size_t* bytes);
// cuLibraryGetModule: *module is unloaded with `library`.
void library_module(const void* library, const CUmodule* module);
// An unload of `owner` (local=, before it is sent: never answers) notes, for this thread, which
// records of its variables it gives back; owner_unloaded (after=) forgets those records, and
// only those (another thread's allocation or module may get the addresses, or the handle,
// between the worker's unload and the reply); owner_unload_failed (failed=) keeps them.
std::optional<CUresult> owner_unloading(const void* owner);
void owner_unloaded();
void owner_unload_failed();

}  // namespace gvirtus::cuda
