// Kernel arguments on the wire, as launches and kernel graph nodes send them
// (src/backend/cuda/kernel_args.h): u8 form, u32 n, n bytes. Packed with the function's
// parameter layout (asked of the worker once per function, launch.cc) or the `extra` buffer.
#pragma once
#include <cuda.h>

#include "common/wire.h"

namespace gvirtus::cuda {

// Appends f's arguments to a. Errors: the layout could not be had, both or neither form given
// for a function with parameters, an `extra` array that does not parse.
CUresult put_kernel_args(wire::Writer& a, CUfunction f, void** kernelParams, void** extra);

}  // namespace gvirtus::cuda
