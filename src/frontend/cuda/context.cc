// cuCtxCreate_v4: CUDA 13's cuCtxCreate. Its CUctxCreateParams holds pointers to
// execution-affinity and CIG parameters, which cannot travel: a params struct that uses them
// is refused; an empty one (or NULL) is forwarded.
#include "frontend/core/answers.h"
#include "frontend/core/ranges.h"
#include "frontend/cuda/local.h"

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuCtxCreate_v4(CUcontext* pctx, CUctxCreateParams* params, unsigned int flags,
                                  CUdevice dev) {
  return guarded("cuCtxCreate_v4", [&]() -> CUresult {
    if (!pctx) return CUDA_ERROR_INVALID_VALUE;
    if (params && (params->execAffinityParams || params->numExecAffinityParams ||
                   params->cigParams))
      return refuse("cuCtxCreate", "execution-affinity or CIG context parameters");
    gvirtus::client::Call c(id(kCall_cuCtxCreate_v4));
    c.args().put<uint32_t>(flags);
    c.args().put<int32_t>(dev);
    c.args().put<uint8_t>(params ? 1 : 0);
    if (!c.invoke()) return lost();
    CUresult e = finish(c);
    if (e == CUDA_SUCCESS) {
      *pctx = from_wire<CUcontext>(c.result().get<uint64_t>());
      c.result().expect_end();
      gvirtus::client::forget_current_device();  // the new context is the thread's current one
      gvirtus::client::context_created();         // resets now leave device ranges alone
    }
    return e;
  });
}
