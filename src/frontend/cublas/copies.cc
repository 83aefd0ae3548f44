// cublasSetMatrix / GetMatrix / SetVector / GetVector (+Async, _64): strided copies between host
// and device memory, done by our runtime's copy engine (cudaMemcpy2D / cudaMemcpy2DAsync), with
// cuBLAS's own argument checks (compared with NVIDIA's library by tests/cuda/libs/
// library_plugins.cu): a column-major rows x cols matrix of elemSize-byte elements with leading
// dimensions lda / ldb is a 2D copy of cols rows of rows*elemSize bytes; a vector of n elements
// with strides incx / incy is a 2D copy of n rows of elemSize bytes.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "frontend/cublas/glue.h"

namespace gvirtus::cublas {
namespace {

cublasStatus_t mapped(cudaError_t e) {
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_MAPPING_ERROR;
}

// One 2D copy of `height` rows of `width` bytes, `spitch`/`dpitch` bytes apart. Sizes in range
// but no copy can serve (strides shorter than a row, sizes that overflow, memory the runtime
// refuses) answer CUBLAS_STATUS_MAPPING_ERROR, as NVIDIA's library does when its copy fails.
cublasStatus_t copy_2d(void* dst, int64_t dpitch, const void* src, int64_t spitch, int64_t width,
                       int64_t height, cudaMemcpyKind kind, cudaStream_t stream, bool async) {
  if (dpitch < width || spitch < width) return CUBLAS_STATUS_MAPPING_ERROR;
  const auto w = static_cast<size_t>(width), h = static_cast<size_t>(height);
  const auto dp = static_cast<size_t>(dpitch), sp = static_cast<size_t>(spitch);
  return mapped(async ? cudaMemcpy2DAsync(dst, dp, src, sp, w, h, kind, stream)
                      : cudaMemcpy2D(dst, dp, src, sp, w, h, kind));
}

bool mul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

// cuBLAS's checks: negative sizes and non-positive element sizes or leading dimensions are
// CUBLAS_STATUS_INVALID_VALUE; an empty matrix copies nothing.
cublasStatus_t matrix(int64_t rows, int64_t cols, int64_t elem, const void* src, int64_t lds,
                      void* dst, int64_t ldd, cudaMemcpyKind kind, cudaStream_t stream,
                      bool async) {
  if (rows < 0 || cols < 0 || elem <= 0 || lds <= 0 || ldd <= 0)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (rows == 0 || cols == 0) return CUBLAS_STATUS_SUCCESS;
  int64_t width, spitch, dpitch;
  if (!mul(rows, elem, &width) || !mul(lds, elem, &spitch) || !mul(ldd, elem, &dpitch))
    return CUBLAS_STATUS_MAPPING_ERROR;
  return copy_2d(dst, dpitch, src, spitch, width, cols, kind, stream, async);
}

// Non-positive strides or element sizes are CUBLAS_STATUS_INVALID_VALUE; a negative length is a
// copy NVIDIA's library tries and fails (CUBLAS_STATUS_MAPPING_ERROR).
cublasStatus_t vector(int64_t n, int64_t elem, const void* src, int64_t incs, void* dst,
                      int64_t incd, cudaMemcpyKind kind, cudaStream_t stream, bool async) {
  if (elem <= 0 || incs <= 0 || incd <= 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (n == 0) return CUBLAS_STATUS_SUCCESS;
  if (n < 0) return CUBLAS_STATUS_MAPPING_ERROR;
  int64_t spitch, dpitch;
  if (!mul(incs, elem, &spitch) || !mul(incd, elem, &dpitch)) return CUBLAS_STATUS_MAPPING_ERROR;
  return copy_2d(dst, dpitch, src, spitch, elem, n, kind, stream, async);
}

constexpr cudaMemcpyKind kH2D = cudaMemcpyHostToDevice;
constexpr cudaMemcpyKind kD2H = cudaMemcpyDeviceToHost;

}  // namespace
}  // namespace gvirtus::cublas

using gvirtus::cublas::matrix;
using gvirtus::cublas::vector;
using gvirtus::cublas::kD2H;
using gvirtus::cublas::kH2D;

#define GV_COPY_API extern "C" GV_API cublasStatus_t

GV_COPY_API cublasSetMatrix(int rows, int cols, int elemSize, const void* A, int lda, void* B,
                            int ldb) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kH2D, nullptr, false);
}
GV_COPY_API cublasSetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize, const void* A,
                               int64_t lda, void* B, int64_t ldb) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kH2D, nullptr, false);
}
GV_COPY_API cublasGetMatrix(int rows, int cols, int elemSize, const void* A, int lda, void* B,
                            int ldb) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kD2H, nullptr, false);
}
GV_COPY_API cublasGetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize, const void* A,
                               int64_t lda, void* B, int64_t ldb) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kD2H, nullptr, false);
}
GV_COPY_API cublasSetMatrixAsync(int rows, int cols, int elemSize, const void* A, int lda,
                                 void* B, int ldb, cudaStream_t stream) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kH2D, stream, true);
}
GV_COPY_API cublasSetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize, const void* A,
                                    int64_t lda, void* B, int64_t ldb, cudaStream_t stream) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kH2D, stream, true);
}
GV_COPY_API cublasGetMatrixAsync(int rows, int cols, int elemSize, const void* A, int lda,
                                 void* B, int ldb, cudaStream_t stream) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kD2H, stream, true);
}
GV_COPY_API cublasGetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize, const void* A,
                                    int64_t lda, void* B, int64_t ldb, cudaStream_t stream) {
  return matrix(rows, cols, elemSize, A, lda, B, ldb, kD2H, stream, true);
}
GV_COPY_API cublasSetVector(int n, int elemSize, const void* x, int incx, void* devicePtr,
                            int incy) {
  return vector(n, elemSize, x, incx, devicePtr, incy, kH2D, nullptr, false);
}
GV_COPY_API cublasSetVector_64(int64_t n, int64_t elemSize, const void* x, int64_t incx,
                               void* devicePtr, int64_t incy) {
  return vector(n, elemSize, x, incx, devicePtr, incy, kH2D, nullptr, false);
}
GV_COPY_API cublasGetVector(int n, int elemSize, const void* x, int incx, void* y, int incy) {
  return vector(n, elemSize, x, incx, y, incy, kD2H, nullptr, false);
}
GV_COPY_API cublasGetVector_64(int64_t n, int64_t elemSize, const void* x, int64_t incx, void* y,
                               int64_t incy) {
  return vector(n, elemSize, x, incx, y, incy, kD2H, nullptr, false);
}
GV_COPY_API cublasSetVectorAsync(int n, int elemSize, const void* hostPtr, int incx,
                                 void* devicePtr, int incy, cudaStream_t stream) {
  return vector(n, elemSize, hostPtr, incx, devicePtr, incy, kH2D, stream, true);
}
GV_COPY_API cublasSetVectorAsync_64(int64_t n, int64_t elemSize, const void* hostPtr,
                                    int64_t incx, void* devicePtr, int64_t incy,
                                    cudaStream_t stream) {
  return vector(n, elemSize, hostPtr, incx, devicePtr, incy, kH2D, stream, true);
}
GV_COPY_API cublasGetVectorAsync(int n, int elemSize, const void* devicePtr, int incx,
                                 void* hostPtr, int incy, cudaStream_t stream) {
  return vector(n, elemSize, devicePtr, incx, hostPtr, incy, kD2H, stream, true);
}
GV_COPY_API cublasGetVectorAsync_64(int64_t n, int64_t elemSize, const void* devicePtr,
                                    int64_t incx, void* hostPtr, int64_t incy,
                                    cudaStream_t stream) {
  return vector(n, elemSize, devicePtr, incx, hostPtr, incy, kD2H, stream, true);
}
