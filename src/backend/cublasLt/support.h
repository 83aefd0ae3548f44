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

// Where cublasLtMatmul / cublasLtMatrixTransform take `param` (alpha or beta) from, as the real
// descriptor's POINTER_MODE says (the functions' `server_pointer_mode`): true for a device
// pointer. The client's word for it is never taken: a "device pointer" in host mode would be
// read as a worker host address.
bool device_scalar(cublasLtMatmulDesc_t desc, const char* param);
bool device_scalar(cublasLtMatrixTransformDesc_t desc, const char* param);

}  // namespace gvirtus::backend::cublasLt
