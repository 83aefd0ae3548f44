// cuMemcpyBatchAsync_v2, cuMemcpy3DBatchAsync_v2 and their per-thread-stream forms: the runtime's
// batch copies (frontend/cudart/batch_copy.h: the same argument rules, checked for the whole
// batch before any copy is sent, then one single copy after the other on the batch's stream).
// The driver's structures are the runtime's, field for field (checked below), and a CUarray is
// the same id as a cudaArray_t; an array's element size comes from cuArray3DGetDescriptor.
// Nothing of their own on the wire. The CUDA 12.8 forms with a failIdx output stay refused.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "frontend/cuda/local.h"
#include "frontend/cudart/batch_copy.h"

namespace gvirtus::cuda {
namespace {

#define GV_SAME_FIELD(a, b, f) static_assert(offsetof(a, f) == offsetof(b, f), #f)
static_assert(sizeof(CUmemcpyAttributes) == sizeof(cudaMemcpyAttributes));
GV_SAME_FIELD(CUmemcpyAttributes, cudaMemcpyAttributes, srcAccessOrder);
GV_SAME_FIELD(CUmemcpyAttributes, cudaMemcpyAttributes, srcLocHint);
GV_SAME_FIELD(CUmemcpyAttributes, cudaMemcpyAttributes, dstLocHint);
GV_SAME_FIELD(CUmemcpyAttributes, cudaMemcpyAttributes, flags);
static_assert(sizeof(CUDA_MEMCPY3D_BATCH_OP) == sizeof(cudaMemcpy3DBatchOp));
GV_SAME_FIELD(CUDA_MEMCPY3D_BATCH_OP, cudaMemcpy3DBatchOp, src);
GV_SAME_FIELD(CUDA_MEMCPY3D_BATCH_OP, cudaMemcpy3DBatchOp, dst);
GV_SAME_FIELD(CUDA_MEMCPY3D_BATCH_OP, cudaMemcpy3DBatchOp, extent);
GV_SAME_FIELD(CUDA_MEMCPY3D_BATCH_OP, cudaMemcpy3DBatchOp, srcAccessOrder);
GV_SAME_FIELD(CUDA_MEMCPY3D_BATCH_OP, cudaMemcpy3DBatchOp, flags);
static_assert(sizeof(CUmemcpy3DOperand) == sizeof(cudaMemcpy3DOperand));
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, type);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.ptr.ptr);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.ptr.rowLength);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.ptr.layerHeight);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.ptr.locHint);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.array.array);
GV_SAME_FIELD(CUmemcpy3DOperand, cudaMemcpy3DOperand, op.array.offset);
#undef GV_SAME_FIELD
static_assert(sizeof(CUextent3D) == sizeof(cudaExtent) && sizeof(CUoffset3D) == sizeof(cudaOffset3D));
static_assert(sizeof(CUmemLocation) == sizeof(cudaMemLocation));
static_assert(int{CU_MEMCPY_OPERAND_TYPE_POINTER} == int{cudaMemcpyOperandTypePointer} &&
              int{CU_MEMCPY_OPERAND_TYPE_ARRAY} == int{cudaMemcpyOperandTypeArray});
static_assert(int{CU_MEMCPY_SRC_ACCESS_ORDER_STREAM} == int{cudaMemcpySrcAccessOrderStream} &&
              int{CU_MEMCPY_SRC_ACCESS_ORDER_DURING_API_CALL} ==
                  int{cudaMemcpySrcAccessOrderDuringApiCall} &&
              int{CU_MEMCPY_SRC_ACCESS_ORDER_ANY} == int{cudaMemcpySrcAccessOrderAny});
static_assert(int{CU_MEMCPY_FLAG_PREFER_OVERLAP_WITH_COMPUTE} ==
              int{cudaMemcpyFlagPreferOverlapWithCompute});

using cudart::Target;

Target on_stream(CUstream s, bool per_thread) {
  auto rs = reinterpret_cast<cudaStream_t>(s);
  return cudart::driver_api(per_thread ? cudart::async_per_thread(rs) : cudart::async_on(rs));
}

// Bytes per element of a CUDA array: its format's channel size times its channels; 0 for a
// format with no such size (block-compressed, video), which the batch refuses as the runtime
// does (CUDA_ERROR_INVALID_VALUE).
cudaError_t element_size(cudaArray_t a, uint64_t* bytes) {
  CUDA_ARRAY3D_DESCRIPTOR d{};
  const CUresult r = ::cuArray3DGetDescriptor_v2(&d, reinterpret_cast<CUarray>(a));
  if (r != CUDA_SUCCESS) return static_cast<cudaError_t>(r);  // the same numbers
  uint64_t channel = 0;
  switch (d.Format) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8:
      channel = 1;
      break;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF:
      channel = 2;
      break;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT:
      channel = 4;
      break;
    default:
      break;
  }
  *bytes = channel * d.NumChannels;
  return cudaSuccess;
}

CUresult batch(CUdeviceptr* dsts, CUdeviceptr* srcs, size_t* sizes, size_t count,
               CUmemcpyAttributes* attrs, size_t* idxs, size_t num_attrs, const Target& t) {
  if (!cudart::batch_stream_ok(t.stream)) return CUDA_ERROR_INVALID_VALUE;
  static_assert(sizeof(CUdeviceptr) == sizeof(void*));
  auto* d = reinterpret_cast<void* const*>(dsts);
  auto* s = reinterpret_cast<const void* const*>(srcs);
  auto* a = reinterpret_cast<const cudaMemcpyAttributes*>(attrs);
  cudaError_t e = cudart::check_batch(d, s, sizes, count, a, idxs, num_attrs);
  if (e == cudaSuccess) e = cudart::run_batch(d, s, sizes, count, t);
  return static_cast<CUresult>(e);  // the copy engine's failures have the driver's numbers
}

CUresult batch_3d(size_t n, CUDA_MEMCPY3D_BATCH_OP* ops, unsigned long long flags,
                  const Target& t) {
  if (!cudart::batch_stream_ok(t.stream)) return CUDA_ERROR_INVALID_VALUE;
  return static_cast<CUresult>(cudart::run_3d_batch(
      n, reinterpret_cast<const cudaMemcpy3DBatchOp*>(ops), flags, element_size, t));
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

extern "C" CUresult cuMemcpyBatchAsync_v2_ptsz(CUdeviceptr*, CUdeviceptr*, size_t*, size_t,
                                               CUmemcpyAttributes*, size_t*, size_t, CUstream);
extern "C" CUresult cuMemcpy3DBatchAsync_v2_ptsz(size_t, CUDA_MEMCPY3D_BATCH_OP*,
                                                 unsigned long long, CUstream);

GV_EXPORT CUresult cuMemcpyBatchAsync_v2(CUdeviceptr* dsts, CUdeviceptr* srcs, size_t* sizes,
                                         size_t count, CUmemcpyAttributes* attrs,
                                         size_t* attrsIdxs, size_t numAttrs, CUstream hStream) {
  return guarded("cuMemcpyBatchAsync_v2", [&] {
    return batch(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, on_stream(hStream, false));
  });
}
GV_EXPORT CUresult cuMemcpyBatchAsync_v2_ptsz(CUdeviceptr* dsts, CUdeviceptr* srcs, size_t* sizes,
                                              size_t count, CUmemcpyAttributes* attrs,
                                              size_t* attrsIdxs, size_t numAttrs,
                                              CUstream hStream) {
  return guarded("cuMemcpyBatchAsync_v2_ptsz", [&] {
    return batch(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, on_stream(hStream, true));
  });
}
GV_EXPORT CUresult cuMemcpy3DBatchAsync_v2(size_t numOps, CUDA_MEMCPY3D_BATCH_OP* opList,
                                           unsigned long long flags, CUstream hStream) {
  return guarded("cuMemcpy3DBatchAsync_v2",
                 [&] { return batch_3d(numOps, opList, flags, on_stream(hStream, false)); });
}
GV_EXPORT CUresult cuMemcpy3DBatchAsync_v2_ptsz(size_t numOps, CUDA_MEMCPY3D_BATCH_OP* opList,
                                                unsigned long long flags, CUstream hStream) {
  return guarded("cuMemcpy3DBatchAsync_v2_ptsz",
                 [&] { return batch_3d(numOps, opList, flags, on_stream(hStream, true)); });
}
