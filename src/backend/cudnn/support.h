// Helpers for the cuDNN plugin's handlers on the backend, shared by the generated handlers
// (build/gen/cudnn_server.cc) and the hand-written ones in this folder. The handle helpers
// (cudnn_in, tensor_in, backend_in, ...) are generated from api/cudnn.api into cudnn_handles.h.
#pragma once
#include <cudnn.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::cudnn {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

}  // namespace gvirtus::backend::cudnn
