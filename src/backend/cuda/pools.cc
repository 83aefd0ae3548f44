// The driver's stream-ordered allocation and memory pools, the hand-written part (api/cuda.api
// 4000-4099; the plain calls are generated). Client side: src/frontend/cuda/pools.cc; payloads
// in docs/driver.md. Pools are the runtime's kMemPool ids (cuda/objects.h). New memory is
// cleared as the runtime's cudaMallocAsync clears it (cudart/clearing.h).
//
// Wire: cuMemAllocAsync(_ptsz)          u64 bytes, u64 stream            reply u64 dptr
//       cuMemAllocFromPoolAsync(_ptsz)  u64 bytes, u64 pool, u64 stream  reply u64 dptr
//       cuMemPoolCreate                 CUmemPoolProps                   reply u64 pool
//       cuMemPoolSetAttribute           u64 pool, i32 attr, value (pool_attr_bytes(attr) bytes)
//       cuMemPoolGetAttribute           u64 pool, i32 attr               reply value bytes
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "backend/cuda/objects.h"
#include "backend/cuda/support.h"
#include "backend/cudart/clearing.h"
#include "backend/worker.h"
#include "common/pool_attrs.h"

namespace gvirtus::backend::cuda {

namespace {

// Allocates through the real function `alloc` (one of the four forms), clears, replies.
template <typename Alloc>
void allocate(CallContext& ctx, uint64_t bytes, CUstream s, bool per_thread, Alloc alloc) {
  CUdeviceptr p = 0;
  ctx.status = alloc(&p);
  if (ctx.status != CUDA_SUCCESS) return;
  if (cudart::clear_new_memory()) {
    cudaStream_t cs = s ? reinterpret_cast<cudaStream_t>(s)
                        : (per_thread ? cudaStreamPerThread : nullptr);
    cudaError_t e = cudart::clear_allocation(reinterpret_cast<void*>(static_cast<uintptr_t>(p)),
                                             static_cast<size_t>(bytes), cs, true);
    if (e != cudaSuccess) {
      if (auto f = real<decltype(&::cuMemFreeAsync)>(ctx, "cuMemFreeAsync")) f(p, s);
      ctx.status = e;
      return;
    }
  }
  ctx.out.put<uint64_t>(p);
}

void alloc_async(CallContext& ctx, const char* name, bool per_thread) {
  uint64_t bytes = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUstream s;
  if (!stream_in(ctx, stream, &s)) return;
  auto f = real<decltype(&::cuMemAllocAsync)>(ctx, name);
  if (!f) return;
  allocate(ctx, bytes, s, per_thread,
           [&](CUdeviceptr* p) { return f(p, static_cast<size_t>(bytes), s); });
}

void alloc_from_pool(CallContext& ctx, const char* name, bool per_thread) {
  uint64_t bytes = ctx.in.get<uint64_t>();
  uint64_t pool = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUmemoryPool mp;
  CUstream s;
  if (!mempool_in(ctx, pool, &mp) || !stream_in(ctx, stream, &s)) return;
  auto f = real<decltype(&::cuMemAllocFromPoolAsync)>(ctx, name);
  if (!f) return;
  allocate(ctx, bytes, s, per_thread,
           [&](CUdeviceptr* p) { return f(p, static_cast<size_t>(bytes), mp, s); });
}

size_t attr_bytes(int32_t attr) {
  // CUmemPool_attribute and cudaMemPoolAttr have the same values.
  size_t n = pool_attr_bytes(attr);
  if (n == 0) throw SessionFault("memory pool attribute " + std::to_string(attr));
  return n;
}

}  // namespace

void handle_cuMemAllocAsync(CallContext& ctx) { alloc_async(ctx, "cuMemAllocAsync", false); }
void handle_cuMemAllocAsync_ptsz(CallContext& ctx) {
  alloc_async(ctx, "cuMemAllocAsync_ptsz", true);
}
void handle_cuMemAllocFromPoolAsync(CallContext& ctx) {
  alloc_from_pool(ctx, "cuMemAllocFromPoolAsync", false);
}
void handle_cuMemAllocFromPoolAsync_ptsz(CallContext& ctx) {
  alloc_from_pool(ctx, "cuMemAllocFromPoolAsync_ptsz", true);
}

void handle_cuMemPoolCreate(CallContext& ctx) {
  CUmemPoolProps props = ctx.in.get<CUmemPoolProps>();
  ctx.in.expect_end();
  // A Windows security descriptor is a pointer into the client's memory; CUDA requires NULL
  // everywhere else.
  if (props.win32SecurityAttributes != nullptr) {
    ctx.status = CUDA_ERROR_INVALID_VALUE;
    return;
  }
  auto f = real<decltype(&::cuMemPoolCreate)>(ctx, "cuMemPoolCreate");
  if (!f) return;
  CUmemoryPool pool = nullptr;
  ctx.status = f(&pool, &props);
  if (ctx.status == CUDA_SUCCESS) ctx.out.put<uint64_t>(mempool_out(ctx, pool));
}

void handle_cuMemPoolSetAttribute(CallContext& ctx) {
  uint64_t pool = ctx.in.get<uint64_t>();
  int32_t attr = ctx.in.get<int32_t>();
  size_t n = attr_bytes(attr);
  uint64_t value = 0;
  std::memcpy(&value, ctx.in.get_bytes(static_cast<uint32_t>(n)), n);
  ctx.in.expect_end();
  CUmemoryPool mp;
  if (!mempool_in(ctx, pool, &mp)) return;
  auto f = real<decltype(&::cuMemPoolSetAttribute)>(ctx, "cuMemPoolSetAttribute");
  if (!f) return;
  ctx.status = f(mp, static_cast<CUmemPool_attribute>(attr), &value);
}

void handle_cuMemPoolGetAttribute(CallContext& ctx) {
  uint64_t pool = ctx.in.get<uint64_t>();
  int32_t attr = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  size_t n = attr_bytes(attr);
  CUmemoryPool mp;
  if (!mempool_in(ctx, pool, &mp)) return;
  auto f = real<decltype(&::cuMemPoolGetAttribute)>(ctx, "cuMemPoolGetAttribute");
  if (!f) return;
  uint64_t value = 0;
  ctx.status = f(mp, static_cast<CUmemPool_attribute>(attr), &value);
  if (ctx.status == CUDA_SUCCESS) ctx.out.put_bytes(&value, static_cast<uint32_t>(n));
}

}  // namespace gvirtus::backend::cuda
