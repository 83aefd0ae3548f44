#include "frontend/cuda/handle_check.h"

#include <cstdint>

#include "common/handle_kind.h"

namespace gvirtus::cuda {
namespace {

// NULL goes to the worker, which answers it as the driver does; an address whose top byte
// names none of the kinds (a host address has 0 there) is no handle of ours.
std::optional<CUresult> check_kind(const void* handle, wire::HandleKind a, wire::HandleKind b) {
  const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle));
  if (v == 0) return std::nullopt;
  const auto kind = static_cast<wire::HandleKind>(v >> 56);
  if (kind == a || kind == b) return std::nullopt;
  return CUDA_ERROR_INVALID_HANDLE;
}

}  // namespace

std::optional<CUresult> local_kernel_handle(CUkernel kernel) {
  return check_kind(kernel, wire::HandleKind::kDrvKernel, wire::HandleKind::kKernel);
}

std::optional<CUresult> local_function_handle(CUfunction function) {
  return check_kind(function, wire::HandleKind::kFunction, wire::HandleKind::kDrvKernel);
}

}  // namespace gvirtus::cuda
