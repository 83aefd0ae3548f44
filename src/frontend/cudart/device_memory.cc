// cudaMalloc, cudaMallocPitch, cudaFree: forwarded; the frontend remembers the ranges it was
// given so that cudaMemcpyDefault can tell device pointers from host ones.
//
// Wire (hand-written calls, see docs/frontend.md):
//   cudaMalloc       request u64 size                 reply u64 ptr
//   cudaMallocPitch  request u64 width, u64 height    reply u64 ptr, u64 pitch
//   cudaFree         request u64 ptr                  reply -
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaMalloc(void** devPtr, size_t size) {
  return guarded("cudaMalloc", [&] {
    if (!devPtr) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMalloc));
    c.args().put<uint64_t>(size);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    uint64_t p = c.result().get<uint64_t>();
    c.result().expect_end();
    track_device_allocation(p, size);
    *devPtr = from_wire<void*>(p);
    return cudaSuccess;
  });
}

GV_EXPORT cudaError_t cudaMallocPitch(void** devPtr, size_t* pitch, size_t width, size_t height) {
  return guarded("cudaMallocPitch", [&] {
    if (!devPtr || !pitch) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaMallocPitch));
    c.args().put<uint64_t>(width);
    c.args().put<uint64_t>(height);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    uint64_t p = c.result().get<uint64_t>();
    uint64_t pt = c.result().get<uint64_t>();
    c.result().expect_end();
    if (height == 0 || pt <= UINT64_MAX / height) track_device_allocation(p, pt * height);
    *devPtr = from_wire<void*>(p);
    *pitch = static_cast<size_t>(pt);
    return cudaSuccess;
  });
}

GV_EXPORT cudaError_t cudaFree(void* devPtr) {
  return guarded("cudaFree", [&] {
    if (devPtr && managed::owns(devPtr, managed::Kind::kManaged)) return managed::release(devPtr);
    // Inside mapped host memory or a managed allocation (not at its start): natively refused;
    // sent on, the worker would free the mirror's backing under it.
    if (devPtr && managed::refuses_free(devPtr)) return argument_error(cudaErrorInvalidValue);
    // cudaFree(0) is forwarded too: programs use it to create the context.
    free_begins(to_wire(devPtr));
    client::Call c(id(Call::kCall_cudaFree));
    c.args().put<uint64_t>(to_wire(devPtr));
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e == cudaSuccess) free_done(); else free_failed();
    return e;
  });
}
