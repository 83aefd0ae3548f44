// The driver's queries answered by the client when it can do so exactly (frontend/core/answers.h
// keeps what was learnt): called by the generated stubs through `local=` (before anything is
// sent: a value is the answer) and `after=` (after a successful reply: keep it).
//   cuCtxGetCurrent             the thread's current context, kept until it or the thread's
//                               device changes (never a NULL one)
//   cuDevicePrimaryCtxGetState  flags and state of a device's primary context, kept while it
//                               is active, until a call that can change them (release, reset,
//                               flags, cudaDeviceReset, cudaSetDeviceFlags)
#pragma once
#include <cuda.h>

#include <optional>

namespace gvirtus::cuda {

using Local = std::optional<CUresult>;

Local local_current_context(CUcontext* pctx);
void keep_current_context(const CUcontext* pctx);
Local local_primary_state(CUdevice dev, unsigned int* flags, int* active);
void keep_primary_state(CUdevice dev, const unsigned int* flags, const int* active);

}  // namespace gvirtus::cuda
