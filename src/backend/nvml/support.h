// Helpers for the NVML plugin's handlers on the backend (build/gen/nvml_server.cc and the
// hand-written ones in this folder). Contract with the generator (api/nvml.api:
// server_namespace, server_resolve; the handle helpers device_in/_out, unit_in/_out are
// generated into nvml_handles.h).
//
// The plugin links no NVML: the library ships with the driver, not with the toolkit the backend
// is built against. The worker loads NVIDIA's libnvidia-ml.so.1 before this plugin (plugins.cc,
// `backend_plugin` in api/nvml.api) and every handler looks its function up in that copy, so a
// driver whose NVML lacks a newer function answers NVML_ERROR_FUNCTION_NOT_FOUND for that one
// call instead of refusing the whole plugin.
#pragma once
#include <nvml.h>

#include <cstdint>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::nvml {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

// The function handlers call for NAME: the real libnvidia-ml.so.1's, or, for the functions
// that enumerate devices while the worker sees only some GPUs (CUDA_VISIBLE_DEVICES, set by
// the backend's --devices), a wrapper that shows only those, numbered as CUDA numbers them
// (visible.cc). nullptr if the library is not loaded in this process or lacks the function.
// Thread-safe; looked up once per name.
void* real_symbol(const char* name);
// The real library's NAME itself, never a wrapper.
void* library_symbol(const char* name);
// visible.cc: the wrapper for NAME when the devices are restricted, else nullptr.
void* visible_devices_wrapper(const char* name);
bool library_loaded();

// What generated handlers call: the real function as F, or nullptr after setting ctx.status
// (no library: NVML_ERROR_LIBRARY_NOT_FOUND; a library without this function:
// NVML_ERROR_FUNCTION_NOT_FOUND).
template <typename F>
F real(CallContext& ctx, const char* name) {
  void* p = real_symbol(name);
  if (!p) {
    ctx.status = library_loaded() ? NVML_ERROR_FUNCTION_NOT_FOUND : NVML_ERROR_LIBRARY_NOT_FOUND;
    return nullptr;
  }
  return reinterpret_cast<F>(p);
}

}  // namespace gvirtus::backend::nvml
