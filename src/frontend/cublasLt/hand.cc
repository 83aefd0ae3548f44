// Hand-written cuBLASLt functions: those that do not return cublasStatus_t, one whose struct
// argument is read and written back, and the status names answered locally.
#include <cublasLt.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "cublasLt_calls.h"
#include "frontend/cublasLt/glue.h"

namespace gvirtus::cublasLt {
namespace {

struct Row {
  int code;
  const char* name;
  const char* text;
};

// {code, "CUBLAS_STATUS_X", "text"}, printed at build time by NVIDIA's libcublasLt.
const Row kRows[] = {
#include "cublasLt_errors.inc"
};

// What NVIDIA's cublasLtGetStatusName/String answer for a code they do not know.
constexpr const char* kUnrecognized = "unrecognized status";

const Row* find_row(int code) {
  for (const Row& r : kRows)
    if (r.code == code) return &r;
  return nullptr;
}

// A call without arguments whose reply is one u64 (the size_t versions); 0 if the session is
// lost or the backend cannot answer.
size_t version_call(uint32_t id) {
  try {
    client::Call c(id);
    if (!c.invoke() || c.status() != CUBLAS_STATUS_SUCCESS) return 0;
    wire::Reader& r = c.result();
    const uint64_t v = r.get<uint64_t>();
    r.expect_end();
    return static_cast<size_t>(v);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cublasLt version: ") + e.what());
    return 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace
}  // namespace gvirtus::cublasLt

using namespace gvirtus;

extern "C" GV_API const char* cublasLtGetStatusName(cublasStatus_t status) {
  const cublasLt::Row* r = cublasLt::find_row(static_cast<int>(status));
  return r ? r->name : cublasLt::kUnrecognized;
}

extern "C" GV_API const char* cublasLtGetStatusString(cublasStatus_t status) {
  const cublasLt::Row* r = cublasLt::find_row(static_cast<int>(status));
  return r ? r->text : cublasLt::kUnrecognized;
}

// Forwarded: the backend's cuBLASLt is the one that runs the calls.
extern "C" GV_API size_t cublasLtGetVersion(void) {
  return cublasLt::version_call(cublasLt::kCall_cublasLtGetVersion);
}

extern "C" GV_API size_t cublasLtGetCudartVersion(void) {
  return cublasLt::version_call(cublasLt::kCall_cublasLtGetCudartVersion);
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
