// glue.h: loss and reply completion; registers the "nvml" plugin.
//
// libnvidia-ml.so.1 may be the only GVirtuS library of a process (nvidia-smi loads nothing
// else): it needs nothing from libcudart.so.13. Its first call opens the process's session
// through the client core (libgvirtus-frontend.so, found next to it through its RUNPATH), with
// the backend named by GVIRTUS_ENDPOINT or a config file, as for every frontend library.
#include "frontend/nvml/glue.h"

namespace gvirtus::nvml {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("nvml"); }

}  // namespace

nvmlReturn_t lost() { return NVML_ERROR_DRIVER_NOT_LOADED; }

nvmlReturn_t finish(const client::Call& c) { return client::library_result<nvmlReturn_t>(c); }

}  // namespace gvirtus::nvml
