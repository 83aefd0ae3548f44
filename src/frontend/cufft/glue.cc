// glue.h: loss and reply completion; registers the "cufft" plugin.
#include "frontend/cufft/glue.h"

namespace gvirtus::cufft {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cufft"); }

}  // namespace

cufftResult lost() { return CUFFT_SETUP_FAILED; }

cufftResult finish(const client::Call& c) { return client::library_result<cufftResult>(c); }

}  // namespace gvirtus::cufft
