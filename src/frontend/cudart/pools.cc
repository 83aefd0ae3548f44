// Stream-ordered allocation and memory pools, the calls the generator cannot express: the
// allocations are tracked as device ranges (cudaMemcpyDefault), and a pool attribute's value is
// an int or a cuuint64_t depending on the attribute.
//
// Wire: cudaMallocAsync          u64 size, u64 stream               reply u64 ptr
//       cudaMallocFromPoolAsync  u64 size, u64 pool, u64 stream     reply u64 ptr
//       cudaFreeAsync            u64 ptr, u64 stream                reply -
//       cudaMemPoolCreate        cudaMemPoolProps (its bytes)       reply u64 pool
//       cudaMemPoolSetAttribute  u64 pool, i32 attr, value (4 or 8 bytes)   reply -
//       cudaMemPoolGetAttribute  u64 pool, i32 attr                 reply value (4 or 8 bytes)
#include <cstring>

#include "common/pool_attrs.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

cudaStream_t per_thread(cudaStream_t s) { return s ? s : cudaStreamPerThread; }

cudaError_t malloc_async(void** ptr, size_t size, bool from_pool, cudaMemPool_t pool,
                         cudaStream_t stream) {
  if (!ptr) return argument_error(cudaErrorInvalidValue);
  client::Call c(from_pool ? id(Call::kCall_cudaMallocFromPoolAsync)
                           : id(Call::kCall_cudaMallocAsync));
  c.args().put<uint64_t>(size);
  if (from_pool) c.args().put<uint64_t>(to_wire(pool));
  c.args().put<uint64_t>(to_wire(stream));
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  uint64_t p = c.result().get<uint64_t>();
  c.result().expect_end();
  if (p) track_device_allocation(p, size);
  *ptr = from_wire<void*>(p);
  return cudaSuccess;
}

cudaError_t free_async(void* ptr, cudaStream_t stream) {
  if (ptr && managed::refuses_free(ptr)) return argument_error(cudaErrorInvalidValue);
  // Managed memory goes with its mirror, as cudaFree's does: once the stream's earlier work is
  // done (the host waits for it here), both copies are freed.
  if (ptr && managed::owns(ptr, managed::Kind::kManaged)) {
    const cudaError_t e = cudaStreamSynchronize(stream);
    return e == cudaSuccess ? managed::release(ptr) : e;
  }
  free_begins(to_wire(ptr));
  client::Call c(id(Call::kCall_cudaFreeAsync));
  c.args().put<uint64_t>(to_wire(ptr));
  c.args().put<uint64_t>(to_wire(stream));
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e == cudaSuccess) free_done(); else free_failed();
  return e;
}

}  // namespace

GV_EXPORT cudaError_t cudaMallocAsync(void** devPtr, size_t size, cudaStream_t hStream) {
  return guarded("cudaMallocAsync",
                 [&] { return malloc_async(devPtr, size, false, nullptr, hStream); });
}

GV_EXPORT cudaError_t cudaMallocAsync_ptsz(void** devPtr, size_t size, cudaStream_t hStream) {
  return guarded("cudaMallocAsync_ptsz",
                 [&] { return malloc_async(devPtr, size, false, nullptr, per_thread(hStream)); });
}

GV_EXPORT cudaError_t cudaMallocFromPoolAsync(void** ptr, size_t size, cudaMemPool_t memPool,
                                              cudaStream_t stream) {
  return guarded("cudaMallocFromPoolAsync",
                 [&] { return malloc_async(ptr, size, true, memPool, stream); });
}

GV_EXPORT cudaError_t cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t memPool,
                                                   cudaStream_t stream) {
  return guarded("cudaMallocFromPoolAsync_ptsz",
                 [&] { return malloc_async(ptr, size, true, memPool, per_thread(stream)); });
}

GV_EXPORT cudaError_t cudaFreeAsync(void* devPtr, cudaStream_t hStream) {
  return guarded("cudaFreeAsync", [&] { return free_async(devPtr, hStream); });
}

GV_EXPORT cudaError_t cudaFreeAsync_ptsz(void* devPtr, cudaStream_t hStream) {
  return guarded("cudaFreeAsync_ptsz", [&] { return free_async(devPtr, per_thread(hStream)); });
}

GV_EXPORT cudaError_t cudaMemPoolCreate(cudaMemPool_t* memPool, const cudaMemPoolProps* poolProps) {
  return guarded("cudaMemPoolCreate", [&] {
    if (!memPool || !poolProps) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMemPoolCreate));
    c.args().put<cudaMemPoolProps>(*poolProps);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    uint64_t p = c.result().get<uint64_t>();
    c.result().expect_end();
    *memPool = from_wire<cudaMemPool_t>(p);
    return cudaSuccess;
  });
}

GV_EXPORT cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr,
                                              void* value) {
  return guarded("cudaMemPoolSetAttribute", [&] {
    size_t n = pool_attr_bytes(attr);
    if (!value || n == 0) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMemPoolSetAttribute));
    c.args().put<uint64_t>(to_wire(memPool));
    c.args().put<int32_t>(static_cast<int32_t>(attr));
    c.args().put_bytes(value, n);
    if (!c.invoke()) return lost();
    return finish(c);
  });
}

GV_EXPORT cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr,
                                              void* value) {
  return guarded("cudaMemPoolGetAttribute", [&] {
    size_t n = pool_attr_bytes(attr);
    if (!value || n == 0) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMemPoolGetAttribute));
    c.args().put<uint64_t>(to_wire(memPool));
    c.args().put<int32_t>(static_cast<int32_t>(attr));
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    std::memcpy(value, c.result().get_bytes(n), n);
    c.result().expect_end();
    return cudaSuccess;
  });
}
