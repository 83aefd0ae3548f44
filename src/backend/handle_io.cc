// Handle translation shared by every plugin (handle_io.h).
#include "backend/handle_io.h"

#include "backend/worker.h"

namespace gvirtus::backend {
namespace {

// Ids with a meaning of their own in CUDA pass through untouched: for streams 0 (legacy
// default), cudaStreamLegacy (1) and cudaStreamPerThread (2); for events only 0 (NULL), which
// an honest program can pass and the real runtime answers natively.
bool passes_through(HandleKind kind, uint64_t id) {
  return kind == HandleKind::kStream ? id <= 2 : id == 0;
}

}  // namespace

bool handle_in(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
               int32_t invalid_status) {
  if (passes_through(kind, id)) {
    *out = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
    return true;
  }
  if (ctx.session.handles().lookup(kind, id, out)) return true;  // throws for a forged id
  ctx.status = invalid_status;
  return false;
}

bool handle_release(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
                    int32_t invalid_status) {
  if (passes_through(kind, id)) {
    *out = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
    return true;
  }
  HandleTable& t = ctx.session.handles();
  // lookup throws for a forged id; remove can still lose a race with another thread
  // destroying the same handle, which then reads as released.
  if (t.lookup(kind, id, out) && t.remove(kind, id, out)) return true;
  ctx.status = invalid_status;
  return false;
}

uint64_t handle_out(CallContext& ctx, HandleKind kind, const void* obj) {
  if (!obj) return 0;
  return ctx.session.handles().add(kind, const_cast<void*>(obj));
}

uint64_t handle_claim(CallContext& ctx, HandleKind kind) {
  // The header's ticket, not ctx.ticket: the fuzzing entry point does not order requests, and
  // the ticket names the object all the same.
  return ctx.session.handles().claim_client_id(kind, wire::ticket(ctx.header));
}

bool handle_bind(CallContext& ctx, HandleKind kind, uint64_t id, const void* obj,
                 int32_t invalid_status) {
  if (obj && ctx.session.handles().bind_client_id(kind, id, const_cast<void*>(obj))) return true;
  // Not reached by the creates that take client ids (each makes a new object); the object, if
  // any, stays with the library until the session ends.
  ctx.status = invalid_status;
  return false;
}

}  // namespace gvirtus::backend
