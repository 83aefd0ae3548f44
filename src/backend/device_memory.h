// Whether an address is GPU memory of this worker, for the library plugins, which do not link
// the CUDA runtime (the backend's copy is static and not exported).
#pragma once

namespace gvirtus::backend {

// True for device or managed memory as the worker's CUDA runtime knows it; false for host
// memory (page-locked or not), an address CUDA does not know, or when it cannot say. Leaves the
// calling thread's last runtime error as it was.
bool device_memory(const void* p);

}  // namespace gvirtus::backend
