// Helpers for the cuRAND plugin's handlers on the backend, shared by the generated handlers
// (build/gen/curand_server.cc) and the hand-written ones in this folder. The handle helpers
// (generator_in, stream_in, ...) are generated from api/curand.api into curand_handles.h.
#pragma once
#include <curand.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::curand {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

}  // namespace gvirtus::backend::curand
