// Control calls: plugin "core", call ids 1-99, served by every worker whatever the client's
// plugins. See docs/protocol.md, "Control calls".
#pragma once
#include <cstdint>

#include "backend/dispatch.h"

namespace gvirtus::backend {

// Call id 2 was the Fence (cross-connection order before tickets, protocol 2): not reused.
constexpr uint32_t kCallPing = 1;  // empty request, empty reply; collects deferred errors (aux)

void register_core_plugin(Registry& r);

}  // namespace gvirtus::backend
