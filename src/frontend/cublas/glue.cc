// glue.h: loss, reply completion and the pointer mode of each handle; registers the "cublas"
// plugin.
#include "frontend/cublas/glue.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "cublas_calls.h"
#include "frontend/core/answers.h"
#include "frontend/core/live_set.h"

namespace gvirtus::cublas {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cublas"); }

// Handle -> pointer mode, for the handles whose mode is not the default (host). Handle ids are
// never reused, so an entry left by a destroyed handle is harmless.
struct Modes {
  std::mutex mu;
  std::unordered_map<cublasHandle_t, cublasPointerMode_t> device;  // REQUIRES: mu
};

Modes& modes() {
  static auto* m = new Modes;
  return *m;
}

}  // namespace

cublasStatus_t lost() { return CUBLAS_STATUS_NOT_INITIALIZED; }

cublasStatus_t finish(const client::Call& c) { return client::library_result<cublasStatus_t>(c); }

client::LiveSet& live_handles() {
  static auto* s = new client::LiveSet;
  return *s;
}

void handle_created(const cublasHandle_t* handle) {
  if (handle) live_handles().add(*handle);
}
void handle_destroyed(cublasHandle_t handle) { live_handles().remove(handle); }
bool live(cublasHandle_t handle) { return live_handles().contains(handle); }

bool workspace_accepted(cublasHandle_t handle, const void* workspace) {
  return live(handle) && reinterpret_cast<uintptr_t>(workspace) % 256 == 0;
}

bool math_mode_accepted(cublasHandle_t handle, cublasMath_t mode) {
  const unsigned m = static_cast<unsigned>(mode) &
                     ~static_cast<unsigned>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  return live(handle) && (m == CUBLAS_DEFAULT_MATH || m == CUBLAS_TENSOR_OP_MATH ||
                          m == CUBLAS_PEDANTIC_MATH || m == CUBLAS_TF32_TENSOR_OP_MATH);
}

void note_setting_values(cublasHandle_t handle, const char* name, int64_t a, int64_t b) {
  const int64_t v[2] = {a, b};
  client::remember_answer("cublas:setting:" +
                              std::to_string(reinterpret_cast<uintptr_t>(handle)) + ":" + name,
                          v, sizeof v);
}

bool gemm_accepted(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                   int m, int n, int k, const void* alpha, int lda, int ldb, const void* beta,
                   int ldc, int batch_count) {
  auto op = [](cublasOperation_t t) {
    return t == CUBLAS_OP_N || t == CUBLAS_OP_T || t == CUBLAS_OP_C;
  };
  auto at_least = [](int ld, int rows) { return ld >= (rows > 1 ? rows : 1); };
  return live(handle) && op(transa) && op(transb) && m >= 0 && n >= 0 && k >= 0 &&
         batch_count >= 0 && alpha != nullptr && beta != nullptr &&
         at_least(lda, transa == CUBLAS_OP_N ? m : k) &&
         at_least(ldb, transb == CUBLAS_OP_N ? k : n) && at_least(ldc, m);
}

bool device_pointers(cublasHandle_t handle) {
  Modes& m = modes();
  std::lock_guard<std::mutex> g(m.mu);
  auto it = m.device.find(handle);
  return it != m.device.end() && it->second == CUBLAS_POINTER_MODE_DEVICE;
}

}  // namespace gvirtus::cublas

// Forwarded, and remembered on success: every later call on this handle sends its scalars by
// value (host mode) or as device pointers (device mode).
extern "C" GV_API cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle,
                                                         cublasPointerMode_t mode) {
  using namespace gvirtus;
  try {
    client::Call c(cublas::kCall_cublasSetPointerMode_v2);
    c.args().put<uint64_t>(reinterpret_cast<uintptr_t>(handle));
    c.args().put<int32_t>(static_cast<int32_t>(mode));
    if (!c.invoke()) return cublas::lost();
    cublasStatus_t s = cublas::finish(c);
    if (s == CUBLAS_STATUS_SUCCESS) {
      cublas::Modes& m = cublas::modes();
      std::lock_guard<std::mutex> g(m.mu);
      m.device[handle] = mode;
    }
    return s;
  } catch (...) {
    return cublas::lost();
  }
}
