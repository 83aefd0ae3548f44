// cuGetProcAddress (CUDA 12+ form and the legacy one): hands out this library's own functions,
// so a program (or the CUDA runtime, PyTorch, Triton) that looks driver functions up at run
// time gets the forwarding ones. cudaVersion picks the ABI version of the function, as the
// driver does (cuMemAlloc at 2000: the legacy cuMemAlloc; at 3020 and later: cuMemAlloc_v2).
#include <dlfcn.h>

#include "frontend/cuda/local.h"
#include "frontend/cuda/proc_map.h"

// cuda.h maps cuGetProcAddress to cuGetProcAddress_v2; both are defined here by their own names.
#undef cuGetProcAddress

namespace gvirtus::cuda {
namespace {

// This library's own handle: dlsym on it finds our exports before anything else.
void* self() {
  static void* h = [] {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&self), &info) == 0 || !info.dli_fname) return
        static_cast<void*>(nullptr);
    return ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  }();
  return h;
}

CUresult lookup(const char* symbol, void** pfn, int version, cuuint64_t flags,
                CUdriverProcAddressQueryResult* status) {
  if (!symbol || !pfn) return CUDA_ERROR_INVALID_VALUE;
  constexpr cuuint64_t kKnown =
      CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
  if (flags & ~kKnown) return CUDA_ERROR_INVALID_VALUE;
  *pfn = nullptr;
  void* h = self();
  const bool per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  void* p = nullptr;
  bool too_old = false;
  if (h && symbol[0] == 'c' && symbol[1] == 'u') {
    const std::string name = proc_export_for_version(symbol, version, per_thread);
    too_old = name.empty();
    if (!too_old) p = ::dlsym(h, name.c_str());
    if (!p && !too_old && per_thread)
      p = ::dlsym(h, proc_export_for_version(symbol, version, false).c_str());
  }
  if (!p) {
    // With a status to report it in, an unknown name is no error (as the driver answers);
    // the legacy form has only its result.
    if (status) {
      *status = too_old ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                        : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
      return CUDA_SUCCESS;
    }
    return CUDA_ERROR_NOT_FOUND;
  }
  *pfn = p;
  if (status) *status = CU_GET_PROC_ADDRESS_SUCCESS;
  return CUDA_SUCCESS;
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuGetProcAddress_v2(const char* symbol, void** pfn, int cudaVersion,
                                       cuuint64_t flags, CUdriverProcAddressQueryResult* status) {
  return guarded("cuGetProcAddress_v2",
                 [&] { return lookup(symbol, pfn, cudaVersion, flags, status); });
}

GV_EXPORT CUresult cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion,
                                    cuuint64_t flags) {
  return guarded("cuGetProcAddress",
                 [&] { return lookup(symbol, pfn, cudaVersion, flags, nullptr); });
}
