// Managed memory and device pointers to host memory are refused: one address that both the
// host program and the GPU dereference cannot exist when the GPU is in another process (or on
// another host), and keeping a host copy coherent at every point where CUDA promises coherence
// is not done. Each function fails with cudaErrorNotSupported and logs why, once, so a program
// stops at the allocation instead of computing silently wrong results. cudaHostAllocMapped and
// cudaHostRegisterMapped are refused the same way (host_memory.cc). docs/arrays.md, "Refused".
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

cudaError_t refuse(const char* fn) {
  log::once(log::Level::kError, std::string("managed:") + fn,
            std::string(fn) +
                ": managed memory and device pointers to host memory cannot work across the "
                "network (no address is shared by the program and the GPU); GVirtuS refuses it "
                "with cudaErrorNotSupported");
  return fail(cudaErrorNotSupported);
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaMallocManaged(void** devPtr, size_t size, unsigned int flags) {
  (void)devPtr, (void)size, (void)flags;
  return guarded("cudaMallocManaged", [&] { return refuse("cudaMallocManaged"); });
}

GV_EXPORT cudaError_t cudaHostGetDevicePointer(void** pDevice, void* pHost, unsigned int flags) {
  (void)pDevice, (void)pHost, (void)flags;
  return guarded("cudaHostGetDevicePointer", [&] { return refuse("cudaHostGetDevicePointer"); });
}

GV_EXPORT cudaError_t cudaMemPrefetchAsync(const void* devPtr, size_t count,
                                           cudaMemLocation location, unsigned int flags,
                                           cudaStream_t stream) {
  (void)devPtr, (void)count, (void)location, (void)flags, (void)stream;
  return guarded("cudaMemPrefetchAsync", [&] { return refuse("cudaMemPrefetchAsync"); });
}

GV_EXPORT cudaError_t cudaMemPrefetchAsync_ptsz(const void* devPtr, size_t count,
                                                cudaMemLocation location, unsigned int flags,
                                                cudaStream_t stream) {
  (void)devPtr, (void)count, (void)location, (void)flags, (void)stream;
  return guarded("cudaMemPrefetchAsync_ptsz", [&] { return refuse("cudaMemPrefetchAsync"); });
}

GV_EXPORT cudaError_t cudaMemAdvise(const void* devPtr, size_t count, cudaMemoryAdvise advice,
                                    cudaMemLocation location) {
  (void)devPtr, (void)count, (void)advice, (void)location;
  return guarded("cudaMemAdvise", [&] { return refuse("cudaMemAdvise"); });
}

GV_EXPORT cudaError_t cudaStreamAttachMemAsync(cudaStream_t stream, void* devPtr, size_t length,
                                               unsigned int flags) {
  (void)stream, (void)devPtr, (void)length, (void)flags;
  return guarded("cudaStreamAttachMemAsync", [&] { return refuse("cudaStreamAttachMemAsync"); });
}

GV_EXPORT cudaError_t cudaStreamAttachMemAsync_ptsz(cudaStream_t stream, void* devPtr,
                                                    size_t length, unsigned int flags) {
  (void)stream, (void)devPtr, (void)length, (void)flags;
  return guarded("cudaStreamAttachMemAsync_ptsz",
                 [&] { return refuse("cudaStreamAttachMemAsync"); });
}
