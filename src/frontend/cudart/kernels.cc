// Kernel registration and launch: what nvcc's generated code calls, plus cudaLaunchKernel and
// cudaFuncGetAttributes. Payloads: docs/frontend.md.
//
//   __cudaLaunchKernel / cudaLaunchKernel  request: u64 kernel id, dim3 grid, dim3 block,
//       u64 shared memory, u64 stream id, u32 argument bytes, the packed arguments.
//       __cudaLaunchKernel is NoReply (nvcc's stub discards its result; failures come back as
//       deferred errors); cudaLaunchKernel waits for its result.
//   cudaFuncGetAttributes  request: u64 kernel id; reply: struct cudaFuncAttributes.
#include "frontend/cudart/launch_config.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

cudaStream_t per_thread(cudaStream_t s) { return s ? s : cudaStreamPerThread; }

}  // namespace

// ---- registration (called from the application's constructors; nothing is sent) ----

GV_EXPORT void** __cudaRegisterFatBinary(void* fatCubin) {
  try {
    return reinterpret_cast<void**>(register_module(fatCubin));
  } catch (...) {
    return nullptr;
  }
}

GV_EXPORT void __cudaRegisterFatBinaryEnd(void** fatCubinHandle) { (void)fatCubinHandle; }

GV_EXPORT void __cudaUnregisterFatBinary(void** fatCubinHandle) {
  try {
    unregister_module(reinterpret_cast<Module*>(fatCubinHandle));
  } catch (...) {
  }
}

GV_EXPORT void __cudaRegisterFunction(void** fatCubinHandle, const char* hostFun, char* deviceFun,
                                      const char* deviceName, int thread_limit, uint3* tid,
                                      uint3* bid, dim3* bDim, dim3* gDim, int* wSize) {
  (void)thread_limit, (void)tid, (void)bid, (void)bDim, (void)gDim, (void)wSize;
  try {
    register_kernel(reinterpret_cast<Module*>(fatCubinHandle), hostFun,
                    deviceName ? deviceName : deviceFun);
  } catch (...) {
  }
}

GV_EXPORT void __cudaRegisterVar(void** fatCubinHandle, char* hostVar, char* deviceAddress,
                                 const char* deviceName, int ext, size_t size, int constant,
                                 int global) {
  // Recorded only: device variables work inside kernels (they live in the module on the
  // worker); the host-side symbol functions are not supported yet.
  (void)deviceAddress, (void)ext, (void)global;
  try {
    register_variable(reinterpret_cast<Module*>(fatCubinHandle), hostVar, deviceName, size,
                      constant != 0);
  } catch (...) {
  }
}

// ---- <<<>>> ----

GV_EXPORT unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                               struct CUstream_st* stream) {
  LaunchConfig c;
  c.grid = gridDim;
  c.block = blockDim;
  c.shmem = sharedMem;
  c.stream = stream;
  return push_config(c) ? 0 : 1;
}

GV_EXPORT cudaError_t __cudaPopCallConfiguration(dim3* gridDim, dim3* blockDim, size_t* sharedMem,
                                                 void* stream) {
  LaunchConfig c;
  if (!pop_config(&c)) return cudaErrorMissingConfiguration;
  if (gridDim) *gridDim = c.grid;
  if (blockDim) *blockDim = c.block;
  if (sharedMem) *sharedMem = c.shmem;
  if (stream) *static_cast<cudaStream_t*>(stream) = c.stream;
  return cudaSuccess;
}

GV_EXPORT cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* hostStub) {
  return guarded("__cudaGetKernel", [&] {
    if (!kernel) return fail(cudaErrorInvalidValue);
    Kernel* k = find_kernel(hostStub);
    if (!k) return fail(cudaErrorInvalidDeviceFunction);
    // Handed out even if resolution fails now: the launch tries again and reports the error.
    *kernel = reinterpret_cast<cudaKernel_t>(k);
    return resolve(k);
  });
}

// The runtime API's form of __cudaGetKernel (the same record: natively both give the CUkernel).
GV_EXPORT cudaError_t cudaGetKernel(cudaKernel_t* kernel, const void* entryFuncAddr) {
  return guarded("cudaGetKernel", [&] {
    if (!kernel) return fail(cudaErrorInvalidValue);
    Kernel* k = find_kernel(entryFuncAddr);
    if (!k) return fail(cudaErrorInvalidDeviceFunction);
    *kernel = reinterpret_cast<cudaKernel_t>(k);
    return resolve(k);
  });
}

GV_EXPORT cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim,
                                         void** args, size_t sharedMem, cudaStream_t stream) {
  return guarded("__cudaLaunchKernel", [&] {
    return launch_kernel(find_kernel(kernel), gridDim, blockDim, args, sharedMem, stream, false);
  });
}

GV_EXPORT cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim,
                                              void** args, size_t sharedMem, cudaStream_t stream) {
  return guarded("__cudaLaunchKernel_ptsz", [&] {
    return launch_kernel(find_kernel(kernel), gridDim, blockDim, args, sharedMem,
                         per_thread(stream), false);
  });
}

// ---- runtime API ----

GV_EXPORT cudaError_t cudaLaunchKernel(const void* func, dim3 gridDim, dim3 blockDim, void** args,
                                       size_t sharedMem, cudaStream_t stream) {
  return guarded("cudaLaunchKernel", [&] {
    return launch_kernel(find_kernel(func), gridDim, blockDim, args, sharedMem, stream, true);
  });
}

GV_EXPORT cudaError_t cudaLaunchKernel_ptsz(const void* func, dim3 gridDim, dim3 blockDim,
                                            void** args, size_t sharedMem, cudaStream_t stream) {
  return guarded("cudaLaunchKernel_ptsz", [&] {
    return launch_kernel(find_kernel(func), gridDim, blockDim, args, sharedMem, per_thread(stream),
                         true);
  });
}

GV_EXPORT cudaError_t cudaLaunchCooperativeKernel(const void* func, dim3 gridDim, dim3 blockDim,
                                                  void** args, size_t sharedMem,
                                                  cudaStream_t stream) {
  return guarded("cudaLaunchCooperativeKernel", [&] {
    return launch_cooperative(find_kernel(func), gridDim, blockDim, args, sharedMem, stream);
  });
}

GV_EXPORT cudaError_t cudaLaunchCooperativeKernel_ptsz(const void* func, dim3 gridDim,
                                                       dim3 blockDim, void** args,
                                                       size_t sharedMem, cudaStream_t stream) {
  return guarded("cudaLaunchCooperativeKernel_ptsz", [&] {
    return launch_cooperative(find_kernel(func), gridDim, blockDim, args, sharedMem,
                              per_thread(stream));
  });
}

GV_EXPORT cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t* config, const void* func,
                                          void** args) {
  return guarded("cudaLaunchKernelExC", [&] {
    if (!config) return argument_error(cudaErrorInvalidValue);
    return launch_extended(find_kernel(func), *config, config->stream, args);
  });
}

GV_EXPORT cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t* config, const void* func,
                                               void** args) {
  return guarded("cudaLaunchKernelExC_ptsz", [&] {
    if (!config) return argument_error(cudaErrorInvalidValue);
    return launch_extended(find_kernel(func), *config, per_thread(config->stream), args);
  });
}

GV_EXPORT cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
  return guarded("cudaFuncGetAttributes", [&] {
    if (!attr) return fail(cudaErrorInvalidValue);
    Kernel* k = find_kernel(func);
    if (!k) return fail(kUnknownFunction);
    return kernel_attributes(k, attr);
  });
}
