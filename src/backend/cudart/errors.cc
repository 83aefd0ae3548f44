// Hand-written cudart handler for the error state. The frontend keeps each thread's last error
// itself (every failing call's status reaches it); what only the worker's runtime knows is
// whether it is in a sticky error state (initialisation failed, or a kernel fault corrupted the
// context): then natively cudaGetLastError / cudaPeekAtLastError return that error every time.
#include <cuda_runtime_api.h>

#include "backend/cudart/support.h"

namespace gvirtus::backend::cudart {

// Request: empty. Reply status: the sticky error of this connection's thread, or 0. Reading
// the runtime's last error clears whatever is not sticky; the frontend has those already.
void handle_gvStickyError(CallContext& ctx) {
  ctx.in.expect_end();
  (void)cudaGetLastError();
  ctx.status = cudaPeekAtLastError();
}

}  // namespace gvirtus::backend::cudart

namespace gvirtus::backend::cudart {

// Request: empty. Reply status: what the runtime reports before it looks at any argument —
// the thread's context state (a sticky fault, or a context that cannot be created, e.g. after a
// reset that failed) — or 0 when the context is usable. The frontend asks this when it finds a
// bad argument itself, so that the context error wins as it does natively. cudaFree(nullptr)
// needs a context, frees nothing and does not synchronise.
void handle_gvContextCheck(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.status = cudaFree(nullptr);
  if (ctx.status != cudaSuccess) (void)cudaGetLastError();  // the frontend records it itself
}

}  // namespace gvirtus::backend::cudart
