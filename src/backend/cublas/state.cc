// Hand-written cuBLAS handlers: calls whose client side keeps state.
#include "backend/cublas/support.h"
#include "cublas_handles.h"

namespace gvirtus::backend::cublas {

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
