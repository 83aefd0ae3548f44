// Hand-written cuBLASLt handlers: the size_t versions and the algo configuration setter, whose
// algo struct is read and written back.
#include <cstring>
#include <string>

#include "backend/cublasLt/support.h"
#include "common/log.h"
#include "common/scalar_homes.h"
#include "cublasLt_handles.h"

namespace gvirtus::backend::cublasLt {

bool device_scalar(cublasLtMatmulDesc_t desc, const char* param) {
  if (!desc) return false;  // cuBLASLt refuses the call itself
  int32_t mode = CUBLASLT_POINTER_MODE_HOST;
  size_t got = 0;
  if (cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode, sizeof mode,
                                     &got) != CUBLAS_STATUS_SUCCESS)
    return false;
  return scalar_homes::cublaslt_device(mode, param);
}

bool device_scalar(cublasLtMatrixTransformDesc_t desc, const char* param) {
  if (!desc) return false;
  int32_t mode = CUBLASLT_POINTER_MODE_HOST;
  size_t got = 0;
  if (cublasLtMatrixTransformDescGetAttribute(desc, CUBLASLT_MATRIX_TRANSFORM_DESC_POINTER_MODE,
                                              &mode, sizeof mode, &got) != CUBLAS_STATUS_SUCCESS)
    return false;
  return scalar_homes::cublaslt_device(mode, param);
}

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

// cublasLtHeuristicsCacheSetCapacity(capacity u64). cuBLASLt allocates every entry of the
// cache when the capacity is set, so a client asking for 2^39 entries kept its worker
// allocating until the host ran out of memory (found by tests/fuzz). Capacities above
// kMaxHeuristicsCache (eight times the default of 8192) answer CUBLAS_STATUS_INVALID_VALUE
// instead (docs/libraries.md).
constexpr uint64_t kMaxHeuristicsCache = 65536;
void handle_cublasLtHeuristicsCacheSetCapacity(CallContext& ctx) {
  const uint64_t capacity = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (capacity > kMaxHeuristicsCache) {
    GV_WARN("cublasLtHeuristicsCacheSetCapacity(" + std::to_string(capacity) +
            ") refused: the backend allows at most " + std::to_string(kMaxHeuristicsCache) +
            " entries");
    ctx.status = CUBLAS_STATUS_INVALID_VALUE;
    return;
  }
  ctx.status = cublasLtHeuristicsCacheSetCapacity(static_cast<size_t>(capacity));
}

// cublasLtMatmulAlgoConfigSetAttribute(presence u8, [algo bytes], attr i32, size u64,
// presence u8, [size bytes]); reply on success: the algo bytes. A size over 1 MiB, which the
// client refuses itself, ends the session.
void handle_cublasLtMatmulAlgoConfigSetAttribute(CallContext& ctx) {
  const uint8_t has_algo = ctx.in.get<uint8_t>();
  if (has_algo > 1) throw wire::DecodeError("algo presence flag is neither 0 nor 1");
  cublasLtMatmulAlgo_t algo{};
  if (has_algo) algo = ctx.in.get<cublasLtMatmulAlgo_t>();
  const int32_t attr = ctx.in.get<int32_t>();
  const uint64_t size = ctx.in.get<uint64_t>();
  const uint8_t has_buf = ctx.in.get<uint8_t>();
  if (has_buf > 1) throw wire::DecodeError("buffer presence flag is neither 0 nor 1");
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
