// Helpers for the cuFFT plugin's handlers on the backend (build/gen/cufft_server.cc, all
// generated from api/cufft.api). Plans (cufftHandle, an int) travel as plain values: the
// worker's cuFFT validates them. The stream helpers (stream_in) are generated into
// cufft_handles.h.
#pragma once
#include <cufft.h>
#include <cufftXt.h>

#include "backend/dispatch.h"
#include "backend/plugins.h"

namespace gvirtus::backend::cufft {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

}  // namespace gvirtus::backend::cufft
