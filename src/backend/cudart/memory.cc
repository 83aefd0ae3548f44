// Hand-written cudart handlers: device allocation and copies. The client side is
// src/frontend/cudart/device_memory.cc and memcpy.cc; payloads are in docs/frontend.md.
//
// Device pointers arrive as raw 64-bit values and go to the real runtime with an explicit
// device-side kind, so a forged one can only make the runtime fail (or hurt this session's own
// worker). Host-side pointers are always this worker's own buffers: the request payload or the
// connection's device-to-host buffer.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "backend/cudart/clearing.h"
#include "backend/cudart/copy_overlap.h"
#include "backend/cudart/support.h"
#include "backend/quota_calls.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

// A chunk of a host<->device copy: `rows` rows of `width` bytes, device rows `pitch` apart.
struct Chunk {
  uint64_t dev = 0;
  uint64_t pitch = 0;
  uint64_t width = 0;
  uint64_t rows = 0;
  uint64_t stream = 0;
  uint64_t bytes = 0;  // width * rows
};

Chunk read_chunk(CallContext& ctx) {
  Chunk c;
  c.dev = ctx.in.get<uint64_t>();
  c.pitch = ctx.in.get<uint64_t>();
  c.width = ctx.in.get<uint64_t>();
  c.rows = ctx.in.get<uint64_t>();
  c.stream = ctx.in.get<uint64_t>();
  if (c.width == 0 || c.rows == 0 || c.width > wire::kMaxPayload || c.rows > wire::kMaxPayload)
    throw SessionFault("copy chunk of " + std::to_string(c.rows) + " rows of " +
                       std::to_string(c.width) + " bytes");
  c.bytes = c.width * c.rows;  // both <= 2^26: no overflow
  if (c.bytes > wire::kMaxPayload)
    throw SessionFault("copy chunk of " + std::to_string(c.bytes) +
                       " bytes is over the frame limit");
  if (c.rows > 1) {
    if (c.pitch < c.width)
      throw SessionFault("copy chunk with pitch " + std::to_string(c.pitch) + " below its width " +
                         std::to_string(c.width));
    if (c.pitch > (UINT64_MAX - c.width) / (c.rows - 1))
      throw SessionFault("copy chunk whose rows wrap around the address space");
  }
  return c;
}

}  // namespace

// Host<->device copies on a stream go through this connection's staging buffers, which the next
// request reuses: captured into a graph, such a copy would replay whatever the buffer holds
// then. So a capturing stream gets what CUDA gives for an operation it cannot capture:
// cudaErrorStreamCaptureUnsupported, and the capture invalidated (a synchronisation of the
// capturing stream does both). Never a silently wrong graph. docs/callbacks.md.
cudaError_t refuse_capture(cudaStream_t s) {
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  cudaError_t e = cudaStreamIsCapturing(s, &cs);
  if (e != cudaSuccess) return e;
  if (cs == cudaStreamCaptureStatusActive) {
    cudaStreamSynchronize(s);  // invalidates the capture
    return cudaErrorStreamCaptureUnsupported;
  }
  if (cs == cudaStreamCaptureStatusInvalidated) return cudaErrorStreamCaptureInvalidated;
  return cudaSuccess;
}

namespace {

// Waits for the stream the copy was enqueued on (the host side buffer is reused as soon as the
// handler returns; stream 0 is the legacy stream, as the synchronous copy would use). Once the
// copy is enqueued the request gives its place in the session-wide order up: other client
// threads go on while it waits, as natively (a host callback ahead of it on the stream may
// wait for one of them).
cudaError_t settle(CallContext& ctx, cudaError_t e, cudaStream_t s) {
  if (e != cudaSuccess) return e;
  release_order(ctx);
  return cudaStreamSynchronize(s);
}

// A synchronous copy from pageable memory (kFlagPageableSource) of at most this many bytes on
// the legacy stream is one cudaMemcpy from the request's own bytes, which a request this small
// has in the connection's ordinary (pageable) buffer (kSmallPayload): CUDA then returns once the
// bytes are staged, the DMA possibly still running, as it does for the application natively.
// About 0.8 us sooner than enqueueing and waiting for the stream (H100,
// gvirtus-bench-worker-paths: copy_h2d_memcpy_pageable_us against async_pageable_sync_us).
constexpr uint64_t kStagedCopyMax = 4096;
static_assert(kStagedCopyMax + 5 * sizeof(uint64_t) <= kSmallPayload,
              "a staged copy's request must arrive in the connection's pageable buffer");

cudaError_t copy_from_pageable(CallContext& ctx, uint64_t dev, const uint8_t* data, size_t n) {
  // cudaMemcpy first waits for the legacy stream, as settle() does, so the order is given up
  // before it: only requests other client threads sent while this synchronous copy was under
  // way may now be enqueued ahead of it, as they may natively.
  release_order(ctx);
  return cudaMemcpy(dptr(dev), data, n, cudaMemcpyHostToDevice);
}

}  // namespace

void handle_cudaMalloc(CallContext& ctx) {
  uint64_t size = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  void* p = nullptr;
  if (!quota::room_for(size)) {  // the session's GPU memory quota: as on a full GPU
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ctx.status = cudaMalloc(&p, static_cast<size_t>(size));
  if (ctx.status == cudaSuccess && clear_new_memory()) {
    ctx.status = clear_allocation(p, static_cast<size_t>(size), nullptr, false);
    if (ctx.status != cudaSuccess) cudaFree(p);
  }
  if (ctx.status == cudaSuccess && !quota::allocated(reinterpret_cast<uintptr_t>(p), size)) {
    cudaFree(p);
    ctx.status = cudaErrorMemoryAllocation;
  }
  if (ctx.status == cudaSuccess) ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

void handle_cudaMallocPitch(CallContext& ctx) {
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  void* p = nullptr;
  size_t pitch = 0;
  ctx.status = cudaMallocPitch(&p, &pitch, static_cast<size_t>(width), static_cast<size_t>(height));
  if (ctx.status == cudaSuccess && clear_new_memory()) {
    ctx.status = clear_allocation(p, pitch * static_cast<size_t>(height), nullptr, false);
    if (ctx.status != cudaSuccess) cudaFree(p);
  }
  // Charged once the pitch is known (the session's GPU memory quota: over it, as on a full GPU).
  if (ctx.status == cudaSuccess &&
      !quota::allocated(reinterpret_cast<uintptr_t>(p), uint64_t{pitch} * height)) {
    cudaFree(p);
    ctx.status = cudaErrorMemoryAllocation;
  }
  if (ctx.status == cudaSuccess) {
    ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p));
    ctx.out.put<uint64_t>(pitch);
  }
}

void handle_cudaFree(CallContext& ctx) {
  uint64_t p = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  ctx.status = cudaFree(dptr(p));
  if (ctx.status == cudaSuccess) quota::freed(p);
}

// Device-to-device copies only: host<->device data travels in gvMemcpy*Chunk requests.
void handle_cudaMemcpy(CallContext& ctx) {
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t count = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  ctx.status =
      cudaMemcpy(dptr(dst), dptr(src), static_cast<size_t>(count), cudaMemcpyDeviceToDevice);
}

void handle_cudaMemcpyAsync(CallContext& ctx) {
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t count = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  ctx.status = cudaMemcpyAsync(dptr(dst), dptr(src), static_cast<size_t>(count),
                               cudaMemcpyDeviceToDevice, s);
}

void handle_cudaMemcpy2D(CallContext& ctx) {
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t dpitch = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t spitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  ctx.status = cudaMemcpy2D(dptr(dst), static_cast<size_t>(dpitch), dptr(src),
                            static_cast<size_t>(spitch), static_cast<size_t>(width),
                            static_cast<size_t>(height), cudaMemcpyDeviceToDevice);
}

void handle_cudaMemcpy2DAsync(CallContext& ctx) {
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t dpitch = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t spitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  ctx.status = cudaMemcpy2DAsync(dptr(dst), static_cast<size_t>(dpitch), dptr(src),
                                 static_cast<size_t>(spitch), static_cast<size_t>(width),
                                 static_cast<size_t>(height), cudaMemcpyDeviceToDevice, s);
}

// One chunk of a host-to-device copy; its bytes are the rest of the payload, which the worker
// has already read into the connection's buffer (page-locked staging for a large chunk, ordinary
// memory for one of at most kSmallPayload). It is enqueued on its
// stream (0: the legacy stream, as the synchronous cudaMemcpy) and then waited for, since the
// staging buffer is reused by the next request; except a NoReply chunk of a synchronous copy,
// whose buffer is kept until its DMA is done while the next chunk arrives in another
// (copy_overlap.h: the last chunk, with the reply, waits for the stream), and a small
// synchronous one from pageable memory (copy_from_pageable).
void handle_gvMemcpyH2DChunk(CallContext& ctx) {
  Chunk c = read_chunk(ctx);
  if (ctx.in.remaining() != c.bytes)
    throw SessionFault("host-to-device chunk announces " + std::to_string(c.bytes) +
                       " bytes but carries " + std::to_string(ctx.in.remaining()));
  const uint8_t* data = ctx.in.get_bytes(c.bytes);
  cudaStream_t s;
  if (!stream_in(ctx, c.stream, &s)) return;
  const bool on_stream = c.stream != 0;
  if (!on_stream && c.rows == 1 && c.bytes <= kStagedCopyMax &&
      (ctx.header.flags & (wire::kFlagPageableSource | wire::kFlagNoReply)) ==
          wire::kFlagPageableSource) {
    ctx.status = copy_from_pageable(ctx, c.dev, data, c.bytes);
    return;
  }
  if (on_stream && (ctx.status = refuse_capture(s)) != cudaSuccess) return;
  cudaError_t e;
  if (c.rows == 1) {
    e = cudaMemcpyAsync(dptr(c.dev), data, c.width, cudaMemcpyHostToDevice, s);
  } else {
    e = cudaMemcpy2DAsync(dptr(c.dev), c.pitch, data, c.width, c.width, c.rows,
                          cudaMemcpyHostToDevice, s);
  }
  cudaError_t overlapped = cudaSuccess;
  if (e == cudaSuccess && !on_stream && (ctx.header.flags & wire::kFlagNoReply) &&
      overlap_chunk(ctx, s, &overlapped)) {
    ctx.status = overlapped;
    return;
  }
  ctx.status = settle(ctx, e, s);
}

// One chunk of a device-to-host copy: copied into the connection's device-to-host buffer,
// which the reply then carries (packed rows, width * rows bytes).
void handle_gvMemcpyD2HChunk(CallContext& ctx) {
  Chunk c = read_chunk(ctx);
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, c.stream, &s)) return;
  uint8_t* buf = ctx.conn.d2h_buffer(c.bytes);
  if (!buf) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  const bool on_stream = c.stream != 0;
  if (on_stream && (ctx.status = refuse_capture(s)) != cudaSuccess) return;
  cudaError_t e;
  if (c.rows == 1) {
    e = cudaMemcpyAsync(buf, dptr(c.dev), c.width, cudaMemcpyDeviceToHost, s);
  } else {
    e = cudaMemcpy2DAsync(buf, c.width, dptr(c.dev), c.pitch, c.width, c.rows,
                          cudaMemcpyDeviceToHost, s);
  }
  ctx.status = settle(ctx, e, s);
  if (ctx.status == cudaSuccess) {
    ctx.bulk = buf;
    ctx.bulk_len = c.bytes;
  }
}

}  // namespace gvirtus::backend::cudart
