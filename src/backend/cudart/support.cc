// Handle translation for cudart handlers: stream and event ids <-> the worker's objects,
// through the session's HandleTable.
#include "backend/cudart/support.h"

#include "backend/worker.h"

namespace gvirtus::backend::cudart {
bool stream_in(CallContext& ctx, uint64_t id, cudaStream_t* out) {
  void* p = nullptr;
  bool ok = handle_in(ctx, HandleKind::kStream, id, &p);
  *out = static_cast<cudaStream_t>(p);
  return ok;
}

bool event_in(CallContext& ctx, uint64_t id, cudaEvent_t* out) {
  void* p = nullptr;
  bool ok = handle_in(ctx, HandleKind::kEvent, id, &p);
  *out = static_cast<cudaEvent_t>(p);
  return ok;
}

uint64_t stream_out(CallContext& ctx, cudaStream_t s) {
  return ctx.session.handles().add(HandleKind::kStream, s);
}

uint64_t event_out(CallContext& ctx, cudaEvent_t e) {
  return ctx.session.handles().add(HandleKind::kEvent, e);
}

bool stream_release(CallContext& ctx, uint64_t id, cudaStream_t* out) {
  void* p = nullptr;
  bool ok = handle_release(ctx, HandleKind::kStream, id, &p);
  *out = static_cast<cudaStream_t>(p);
  return ok;
}

bool event_release(CallContext& ctx, uint64_t id, cudaEvent_t* out) {
  void* p = nullptr;
  bool ok = handle_release(ctx, HandleKind::kEvent, id, &p);
  *out = static_cast<cudaEvent_t>(p);
  return ok;
}

}  // namespace gvirtus::backend::cudart
