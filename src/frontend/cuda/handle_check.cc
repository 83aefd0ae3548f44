#include "frontend/cuda/handle_check.h"

#include <cstdint>

#include "common/handle_kind.h"

namespace gvirtus::cuda {

std::optional<CUresult> local_kernel_handle(CUkernel kernel) {
  const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(kernel));
  if (v == 0) return std::nullopt;
  const auto kind = static_cast<wire::HandleKind>(v >> 56);
  if (kind == wire::HandleKind::kDrvKernel || kind == wire::HandleKind::kKernel)
    return std::nullopt;
  return CUDA_ERROR_INVALID_HANDLE;
}

}  // namespace gvirtus::cuda
