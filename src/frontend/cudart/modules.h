// Registered fatbinaries and kernels on the client side, and their lazy resolution on the
// backend (upload the fatbinary once, then look each kernel up by its mangled name).
//
// The cudaKernel_t handed to the application is a pointer to a Kernel record here; the host
// stub address never leaves this process.
#pragma once
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "common/fatbin.h"
#include "frontend/cudart/kernel_args.h"
#include "frontend/cudart/launch_limits.h"

namespace gvirtus::cudart {

struct Module {
  FatbinImage image;
  // A -rdc program's per-object fatbins: JIT-linked on the worker (kModuleLink) when `image`
  // has no code for its GPU.
  std::vector<FatbinImage> prelinked;
  bool relinked = false;  // the JIT link was tried (under the resolution lock)
  cudaError_t parse_error = cudaSuccess;  // the wrapper did not parse: every kernel fails so
  bool registered = true;                 // false after __cudaUnregisterFatBinary
  // Set by resolution (under the resolution lock).
  uint64_t library_id = 0;
  cudaError_t load_error = cudaSuccess;  // the backend could not load it: sticky
};

struct Kernel {
  const void* stub = nullptr;
  Module* module = nullptr;
  std::string name;  // mangled device name
  // Published once resolved (release); read without the lock after an acquire load.
  std::atomic<bool> resolved{false};
  uint64_t kernel_id = 0;
  ParamLayout layout;
  cudaError_t error = cudaSuccess;  // the backend could not find it: sticky
  // Per device, for launches sent without waiting (launch_check.cc): made at the kernel's first
  // gvLaunchLimits answer only, as a program registers tens of thousands of kernels (PyTorch)
  // and launches a few hundred of them. Published with release, read with acquire.
  std::atomic<LaunchLimitsCache*> limits{nullptr};
  Kernel() = default;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel() { delete limits.load(std::memory_order_acquire); }
};

// A __device__ / __constant__ variable as nvcc registers it. Nothing is sent until a symbol
// function needs its device address (resolve_variable).
struct Variable {
  const void* host = nullptr;  // the host shadow's address, what the application passes
  Module* module = nullptr;
  std::string name;
  size_t size = 0;
  bool constant = false;
  bool managed = false;  // __managed__ (__cudaRegisterManagedVar): resolved with gvManagedVarGet
  // Set by resolution (under the resolution lock).
  bool resolved = false;
  uint64_t address = 0;  // on the device, in the worker's context
  cudaError_t error = cudaSuccess;  // the backend could not find it: sticky
};

Module* register_module(const void* wrapper);
void register_kernel(Module* m, const void* stub, const char* name);
void register_variable(Module* m, const void* host, const char* name, size_t size, bool constant,
                       bool managed = false);
// The variable behind a host shadow address; nullptr if none (or its module is gone).
const Variable* find_variable(const void* host);
void unregister_module(Module* m);

// The kernel behind a host stub or a cudaKernel_t this library handed out; nullptr if neither.
Kernel* find_kernel(const void* stub_or_handle);
// The kernel record p names if this library handed p out as a cudaKernel_t; nullptr otherwise
// (a host stub too).
Kernel* find_kernel_record(const void* p);
// Uploads the module if needed and resolves the kernel. Returns cudaSuccess or the error (the
// thread's last error is set).
cudaError_t resolve(Kernel* k);

// The device address and size of the variable whose host shadow is `symbol`, uploading its
// module if needed (gvGlobalGet). cudaErrorInvalidSymbol if `symbol` is no registered variable.
// The address is tracked as device memory (cudaMemcpyDefault knows it). Sets the last error.
cudaError_t resolve_variable(const void* symbol, uint64_t* address, size_t* size);

// Mirrors the module's __managed__ variables that are not mirrored yet (managed_vars.cc), as
// __cudaInitModule would. resolve() calls it once a kernel of the module is resolved, on the
// thread about to launch it: a host callback behind that launch which reads a variable then
// calls __cudaInitModule (nvcc's first host access) with nothing left to ask the worker, as
// natively. Asked from the callback instead, the worker's lookup could wait behind a launch
// that waits for the callback itself, and the lookup takes locks the launching thread holds.
// Failures are left for __cudaInitModule to report; the thread's last error is kept.
void mirror_managed_variables(Module* m);

// Packs the arguments at the kernel's offsets and launches it: NoReply unless `wait` (the
// <<<>>> path discards the result; failures come back as deferred errors).
cudaError_t launch_kernel(Kernel* k, dim3 grid, dim3 block, void** args, size_t shmem,
                          cudaStream_t stream, bool wait);
// cudaLaunchKernelExC: config's launch attributes travel as bytes (those that hold events or
// graph nodes are refused with cudaErrorNotSupported); `stream` replaces config.stream (the
// per-thread form). Waits for its result.
cudaError_t launch_extended(Kernel* k, const cudaLaunchConfig_t& config, cudaStream_t stream,
                            void** args);
// cudaLaunchCooperativeKernel: packed like launch_kernel, always waits for its result.
cudaError_t launch_cooperative(Kernel* k, dim3 grid, dim3 block, void** args, size_t shmem,
                               cudaStream_t stream);
cudaError_t kernel_attributes(Kernel* k, cudaFuncAttributes* attr);

// Chunked module upload: sub-operations of gvModuleLoad (first byte of the request).
enum ModuleOp : uint8_t {
  kModuleWhole = 0,   // u64 size, bytes            -> reply u64 library id
  kModuleBegin = 1,   // u64 total size             -> reply u64 upload id
  kModuleAppend = 2,  // u64 upload id, u64 offset, u64 size, bytes  (NoReply)
  kModuleEnd = 3,     // u64 upload id              -> reply u64 library id
  kModuleLink = 4,    // u32 count, count x (u64 size, bytes): JIT-link the parts (fatbins)
                      //                            -> reply u64 library id
  // Protocol 3.2 (docs/backend.md, "Module cache"):
  kModuleTargets = 5,  // -> reply u8 cache enabled, u32 n, n x (i32 major, i32 minor)
  kModuleCached = 6,   // 32-byte SHA-256, u64 size -> reply u64 library id (0: not cached)
};

}  // namespace gvirtus::cudart
