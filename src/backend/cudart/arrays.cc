// Hand-written cudart handlers: CUDA arrays, 3D copies, pitched 3D allocation. The client side is
// src/frontend/cudart/arrays.cc and transfer.cc; payloads are in docs/arrays.md.
//
// Arrays travel as handle ids (HandleKind::kArray / kMipmappedArray). On the wire every x
// position and width is in bytes, also for array sides (as the 2D array copies count them);
// the worker turns them into the array's elements for cudaMemcpy3D. Host-side data is only ever
// this worker's own buffers (the request payload, the connection's device-to-host buffer), and
// a copy between such a buffer and an array is checked against the array's extent here, before
// CUDA touches either.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "backend/cudart/clearing.h"
#include "backend/cudart/support.h"
#include "backend/quota_calls.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

// Like make_cudaPos & co. of driver_functions.h, which cannot be included without the CUDA
// compiler's headers.
cudaPos pos3(uint64_t x, uint64_t y, uint64_t z) {
  return cudaPos{static_cast<size_t>(x), static_cast<size_t>(y), static_cast<size_t>(z)};
}
cudaExtent extent3(uint64_t w, uint64_t h, uint64_t d) {
  return cudaExtent{static_cast<size_t>(w), static_cast<size_t>(h), static_cast<size_t>(d)};
}
cudaPitchedPtr pitched(void* p, uint64_t pitch, uint64_t xsize, uint64_t ysize) {
  return cudaPitchedPtr{p, static_cast<size_t>(pitch), static_cast<size_t>(xsize),
                        static_cast<size_t>(ysize)};
}

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

// Bytes per element of an array, and its extent with unused dimensions counted as 1.
struct ArrayShape {
  uint64_t elem = 0;
  uint64_t width = 1, height = 1, depth = 1;
};

cudaError_t array_shape(cudaArray_const_t a, ArrayShape* s) {
  cudaChannelFormatDesc d{};
  cudaExtent e{};
  unsigned int flags = 0;
  cudaError_t r = cudaArrayGetInfo(&d, &e, &flags, const_cast<cudaArray_t>(a));
  if (r != cudaSuccess) return r;
  int bits = d.x + d.y + d.z + d.w;
  if (bits <= 0 || bits % 8 != 0) return cudaErrorInvalidValue;
  s->elem = static_cast<uint64_t>(bits / 8);
  s->width = e.width ? e.width : 1;
  s->height = e.height ? e.height : 1;
  s->depth = e.depth ? e.depth : 1;
  return cudaSuccess;
}

// A chunk between this worker's memory and an array: `rows` rows of `width` bytes at byte
// column x, row y, slice z.
struct ArrayChunk {
  uint64_t array = 0;
  uint64_t x = 0, y = 0, z = 0;
  uint64_t width = 0, rows = 0;
  uint64_t stream = 0;
  uint64_t bytes = 0;
};

ArrayChunk read_array_chunk(CallContext& ctx) {
  ArrayChunk c;
  c.array = ctx.in.get<uint64_t>();
  c.x = ctx.in.get<uint64_t>();
  c.y = ctx.in.get<uint64_t>();
  c.z = ctx.in.get<uint64_t>();
  c.width = ctx.in.get<uint64_t>();
  c.rows = ctx.in.get<uint64_t>();
  c.stream = ctx.in.get<uint64_t>();
  if (c.width == 0 || c.rows == 0 || c.width > wire::kMaxPayload || c.rows > wire::kMaxPayload)
    throw SessionFault("array copy chunk of " + std::to_string(c.rows) + " rows of " +
                       std::to_string(c.width) + " bytes");
  c.bytes = c.width * c.rows;  // both <= 2^26: no overflow
  if (c.bytes > wire::kMaxPayload)
    throw SessionFault("array copy chunk of " + std::to_string(c.bytes) +
                       " bytes is over the frame limit");
  return c;
}

// Checks the chunk against the array, in bytes: cudaErrorInvalidValue unless it lies inside.
// *aligned: x and width are whole elements, so the chunk can be placed in elements (*pos,
// *ext) for cudaMemcpy3D. The 2D array copies count bytes and the runtime accepts byte ranges
// that are not whole elements; such a chunk (only ever in slice 0) goes through
// cudaMemcpy2DToArray / cudaMemcpy2DFromArray instead.
cudaError_t place_chunk(const ArrayChunk& c, const ArrayShape& s, bool* aligned, cudaPos* pos,
                        cudaExtent* ext) {
  if (s.width > UINT64_MAX / s.elem) return cudaErrorInvalidValue;
  const uint64_t row = s.width * s.elem;
  if (c.x > row || c.width > row - c.x) return cudaErrorInvalidValue;
  if (c.y > s.height || c.rows > s.height - c.y) return cudaErrorInvalidValue;
  if (c.z >= s.depth) return cudaErrorInvalidValue;
  *aligned = c.x % s.elem == 0 && c.width % s.elem == 0;
  if (!*aligned && c.z != 0) return cudaErrorInvalidValue;
  *pos = pos3(c.x / s.elem, c.y, c.z);
  *ext = extent3(c.width / s.elem, c.rows, 1);
  return cudaSuccess;
}

// Waits for the stream when the copy was enqueued on one: the host side is a buffer of this
// connection, reused by the next request.
cudaError_t settle(cudaError_t e, uint64_t stream_id, cudaStream_t s) {
  if (e == cudaSuccess && stream_id != 0) e = cudaStreamSynchronize(s);
  return e;
}

cudaError_t run_3d(const cudaMemcpy3DParms& p, uint64_t stream_id, cudaStream_t s) {
  if (stream_id == 0) return cudaMemcpy3D(&p);
  return settle(cudaMemcpy3DAsync(&p, s), stream_id, s);
}

// One end of a device-side 3D copy: an array (id != 0) or a pitched device pointer; x in bytes.
struct End {
  uint64_t array = 0;
  cudaPitchedPtr ptr{};
  uint64_t x = 0, y = 0, z = 0;
};

End read_end(wire::Reader& in) {
  End e;
  e.array = in.get<uint64_t>();
  e.ptr.ptr = dptr(in.get<uint64_t>());
  e.ptr.pitch = static_cast<size_t>(in.get<uint64_t>());
  e.ptr.xsize = static_cast<size_t>(in.get<uint64_t>());
  e.ptr.ysize = static_cast<size_t>(in.get<uint64_t>());
  e.x = in.get<uint64_t>();
  e.y = in.get<uint64_t>();
  e.z = in.get<uint64_t>();
  return e;
}

// A device-side 3D copy as read from the wire (x positions and width in bytes).
struct DeviceCopy {
  End src, dst;
  uint64_t width = 0, height = 0, depth = 0;
};

DeviceCopy read_device_copy(CallContext& ctx) {
  DeviceCopy c;
  c.src = read_end(ctx.in);
  c.dst = read_end(ctx.in);
  c.width = ctx.in.get<uint64_t>();
  c.height = ctx.in.get<uint64_t>();
  c.depth = ctx.in.get<uint64_t>();
  return c;
}

// The array of one side (nullptr for a pointer side) and its element size (0 for a pointer).
// False after setting ctx.status.
bool end_array(CallContext& ctx, const End& e, cudaArray_t* arr, uint64_t* elem) {
  *arr = nullptr;
  *elem = 0;
  if (e.array == 0) return true;
  if (!handle_in_as(ctx, HandleKind::kArray, e.array, arr)) return false;
  ArrayShape s;
  cudaError_t r = array_shape(*arr, &s);
  if (r != cudaSuccess) {
    ctx.status = r;
    return false;
  }
  *elem = s.elem;
  return true;
}

// Common part of cudaMemcpy3D* on the worker: both ends on the device. When an array takes
// part, the runtime counts every x position (a pointer's too) and the width in the array's
// elements; the wire counts bytes. Returns kBytes (arrays filled in) when the copy is not in
// whole elements, which only the 2D array copies produce: see copy_2d_bytes.
enum class Built { kFailed, kOk, kBytes };

template <class Parms>
Built build_device_copy(CallContext& ctx, const DeviceCopy& c, Parms* p) {
  uint64_t es = 0, ed = 0;
  if (!end_array(ctx, c.src, &p->srcArray, &es) || !end_array(ctx, c.dst, &p->dstArray, &ed))
    return Built::kFailed;
  if (es && ed && es != ed) {
    ctx.status = cudaErrorInvalidValue;
    return Built::kFailed;
  }
  const uint64_t elem = es ? es : (ed ? ed : 1);
  if (c.width % elem != 0 || c.src.x % elem != 0 || c.dst.x % elem != 0) return Built::kBytes;
  if (!p->srcArray) p->srcPtr = c.src.ptr;
  if (!p->dstArray) p->dstPtr = c.dst.ptr;
  p->srcPos = pos3(c.src.x / elem, c.src.y, c.src.z);
  p->dstPos = pos3(c.dst.x / elem, c.dst.y, c.dst.z);
  p->extent = extent3(c.width / elem, c.height, c.depth);
  return Built::kOk;
}

// A device-side copy in bytes that are not whole elements: one of the 2D array copies, which
// count bytes as the runtime's 2D functions do. Pointer ends become the address of their first
// byte (device addresses: the runtime checks them).
cudaError_t copy_2d_bytes(const DeviceCopy& c, cudaArray_t src, cudaArray_t dst, bool async,
                          cudaStream_t s) {
  if (c.depth != 1 || c.src.z != 0 || c.dst.z != 0 || (!src && !dst))
    return cudaErrorInvalidValue;
  auto first = [](const End& e) {
    uintptr_t p = reinterpret_cast<uintptr_t>(e.ptr.ptr) + e.y * e.ptr.pitch + e.x;
    return reinterpret_cast<void*>(p);
  };
  const size_t w = static_cast<size_t>(c.width), h = static_cast<size_t>(c.height);
  const auto kind = cudaMemcpyDeviceToDevice;
  if (src && dst)  // (the runtime has no async form of this one)
    return cudaMemcpy2DArrayToArray(dst, c.dst.x, c.dst.y, src, c.src.x, c.src.y, w, h, kind);
  if (dst)
    return async ? cudaMemcpy2DToArrayAsync(dst, c.dst.x, c.dst.y, first(c.src), c.src.ptr.pitch,
                                            w, h, kind, s)
                 : cudaMemcpy2DToArray(dst, c.dst.x, c.dst.y, first(c.src), c.src.ptr.pitch, w,
                                       h, kind);
  return async ? cudaMemcpy2DFromArrayAsync(first(c.dst), c.dst.ptr.pitch, src, c.src.x, c.src.y,
                                            w, h, kind, s)
               : cudaMemcpy2DFromArray(first(c.dst), c.dst.ptr.pitch, src, c.src.x, c.src.y, w,
                                       h, kind);
}

void device_3d(CallContext& ctx, bool async) {
  DeviceCopy c = read_device_copy(ctx);
  uint64_t stream = async ? ctx.in.get<uint64_t>() : 0;
  ctx.in.expect_end();
  cudaStream_t s = nullptr;
  if (async && !stream_in(ctx, stream, &s)) return;
  cudaMemcpy3DParms p{};
  switch (build_device_copy(ctx, c, &p)) {
    case Built::kFailed:
      return;
    case Built::kBytes:
      ctx.status = copy_2d_bytes(c, p.srcArray, p.dstArray, async, s);
      return;
    case Built::kOk:
      break;
  }
  p.kind = cudaMemcpyDeviceToDevice;
  ctx.status = async ? cudaMemcpy3DAsync(&p, s) : cudaMemcpy3D(&p);
}

void device_3d_peer(CallContext& ctx, bool async) {
  DeviceCopy c = read_device_copy(ctx);
  int32_t src_dev = ctx.in.get<int32_t>();
  int32_t dst_dev = ctx.in.get<int32_t>();
  uint64_t stream = async ? ctx.in.get<uint64_t>() : 0;
  ctx.in.expect_end();
  cudaStream_t s = nullptr;
  if (async && !stream_in(ctx, stream, &s)) return;
  cudaMemcpy3DPeerParms p{};
  switch (build_device_copy(ctx, c, &p)) {
    case Built::kFailed:
      return;
    case Built::kBytes:  // the 3D API counts elements: never sent by an honest client
      ctx.status = cudaErrorInvalidValue;
      return;
    case Built::kOk:
      break;
  }
  p.srcDevice = src_dev;
  p.dstDevice = dst_dev;
  ctx.status = async ? cudaMemcpy3DPeerAsync(&p, s) : cudaMemcpy3DPeer(&p);
}

}  // namespace

bool array_in(CallContext& ctx, uint64_t id, cudaArray_t* out) {
  return handle_in_as(ctx, HandleKind::kArray, id, out);
}
bool array_in(CallContext& ctx, uint64_t id, cudaArray_const_t* out) {
  cudaArray_t a = nullptr;
  bool ok = handle_in_as(ctx, HandleKind::kArray, id, &a);
  *out = a;
  return ok;
}
uint64_t array_out(CallContext& ctx, cudaArray_t a) {
  return handle_out(ctx, HandleKind::kArray, a);
}
bool array_release(CallContext& ctx, uint64_t id, cudaArray_t* out) {
  return handle_release_as(ctx, HandleKind::kArray, id, out);
}
bool mipmapped_in(CallContext& ctx, uint64_t id, cudaMipmappedArray_t* out) {
  return handle_in_as(ctx, HandleKind::kMipmappedArray, id, out);
}
bool mipmapped_in(CallContext& ctx, uint64_t id, cudaMipmappedArray_const_t* out) {
  cudaMipmappedArray_t m = nullptr;
  bool ok = handle_in_as(ctx, HandleKind::kMipmappedArray, id, &m);
  *out = m;
  return ok;
}
uint64_t mipmapped_out(CallContext& ctx, cudaMipmappedArray_t m) {
  return handle_out(ctx, HandleKind::kMipmappedArray, m);
}
bool mipmapped_release(CallContext& ctx, uint64_t id, cudaMipmappedArray_t* out) {
  return handle_release_as(ctx, HandleKind::kMipmappedArray, id, out);
}

void handle_cudaMalloc3D(CallContext& ctx) {
  uint64_t w = ctx.in.get<uint64_t>();
  uint64_t h = ctx.in.get<uint64_t>();
  uint64_t d = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaPitchedPtr p{};
  ctx.status = cudaMalloc3D(&p, extent3(w, h, d));
  if (ctx.status == cudaSuccess && clear_new_memory()) {
    ctx.status = clear_allocation(p.ptr, p.pitch * p.ysize * static_cast<size_t>(d), nullptr,
                                  false);
    if (ctx.status != cudaSuccess) cudaFree(p.ptr);
  }
  // The session's GPU memory quota, once the pitch is known: over it, as on a full GPU.
  if (ctx.status == cudaSuccess &&
      !quota::allocated(reinterpret_cast<uintptr_t>(p.ptr),
                        uint64_t{p.pitch} * p.ysize * static_cast<uint64_t>(d))) {
    cudaFree(p.ptr);
    ctx.status = cudaErrorMemoryAllocation;
  }
  if (ctx.status != cudaSuccess) return;
  ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p.ptr));
  ctx.out.put<uint64_t>(p.pitch);
  ctx.out.put<uint64_t>(p.xsize);
  ctx.out.put<uint64_t>(p.ysize);
}

void handle_cudaMemcpy3D(CallContext& ctx) { device_3d(ctx, false); }
void handle_cudaMemcpy3DAsync(CallContext& ctx) { device_3d(ctx, true); }
void handle_cudaMemcpy3DPeer(CallContext& ctx) { device_3d_peer(ctx, false); }
void handle_cudaMemcpy3DPeerAsync(CallContext& ctx) { device_3d_peer(ctx, true); }

// Host-to-array chunk: the bytes (packed rows) are the rest of the payload.
void handle_gvArrayH2DChunk(CallContext& ctx) {
  ArrayChunk c = read_array_chunk(ctx);
  if (ctx.in.remaining() != c.bytes)
    throw SessionFault("host-to-array chunk announces " + std::to_string(c.bytes) +
                       " bytes but carries " + std::to_string(ctx.in.remaining()));
  const uint8_t* data = ctx.in.get_bytes(c.bytes);
  cudaArray_t a = nullptr;
  cudaStream_t s = nullptr;
  if (!array_in(ctx, c.array, &a) || !stream_in(ctx, c.stream, &s)) return;
  if (!a) {  // a NULL array: the runtime's own answer
    ctx.status = cudaMemcpy2DToArray(nullptr, 0, 0, data, c.width, c.width, c.rows,
                                     cudaMemcpyHostToDevice);
    return;
  }
  ArrayShape shape;
  cudaMemcpy3DParms p{};
  bool aligned = false;
  cudaError_t e = array_shape(a, &shape);
  if (e == cudaSuccess) e = place_chunk(c, shape, &aligned, &p.dstPos, &p.extent);
  if (e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  if (!aligned) {
    e = c.stream ? cudaMemcpy2DToArrayAsync(a, c.x, c.y, data, c.width, c.width, c.rows,
                                            cudaMemcpyHostToDevice, s)
                 : cudaMemcpy2DToArray(a, c.x, c.y, data, c.width, c.width, c.rows,
                                       cudaMemcpyHostToDevice);
    ctx.status = settle(e, c.stream, s);
    return;
  }
  p.srcPtr = pitched(const_cast<uint8_t*>(data), c.width, c.width, c.rows);
  p.dstArray = a;
  p.kind = cudaMemcpyHostToDevice;
  ctx.status = run_3d(p, c.stream, s);
}

// Array-to-host chunk: packed rows into the connection's device-to-host buffer, sent as the
// reply's data.
void handle_gvArrayD2HChunk(CallContext& ctx) {
  ArrayChunk c = read_array_chunk(ctx);
  ctx.in.expect_end();
  cudaArray_t a = nullptr;
  cudaStream_t s = nullptr;
  if (!array_in(ctx, c.array, &a) || !stream_in(ctx, c.stream, &s)) return;
  uint8_t* buf = ctx.conn.d2h_buffer(c.bytes);
  if (!buf) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  if (!a) {  // a NULL array: the runtime's own answer
    ctx.status = cudaMemcpy2DFromArray(buf, c.width, nullptr, 0, 0, c.width, c.rows,
                                       cudaMemcpyDeviceToHost);
    return;
  }
  ArrayShape shape;
  cudaMemcpy3DParms p{};
  bool aligned = false;
  cudaError_t e = array_shape(a, &shape);
  if (e == cudaSuccess) e = place_chunk(c, shape, &aligned, &p.srcPos, &p.extent);
  if (e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  if (aligned) {
    p.srcArray = a;
    p.dstPtr = pitched(buf, c.width, c.width, c.rows);
    p.kind = cudaMemcpyDeviceToHost;
    ctx.status = run_3d(p, c.stream, s);
  } else {
    e = c.stream ? cudaMemcpy2DFromArrayAsync(buf, c.width, a, c.x, c.y, c.width, c.rows,
                                              cudaMemcpyDeviceToHost, s)
                 : cudaMemcpy2DFromArray(buf, c.width, a, c.x, c.y, c.width, c.rows,
                                         cudaMemcpyDeviceToHost);
    ctx.status = settle(e, c.stream, s);
  }
  if (ctx.status == cudaSuccess) {
    ctx.bulk = buf;
    ctx.bulk_len = c.bytes;
  }
}

}  // namespace gvirtus::backend::cudart
