// Helpers for the cuBLASLt plugin's handlers on the backend, shared by the generated handlers
// (build/gen/cublasLt_server.cc) and the hand-written ones in this folder. The handle helpers
// (lt_in, matmul_desc_in, layout_in, ...) are generated from api/cublasLt.api into
// cublasLt_handles.h.
#pragma once
#include <cublasLt.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::cublasLt {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

}  // namespace gvirtus::backend::cublasLt
