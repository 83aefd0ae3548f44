// The driver's memcpy nodes with a host side as staged nodes; see graph_host_nodes.h.
#include "frontend/cuda/graph_host_nodes.h"

#include <cstdint>

namespace gvirtus::cuda {

CUresult staged_ends(const CUDA_MEMCPY3D& p, StagedEnds* out) {
  const CUmemorytype st = p.srcMemoryType, dt = p.dstMemoryType;
  const bool src_host = st == CU_MEMORYTYPE_HOST, dst_host = dt == CU_MEMORYTYPE_HOST;
  out->staged = src_host || dst_host;
  if (!out->staged) return CUDA_SUCCESS;
  if (src_host && dst_host) {
    out->refusal = "a host-to-host memcpy node";
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  if (st == CU_MEMORYTYPE_ARRAY || dt == CU_MEMORYTYPE_ARRAY) {
    out->refusal = "a memcpy node between host memory and a CUDA array";
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  if (st != CU_MEMORYTYPE_DEVICE && dt != CU_MEMORYTYPE_DEVICE) return CUDA_ERROR_INVALID_VALUE;
  if (p.reserved0 || p.reserved1) return CUDA_ERROR_INVALID_VALUE;
  const size_t w = p.WidthInBytes, h = p.Height, d = p.Depth;
  if (w == 0 || h == 0 || d == 0) return CUDA_ERROR_INVALID_VALUE;
  const bool up = src_host;
  const void* host = up ? p.srcHost : p.dstHost;
  const CUdeviceptr dev = up ? p.dstDevice : p.srcDevice;
  if (!host || !dev) return CUDA_ERROR_INVALID_VALUE;
  auto pitch_of = [&](size_t pitch) { return pitch ? pitch : w; };
  auto rows_of = [&](size_t rows) { return rows ? rows : h; };
  const size_t hpitch = pitch_of(up ? p.srcPitch : p.dstPitch);
  const size_t hrows = rows_of(up ? p.srcHeight : p.dstHeight);
  const size_t dpitch = pitch_of(up ? p.dstPitch : p.srcPitch);
  const size_t drows = rows_of(up ? p.dstHeight : p.srcHeight);
  if (w > hpitch || w > dpitch || h > hrows || h > drows) return CUDA_ERROR_INVALID_VALUE;
  // The first host byte the node touches: (z * rows + y) * pitch + x, without wrapping.
  const size_t hx = up ? p.srcXInBytes : p.dstXInBytes, hy = up ? p.srcY : p.dstY,
               hz = up ? p.srcZ : p.dstZ;
  if (hz > (SIZE_MAX - hy) / hrows) return CUDA_ERROR_INVALID_VALUE;
  const size_t row = hz * hrows + hy;
  if (row > (SIZE_MAX - hx) / hpitch) return CUDA_ERROR_INVALID_VALUE;
  const size_t first = row * hpitch + hx;
  if (first > UINTPTR_MAX - reinterpret_cast<uintptr_t>(host)) return CUDA_ERROR_INVALID_VALUE;
  out->host.to_device = up;
  out->host.host = static_cast<uint8_t*>(const_cast<void*>(host)) + first;
  out->host.width = w;
  out->host.height = h;
  out->host.depth = d;
  out->host.pitch = hpitch;
  out->host.ysize = hrows;
  out->dev.ptr = dev;
  out->dev.pitch = dpitch;
  out->dev.ysize = drows;
  out->dev.pos = {up ? p.dstXInBytes : p.srcXInBytes, up ? p.dstY : p.srcY,
                  up ? p.dstZ : p.srcZ};
  return CUDA_SUCCESS;
}

}  // namespace gvirtus::cuda
