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

// The handle's pointer mode as cuBLAS itself has it (the library's `server_pointer_mode`): true
// when its scalars are device pointers. The client's word for it is never taken: a "device
// pointer" on a host-mode handle would be read or written as a worker host address.
bool device_pointers(cublasHandle_t handle);

}  // namespace gvirtus::backend::cublas
