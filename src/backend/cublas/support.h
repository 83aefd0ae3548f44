// Helpers for the cuBLAS plugin's handlers on the backend, shared by the generated handlers
// (build/gen/cublas_server.cc) and the hand-written ones in this folder. The handle helpers
// (cublas_in, stream_in, ...) are generated from api/cublas.api into cublas_handles.h.
#pragma once
#include <cublas_api.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::cublas {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

}  // namespace gvirtus::backend::cublas
