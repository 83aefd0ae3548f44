// Driver copies with a CUDA array on one side or both: cuMemcpy2D/3D (+Async, per-thread forms)
// whose CUDA_MEMCPY2D/3D names an array, and cuMemcpyAtoH/HtoA/AtoD/DtoA/AtoA (+Async). They go
// through the runtime frontend's 3D copy engine (cudart::copy_3d, src/frontend/cudart/
// transfer.h), as the runtime's array copies do: host ends travel in gvArrayH2DChunk /
// gvArrayD2HChunk requests, copies between arrays and device memory are one cudaMemcpy3D on the
// worker. An array is named by its id (the CUarray value cuArrayCreate or cudaMallocArray handed
// out).
#pragma once
#include <cuda.h>

#include "frontend/cudart/transfer.h"

namespace gvirtus::cuda {

// Whether the copy names an array on either side.
bool has_array(const CUDA_MEMCPY3D& p);
// A CUDA_MEMCPY3D with at least one array side. Positions and widths are in bytes, as the
// driver counts them.
CUresult copy_3d_with_array(const CUDA_MEMCPY3D& p, const cudart::Target& t);
// The same for a CUDA_MEMCPY2D (depth 1).
CUresult copy_2d_with_array(const CUDA_MEMCPY2D& p, const cudart::Target& t);

}  // namespace gvirtus::cuda
