// Host<->device copies through the runtime frontend's copy engine (the same chunked requests
// as cudaMemcpy: gvMemcpyH2DChunk / gvMemcpyD2HChunk), and pointer queries. Host memory:
// host_memory.h; copies with CUDA arrays: array_copies.h.
#include <cstring>

#include "common/pointer_attrs.h"
#include "frontend/cuda/array_copies.h"
#include "frontend/cuda/host_memory.h"
#include "frontend/cuda/memory.h"
#include "frontend/cuda/local.h"
#include "frontend/cudart/glue.h"
#include "frontend/core/ranges.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::cuda {
namespace {

using cudart::Target;

// The runtime's error codes for a copy are the driver's numbers for the same failures
// (invalid value 1, out of memory 2, invalid handle 400, illegal address 700, ...).
CUresult copy(void* dst, const void* src, size_t n, cudaMemcpyKind kind, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
  return static_cast<CUresult>(gvirtus::cudart::copy_1d(dst, src, n, kind, t));
}

void* dev(CUdeviceptr p) { return reinterpret_cast<void*>(static_cast<uintptr_t>(p)); }

Target async_on(CUstream s) {
  return gvirtus::cudart::driver_api(gvirtus::cudart::async_on(reinterpret_cast<cudaStream_t>(s)));
}
Target async_per_thread(CUstream s) {
  return gvirtus::cudart::driver_api(
      gvirtus::cudart::async_per_thread(reinterpret_cast<cudaStream_t>(s)));
}

CUresult on_device(CUdeviceptr p, bool* device);  // below

// A CU_MEMORYTYPE_UNIFIED side names host or device memory by its address alone: it is decided
// as cuMemcpy decides (on_device), so that the copy engine gets a host or a device side (a host
// address means nothing on the GPU host).
template <typename HostPtr>
CUresult resolve_unified(CUmemorytype* type, HostPtr* host, CUdeviceptr device) {
  if (*type != CU_MEMORYTYPE_UNIFIED) return CUDA_SUCCESS;
  bool on_dev = false;
  CUresult e = on_device(device, &on_dev);
  if (e != CUDA_SUCCESS) return e;
  *type = on_dev ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  if (!on_dev) *host = reinterpret_cast<HostPtr>(static_cast<uintptr_t>(device));
  return CUDA_SUCCESS;
}
template <typename Copy>
CUresult resolve_sides(Copy* c) {
  CUresult e = resolve_unified(&c->srcMemoryType, &c->srcHost, c->srcDevice);
  if (e == CUDA_SUCCESS) e = resolve_unified(&c->dstMemoryType, &c->dstHost, c->dstDevice);
  return e;
}

// One side of a CUDA_MEMCPY2D without arrays or unified sides (resolve_sides): the address of
// its first byte and whether it is on the host. Copies with arrays go through array_copies.h.
CUresult side(CUmemorytype type, const void* host, CUdeviceptr device, size_t x, size_t y,
              size_t pitch, uintptr_t* addr, bool* on_host) {
  switch (type) {
    case CU_MEMORYTYPE_HOST:
      *on_host = true;
      *addr = reinterpret_cast<uintptr_t>(host);
      break;
    case CU_MEMORYTYPE_DEVICE:
    case CU_MEMORYTYPE_UNIFIED:
      *on_host = false;
      *addr = static_cast<uintptr_t>(device);
      break;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
  if (*addr == 0) return CUDA_ERROR_INVALID_VALUE;
  if (pitch != 0 && y > (SIZE_MAX - x) / pitch) return CUDA_ERROR_INVALID_VALUE;
  *addr += y * pitch + x;
  return CUDA_SUCCESS;
}

CUresult copy_2d(const CUDA_MEMCPY2D* params, const Target& t) {
  if (!params) return CUDA_ERROR_INVALID_VALUE;
  if (params->WidthInBytes == 0 || params->Height == 0) return CUDA_SUCCESS;
  CUDA_MEMCPY2D q = *params;
  CUresult r = resolve_sides(&q);
  if (r != CUDA_SUCCESS) return r;
  const CUDA_MEMCPY2D* p = &q;
  if (p->srcMemoryType == CU_MEMORYTYPE_ARRAY || p->dstMemoryType == CU_MEMORYTYPE_ARRAY)
    return copy_2d_with_array(*p, t);
  uintptr_t src, dst;
  bool src_host, dst_host;
  CUresult e = side(p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY,
                    p->srcPitch, &src, &src_host);
  if (e != CUDA_SUCCESS) return e;
  e = side(p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstPitch,
           &dst, &dst_host);
  if (e != CUDA_SUCCESS) return e;
  // A single row may leave the pitches at 0.
  const size_t spitch = p->Height == 1 && p->srcPitch == 0 ? p->WidthInBytes : p->srcPitch;
  const size_t dpitch = p->Height == 1 && p->dstPitch == 0 ? p->WidthInBytes : p->dstPitch;
  if (p->Height > 1 && (p->WidthInBytes > spitch || p->WidthInBytes > dpitch))
    return CUDA_ERROR_INVALID_VALUE;  // the driver's answer (the runtime says "pitch")
  const cudaMemcpyKind kind = src_host ? (dst_host ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice)
                                       : (dst_host ? cudaMemcpyDeviceToHost
                                                   : cudaMemcpyDeviceToDevice);
  return static_cast<CUresult>(cudart::copy(reinterpret_cast<void*>(dst), dpitch,
                                            reinterpret_cast<const void*>(src), spitch,
                                            p->WidthInBytes, p->Height, kind, t, true));
}

// A 3D copy as one 2D copy per slice (each slice's rows start srcHeight / dstHeight rows after
// the previous one's).
CUresult copy_3d(const CUDA_MEMCPY3D* params, const Target& t) {
  if (!params || params->reserved0 || params->reserved1) return CUDA_ERROR_INVALID_VALUE;
  if (params->WidthInBytes == 0 || params->Height == 0 || params->Depth == 0) return CUDA_SUCCESS;
  CUDA_MEMCPY3D q = *params;
  CUresult r = resolve_sides(&q);
  if (r != CUDA_SUCCESS) return r;
  const CUDA_MEMCPY3D* p = &q;
  // With an array the whole copy is one request (arrays are 3D objects on the worker).
  if (has_array(*p)) return copy_3d_with_array(*p, t);
  if (p->Depth > 1 && (p->srcHeight < p->Height || p->dstHeight < p->Height))
    return CUDA_ERROR_INVALID_VALUE;
  for (size_t z = 0; z < p->Depth; ++z) {
    CUDA_MEMCPY2D s{};
    s.srcXInBytes = p->srcXInBytes;
    s.srcY = p->srcY + (p->srcZ + z) * p->srcHeight;
    s.srcMemoryType = p->srcMemoryType;
    s.srcHost = p->srcHost;
    s.srcDevice = p->srcDevice;
    s.srcArray = p->srcArray;
    s.srcPitch = p->srcPitch;
    s.dstXInBytes = p->dstXInBytes;
    s.dstY = p->dstY + (p->dstZ + z) * p->dstHeight;
    s.dstMemoryType = p->dstMemoryType;
    s.dstHost = p->dstHost;
    s.dstDevice = p->dstDevice;
    s.dstArray = p->dstArray;
    s.dstPitch = p->dstPitch;
    s.WidthInBytes = p->WidthInBytes;
    s.Height = p->Height;
    CUresult e = copy_2d(&s, t);
    if (e != CUDA_SUCCESS) return e;
  }
  return CUDA_SUCCESS;
}

// Page-locked host memory (host_memory.h) is known here only: its type and host address are
// answered locally. Anything else is asked of the worker's driver.
CUresult pointer_attribute(void* data, int attr, CUdeviceptr ptr) {
  if (!data) return CUDA_ERROR_INVALID_VALUE;
  const size_t size = pointer_attribute_size(attr);
  if (size == 0)
    return refuse("cuPointerGetAttribute", "attribute " + std::to_string(attr));
  if (is_page_locked_host(dev(ptr))) {
    if (attr == CU_POINTER_ATTRIBUTE_MEMORY_TYPE) {
      *static_cast<unsigned*>(data) = CU_MEMORYTYPE_HOST;
      return CUDA_SUCCESS;
    }
    if (attr == CU_POINTER_ATTRIBUTE_HOST_POINTER) {
      *static_cast<void**>(data) = dev(ptr);
      return CUDA_SUCCESS;
    }
  }
  client::Call c(id(kCall_cuPointerGetAttribute));
  c.args().put<uint32_t>(static_cast<uint32_t>(attr));
  c.args().put<uint64_t>(ptr);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  wire::Reader& rd = c.result();
  const uint32_t n = rd.get<uint32_t>();
  if (n != size) throw wire::DecodeError("pointer attribute of the wrong size");
  std::memcpy(data, rd.get_bytes(n), n);
  rd.expect_end();
  return CUDA_SUCCESS;
}

// cuMemcpy / cuMemcpyAsync take unified addresses: the side's memory decides the direction.
// Device: inside an allocation the runtime or driver frontend recorded, or, for an address
// neither knows (module globals, pool and IPC memory), one the worker's driver calls device or
// managed memory. Host: this library's host allocations, and an address the worker's driver
// does not know (CUDA_ERROR_INVALID_VALUE), which is the application's ordinary memory.
CUresult on_device(CUdeviceptr p, bool* device) {
  if (cudart::is_tracked_device(p)) {
    *device = true;
    return CUDA_SUCCESS;
  }
  if (is_page_locked_host(dev(p))) {
    *device = false;
    return CUDA_SUCCESS;
  }
  unsigned type = 0;
  CUresult e = pointer_attribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p);
  if (e == CUDA_ERROR_INVALID_VALUE) {
    *device = false;
    return CUDA_SUCCESS;
  }
  if (e != CUDA_SUCCESS) return e;
  *device = type == CU_MEMORYTYPE_DEVICE || type == CU_MEMORYTYPE_UNIFIED;
  return CUDA_SUCCESS;
}

CUresult unified_copy(CUdeviceptr dst, CUdeviceptr src, size_t n, const Target& t) {
  if (n == 0) return CUDA_SUCCESS;
  bool dd = false, sd = false;
  CUresult e = on_device(dst, &dd);
  if (e == CUDA_SUCCESS) e = on_device(src, &sd);
  if (e != CUDA_SUCCESS) return e;
  const cudaMemcpyKind kind = dd ? (sd ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                 : (sd ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  return copy(dev(dst), dev(src), n, kind, t);
}

}  // namespace

CUresult pointer_on_device(CUdeviceptr p, bool* device) { return on_device(p, device); }

}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpy",
                 [&] { return unified_copy(dst, src, n, gvirtus::cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpy_ptds",
                 [&] { return unified_copy(dst, src, n, gvirtus::cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return guarded("cuMemcpyAsync", [&] { return unified_copy(dst, src, n, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return guarded("cuMemcpyAsync_ptsz",
                 [&] { return unified_copy(dst, src, n, async_per_thread(s)); });
}

GV_EXPORT CUresult cuPointerGetAttribute(void* data, CUpointer_attribute attr, CUdeviceptr ptr) {
  return guarded("cuPointerGetAttribute", [&] { return pointer_attribute(data, attr, ptr); });
}

GV_EXPORT CUresult cuPointerGetAttributes(unsigned int n, CUpointer_attribute* attrs, void** data,
                                          CUdeviceptr ptr) {
  return guarded("cuPointerGetAttributes", [&]() -> CUresult {
    if (n == 0 || !attrs || !data) return CUDA_ERROR_INVALID_VALUE;
    // Unlike the single form, an address CUDA does not know is no error here: its values
    // read as zero (the driver's documented behaviour), except the device ordinal, which is
    // -2 (cudaInvalidDeviceId), and the host pointer, which is the address itself: NVIDIA's
    // static runtime copies both into cudaPointerGetAttributes' answer, and natively that
    // answer is device -2 and hostPointer == the address for malloc, stack and NULL alike
    // (seen on the GPU machine). An address CUDA knows keeps zeros where a single query fails
    // (device memory has no host pointer; page-locked memory of this library reads device 0,
    // as natively with one device). Known or not is asked once, by the memory type.
    int known = -1;  // not asked yet
    auto unknown_to_cuda = [&]() -> bool {
      if (known < 0) {
        unsigned type = 0;
        known = is_page_locked_host(dev(ptr)) ||
                pointer_attribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr) !=
                    CUDA_ERROR_INVALID_VALUE;
      }
      return known == 0;
    };
    for (unsigned i = 0; i < n; ++i) {
      CUresult e = pointer_attribute(data[i], attrs[i], ptr);
      if (e == CUDA_ERROR_INVALID_VALUE && data[i]) {
        std::memset(data[i], 0, gvirtus::pointer_attribute_size(attrs[i]));
        if (attrs[i] == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL && unknown_to_cuda())
          *static_cast<int*>(data[i]) = -2;
        else if (attrs[i] == CU_POINTER_ATTRIBUTE_HOST_POINTER && unknown_to_cuda())
          *static_cast<void**>(data[i]) = dev(ptr);
        continue;
      }
      if (e != CUDA_SUCCESS) return e;
    }
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  return guarded("cuMemcpyHtoD_v2", [&] {
    return copy(dev(dst), src, n, cudaMemcpyHostToDevice, gvirtus::cudart::sync_legacy());
  });
}
GV_EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpyDtoH_v2", [&] {
    return copy(dst, dev(src), n, cudaMemcpyDeviceToHost, gvirtus::cudart::sync_legacy());
  });
}
GV_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream s) {
  return guarded("cuMemcpyHtoDAsync_v2", [&] {
    return copy(dev(dst), src, n, cudaMemcpyHostToDevice, async_on(s));
  });
}
GV_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream s) {
  return guarded("cuMemcpyDtoHAsync_v2", [&] {
    return copy(dst, dev(src), n, cudaMemcpyDeviceToHost, async_on(s));
  });
}
extern "C" CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr, const void*, size_t);
extern "C" CUresult cuMemcpyDtoH_v2_ptds(void*, CUdeviceptr, size_t);
extern "C" CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr, const void*, size_t, CUstream);
extern "C" CUresult cuMemcpyDtoHAsync_v2_ptsz(void*, CUdeviceptr, size_t, CUstream);
GV_EXPORT CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void* src, size_t n) {
  return guarded("cuMemcpyHtoD_v2_ptds", [&] {
    return copy(dev(dst), src, n, cudaMemcpyHostToDevice, gvirtus::cudart::sync_per_thread());
  });
}
GV_EXPORT CUresult cuMemcpyDtoH_v2_ptds(void* dst, CUdeviceptr src, size_t n) {
  return guarded("cuMemcpyDtoH_v2_ptds", [&] {
    return copy(dst, dev(src), n, cudaMemcpyDeviceToHost, gvirtus::cudart::sync_per_thread());
  });
}
GV_EXPORT CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void* src, size_t n,
                                             CUstream s) {
  return guarded("cuMemcpyHtoDAsync_v2_ptsz", [&] {
    return copy(dev(dst), src, n, cudaMemcpyHostToDevice, async_per_thread(s));
  });
}
GV_EXPORT CUresult cuMemcpyDtoHAsync_v2_ptsz(void* dst, CUdeviceptr src, size_t n, CUstream s) {
  return guarded("cuMemcpyDtoHAsync_v2_ptsz", [&] {
    return copy(dst, dev(src), n, cudaMemcpyDeviceToHost, async_per_thread(s));
  });
}

// cuMemcpy2D and its forms: through the copy engine, 2D (rows packed on the wire).
extern "C" CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D*);
extern "C" CUresult cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D*);
extern "C" CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D*, CUstream);
GV_EXPORT CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D* p) {
  return guarded("cuMemcpy2D_v2", [&] { return copy_2d(p, gvirtus::cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D* p) {
  return guarded("cuMemcpy2DUnaligned_v2", [&] { return copy_2d(p, gvirtus::cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D* p, CUstream s) {
  return guarded("cuMemcpy2DAsync_v2", [&] { return copy_2d(p, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D* p) {
  return guarded("cuMemcpy2D_v2_ptds", [&] { return copy_2d(p, gvirtus::cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D* p) {
  return guarded("cuMemcpy2DUnaligned_v2_ptds",
                 [&] { return copy_2d(p, gvirtus::cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D* p, CUstream s) {
  return guarded("cuMemcpy2DAsync_v2_ptsz", [&] { return copy_2d(p, async_per_thread(s)); });
}

// cuMemcpy3D and its forms: a 2D copy per slice.
extern "C" CUresult cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D*);
extern "C" CUresult cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D*, CUstream);
GV_EXPORT CUresult cuMemcpy3D_v2(const CUDA_MEMCPY3D* p) {
  return guarded("cuMemcpy3D_v2", [&] { return copy_3d(p, gvirtus::cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D* p, CUstream s) {
  return guarded("cuMemcpy3DAsync_v2", [&] { return copy_3d(p, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D* p) {
  return guarded("cuMemcpy3D_v2_ptds",
                 [&] { return copy_3d(p, gvirtus::cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D* p, CUstream s) {
  return guarded("cuMemcpy3DAsync_v2_ptsz", [&] { return copy_3d(p, async_per_thread(s)); });
}

// cuMemcpy3DPeer and its forms: the same copy, the contexts left out. Addresses are unified
// on the worker (one address names one device's memory whatever the current context), and
// the worker's runtime copies between devices by address, so a device side's context adds
// nothing the copy needs; it is not checked either (docs/driver.md).
namespace gvirtus::cuda {
namespace {

CUresult copy_3d_peer(const CUDA_MEMCPY3D_PEER* p, const Target& t) {
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  CUDA_MEMCPY3D q{};
  q.srcXInBytes = p->srcXInBytes;
  q.srcY = p->srcY;
  q.srcZ = p->srcZ;
  q.srcLOD = p->srcLOD;
  q.srcMemoryType = p->srcMemoryType;
  q.srcHost = p->srcHost;
  q.srcDevice = p->srcDevice;
  q.srcArray = p->srcArray;
  q.srcPitch = p->srcPitch;
  q.srcHeight = p->srcHeight;
  q.dstXInBytes = p->dstXInBytes;
  q.dstY = p->dstY;
  q.dstZ = p->dstZ;
  q.dstLOD = p->dstLOD;
  q.dstMemoryType = p->dstMemoryType;
  q.dstHost = p->dstHost;
  q.dstDevice = p->dstDevice;
  q.dstArray = p->dstArray;
  q.dstPitch = p->dstPitch;
  q.dstHeight = p->dstHeight;
  q.WidthInBytes = p->WidthInBytes;
  q.Height = p->Height;
  q.Depth = p->Depth;
  return copy_3d(&q, t);
}

}  // namespace
}  // namespace gvirtus::cuda

extern "C" CUresult cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER*);
extern "C" CUresult cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER*, CUstream);
GV_EXPORT CUresult cuMemcpy3DPeer(const CUDA_MEMCPY3D_PEER* p) {
  return guarded("cuMemcpy3DPeer",
                 [&] { return copy_3d_peer(p, gvirtus::cudart::sync_legacy()); });
}
GV_EXPORT CUresult cuMemcpy3DPeerAsync(const CUDA_MEMCPY3D_PEER* p, CUstream s) {
  return guarded("cuMemcpy3DPeerAsync", [&] { return copy_3d_peer(p, async_on(s)); });
}
GV_EXPORT CUresult cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER* p) {
  return guarded("cuMemcpy3DPeer_ptds",
                 [&] { return copy_3d_peer(p, gvirtus::cudart::sync_per_thread()); });
}
GV_EXPORT CUresult cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER* p, CUstream s) {
  return guarded("cuMemcpy3DPeerAsync_ptsz",
                 [&] { return copy_3d_peer(p, async_per_thread(s)); });
}
