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

}  // namespace gvirtus::backend::cusparse
