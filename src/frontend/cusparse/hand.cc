// Hand-written cuSPARSE functions: the status names and strings (answered locally), the matrix
// descriptor getters (they return the value, not a status) and the zero-pivot queries (cuSPARSE
// writes `position` also when it answers CUSPARSE_STATUS_ZERO_PIVOT, which a generated stub
// would not bring back).
#include <cusparse.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "cusparse_calls.h"
#include "frontend/core/status_table.h"
#include "frontend/cusparse/glue.h"

namespace gvirtus::cusparse {
namespace {

// {code, "CUSPARSE_STATUS_X", "text"}, printed at build time by NVIDIA's libcusparse.
const client::StatusRow kRows[] = {
#include "cusparse_errors.inc"
};

// What NVIDIA's cusparseGetErrorName/String answer for a code they do not know.
constexpr const char* kUnrecognized = "unrecognized error code";

uint64_t u64(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// A matrix descriptor getter: request u64 descriptor id; reply i32 value. A descriptor the
// worker does not know (stale), or a lost session, answers -1, what cuSPARSE's getters answer
// for a NULL descriptor.
int32_t mat_get(uint32_t call, const char* what, cusparseMatDescr_t descr) {
  try {
    client::Call c(call);
    c.args().put<uint64_t>(u64(descr));
    if (!c.invoke() || c.status() != CUSPARSE_STATUS_SUCCESS) return -1;
    wire::Reader& r = c.result();
    const int32_t v = r.get<int32_t>();
    r.expect_end();
    return v;
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string(what) + ": " + e.what());
    return -1;
  } catch (...) {
    return -1;
  }
}

// Where `position` is: 0 NULL, 1 host memory (its value comes back), 2 device memory (the
// pointer travels, the worker's cuSPARSE writes it).
constexpr uint8_t kNull = 0, kHost = 1, kDevice = 2;

// A zero-pivot query: request u64 handle, u64 info, u8 tag [u64 pointer when 2]; reply i32
// position when the tag is 1 and cuSPARSE answered SUCCESS or ZERO_PIVOT.
cusparseStatus_t zero_pivot(uint32_t call, const char* what, cusparseHandle_t handle,
                            const void* info, int* position) {
  try {
    const uint8_t tag = position == nullptr ? kNull : device_pointers(handle) ? kDevice : kHost;
    client::Call c(call);
    wire::Writer& a = c.args();
    a.put<uint64_t>(u64(handle));
    a.put<uint64_t>(u64(info));
    a.put<uint8_t>(tag);
    if (tag == kDevice) a.put<uint64_t>(u64(position));
    if (!c.invoke()) return lost();
    const int32_t s = c.status();
    if (tag == kHost && (s == CUSPARSE_STATUS_SUCCESS || s == CUSPARSE_STATUS_ZERO_PIVOT)) {
      wire::Reader& r = c.result();
      const int32_t v = r.get<int32_t>();
      r.expect_end();
      *position = v;
    }
    return finish(c);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string(what) + ": " + e.what());
    return lost();
  } catch (const std::bad_alloc&) {
    return CUSPARSE_STATUS_ALLOC_FAILED;
  } catch (...) {
    return lost();
  }
}

}  // namespace
}  // namespace gvirtus::cusparse

using namespace gvirtus;

extern "C" GV_API const char* cusparseGetErrorName(cusparseStatus_t status) {
  const client::StatusRow* r = client::find_status(cusparse::kRows, static_cast<int>(status));
  return r ? r->name : cusparse::kUnrecognized;
}

extern "C" GV_API const char* cusparseGetErrorString(cusparseStatus_t status) {
  const client::StatusRow* r = client::find_status(cusparse::kRows, static_cast<int>(status));
  return r ? r->text : cusparse::kUnrecognized;
}

extern "C" GV_API cusparseMatrixType_t cusparseGetMatType(const cusparseMatDescr_t descrA) {
  return static_cast<cusparseMatrixType_t>(
      cusparse::mat_get(cusparse::kCall_cusparseGetMatType, "cusparseGetMatType", descrA));
}

extern "C" GV_API cusparseFillMode_t cusparseGetMatFillMode(const cusparseMatDescr_t descrA) {
  return static_cast<cusparseFillMode_t>(
      cusparse::mat_get(cusparse::kCall_cusparseGetMatFillMode, "cusparseGetMatFillMode", descrA));
}

extern "C" GV_API cusparseDiagType_t cusparseGetMatDiagType(const cusparseMatDescr_t descrA) {
  return static_cast<cusparseDiagType_t>(
      cusparse::mat_get(cusparse::kCall_cusparseGetMatDiagType, "cusparseGetMatDiagType", descrA));
}

extern "C" GV_API cusparseIndexBase_t cusparseGetMatIndexBase(const cusparseMatDescr_t descrA) {
  return static_cast<cusparseIndexBase_t>(cusparse::mat_get(cusparse::kCall_cusparseGetMatIndexBase,
                                                            "cusparseGetMatIndexBase", descrA));
}

extern "C" GV_API cusparseStatus_t cusparseXbsrsv2_zeroPivot(cusparseHandle_t handle,
                                                             bsrsv2Info_t info, int* position) {
  return cusparse::zero_pivot(cusparse::kCall_cusparseXbsrsv2_zeroPivot,
                              "cusparseXbsrsv2_zeroPivot", handle, info, position);
}

extern "C" GV_API cusparseStatus_t cusparseXbsrsm2_zeroPivot(cusparseHandle_t handle,
                                                             bsrsm2Info_t info, int* position) {
  return cusparse::zero_pivot(cusparse::kCall_cusparseXbsrsm2_zeroPivot,
                              "cusparseXbsrsm2_zeroPivot", handle, info, position);
}

extern "C" GV_API cusparseStatus_t cusparseXcsric02_zeroPivot(cusparseHandle_t handle,
                                                              csric02Info_t info, int* position) {
  return cusparse::zero_pivot(cusparse::kCall_cusparseXcsric02_zeroPivot,
                              "cusparseXcsric02_zeroPivot", handle, info, position);
}

extern "C" GV_API cusparseStatus_t cusparseXcsrilu02_zeroPivot(cusparseHandle_t handle,
                                                               csrilu02Info_t info, int* position) {
  return cusparse::zero_pivot(cusparse::kCall_cusparseXcsrilu02_zeroPivot,
                              "cusparseXcsrilu02_zeroPivot", handle, info, position);
}

extern "C" GV_API cusparseStatus_t cusparseXbsrilu02_zeroPivot(cusparseHandle_t handle,
                                                               bsrilu02Info_t info, int* position) {
  return cusparse::zero_pivot(cusparse::kCall_cusparseXbsrilu02_zeroPivot,
                              "cusparseXbsrilu02_zeroPivot", handle, info, position);
}
