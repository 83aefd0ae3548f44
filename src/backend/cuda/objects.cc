// The driver plugin's helpers for arrays and mipmapped arrays (cuda/objects.h): the runtime's,
// with the driver's C types.
#include "backend/cuda/objects.h"

#include <cuda_runtime_api.h>

#include "backend/cudart/support.h"

namespace gvirtus::backend::cuda {

bool array_in(CallContext& ctx, uint64_t id, CUarray* out) {
  cudaArray_t a = nullptr;
  bool ok = cudart::array_in(ctx, id, &a);
  *out = reinterpret_cast<CUarray>(a);
  return ok;
}
uint64_t array_out(CallContext& ctx, CUarray a) {
  return cudart::array_out(ctx, reinterpret_cast<cudaArray_t>(a));
}
bool array_release(CallContext& ctx, uint64_t id, CUarray* out) {
  cudaArray_t a = nullptr;
  bool ok = cudart::array_release(ctx, id, &a);
  *out = reinterpret_cast<CUarray>(a);
  return ok;
}

bool mipmapped_in(CallContext& ctx, uint64_t id, CUmipmappedArray* out) {
  cudaMipmappedArray_t m = nullptr;
  bool ok = cudart::mipmapped_in(ctx, id, &m);
  *out = reinterpret_cast<CUmipmappedArray>(m);
  return ok;
}
uint64_t mipmapped_out(CallContext& ctx, CUmipmappedArray m) {
  return cudart::mipmapped_out(ctx, reinterpret_cast<cudaMipmappedArray_t>(m));
}
bool mipmapped_release(CallContext& ctx, uint64_t id, CUmipmappedArray* out) {
  cudaMipmappedArray_t m = nullptr;
  bool ok = cudart::mipmapped_release(ctx, id, &m);
  *out = reinterpret_cast<CUmipmappedArray>(m);
  return ok;
}

}  // namespace gvirtus::backend::cuda
