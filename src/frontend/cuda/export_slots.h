// Bookkeeping of the private tables' state (export_slots.cc) when a context goes away; called
// after a successful cuDevicePrimaryCtxReset / cuCtxDestroy (api/cuda.api, `after=`).
#pragma once
#include <cuda.h>

namespace gvirtus::cuda {

// The device's primary context was reset: the runtime's context-local values on it are
// destroyed (their destructors run, as the driver runs them) and the next request for the
// primary context retains it again.
void export_primary_reset(CUdevice dev);
// A context was destroyed: likewise for its context-local values.
void export_context_destroyed(CUcontext ctx);

}  // namespace gvirtus::cuda
