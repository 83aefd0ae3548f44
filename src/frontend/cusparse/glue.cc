// glue.h: loss, reply completion, the pointer mode of each handle and the value type of each
// vector descriptor; registers the "cusparse" plugin.
#include "frontend/cusparse/glue.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/scalar_homes.h"

namespace gvirtus::cusparse {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cusparse"); }

// Handle id -> pointer mode, and vector descriptor id -> value type. Ids are never reused, so
// an entry left behind is harmless; Destroy removes them all the same.
struct State {
  std::mutex mu;
  std::unordered_map<const void*, cusparsePointerMode_t> modes;  // REQUIRES: mu
  std::unordered_map<const void*, cudaDataType> vec_types;       // REQUIRES: mu
};

State& state() {
  static auto* s = new State;
  return *s;
}

}  // namespace

cusparseStatus_t lost() { return CUSPARSE_STATUS_NOT_INITIALIZED; }

cusparseStatus_t finish(const client::Call& c) { return client::library_result<cusparseStatus_t>(c); }

bool device_pointers(cusparseHandle_t handle) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.modes.find(handle);
  return it != s.modes.end() && it->second == CUSPARSE_POINTER_MODE_DEVICE;
}

bool device_scalar(cusparseHandle_t handle, const char* param) {
  if (scalar_homes::cusparse_always_host(param)) return false;
  return device_pointers(handle);
}

void pointer_mode_set(cusparseHandle_t handle, cusparsePointerMode_t mode) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.modes[handle] = mode;
}

void handle_destroyed(cusparseHandle_t handle) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.modes.erase(handle);
}

size_t type_bytes(cudaDataType t) {
  switch (t) {
    case CUDA_R_8I: case CUDA_R_8U: return 1;
    case CUDA_R_16F: case CUDA_R_16BF: case CUDA_C_8I: case CUDA_C_8U: case CUDA_R_16I:
    case CUDA_R_16U:
      return 2;
    case CUDA_R_32F: case CUDA_R_32I: case CUDA_R_32U: case CUDA_C_16F: case CUDA_C_16BF:
      return 4;
    case CUDA_R_64F: case CUDA_C_32F: case CUDA_R_64I: case CUDA_R_64U: case CUDA_C_32I:
      return 8;
    case CUDA_C_64F: return 16;
    default: return 0;
  }
}

void record_vec(const void* desc, cudaDataType value_type) {
  if (desc == nullptr) return;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.vec_types[desc] = value_type;
}

void forget_vec(const void* desc) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.vec_types.erase(desc);
}

size_t vec_scalar_bytes(const void* desc) {
  cudaDataType t;
  {
    State& s = state();
    std::lock_guard<std::mutex> g(s.mu);
    auto it = s.vec_types.find(desc);
    if (it == s.vec_types.end()) return 0;
    t = it->second;
  }
  switch (t) {
    case CUDA_R_16F: case CUDA_R_16BF: return sizeof(float);
    case CUDA_C_16F: case CUDA_C_16BF: return 2 * sizeof(float);
    default: return type_bytes(t);
  }
}

}  // namespace gvirtus::cusparse
