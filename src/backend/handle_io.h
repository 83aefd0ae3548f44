// Handle translation for every plugin's handlers: ids from the wire <-> the worker's objects,
// through the session's HandleTable (dispatch.h). Generated handle helpers
// (<lib>_handles.h, from `handle TYPE prefix kind= invalid=` lines) call these.
#pragma once
#include <cstdint>

#include "backend/dispatch.h"

namespace gvirtus::backend {

// Any handle kind, for plugins and hand-written handlers: `passes_through` ids (0 for every
// kind, 0-2 for streams) come back as the same number; a stale id sets ctx.status to
// `invalid_status` and returns false; a forged one throws SessionFault. handle_release also
// removes the id (the caller destroys the object).
bool handle_in(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
               int32_t invalid_status);
bool handle_release(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
                    int32_t invalid_status);
uint64_t handle_out(CallContext& ctx, HandleKind kind, const void* obj);  // 0 for a NULL obj
// A create whose out handle asked for a client-chosen id (presence flag 2, docs/protocol.md):
// handle_claim, before the library call, checks the request's ticket can name one and returns
// the id (a forged one throws SessionFault); handle_bind, after the call succeeded, makes the id
// name the new object, or sets ctx.status to `invalid_status` and returns false.
uint64_t handle_claim(CallContext& ctx, HandleKind kind);
bool handle_bind(CallContext& ctx, HandleKind kind, uint64_t id, const void* obj,
                 int32_t invalid_status);

// The same, for a handle type T (cudaArray_t, CUcontext, ...): *out is the object, or NULL.
template <typename T>
bool handle_in_as(CallContext& ctx, HandleKind kind, uint64_t id, T* out,
                  int32_t invalid_status) {
  void* p = nullptr;
  bool ok = handle_in(ctx, kind, id, &p, invalid_status);
  *out = static_cast<T>(p);
  return ok;
}
template <typename T>
bool handle_release_as(CallContext& ctx, HandleKind kind, uint64_t id, T* out,
                       int32_t invalid_status) {
  void* p = nullptr;
  bool ok = handle_release(ctx, kind, id, &p, invalid_status);
  *out = static_cast<T>(p);
  return ok;
}

}  // namespace gvirtus::backend
