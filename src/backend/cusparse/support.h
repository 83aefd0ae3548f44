// Helpers for the cuSPARSE plugin's handlers on the backend, shared by the generated handlers
// (build/gen/cusparse_server.cc) and the hand-written ones in this folder. The handle helpers
// (cusparse_in, spmat_in, bsrsv2_in, stream_in, ...) are generated from api/cusparse.api into
// cusparse_handles.h.
#pragma once
#include <cusparse.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::cusparse {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

// The handle's pointer mode as cuSPARSE itself has it: true when its scalars are device
// pointers. device_scalar decides per parameter (the library's `server_pointer_mode`): the
// SpGEMM size arguments (bufferSize1..5) are host values in every mode. The client's word for it
// is never taken: a "device pointer" in host mode would be a worker host address.
bool device_pointers(cusparseHandle_t handle);
bool device_scalar(cusparseHandle_t handle, const char* param);

}  // namespace gvirtus::backend::cusparse
