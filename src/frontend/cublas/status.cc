// Answered on the client: status names and strings (from the real library's table, made at
// build time), and cublasGetCudartVersion forwarded (the runtime that runs the calls is the
// backend's).
#include <cstdio>

#include "cublas_calls.h"
#include "frontend/core/status_table.h"
#include "frontend/core/value_call.h"
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

// The backend's runtime version: the runtime that runs the calls is there.
extern "C" GV_API size_t cublasGetCudartVersion(void) {
  return client::u64_call(cublas::kCall_cublasGetCudartVersion, CUBLAS_STATUS_SUCCESS,
                          "cublasGetCudartVersion");
}

// cuBLAS's error printer for bad arguments, which applications may call or replace.
extern "C" GV_API void cublasXerbla(const char* srName, int info) {
  std::printf(" ** On entry to %s parameter number %d had an illegal value\n",
              srName != nullptr ? srName : "", info);
}
