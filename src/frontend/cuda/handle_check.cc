#include "frontend/cuda/handle_check.h"

#include <cstdint>

#include "common/handle_kind.h"
#include "frontend/core/runtime_kernels.h"

namespace gvirtus::cuda {
namespace {

using wire::HandleKind;

// NULL goes to the worker, which answers it as the driver does; an address whose top byte names
// none of the kinds (a host address has 0 there) is no handle of ours, unless it is one of the
// runtime's cudaKernel_t records, which becomes the worker's kernel id.
template <typename H>
std::optional<CUresult> check_kind(H& handle, HandleKind a, HandleKind b, HandleKind c) {
  const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle));
  if (v == 0) return std::nullopt;
  const auto kind = static_cast<HandleKind>(v >> 56);
  if (kind == a || kind == b || kind == c) return std::nullopt;
  uint64_t id = 0;
  const int32_t r = client::runtime_kernel_id(reinterpret_cast<const void*>(handle), &id);
  if (r == 0 && static_cast<HandleKind>(id >> 56) == HandleKind::kKernel) {
    handle = reinterpret_cast<H>(static_cast<uintptr_t>(id));
    return std::nullopt;
  }
  if (r < 0) return CUDA_ERROR_INVALID_HANDLE;
  // The runtime's error resolving its kernel: the driver's number for the same failure (no
  // image for the device 209, invalid image 200, out of memory 2 are the same in both APIs).
  if (r == 98) return CUDA_ERROR_NOT_FOUND;  // cudaErrorInvalidDeviceFunction: no such kernel
  if (r == 35) return CUDA_ERROR_NO_DEVICE;  // cudaErrorInsufficientDriver: no driver there
  return static_cast<CUresult>(r);
}

}  // namespace

std::optional<CUresult> local_kernel_handle(CUkernel& kernel) {
  return check_kind(kernel, HandleKind::kDrvKernel, HandleKind::kKernel, HandleKind::kDrvKernel);
}

std::optional<CUresult> local_function_handle(CUfunction& function) {
  return check_kind(function, HandleKind::kFunction, HandleKind::kDrvKernel, HandleKind::kKernel);
}

}  // namespace gvirtus::cuda
