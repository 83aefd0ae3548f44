// cudaMalloc3D, the array copies (cudaMemcpy2DToArray & co., the deprecated cudaMemcpyToArray
// family) and cudaMemcpy3D / cudaMemcpy3DPeer with their per-thread-stream forms. Every copy is
// described as a Copy3D (x and width in bytes) and run by copy_3d (transfer.cc). Allocation,
// freeing and queries of arrays are generated forwarders (api/cudart.api); an array is the
// worker's id for it. Wire formats: docs/arrays.md.
#include <algorithm>
#include <mutex>
#include <unordered_map>


#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::cudart {
namespace {

// Bytes per element and per row of an array, asked once per array (cudaArrayGetInfo). Ids are
// never reused, so an entry cannot go stale; a freed array's copies fail on the worker.
struct ArrayInfo {
  uint64_t elem = 0;
  uint64_t row_bytes = 0;
};

cudaError_t array_info(cudaArray_const_t a, ArrayInfo* out) {
  static std::mutex mu;
  static auto* cache = new std::unordered_map<uint64_t, ArrayInfo>;
  const uint64_t key = to_wire(a);
  {
    std::lock_guard<std::mutex> g(mu);
    auto it = cache->find(key);
    if (it != cache->end()) {
      *out = it->second;
      return cudaSuccess;
    }
  }
  cudaChannelFormatDesc d{};
  cudaExtent ext{};
  unsigned int flags = 0;
  cudaError_t e = cudaArrayGetInfo(&d, &ext, &flags, const_cast<cudaArray_t>(a));
  if (e != cudaSuccess) return e;
  int bits = d.x + d.y + d.z + d.w;
  if (bits <= 0 || bits % 8 != 0) return fail(cudaErrorInvalidValue);
  ArrayInfo info;
  info.elem = static_cast<uint64_t>(bits / 8);
  if (ext.width > UINT64_MAX / info.elem) return fail(cudaErrorInvalidValue);
  info.row_bytes = ext.width * info.elem;
  std::lock_guard<std::mutex> g(mu);
  (*cache)[key] = info;
  *out = info;
  return cudaSuccess;
}

CopyEnd array_end(cudaArray_const_t a, uint64_t x, uint64_t y) {
  CopyEnd e;
  e.kind = CopyEnd::Kind::kArray;
  e.base = to_wire(a);
  e.x = x;
  e.y = y;
  return e;
}

// A pitched pointer end (kind decided later by classify_ends).
CopyEnd pointer_end(const void* p, uint64_t pitch, uint64_t xsize, uint64_t ysize, uint64_t x,
                    uint64_t y, uint64_t z) {
  CopyEnd e;
  e.kind = CopyEnd::Kind::kHost;
  e.base = to_wire(p);
  e.pitch = pitch;
  e.xsize = xsize;
  e.ysize = ysize;
  e.x = x;
  e.y = y;
  e.z = z;
  return e;
}

cudaError_t run(Copy3D c, cudaMemcpyKind kind, const Target& t) {
  if (c.width == 0 || c.height == 0) return cudaSuccess;
  cudaError_t e = classify_ends(kind, &c.src, &c.dst);
  if (e != cudaSuccess) return argument_error(e);
  return copy_3d(c, t);
}

// cudaMemcpy2DToArray / FromArray / ArrayToArray: 2D copies of depth 1, bytes throughout.
cudaError_t to_array_2d(cudaArray_t dst, size_t w_off, size_t h_off, const void* src,
                        size_t spitch, size_t width, size_t height, cudaMemcpyKind kind,
                        const Target& t) {
  if (width == 0 || height == 0) return cudaSuccess;  // before looking at the pointers, as natively
  if (!src) return argument_error(cudaErrorInvalidValue);
  if (height > 1 && spitch < width) return argument_error(cudaErrorInvalidPitchValue);
  Copy3D c;
  c.src = pointer_end(src, spitch, spitch, height, 0, 0, 0);
  c.dst = array_end(dst, w_off, h_off);
  c.width = width;
  c.height = height;
  c.depth = 1;
  return run(c, kind, t);
}

cudaError_t from_array_2d(void* dst, size_t dpitch, cudaArray_const_t src, size_t w_off,
                          size_t h_off, size_t width, size_t height, cudaMemcpyKind kind,
                          const Target& t) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (!dst) return argument_error(cudaErrorInvalidValue);
  if (height > 1 && dpitch < width) return argument_error(cudaErrorInvalidPitchValue);
  Copy3D c;
  c.src = array_end(src, w_off, h_off);
  c.dst = pointer_end(dst, dpitch, dpitch, height, 0, 0, 0);
  c.width = width;
  c.height = height;
  c.depth = 1;
  return run(c, kind, t);
}

cudaError_t array_to_array_2d(cudaArray_t dst, size_t dw, size_t dh, cudaArray_const_t src,
                              size_t sw, size_t sh, size_t width, size_t height,
                              cudaMemcpyKind kind, const Target& t) {
  Copy3D c;
  c.src = array_end(src, sw, sh);
  c.dst = array_end(dst, dw, dh);
  c.width = width;
  c.height = height;
  c.depth = 1;
  return run(c, kind, t);
}

// The deprecated 1D array copies: `count` bytes from (w_off, h_off) on, continuing on the next
// rows of the array. Split into the rest of the first row, whole rows, and the start of the
// last row, each a 2D copy. `linear` is the non-array end (host or device memory, contiguous).
cudaError_t linear_array_copy(cudaArray_const_t a, size_t w_off, size_t h_off, const void* linear,
                              size_t count, bool to_array, cudaMemcpyKind kind, const Target& t) {
  if (count == 0) return cudaSuccess;
  if (!linear) return argument_error(cudaErrorInvalidValue);
  ArrayInfo info;
  cudaError_t e = array_info(a, &info);
  if (e != cudaSuccess) return e;
  if (info.row_bytes == 0 || w_off >= info.row_bytes) return argument_error(cudaErrorInvalidValue);
  uint64_t done = 0, x = w_off, y = h_off;
  while (done < count) {
    uint64_t left = count - done;
    uint64_t width, height;
    if (x != 0 || left < info.row_bytes) {  // a part of one row
      width = std::min<uint64_t>(left, info.row_bytes - x);
      height = 1;
    } else {  // whole rows
      width = info.row_bytes;
      height = left / info.row_bytes;
    }
    const uint8_t* p = static_cast<const uint8_t*>(linear) + done;
    Copy3D c;
    CopyEnd arr = array_end(a, x, y);
    CopyEnd lin = pointer_end(p, width, width, height, 0, 0, 0);
    c.src = to_array ? lin : arr;
    c.dst = to_array ? arr : lin;
    c.width = width;
    c.height = height;
    c.depth = 1;
    e = run(c, kind, t);
    if (e != cudaSuccess) return e;
    done += width * height;
    x = 0;
    y += height;
  }
  return cudaSuccess;
}

// cudaMemcpy3D / cudaMemcpy3DPeer parameters -> Copy3D: when an array takes part, the extent's
// width and every x position from the array's elements to bytes.
template <class Parms>
cudaError_t describe_3d(const Parms* p, Copy3D* c) {
  if (!p) return cudaErrorInvalidValue;
  if ((p->srcArray && p->srcPtr.ptr) || (p->dstArray && p->dstPtr.ptr))
    return cudaErrorInvalidValue;
  uint64_t elem = 1;
  for (cudaArray_t a : {p->srcArray, p->dstArray}) {
    if (!a) continue;
    ArrayInfo info;
    cudaError_t e = array_info(a, &info);
    if (e != cudaSuccess) return e;
    elem = info.elem;
    break;
  }
  auto end_of = [&](cudaArray_t a, const cudaPitchedPtr& ptr, const cudaPos& pos, CopyEnd* out) {
    if (a) {
      if (pos.x > UINT64_MAX / elem) return false;
      *out = array_end(a, pos.x * elem, pos.y);
      out->z = pos.z;
    } else {
      // With an array in the copy, the runtime counts a pointer's x in that array's elements
      // too (seen on the GPU machine, though the documentation says bytes).
      if (pos.x > UINT64_MAX / elem) return false;
      *out = pointer_end(ptr.ptr, ptr.pitch, ptr.xsize, ptr.ysize, pos.x * elem, pos.y, pos.z);
    }
    return true;
  };
  if (!end_of(p->srcArray, p->srcPtr, p->srcPos, &c->src) ||
      !end_of(p->dstArray, p->dstPtr, p->dstPos, &c->dst) ||
      p->extent.width > UINT64_MAX / elem)
    return cudaErrorInvalidValue;
  c->width = p->extent.width * elem;
  c->height = p->extent.height;
  c->depth = p->extent.depth;
  return cudaSuccess;
}

cudaError_t memcpy_3d(const cudaMemcpy3DParms* p, const Target& t) {
  Copy3D c;
  cudaError_t e = describe_3d(p, &c);
  if (e != cudaSuccess) return argument_error(e);
  if (c.width == 0 || c.height == 0 || c.depth == 0) return cudaSuccess;
  e = classify_ends(p->kind, &c.src, &c.dst);
  if (e != cudaSuccess) return argument_error(e);
  return copy_3d(c, t);
}

cudaError_t memcpy_3d_peer(const cudaMemcpy3DPeerParms* p, const Target& t) {
  Copy3D c;
  cudaError_t e = describe_3d(p, &c);
  if (e != cudaSuccess) return argument_error(e);
  for (CopyEnd* end : {&c.src, &c.dst})
    if (end->kind != CopyEnd::Kind::kArray) end->kind = CopyEnd::Kind::kDevice;
  return copy_3d_peer(c, p->srcDevice, p->dstDevice, t);
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {
cudaPitchedPtr pitched(void* p, uint64_t pitch, uint64_t xsize, uint64_t ysize) {
  return cudaPitchedPtr{p, static_cast<size_t>(pitch), static_cast<size_t>(xsize),
                        static_cast<size_t>(ysize)};
}
}  // namespace

GV_EXPORT cudaError_t cudaMalloc3D(cudaPitchedPtr* pitchedDevPtr, cudaExtent extent) {
  return guarded("cudaMalloc3D", [&] {
    if (!pitchedDevPtr) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMalloc3D));
    c.args().put<uint64_t>(extent.width);
    c.args().put<uint64_t>(extent.height);
    c.args().put<uint64_t>(extent.depth);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    uint64_t p = c.result().get<uint64_t>();
    uint64_t pitch = c.result().get<uint64_t>();
    uint64_t xsize = c.result().get<uint64_t>();
    uint64_t ysize = c.result().get<uint64_t>();
    c.result().expect_end();
    uint64_t depth = extent.depth ? extent.depth : 1;
    if (p && (ysize == 0 || pitch <= UINT64_MAX / ysize / depth))
      track_device_allocation(p, pitch * ysize * depth);
    *pitchedDevPtr = pitched(from_wire<void*>(p), pitch, xsize, ysize);
    return cudaSuccess;
  });
}

// ---- 2D array copies ----

#define GV_TO_ARRAY_2D(NAME, TARGET, ...)                                                      \
  GV_EXPORT cudaError_t NAME(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, \
                             size_t spitch, size_t width, size_t height,                       \
                             cudaMemcpyKind kind __VA_ARGS__) {                                \
    return guarded(#NAME, [&] {                                                                \
      return to_array_2d(dst, wOffset, hOffset, src, spitch, width, height, kind, TARGET);     \
    });                                                                                        \
  }
GV_TO_ARRAY_2D(cudaMemcpy2DToArray, sync_legacy())
GV_TO_ARRAY_2D(cudaMemcpy2DToArray_ptds, sync_per_thread())
GV_TO_ARRAY_2D(cudaMemcpy2DToArrayAsync, async_on(stream), , cudaStream_t stream)
GV_TO_ARRAY_2D(cudaMemcpy2DToArrayAsync_ptsz, async_per_thread(stream), , cudaStream_t stream)
#undef GV_TO_ARRAY_2D

#define GV_FROM_ARRAY_2D(NAME, TARGET, ...)                                                  \
  GV_EXPORT cudaError_t NAME(void* dst, size_t dpitch, cudaArray_const_t src, size_t wOffset, \
                             size_t hOffset, size_t width, size_t height,                     \
                             cudaMemcpyKind kind __VA_ARGS__) {                               \
    return guarded(#NAME, [&] {                                                               \
      return from_array_2d(dst, dpitch, src, wOffset, hOffset, width, height, kind, TARGET);  \
    });                                                                                       \
  }
GV_FROM_ARRAY_2D(cudaMemcpy2DFromArray, sync_legacy())
GV_FROM_ARRAY_2D(cudaMemcpy2DFromArray_ptds, sync_per_thread())
GV_FROM_ARRAY_2D(cudaMemcpy2DFromArrayAsync, async_on(stream), , cudaStream_t stream)
GV_FROM_ARRAY_2D(cudaMemcpy2DFromArrayAsync_ptsz, async_per_thread(stream), , cudaStream_t stream)
#undef GV_FROM_ARRAY_2D

GV_EXPORT cudaError_t cudaMemcpy2DArrayToArray(cudaArray_t dst, size_t wOffsetDst,
                                               size_t hOffsetDst, cudaArray_const_t src,
                                               size_t wOffsetSrc, size_t hOffsetSrc, size_t width,
                                               size_t height, cudaMemcpyKind kind) {
  return guarded("cudaMemcpy2DArrayToArray", [&] {
    return array_to_array_2d(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, width,
                             height, kind, sync_legacy());
  });
}

GV_EXPORT cudaError_t cudaMemcpy2DArrayToArray_ptds(cudaArray_t dst, size_t wOffsetDst,
                                                    size_t hOffsetDst, cudaArray_const_t src,
                                                    size_t wOffsetSrc, size_t hOffsetSrc,
                                                    size_t width, size_t height,
                                                    cudaMemcpyKind kind) {
  return guarded("cudaMemcpy2DArrayToArray_ptds", [&] {
    return array_to_array_2d(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, width,
                             height, kind, sync_per_thread());
  });
}

// ---- deprecated 1D array copies ----

#define GV_TO_ARRAY(NAME, TARGET, ...)                                                        \
  GV_EXPORT cudaError_t NAME(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, \
                             size_t count, cudaMemcpyKind kind __VA_ARGS__) {                  \
    return guarded(#NAME, [&] {                                                                \
      return linear_array_copy(dst, wOffset, hOffset, src, count, true, kind, TARGET);         \
    });                                                                                        \
  }
GV_TO_ARRAY(cudaMemcpyToArray, sync_legacy())
GV_TO_ARRAY(cudaMemcpyToArray_ptds, sync_per_thread())
GV_TO_ARRAY(cudaMemcpyToArrayAsync, async_on(stream), , cudaStream_t stream)
GV_TO_ARRAY(cudaMemcpyToArrayAsync_ptsz, async_per_thread(stream), , cudaStream_t stream)
#undef GV_TO_ARRAY

#define GV_FROM_ARRAY(NAME, TARGET, ...)                                                     \
  GV_EXPORT cudaError_t NAME(void* dst, cudaArray_const_t src, size_t wOffset, size_t hOffset, \
                             size_t count, cudaMemcpyKind kind __VA_ARGS__) {                 \
    return guarded(#NAME, [&] {                                                               \
      return linear_array_copy(src, wOffset, hOffset, dst, count, false, kind, TARGET);       \
    });                                                                                       \
  }
GV_FROM_ARRAY(cudaMemcpyFromArray, sync_legacy())
GV_FROM_ARRAY(cudaMemcpyFromArray_ptds, sync_per_thread())
GV_FROM_ARRAY(cudaMemcpyFromArrayAsync, async_on(stream), , cudaStream_t stream)
GV_FROM_ARRAY(cudaMemcpyFromArrayAsync_ptsz, async_per_thread(stream), , cudaStream_t stream)
#undef GV_FROM_ARRAY

namespace {
// cudaMemcpyArrayToArray: count bytes, wrapping over rows on both sides. Done row piece by row
// piece so that each piece stays inside one row of each array.
cudaError_t array_to_array_linear(cudaArray_t dst, size_t dw, size_t dh, cudaArray_const_t src,
                                  size_t sw, size_t sh, size_t count, cudaMemcpyKind kind,
                                  const Target& t) {
  if (count == 0) return cudaSuccess;
  ArrayInfo si, di;
  cudaError_t e = array_info(src, &si);
  if (e == cudaSuccess) e = array_info(dst, &di);
  if (e != cudaSuccess) return e;
  if (si.row_bytes == 0 || di.row_bytes == 0 || sw >= si.row_bytes || dw >= di.row_bytes)
    return argument_error(cudaErrorInvalidValue);
  uint64_t done = 0, sx = sw, sy = sh, dx = dw, dy = dh;
  while (done < count) {
    uint64_t n = std::min<uint64_t>({count - done, si.row_bytes - sx, di.row_bytes - dx});
    e = array_to_array_2d(dst, dx, dy, src, sx, sy, n, 1, kind, t);
    if (e != cudaSuccess) return e;
    done += n;
    sx += n;
    dx += n;
    if (sx == si.row_bytes) sx = 0, ++sy;
    if (dx == di.row_bytes) dx = 0, ++dy;
  }
  return cudaSuccess;
}
}  // namespace

GV_EXPORT cudaError_t cudaMemcpyArrayToArray(cudaArray_t dst, size_t wOffsetDst,
                                             size_t hOffsetDst, cudaArray_const_t src,
                                             size_t wOffsetSrc, size_t hOffsetSrc, size_t count,
                                             cudaMemcpyKind kind) {
  return guarded("cudaMemcpyArrayToArray", [&] {
    return array_to_array_linear(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, count,
                                 kind, sync_legacy());
  });
}

GV_EXPORT cudaError_t cudaMemcpyArrayToArray_ptds(cudaArray_t dst, size_t wOffsetDst,
                                                  size_t hOffsetDst, cudaArray_const_t src,
                                                  size_t wOffsetSrc, size_t hOffsetSrc,
                                                  size_t count, cudaMemcpyKind kind) {
  return guarded("cudaMemcpyArrayToArray_ptds", [&] {
    return array_to_array_linear(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, count,
                                 kind, sync_per_thread());
  });
}

// ---- 3D copies ----

GV_EXPORT cudaError_t cudaMemcpy3D(const cudaMemcpy3DParms* p) {
  return guarded("cudaMemcpy3D", [&] { return memcpy_3d(p, sync_legacy()); });
}
GV_EXPORT cudaError_t cudaMemcpy3D_ptds(const cudaMemcpy3DParms* p) {
  return guarded("cudaMemcpy3D_ptds", [&] { return memcpy_3d(p, sync_per_thread()); });
}
GV_EXPORT cudaError_t cudaMemcpy3DAsync(const cudaMemcpy3DParms* p, cudaStream_t stream) {
  return guarded("cudaMemcpy3DAsync", [&] { return memcpy_3d(p, async_on(stream)); });
}
GV_EXPORT cudaError_t cudaMemcpy3DAsync_ptsz(const cudaMemcpy3DParms* p, cudaStream_t stream) {
  return guarded("cudaMemcpy3DAsync_ptsz", [&] { return memcpy_3d(p, async_per_thread(stream)); });
}
GV_EXPORT cudaError_t cudaMemcpy3DPeer(const cudaMemcpy3DPeerParms* p) {
  return guarded("cudaMemcpy3DPeer", [&] { return memcpy_3d_peer(p, sync_legacy()); });
}
GV_EXPORT cudaError_t cudaMemcpy3DPeer_ptds(const cudaMemcpy3DPeerParms* p) {
  return guarded("cudaMemcpy3DPeer_ptds", [&] { return memcpy_3d_peer(p, sync_per_thread()); });
}
GV_EXPORT cudaError_t cudaMemcpy3DPeerAsync(const cudaMemcpy3DPeerParms* p, cudaStream_t stream) {
  return guarded("cudaMemcpy3DPeerAsync", [&] { return memcpy_3d_peer(p, async_on(stream)); });
}
GV_EXPORT cudaError_t cudaMemcpy3DPeerAsync_ptsz(const cudaMemcpy3DPeerParms* p,
                                                 cudaStream_t stream) {
  return guarded("cudaMemcpy3DPeerAsync_ptsz",
                 [&] { return memcpy_3d_peer(p, async_per_thread(stream)); });
}
