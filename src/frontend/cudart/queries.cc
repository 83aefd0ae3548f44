// cudaPointerGetAttributes (the client's own page-locked host memory is answered here, anything
// else by the worker) and cudaFuncGetName (answered from the kernel registry).
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"

using namespace gvirtus::cudart;

namespace {
// GCC 12 reports a false stringop-overflow in the inlined vector insert of Writer::put here
// (and only here); the write goes into a vector that grows for it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
// Asks the worker (cudaPointerGetAttributes, u64 pointer -> the struct's bytes).
cudaError_t remote_attributes(cudaPointerAttributes* out, uint64_t ptr) {
  gvirtus::client::Call c(id(Call::kCall_cudaPointerGetAttributes));
  c.args().put<uint64_t>(ptr);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  cudaPointerAttributes a = c.result().get<cudaPointerAttributes>();
  c.result().expect_end();
  *out = a;
  return cudaSuccess;
}
#pragma GCC diagnostic pop
}  // namespace

// Page-locked host memory of this library (cudaMallocHost & co., cudaHostRegister) is answered
// here: cudaMemoryTypeHost, hostPointer the address itself. devicePointer stays NULL: natively
// (unified addressing) it equals the host address, but here that address means nothing on the
// GPU, and a program that tests it must not pass it to a kernel. Other pointers are forwarded;
// the worker answers device memory and reports anything else as unregistered.
GV_EXPORT cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  return guarded("cudaPointerGetAttributes", [&] {
    if (!attributes) return argument_error(cudaErrorInvalidValue);
    if (is_page_locked_host(ptr)) {
      int device = 0;
      cudaError_t e = cudaGetDevice(&device);
      if (e != cudaSuccess) return e;
      cudaPointerAttributes a{};
      a.type = cudaMemoryTypeHost;
      a.device = device;
      a.hostPointer = const_cast<void*>(ptr);
      *attributes = a;
      return cudaSuccess;
    }
    return remote_attributes(attributes, to_wire(ptr));
  });
}

// The kernel's mangled name as nvcc registered it, which is what the runtime returns; the
// string lives as long as the kernel's registration.
GV_EXPORT cudaError_t cudaFuncGetName(const char** name, const void* func) {
  return guarded("cudaFuncGetName", [&] {
    if (!name || !func) return argument_error(cudaErrorInvalidValue);
    Kernel* k = find_kernel(func);
    if (!k) return argument_error(kUnknownFunction);
    *name = k->name.c_str();
    return cudaSuccess;
  });
}
