// Hand-written cuBLASLt functions: those that do not return cublasStatus_t, one whose struct
// argument is read and written back, and the status names answered locally.
#include <cublasLt.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "cublasLt_calls.h"
#include "frontend/core/status_table.h"
#include "frontend/core/value_call.h"
#include "frontend/cublasLt/glue.h"

namespace gvirtus::cublasLt {
namespace {

// {code, "CUBLAS_STATUS_X", "text"}, printed at build time by NVIDIA's libcublasLt.
const client::StatusRow kRows[] = {
#include "cublasLt_errors.inc"
};

// What NVIDIA's cublasLtGetStatusName/String answer for a code they do not know.
constexpr const char* kUnrecognized = "unrecognized status";

}  // namespace
}  // namespace gvirtus::cublasLt

using namespace gvirtus;

extern "C" GV_API const char* cublasLtGetStatusName(cublasStatus_t status) {
  const client::StatusRow* r = client::find_status(cublasLt::kRows, static_cast<int>(status));
  return r ? r->name : cublasLt::kUnrecognized;
}

extern "C" GV_API const char* cublasLtGetStatusString(cublasStatus_t status) {
  const client::StatusRow* r = client::find_status(cublasLt::kRows, static_cast<int>(status));
  return r ? r->text : cublasLt::kUnrecognized;
}

// Forwarded: the backend's cuBLASLt is the one that runs the calls.
extern "C" GV_API size_t cublasLtGetVersion(void) {
  return client::u64_call(cublasLt::kCall_cublasLtGetVersion, CUBLAS_STATUS_SUCCESS,
                          "cublasLtGetVersion");
}

extern "C" GV_API size_t cublasLtGetCudartVersion(void) {
  return client::u64_call(cublasLt::kCall_cublasLtGetCudartVersion, CUBLAS_STATUS_SUCCESS,
                          "cublasLtGetCudartVersion");
}

// cublasLtHeuristicsCacheSetCapacity(capacity u64): the worker bounds the capacity
// (docs/libraries.md).
extern "C" GV_API cublasStatus_t cublasLtHeuristicsCacheSetCapacity(size_t capacity) {
  try {
    client::Call c(cublasLt::kCall_cublasLtHeuristicsCacheSetCapacity);
    c.args().put<uint64_t>(capacity);
    if (!c.invoke()) return cublasLt::lost();
    return cublasLt::finish(c);
  } catch (...) {
    return cublasLt::lost();
  }
}

// cublasLtMatmulAlgoConfigSetAttribute(algo bytes, attr i32, size u64, presence, buf bytes):
// the algo struct travels both ways (presence byte first); on success the server's copy comes
// back into the application's.
extern "C" GV_API cublasStatus_t cublasLtMatmulAlgoConfigSetAttribute(
    cublasLtMatmulAlgo_t* algo, cublasLtMatmulAlgoConfigAttributes_t attr, const void* buf,
    size_t sizeInBytes) {
  try {
    if (buf != nullptr && sizeInBytes > (1u << 20)) return CUBLAS_STATUS_INVALID_VALUE;
    client::Call c(cublasLt::kCall_cublasLtMatmulAlgoConfigSetAttribute);
    wire::Writer& a = c.args();
    a.put<uint8_t>(algo != nullptr);
    if (algo != nullptr) a.put<cublasLtMatmulAlgo_t>(*algo);
    a.put<int32_t>(static_cast<int32_t>(attr));
    a.put<uint64_t>(sizeInBytes);
    a.put<uint8_t>(buf != nullptr);
    if (buf != nullptr) a.put_bytes(buf, sizeInBytes);
    if (!c.invoke()) return cublasLt::lost();
    if (c.status() == CUBLAS_STATUS_SUCCESS && algo != nullptr) {
      wire::Reader& r = c.result();
      const cublasLtMatmulAlgo_t back = r.get<cublasLtMatmulAlgo_t>();
      r.expect_end();
      *algo = back;
    }
    return cublasLt::finish(c);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cublasLtMatmulAlgoConfigSetAttribute: ") + e.what());
    return cublasLt::lost();
  } catch (const std::bad_alloc&) {
    return CUBLAS_STATUS_ALLOC_FAILED;
  } catch (...) {
    return cublasLt::lost();
  }
}
