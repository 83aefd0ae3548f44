// Registers this library's cudaKernel_t records with the client core, so that libcuda.so.1 can
// send one given to a cuKernel* / cuFunc* call as the worker's kernel id
// (frontend/core/runtime_kernels.h). Only the records __cudaGetKernel handed out count; a host
// stub is no CUkernel natively either.
#include "frontend/core/runtime_kernels.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"

namespace gvirtus::cudart {
namespace {

int32_t resolve_record(const void* p, uint64_t* id) {
  Kernel* k = find_kernel_record(p);
  if (!k) return -1;
  // A driver call leaves the runtime's last error as it was.
  const cudaError_t saved = take_last_error();
  const cudaError_t e = resolve(k);
  (void)take_last_error();
  if (saved != cudaSuccess) set_last_error(saved);
  if (e != cudaSuccess) return static_cast<int32_t>(e);
  *id = k->kernel_id;
  return 0;
}

struct Register {
  Register() { client::set_runtime_kernel_resolver(&resolve_record); }
} g_register;

}  // namespace
}  // namespace gvirtus::cudart
