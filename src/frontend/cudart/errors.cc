// Error state and version, answered locally.
#include <cuda_runtime_api.h>

#include "frontend/cudart/error_table.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

// Launches and host-to-device chunks are sent without waiting; their failures come back in the
// next reply. Before reporting the last error, collect them with a round trip, but only when
// this thread has such requests outstanding.
void collect_deferred() {
  client::Connection* conn = client::current_connection();
  if (!conn || conn->unanswered() == 0) return;
  client::Call ping(client::kCallPing);
  if (!ping.invoke()) {
    lost();
    return;
  }
  finish(ping);
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus::cudart;

GV_EXPORT const char* cudaGetErrorName(cudaError_t error) { return error_name(error); }

GV_EXPORT const char* cudaGetErrorString(cudaError_t error) { return error_string(error); }

GV_EXPORT cudaError_t cudaGetLastError(void) {
  return guarded("cudaGetLastError", [] {
    collect_deferred();
    return take_last_error();
  });
}

GV_EXPORT cudaError_t cudaPeekAtLastError(void) {
  return guarded("cudaPeekAtLastError", [] {
    collect_deferred();
    return peek_last_error();
  });
}

GV_EXPORT cudaError_t cudaRuntimeGetVersion(int* runtimeVersion) {
  if (!runtimeVersion) return fail(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}
