// glue.h: loss, reply completion, data type widths; registers the "cusolver" plugin.
#include "frontend/cusolver/glue.h"

namespace gvirtus::cusolver {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cusolver"); }

}  // namespace

cusolverStatus_t lost() { return CUSOLVER_STATUS_NOT_INITIALIZED; }

cusolverStatus_t finish(const client::Call& c) { return client::library_result<cusolverStatus_t>(c); }

size_t type_bytes(cudaDataType t) {
  switch (t) {
    case CUDA_R_16F:
    case CUDA_R_16BF:
      return 2;
    case CUDA_R_32F:
    case CUDA_C_16F:
    case CUDA_C_16BF:
      return 4;
    case CUDA_R_64F:
    case CUDA_C_32F:
      return 8;
    case CUDA_C_64F:
      return 16;
    default:
      return 0;
  }
}

}  // namespace gvirtus::cusolver
