// What the driver's copies (memory.cc) decide that other driver calls need too.
#pragma once
#include <cuda.h>

namespace gvirtus::cuda {

// Whether a unified address names device memory (a recorded allocation, else the worker's
// answer) or host memory (page-locked memory of this process, or an address the worker does
// not know), as cuMemcpy decides it.
CUresult pointer_on_device(CUdeviceptr p, bool* device);

}  // namespace gvirtus::cuda
