// cudaMemcpy, cudaMemcpyAsync, cudaMemcpy2D, cudaMemcpy2DAsync and their per-thread-stream
// forms; the work is done in transfer.cc.
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return guarded("cudaMemcpy", [&] { return copy_1d(dst, src, count, kind, sync_legacy()); });
}

GV_EXPORT cudaError_t cudaMemcpy_ptds(void* dst, const void* src, size_t count,
                                      cudaMemcpyKind kind) {
  return guarded("cudaMemcpy_ptds",
                 [&] { return copy_1d(dst, src, count, kind, sync_per_thread()); });
}

GV_EXPORT cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                      cudaStream_t stream) {
  return guarded("cudaMemcpyAsync",
                 [&] { return copy_1d(dst, src, count, kind, async_on(stream)); });
}

GV_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void* dst, const void* src, size_t count,
                                           cudaMemcpyKind kind, cudaStream_t stream) {
  return guarded("cudaMemcpyAsync_ptsz",
                 [&] { return copy_1d(dst, src, count, kind, async_per_thread(stream)); });
}

GV_EXPORT cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch,
                                   size_t width, size_t height, cudaMemcpyKind kind) {
  return guarded("cudaMemcpy2D", [&] {
    return copy(dst, dpitch, src, spitch, width, height, kind, sync_legacy(), true);
  });
}

GV_EXPORT cudaError_t cudaMemcpy2D_ptds(void* dst, size_t dpitch, const void* src, size_t spitch,
                                        size_t width, size_t height, cudaMemcpyKind kind) {
  return guarded("cudaMemcpy2D_ptds", [&] {
    return copy(dst, dpitch, src, spitch, width, height, kind, sync_per_thread(), true);
  });
}

GV_EXPORT cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch,
                                        size_t width, size_t height, cudaMemcpyKind kind,
                                        cudaStream_t stream) {
  return guarded("cudaMemcpy2DAsync", [&] {
    return copy(dst, dpitch, src, spitch, width, height, kind, async_on(stream), true);
  });
}

GV_EXPORT cudaError_t cudaMemcpy2DAsync_ptsz(void* dst, size_t dpitch, const void* src,
                                             size_t spitch, size_t width, size_t height,
                                             cudaMemcpyKind kind, cudaStream_t stream) {
  return guarded("cudaMemcpy2DAsync_ptsz", [&] {
    return copy(dst, dpitch, src, spitch, width, height, kind, async_per_thread(stream), true);
  });
}
