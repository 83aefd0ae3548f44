// The driver's stream-ordered allocation and memory pools, the hand-written part: allocations
// are recorded as device memory (as cuMemAlloc's are: cuMemcpy and the runtime's
// cudaMemcpyDefault know them; cuMemFreeAsync, generated, forgets them), pool creation and pool
// attributes. Wire: src/backend/cuda/pools.cc.
#include <cstring>

#include "common/pool_attrs.h"
#include "frontend/cuda/local.h"
#include "frontend/cudart/glue.h"

namespace gvirtus::cuda {
namespace {

CUresult alloc_async(Call call, CUdeviceptr* dptr, size_t bytes, const CUmemoryPool* pool,
                     CUstream s) {
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  client::Call c(id(call));
  c.args().put<uint64_t>(bytes);
  if (pool) c.args().put<uint64_t>(to_wire(*pool));
  c.args().put<uint64_t>(to_wire(s));
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  const uint64_t p = c.result().get<uint64_t>();
  c.result().expect_end();
  cudart::track_device_allocation(p, bytes);
  *dptr = p;
  return CUDA_SUCCESS;
}

// Bytes of a pool attribute's value (the runtime's and the driver's attributes have the same
// numbers). cuda.h has no other attribute, so one this build does not know is no attribute at
// all: CUDA_ERROR_INVALID_VALUE, as the driver answers (seen on the GPU machine), before
// anything is sent.
CUresult attr_bytes(CUmemPool_attribute attr, size_t* n) {
  *n = pool_attr_bytes(attr);
  return *n == 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

extern "C" CUresult cuMemAllocAsync_ptsz(CUdeviceptr*, size_t, CUstream);
extern "C" CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr*, size_t, CUmemoryPool, CUstream);

GV_EXPORT CUresult cuMemAllocAsync(CUdeviceptr* dptr, size_t bytes, CUstream s) {
  return guarded("cuMemAllocAsync", [&] {
    return alloc_async(Call::kCall_cuMemAllocAsync, dptr, bytes, nullptr, s);
  });
}
GV_EXPORT CUresult cuMemAllocAsync_ptsz(CUdeviceptr* dptr, size_t bytes, CUstream s) {
  return guarded("cuMemAllocAsync_ptsz", [&] {
    return alloc_async(Call::kCall_cuMemAllocAsync_ptsz, dptr, bytes, nullptr, s);
  });
}
GV_EXPORT CUresult cuMemAllocFromPoolAsync(CUdeviceptr* dptr, size_t bytes, CUmemoryPool pool,
                                           CUstream s) {
  return guarded("cuMemAllocFromPoolAsync", [&] {
    return alloc_async(Call::kCall_cuMemAllocFromPoolAsync, dptr, bytes, &pool, s);
  });
}
GV_EXPORT CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* dptr, size_t bytes,
                                                CUmemoryPool pool, CUstream s) {
  return guarded("cuMemAllocFromPoolAsync_ptsz", [&] {
    return alloc_async(Call::kCall_cuMemAllocFromPoolAsync_ptsz, dptr, bytes, &pool, s);
  });
}

GV_EXPORT CUresult cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* props) {
  return guarded("cuMemPoolCreate", [&]() -> CUresult {
    if (!pool || !props) return CUDA_ERROR_INVALID_VALUE;
    // A Windows security descriptor points into this process: NULL everywhere else.
    if (props->win32SecurityAttributes) return CUDA_ERROR_INVALID_VALUE;
    client::Call c(id(Call::kCall_cuMemPoolCreate));
    c.args().put<CUmemPoolProps>(*props);
    if (!c.invoke()) return lost();
    CUresult e = finish(c);
    if (e != CUDA_SUCCESS) return e;
    const uint64_t p = c.result().get<uint64_t>();
    c.result().expect_end();
    *pool = from_wire<CUmemoryPool>(p);
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr,
                                         void* value) {
  return guarded("cuMemPoolSetAttribute", [&]() -> CUresult {
    if (!value) return CUDA_ERROR_INVALID_VALUE;
    size_t n = 0;
    CUresult e = attr_bytes(attr, &n);
    if (e != CUDA_SUCCESS) return e;
    client::Call c(id(Call::kCall_cuMemPoolSetAttribute));
    c.args().put<uint64_t>(to_wire(pool));
    c.args().put<int32_t>(static_cast<int32_t>(attr));
    c.args().put_bytes(value, n);
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == CUDA_SUCCESS) c.result().expect_end();
    return e;
  });
}

GV_EXPORT CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr,
                                         void* value) {
  return guarded("cuMemPoolGetAttribute", [&]() -> CUresult {
    if (!value) return CUDA_ERROR_INVALID_VALUE;
    size_t n = 0;
    CUresult e = attr_bytes(attr, &n);
    if (e != CUDA_SUCCESS) return e;
    client::Call c(id(Call::kCall_cuMemPoolGetAttribute));
    c.args().put<uint64_t>(to_wire(pool));
    c.args().put<int32_t>(static_cast<int32_t>(attr));
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e != CUDA_SUCCESS) return e;
    std::memcpy(value, c.result().get_bytes(n), n);
    c.result().expect_end();
    return CUDA_SUCCESS;
  });
}
