// cudaMemcpyBatchAsync, cudaMemcpy3DBatchAsync and their per-thread-stream forms: checked and
// run over the single-copy engine (batch_copy.h); nothing of their own on the wire.
#include "frontend/cudart/batch_copy.h"
#include "frontend/cudart/local.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

cudaError_t element_size(cudaArray_t a, uint64_t* bytes) {
  cudaChannelFormatDesc d{};
  cudaExtent ext{};
  unsigned int flags = 0;
  cudaError_t e = cudaArrayGetInfo(&d, &ext, &flags, a);
  if (e != cudaSuccess) return e;
  const int bits = d.x + d.y + d.z + d.w;
  *bytes = bits > 0 && bits % 8 == 0 ? static_cast<uint64_t>(bits / 8) : 0;
  return cudaSuccess;
}

cudaError_t batch(void* const* dsts, const void* const* srcs, const size_t* sizes, size_t count,
                  const cudaMemcpyAttributes* attrs, const size_t* idxs, size_t num_attrs,
                  const Target& t) {
  if (!batch_stream_ok(t.stream)) return argument_error(cudaErrorInvalidValue);
  cudaError_t e = check_batch(dsts, srcs, sizes, count, attrs, idxs, num_attrs);
  if (e != cudaSuccess) return argument_error(e);
  return run_batch(dsts, srcs, sizes, count, t);
}

cudaError_t batch_3d(size_t n, const cudaMemcpy3DBatchOp* ops, unsigned long long flags,
                     const Target& t) {
  if (!batch_stream_ok(t.stream)) return argument_error(cudaErrorInvalidValue);
  return run_3d_batch(n, ops, flags, element_size, t);
}

}  // namespace

GV_EXPORT cudaError_t cudaMemcpyBatchAsync(void* const* dsts, const void* const* srcs,
                                           const size_t* sizes, size_t count,
                                           cudaMemcpyAttributes* attrs, size_t* attrsIdxs,
                                           size_t numAttrs, cudaStream_t stream) {
  return guarded("cudaMemcpyBatchAsync", [&] {
    return batch(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, async_on(stream));
  });
}

GV_EXPORT cudaError_t cudaMemcpyBatchAsync_ptsz(void* const* dsts, const void* const* srcs,
                                                const size_t* sizes, size_t count,
                                                cudaMemcpyAttributes* attrs, size_t* attrsIdxs,
                                                size_t numAttrs, cudaStream_t stream) {
  return guarded("cudaMemcpyBatchAsync_ptsz", [&] {
    return batch(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, async_per_thread(stream));
  });
}

GV_EXPORT cudaError_t cudaMemcpy3DBatchAsync(size_t numOps, cudaMemcpy3DBatchOp* opList,
                                             unsigned long long flags, cudaStream_t stream) {
  return guarded("cudaMemcpy3DBatchAsync",
                 [&] { return batch_3d(numOps, opList, flags, async_on(stream)); });
}

GV_EXPORT cudaError_t cudaMemcpy3DBatchAsync_ptsz(size_t numOps, cudaMemcpy3DBatchOp* opList,
                                                  unsigned long long flags, cudaStream_t stream) {
  return guarded("cudaMemcpy3DBatchAsync_ptsz",
                 [&] { return batch_3d(numOps, opList, flags, async_per_thread(stream)); });
}
