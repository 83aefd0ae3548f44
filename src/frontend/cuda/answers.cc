// answers.h: the driver's locally answered queries.
#include "frontend/cuda/answers.h"

#include "frontend/core/answers.h"

namespace gvirtus::cuda {

Local local_current_context(CUcontext* pctx) {
  void* ctx = nullptr;
  if (!pctx || !client::recall_current_context(&ctx)) return std::nullopt;
  *pctx = static_cast<CUcontext>(ctx);
  return CUDA_SUCCESS;
}

void keep_current_context(const CUcontext* pctx) {
  if (pctx) client::remember_current_context(*pctx);
}

Local local_primary_state(CUdevice dev, unsigned int* flags, int* active) {
  if (!flags || !active || !client::recall_primary_context(dev, flags, active)) return std::nullopt;
  return CUDA_SUCCESS;
}

void keep_primary_state(CUdevice dev, const unsigned int* flags, const int* active) {
  if (flags && active) client::remember_primary_context(dev, *flags, *active);
}

}  // namespace gvirtus::cuda
