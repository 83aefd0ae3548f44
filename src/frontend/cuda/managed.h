// The driver's managed memory: cuMemAllocManaged, cuMemFree of it, and __managed__ variables of
// libraries (cuLibraryGetManaged). Done by libcudart.so.13's mirrored allocations (through
// frontend/core/host_memory_ops.h, as the driver's mapped host memory is): worker managed
// memory with a host copy at the same address, exchanged at the same points as
// cudaMallocManaged's (cudart/managed.h, docs/frontend.md "Managed and mapped memory"), so the
// static runtime's cudaMallocManaged behaves as the shared runtime's. Without GVirtuS's
// libcudart.so.13 beside libcuda.so.1 these are refused (CUDA_ERROR_NOT_SUPPORTED).
#pragma once
#include <cuda.h>

#include <optional>

// The legacy per-thread prefetch (a CUdevice, before 12.2), which cuda.h declares only for the
// driver's own build; defined in managed.cc, referenced by the generated client code.
extern "C" CUresult cuMemPrefetchAsync_ptsz(CUdeviceptr devPtr, size_t count, CUdevice dstDevice,
                                            CUstream s);

namespace gvirtus::cuda {

// cuMemFree_v2's client-side answer for the start of a managed allocation (both copies freed);
// no value for any other address, which goes to the worker.
std::optional<CUresult> local_free_managed(CUdeviceptr p);
// cuMemFree_v2 / cuMemFreeAsync before sending: the managed answer, or none after the record
// the free is for was noted (cudart's free_begins; free_done forgets it after the reply).
std::optional<CUresult> before_free(CUdeviceptr p, bool managed_here);
// cuMemFreeAsync (and _ptsz, per_thread): the start of a managed allocation is freed here,
// both copies, once the stream's earlier work is done (the host waits for it); anything else
// as before_free.
std::optional<CUresult> before_free_async(CUdeviceptr p, CUstream stream, bool per_thread);
// cuDevicePrimaryCtxReset succeeded: the runtime's mirrors of `dev`'s managed memory go (its
// managed::drop_after_reset, through the host memory table).
void managed_reset(CUdevice dev);

}  // namespace gvirtus::cuda
