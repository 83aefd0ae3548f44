// Hand-written cuBLASLt handlers: the size_t versions and the algo configuration setter, whose
// algo struct is read and written back.
#include <cstring>
#include <string>

#include "backend/cublasLt/support.h"
#include "cublasLt_handles.h"

namespace gvirtus::backend::cublasLt {

// cublasLtGetVersion(): reply u64.
void handle_cublasLtGetVersion(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.out.put<uint64_t>(cublasLtGetVersion());
  ctx.status = CUBLAS_STATUS_SUCCESS;
}

// cublasLtGetCudartVersion(): reply u64.
void handle_cublasLtGetCudartVersion(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.out.put<uint64_t>(cublasLtGetCudartVersion());
  ctx.status = CUBLAS_STATUS_SUCCESS;
}

// cublasLtMatmulAlgoConfigSetAttribute(presence u8, [algo bytes], attr i32, size u64,
// presence u8, [size bytes]); reply on success: the algo bytes. A size over 1 MiB, which the
// client refuses itself, ends the session.
void handle_cublasLtMatmulAlgoConfigSetAttribute(CallContext& ctx) {
  const uint8_t has_algo = ctx.in.get<uint8_t>();
  if (has_algo > 1) throw wire::DecodeError("presence flag is neither 0 nor 1");
  cublasLtMatmulAlgo_t algo{};
  if (has_algo) algo = ctx.in.get<cublasLtMatmulAlgo_t>();
  const int32_t attr = ctx.in.get<int32_t>();
  const uint64_t size = ctx.in.get<uint64_t>();
  const uint8_t has_buf = ctx.in.get<uint8_t>();
  if (has_buf > 1) throw wire::DecodeError("presence flag is neither 0 nor 1");
  std::string buf;
  if (has_buf) {
    if (size > (1u << 20))
      throw SessionFault("cublasLtMatmulAlgoConfigSetAttribute: buffer of " +
                         std::to_string(size) + " bytes");
    buf.assign(reinterpret_cast<const char*>(ctx.in.get_bytes(size)), size);
  }
  ctx.in.expect_end();
  const cublasStatus_t s = cublasLtMatmulAlgoConfigSetAttribute(
      has_algo ? &algo : nullptr, static_cast<cublasLtMatmulAlgoConfigAttributes_t>(attr),
      has_buf ? buf.data() : nullptr, static_cast<size_t>(size));
  ctx.status = static_cast<int32_t>(s);
  if (s == CUBLAS_STATUS_SUCCESS && has_algo) ctx.out.put<cublasLtMatmulAlgo_t>(algo);
}

}  // namespace gvirtus::backend::cublasLt
