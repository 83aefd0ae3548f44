// Answered on the client: status names and strings (from the real library's table, made at
// build time), and cublasGetCudartVersion forwarded (the runtime that runs the calls is the
// backend's).
#include "cublas_calls.h"
#include "frontend/core/status_table.h"
#include "frontend/cublas/glue.h"

namespace gvirtus::cublas {
namespace {

const client::StatusRow kRows[] = {
#include "cublas_errors.inc"
};

// What NVIDIA's library answers for a code it does not know, as name and as string.
constexpr const char* kUnknown = "unrecognized status";

}  // namespace
}  // namespace gvirtus::cublas

using namespace gvirtus;

extern "C" GV_API const char* cublasGetStatusName(cublasStatus_t status) {
  const client::StatusRow* r = client::find_status(cublas::kRows, static_cast<int>(status));
  return r ? r->name : cublas::kUnknown;
}

extern "C" GV_API const char* cublasGetStatusString(cublasStatus_t status) {
  const client::StatusRow* r = client::find_status(cublas::kRows, static_cast<int>(status));
  return r ? r->text : cublas::kUnknown;
}

// The reply carries the backend's version as a u64; 0 when the session is lost, as a library
// that cannot tell.
extern "C" GV_API size_t cublasGetCudartVersion(void) {
  try {
    client::Call c(cublas::kCall_cublasGetCudartVersion);
    if (!c.invoke() || c.status() != CUBLAS_STATUS_SUCCESS) return 0;
    const uint64_t v = c.result().get<uint64_t>();
    c.result().expect_end();
    return static_cast<size_t>(v);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cublasGetCudartVersion: ") + e.what());
    return 0;
  } catch (...) {
    return 0;
  }
}
