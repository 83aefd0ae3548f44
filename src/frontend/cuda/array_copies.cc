// Driver copies with CUDA arrays (array_copies.h).
#include "frontend/cuda/array_copies.h"

#include <cstdint>

#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

using cudart::Copy3D;
using cudart::CopyEnd;
using cudart::Target;

// One side of the copy. `rows` is the pointer side's rows per slice (srcHeight / dstHeight).
CUresult end_of(CUmemorytype type, const void* host, CUdeviceptr device, CUarray array,
                size_t x, size_t y, size_t z, size_t pitch, size_t rows, CopyEnd* e) {
  e->x = x;
  e->y = y;
  e->z = z;
  switch (type) {
    case CU_MEMORYTYPE_ARRAY:
      if (!array) return CUDA_ERROR_INVALID_VALUE;
      e->kind = CopyEnd::Kind::kArray;
      e->base = to_wire(array);
      return CUDA_SUCCESS;
    case CU_MEMORYTYPE_HOST:
      if (!host) return CUDA_ERROR_INVALID_VALUE;
      e->kind = CopyEnd::Kind::kHost;
      e->base = to_wire(host);
      break;
    case CU_MEMORYTYPE_DEVICE:
    case CU_MEMORYTYPE_UNIFIED:  // memory.cc resolves these to host or device first
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      e->kind = CopyEnd::Kind::kDevice;
      e->base = device;
      break;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
  e->pitch = pitch;
  e->xsize = pitch;
  e->ysize = rows;
  return CUDA_SUCCESS;
}

// The engine's runtime codes as the driver's: those without a driver counterpart (an invalid
// pitch, 12; an invalid direction, 21) are the driver's invalid value.
CUresult driver_code(cudaError_t e) {
  if (e == cudaErrorInvalidPitchValue || e == cudaErrorInvalidMemcpyDirection)
    return CUDA_ERROR_INVALID_VALUE;
  return static_cast<CUresult>(e);
}

CUresult run(const Copy3D& c, const Target& t) {
  if (c.width == 0 || c.height == 0 || c.depth == 0) return CUDA_SUCCESS;
  return driver_code(cudart::copy_3d(c, t));
}

// A 1D copy of `n` bytes between an array position (byte offset in its first row) and a
// contiguous host or device range, or between two arrays.
CUresult linear(const CopyEnd& src, const CopyEnd& dst, size_t n, const Target& t) {
  Copy3D c;
  c.src = src;
  c.dst = dst;
  c.width = n;
  c.height = 1;
  c.depth = 1;
  return run(c, t);
}

CopyEnd array_at(CUarray a, size_t offset) {
  CopyEnd e;
  e.kind = CopyEnd::Kind::kArray;
  e.base = to_wire(a);
  e.x = offset;
  return e;
}
CopyEnd pointer_at(CopyEnd::Kind kind, uint64_t p, size_t n) {
  CopyEnd e;
  e.kind = kind;
  e.base = p;
  e.pitch = n;
  e.xsize = n;
  e.ysize = 1;
  return e;
}

CUresult a_to_h(void* dst, CUarray src, size_t off, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return linear(array_at(src, off), pointer_at(CopyEnd::Kind::kHost, to_wire(dst), n), n, t);
}
CUresult h_to_a(CUarray dst, size_t off, const void* src, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return linear(pointer_at(CopyEnd::Kind::kHost, to_wire(src), n), array_at(dst, off), n, t);
}
CUresult a_to_d(CUdeviceptr dst, CUarray src, size_t off, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return linear(array_at(src, off), pointer_at(CopyEnd::Kind::kDevice, dst, n), n, t);
}
CUresult d_to_a(CUarray dst, size_t off, CUdeviceptr src, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return linear(pointer_at(CopyEnd::Kind::kDevice, src, n), array_at(dst, off), n, t);
}
CUresult a_to_a(CUarray dst, size_t doff, CUarray src, size_t soff, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return linear(array_at(src, soff), array_at(dst, doff), n, t);
}

Target async_on(CUstream s) {
  return cudart::driver_api(cudart::async_on(reinterpret_cast<cudaStream_t>(s)));
}
Target async_per_thread(CUstream s) {
  return cudart::driver_api(cudart::async_per_thread(reinterpret_cast<cudaStream_t>(s)));
}

}  // namespace

bool has_array(const CUDA_MEMCPY3D& p) {
  return p.srcMemoryType == CU_MEMORYTYPE_ARRAY || p.dstMemoryType == CU_MEMORYTYPE_ARRAY;
}

CUresult copy_3d_with_array(const CUDA_MEMCPY3D& p, const Target& t) {
  if (p.reserved0 || p.reserved1) return CUDA_ERROR_INVALID_VALUE;
  if (p.WidthInBytes == 0 || p.Height == 0 || p.Depth == 0) return CUDA_SUCCESS;
  Copy3D c;
  CUresult e = end_of(p.srcMemoryType, p.srcHost, p.srcDevice, p.srcArray, p.srcXInBytes,
                      p.srcY, p.srcZ, p.srcPitch, p.srcHeight, &c.src);
  if (e == CUDA_SUCCESS)
    e = end_of(p.dstMemoryType, p.dstHost, p.dstDevice, p.dstArray, p.dstXInBytes, p.dstY,
               p.dstZ, p.dstPitch, p.dstHeight, &c.dst);
  if (e != CUDA_SUCCESS) return e;
  // A pointer side's rows are at least the width apart, and its slices at least the height
  // rows apart (the driver's rule; the engine checks addresses).
  for (const auto* end : {&c.src, &c.dst}) {
    if (end->kind == CopyEnd::Kind::kArray) continue;
    if (p.Height * p.Depth > 1 && end->pitch < p.WidthInBytes) return CUDA_ERROR_INVALID_VALUE;
    if (p.Depth > 1 && end->ysize < p.Height) return CUDA_ERROR_INVALID_VALUE;
  }
  c.width = p.WidthInBytes;
  c.height = p.Height;
  c.depth = p.Depth;
  return run(c, t);
}

CUresult copy_2d_with_array(const CUDA_MEMCPY2D& p, const Target& t) {
  CUDA_MEMCPY3D q{};
  q.srcXInBytes = p.srcXInBytes;
  q.srcY = p.srcY;
  q.srcMemoryType = p.srcMemoryType;
  q.srcHost = p.srcHost;
  q.srcDevice = p.srcDevice;
  q.srcArray = p.srcArray;
  // A single row may leave the pitch at 0 (as memory.cc's copy_2d takes it).
  q.srcPitch = p.Height == 1 && p.srcPitch == 0 ? p.WidthInBytes : p.srcPitch;
  q.srcHeight = p.Height;
  q.dstXInBytes = p.dstXInBytes;
  q.dstY = p.dstY;
  q.dstMemoryType = p.dstMemoryType;
  q.dstHost = p.dstHost;
  q.dstDevice = p.dstDevice;
  q.dstArray = p.dstArray;
  q.dstPitch = p.Height == 1 && p.dstPitch == 0 ? p.WidthInBytes : p.dstPitch;
  q.dstHeight = p.Height;
  q.WidthInBytes = p.WidthInBytes;
  q.Height = p.Height;
  q.Depth = 1;
  return copy_3d_with_array(q, t);
}

}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

// The 1D array copies, with their per-thread-stream forms (cuda.h's macros: cuMemcpyAtoH ->
// cuMemcpyAtoH_v2 or cuMemcpyAtoH_v2_ptds).
extern "C" {
CUresult cuMemcpyAtoH_v2_ptds(void*, CUarray, size_t, size_t);
CUresult cuMemcpyHtoA_v2_ptds(CUarray, size_t, const void*, size_t);
CUresult cuMemcpyAtoD_v2_ptds(CUdeviceptr, CUarray, size_t, size_t);
CUresult cuMemcpyDtoA_v2_ptds(CUarray, size_t, CUdeviceptr, size_t);
CUresult cuMemcpyAtoA_v2_ptds(CUarray, size_t, CUarray, size_t, size_t);
CUresult cuMemcpyAtoHAsync_v2_ptsz(void*, CUarray, size_t, size_t, CUstream);
CUresult cuMemcpyHtoAAsync_v2_ptsz(CUarray, size_t, const void*, size_t, CUstream);
}

GV_EXPORT CUresult cuMemcpyAtoH_v2(void* dst, CUarray src, size_t off, size_t n) {
  return guarded("cuMemcpyAtoH_v2",
                 [&] { return a_to_h(dst, src, off, n, cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpyAtoH_v2_ptds(void* dst, CUarray src, size_t off, size_t n) {
  return guarded("cuMemcpyAtoH_v2_ptds",
                 [&] { return a_to_h(dst, src, off, n, cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyHtoA_v2(CUarray dst, size_t off, const void* src, size_t n) {
  return guarded("cuMemcpyHtoA_v2",
                 [&] { return h_to_a(dst, off, src, n, cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpyHtoA_v2_ptds(CUarray dst, size_t off, const void* src, size_t n) {
  return guarded("cuMemcpyHtoA_v2_ptds",
                 [&] { return h_to_a(dst, off, src, n, cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyAtoD_v2(CUdeviceptr dst, CUarray src, size_t off, size_t n) {
  return guarded("cuMemcpyAtoD_v2",
                 [&] { return a_to_d(dst, src, off, n, cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpyAtoD_v2_ptds(CUdeviceptr dst, CUarray src, size_t off, size_t n) {
  return guarded("cuMemcpyAtoD_v2_ptds",
                 [&] { return a_to_d(dst, src, off, n, cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyDtoA_v2(CUarray dst, size_t off, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpyDtoA_v2",
                 [&] { return d_to_a(dst, off, src, n, cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpyDtoA_v2_ptds(CUarray dst, size_t off, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpyDtoA_v2_ptds",
                 [&] { return d_to_a(dst, off, src, n, cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyAtoA_v2(CUarray dst, size_t doff, CUarray src, size_t soff, size_t n) {
  return guarded("cuMemcpyAtoA_v2",
                 [&] { return a_to_a(dst, doff, src, soff, n, cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpyAtoA_v2_ptds(CUarray dst, size_t doff, CUarray src, size_t soff,
                                        size_t n) {
  return guarded("cuMemcpyAtoA_v2_ptds",
                 [&] { return a_to_a(dst, doff, src, soff, n, cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyAtoHAsync_v2(void* dst, CUarray src, size_t off, size_t n,
                                        CUstream s) {
  return guarded("cuMemcpyAtoHAsync_v2", [&] { return a_to_h(dst, src, off, n, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpyAtoHAsync_v2_ptsz(void* dst, CUarray src, size_t off, size_t n,
                                             CUstream s) {
  return guarded("cuMemcpyAtoHAsync_v2_ptsz",
                 [&] { return a_to_h(dst, src, off, n, async_per_thread(s)); });
}
GV_EXPORT CUresult cuMemcpyHtoAAsync_v2(CUarray dst, size_t off, const void* src, size_t n,
                                        CUstream s) {
  return guarded("cuMemcpyHtoAAsync_v2", [&] { return h_to_a(dst, off, src, n, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpyHtoAAsync_v2_ptsz(CUarray dst, size_t off, const void* src, size_t n,
                                             CUstream s) {
  return guarded("cuMemcpyHtoAAsync_v2_ptsz",
                 [&] { return h_to_a(dst, off, src, n, async_per_thread(s)); });
}
