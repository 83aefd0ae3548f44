// cuGetErrorName / cuGetErrorString, answered locally. There is no driver on a client machine
// to ask. Names come from cuda.h's CUresult enum (cuda_results.inc, generated); strings from
// the runtime's table (cudart_errors.inc, printed at build time by NVIDIA's runtime), which
// uses the same numbers and the same texts as the driver for the codes both have. A code the
// enum does not have is CUDA_ERROR_INVALID_VALUE with *pStr = NULL, as natively.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "frontend/cuda/local.h"
#include "frontend/cudart/error_table.h"

namespace gvirtus::cuda {
namespace {

struct Row {
  int code;
  const char* name;
};
constexpr Row kResults[] = {
#include "cuda_results.inc"
};

const char* result_name(int code) {
  const Row* end = std::end(kResults);
  const Row* it = std::lower_bound(std::begin(kResults), end, code,
                                   [](const Row& r, int c) { return r.code < c; });
  return it != end && it->code == code ? it->name : nullptr;
}

}  // namespace

const char* error_string_of(int code) {
  const char* name = result_name(code);
  if (!name) return nullptr;
  const char* rt = cudart::error_string(code);
  if (rt && std::strcmp(rt, "unrecognized error code") != 0) return rt;
  return name;  // no runtime counterpart: the name is the best description we have
}

const char* error_name_of(int code) { return result_name(code); }

}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuGetErrorName(CUresult error, const char** pStr) {
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  *pStr = error_name_of(error);
  return *pStr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

GV_EXPORT CUresult cuGetErrorString(CUresult error, const char** pStr) {
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  *pStr = error_string_of(error);
  return *pStr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
