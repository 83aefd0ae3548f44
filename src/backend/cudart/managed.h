// The worker's record of the managed memory a client mirrors (src/frontend/cudart/managed.h):
// allocations made by gvManagedAlloc and __managed__ variables looked up by gvManagedVarGet.
// gvManagedPeek / gvManagedPoke read and write only inside these ranges.
#pragma once
#include <cstdint>

#include "backend/dispatch.h"

namespace gvirtus::backend::cudart {

// A __managed__ variable of a loaded module, [addr, addr+size), handed to the client.
void note_managed_variable(CallContext& ctx, uint64_t addr, uint64_t size);

}  // namespace gvirtus::backend::cudart
