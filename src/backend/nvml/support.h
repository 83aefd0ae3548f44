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

// The real libnvidia-ml.so.1's function NAME, or nullptr if the library is not loaded in this
// process or lacks it. Thread-safe; looked up once per name.
void* real_symbol(const char* name);
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
