// Stream-ordered allocation and memory pools, the hand-written part (the rest is generated:
// api/cudart.api 1700-1749). Client side: src/frontend/cudart/pools.cc. Pools are handles of
// kind kMemPool (cudart/graphs.h); device pointers travel as raw values.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "backend/cudart/clearing.h"
#include "backend/cudart/graphs.h"
#include "backend/cudart/support.h"
#include "backend/quota_calls.h"
#include "common/pool_attrs.h"

namespace gvirtus::backend::cudart {

namespace {

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

}  // namespace

void handle_cudaMallocAsync(CallContext& ctx) {
  uint64_t size = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  void* p = nullptr;
  if (!quota::room_for(size)) {  // the session's GPU memory quota: as on a full GPU
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ctx.status = cudaMallocAsync(&p, static_cast<size_t>(size), s);
  if (ctx.status == cudaSuccess && clear_new_memory()) {
    ctx.status = clear_allocation(p, static_cast<size_t>(size), s, true);
    if (ctx.status != cudaSuccess) cudaFreeAsync(p, s);
  }
  if (ctx.status == cudaSuccess && !quota::allocated(reinterpret_cast<uintptr_t>(p), size)) {
    cudaFreeAsync(p, s);
    ctx.status = cudaErrorMemoryAllocation;
  }
  if (ctx.status == cudaSuccess) ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

void handle_cudaMallocFromPoolAsync(CallContext& ctx) {
  uint64_t size = ctx.in.get<uint64_t>();
  uint64_t pool = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaMemPool_t mp;
  cudaStream_t s;
  if (!mempool_in(ctx, pool, &mp) || !stream_in(ctx, stream, &s)) return;
  void* p = nullptr;
  if (!quota::room_for(size)) {  // the session's GPU memory quota: as on a full GPU
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ctx.status = cudaMallocFromPoolAsync(&p, static_cast<size_t>(size), mp, s);
  if (ctx.status == cudaSuccess && clear_new_memory()) {
    ctx.status = clear_allocation(p, static_cast<size_t>(size), s, true);
    if (ctx.status != cudaSuccess) cudaFreeAsync(p, s);
  }
  if (ctx.status == cudaSuccess && !quota::allocated(reinterpret_cast<uintptr_t>(p), size)) {
    cudaFreeAsync(p, s);
    ctx.status = cudaErrorMemoryAllocation;
  }
  if (ctx.status == cudaSuccess) ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

void handle_cudaFreeAsync(CallContext& ctx) {
  uint64_t ptr = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  ctx.status = cudaFreeAsync(dptr(ptr), s);
  // Given back when the free is enqueued: the client can allocate again at once, as from the
  // pool natively (docs/security.md, "GPU memory quota", on pools).
  if (ctx.status == cudaSuccess) quota::freed(ptr);
}

void handle_cudaMemPoolCreate(CallContext& ctx) {
  cudaMemPoolProps props = ctx.in.get<cudaMemPoolProps>();
  ctx.in.expect_end();
  // A Windows security descriptor is a pointer into the client's memory; CUDA requires it to
  // be NULL everywhere else.
  if (props.win32SecurityAttributes != nullptr) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  cudaMemPool_t pool = nullptr;
  ctx.status = cudaMemPoolCreate(&pool, &props);
  if (ctx.status == cudaSuccess) ctx.out.put<uint64_t>(mempool_out(ctx, pool));
}

void handle_cudaMemPoolSetAttribute(CallContext& ctx) {
  uint64_t pool = ctx.in.get<uint64_t>();
  int32_t attr = ctx.in.get<int32_t>();
  size_t n = pool_attr_bytes(attr);
  if (n == 0) throw SessionFault("memory pool attribute " + std::to_string(attr));
  uint64_t value = 0;
  std::memcpy(&value, ctx.in.get_bytes(n), n);
  ctx.in.expect_end();
  cudaMemPool_t mp;
  if (!mempool_in(ctx, pool, &mp)) return;
  ctx.status = cudaMemPoolSetAttribute(mp, static_cast<cudaMemPoolAttr>(attr), &value);
}

void handle_cudaMemPoolGetAttribute(CallContext& ctx) {
  uint64_t pool = ctx.in.get<uint64_t>();
  int32_t attr = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  size_t n = pool_attr_bytes(attr);
  if (n == 0) throw SessionFault("memory pool attribute " + std::to_string(attr));
  cudaMemPool_t mp;
  if (!mempool_in(ctx, pool, &mp)) return;
  uint64_t value = 0;
  ctx.status = cudaMemPoolGetAttribute(mp, static_cast<cudaMemPoolAttr>(attr), &value);
  if (ctx.status == cudaSuccess) ctx.out.put_bytes(&value, n);
}

}  // namespace gvirtus::backend::cudart
