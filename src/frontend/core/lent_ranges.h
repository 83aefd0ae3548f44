// Host memory lent to a connection's send queue (send_queue.h, SendQueue::lend): page-locked
// memory whose bytes a host-to-device async copy sends from the application's own buffer, after
// the call has returned (docs/async-copies.md, "Host to device"). The queue registers each span
// here when it takes it and releases it once it is sent (or dropped with a lost session); a
// call that frees or unregisters host memory waits here first, so that no send reads memory
// the application has given back. Process-wide, thread-safe; a child after fork() starts with
// none (the parent's queues are not the child's).
#pragma once
#include <cstddef>
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::client::lent {

// [p, p + n) is lent from now on; returns its token for release().
uint64_t add(const void* p, size_t n);
// The span of `token` is sent (or dropped): the memory is the application's again.
void release(uint64_t token);
// Waits until no lent span overlaps [p, p + n).
GV_API void wait(const void* p, size_t n);
// Spans lent now (tests).
GV_API size_t count();

}  // namespace gvirtus::client::lent
