// Hand-written cuBLAS handlers: calls whose client side keeps state.
#include "backend/cublas/support.h"
#include "cublas_handles.h"

namespace gvirtus::backend::cublas {

bool device_pointers(cublasHandle_t handle) {
  if (!handle) return false;  // cuBLAS refuses the call itself
  cublasPointerMode_t m = CUBLAS_POINTER_MODE_HOST;
  return cublasGetPointerMode_v2(handle, &m) == CUBLAS_STATUS_SUCCESS &&
         m == CUBLAS_POINTER_MODE_DEVICE;
}

// cublasSetPointerMode_v2(handle id u64, mode i32). The client remembers the mode to choose how
// later calls send their scalars.
void handle_cublasSetPointerMode_v2(CallContext& ctx) {
  const uint64_t id = ctx.in.get<uint64_t>();
  const int32_t mode = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  cublasHandle_t h;
  if (!cublas_in(ctx, id, &h)) return;
  ctx.status = cublasSetPointerMode_v2(h, static_cast<cublasPointerMode_t>(mode));
}

}  // namespace gvirtus::backend::cublas

namespace gvirtus::backend::cublas {

// cublasGetCudartVersion(): reply u64, the runtime NVIDIA's cuBLAS here was built with.
void handle_cublasGetCudartVersion(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.out.put<uint64_t>(static_cast<uint64_t>(cublasGetCudartVersion()));
  ctx.status = CUBLAS_STATUS_SUCCESS;
}

}  // namespace gvirtus::backend::cublas
