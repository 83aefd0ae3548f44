// The __managed__ variables nvcc registered, and their mirroring (the logic behind
// __cudaRegisterManagedVar / __cudaInitModule, which managed_vars.cc exports; see there).
#pragma once

#include "frontend/cudart/modules.h"

namespace gvirtus::cudart::managed_vars {

// A variable of module m whose host pointer nvcc keeps at host_ptr (NULL until mirrored).
void add(Module* m, void** host_ptr);
// Mirrors m's variables not mirrored yet; false if one could not be (logged; its host pointer
// stays NULL). Returns at once, taking no lock, when every registered variable is mirrored.
bool init_module(Module* m);

}  // namespace gvirtus::cudart::managed_vars
