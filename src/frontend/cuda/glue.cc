// glue.h: loss and reply completion; registers the "cuda" plugin.
#include "frontend/cuda/glue.h"

#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cuda"); }

}  // namespace

CUresult lost() { return CUDA_ERROR_DEVICE_UNAVAILABLE; }

CUresult finish(const client::Call& c) {
  // A failure of an earlier request sent without reply (the runtime's <<<>>> launches) is the
  // runtime's to report: handed over through the client core.
  client::post_deferred_error(c.deferred());
  return static_cast<CUresult>(c.status());
}

CUresult refuse(const char* fn, const std::string& what) {
  log::once(log::Level::kError, std::string("refuse:") + fn + ":" + what,
            std::string(fn) + ": " + what + " is not supported by GVirtuS; the call fails with "
            "CUDA_ERROR_NOT_SUPPORTED");
  return CUDA_ERROR_NOT_SUPPORTED;
}

}  // namespace gvirtus::cuda
