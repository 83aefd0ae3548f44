// glue.h: loss, reply completion and the scale type and pointer mode of each descriptor;
// registers the "cublasLt" plugin.
#include "frontend/cublasLt/glue.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/scalar_homes.h"
#include "frontend/core/live_set.h"

namespace gvirtus::cublasLt {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cublasLt"); }

struct DescState {
  int32_t scale_type;
  int32_t pointer_mode;
};

// Descriptor id -> state. Ids of all handle kinds are distinct, so matmul and transform
// descriptors share the map.
struct Descs {
  std::mutex mu;
  std::unordered_map<const void*, DescState> by_id;  // REQUIRES: mu
};

Descs& descs() {
  static auto* d = new Descs;
  return *d;
}

void created(const void* id, cudaDataType_t scale) {
  if (id == nullptr) return;
  Descs& d = descs();
  std::lock_guard<std::mutex> g(d.mu);
  d.by_id[id] = DescState{static_cast<int32_t>(scale), CUBLASLT_POINTER_MODE_HOST};
}

// A successful SetAttribute of an int32_t attribute that the frontend tracks.
void set(const void* id, bool is_scale, bool is_mode, const void* buf, size_t size) {
  if (id == nullptr || buf == nullptr || size != sizeof(int32_t) || !(is_scale || is_mode)) return;
  int32_t v;
  std::memcpy(&v, buf, sizeof v);
  Descs& d = descs();
  std::lock_guard<std::mutex> g(d.mu);
  auto it = d.by_id.find(id);
  if (it == d.by_id.end()) return;
  (is_scale ? it->second.scale_type : it->second.pointer_mode) = v;
}

bool find(const void* id, DescState* out) {
  Descs& d = descs();
  std::lock_guard<std::mutex> g(d.mu);
  auto it = d.by_id.find(id);
  if (it == d.by_id.end()) return false;
  *out = it->second;
  return true;
}

}  // namespace

cublasStatus_t lost() { return CUBLAS_STATUS_NOT_INITIALIZED; }

cublasStatus_t finish(const client::Call& c) { return client::library_result<cublasStatus_t>(c); }

void desc_created(const cublasLtMatmulDesc_t* desc, cublasComputeType_t computeType,
                  cudaDataType_t scaleType) {
  if (desc == nullptr) return;
  created(*desc, scaleType);
  matmul_desc_created_state(desc, computeType, scaleType);
}

void desc_created(const cublasLtMatrixTransformDesc_t* desc, cudaDataType_t scaleType) {
  if (desc == nullptr) return;
  created(*desc, scaleType);
  const int32_t args[1] = {static_cast<int32_t>(scaleType)};
  state_created(*desc, 'T', args, sizeof args);
}

bool desc_live(const void* desc) {
  Descs& d = descs();
  std::lock_guard<std::mutex> g(d.mu);
  return desc != nullptr && d.by_id.count(desc) != 0;
}

client::LiveSet& objects() {
  static auto* s = new client::LiveSet;
  return *s;
}

void desc_destroyed(const void* desc) {
  state_destroyed(desc);
  Descs& d = descs();
  std::lock_guard<std::mutex> g(d.mu);
  d.by_id.erase(desc);
}

namespace {

// The size of each attribute, per kind of object, as learnt from a SetAttribute that
// succeeded: cuBLASLt answers CUBLAS_STATUS_INVALID_VALUE for a NULL buffer or a size that is
// not its attribute's, and stores the bytes otherwise.
enum class Kind { kMatmulDesc, kTransformDesc, kLayout, kPreference };

struct AttributeSizes {
  std::mutex mu;
  std::map<std::pair<Kind, int>, size_t> size;  // REQUIRES: mu
};

AttributeSizes& sizes() {
  static auto* s = new AttributeSizes;
  return *s;
}

void learn(Kind kind, int attr, size_t size) {
  AttributeSizes& s = sizes();
  std::lock_guard<std::mutex> g(s.mu);
  s.size[{kind, attr}] = size;
}

bool accepted(Kind kind, bool live, int attr, const void* buf, size_t size) {
  if (!live || buf == nullptr) return false;
  AttributeSizes& s = sizes();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.size.find({kind, attr});
  return it != s.size.end() && it->second == size;
}

}  // namespace

bool set_accepted(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                  const void* buf, size_t size) {
  return accepted(Kind::kMatmulDesc, desc_live(desc), attr, buf, size);
}
bool set_accepted(cublasLtMatrixTransformDesc_t desc,
                  cublasLtMatrixTransformDescAttributes_t attr, const void* buf, size_t size) {
  return accepted(Kind::kTransformDesc, desc_live(desc), attr, buf, size);
}
bool set_accepted(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr,
                  const void* buf, size_t size) {
  return accepted(Kind::kLayout, objects().contains(layout), attr, buf, size);
}
bool set_accepted(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                  const void* buf, size_t size) {
  return accepted(Kind::kPreference, objects().contains(pref), attr, buf, size);
}
void layout_set(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr,
                const void* buf, size_t size) {
  learn(Kind::kLayout, attr, size);
  state_set(layout, attr, buf, size);
}
void preference_set(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                    const void* buf, size_t size) {
  learn(Kind::kPreference, attr, size);
  state_set(pref, attr, buf, size);
}

void layout_created(const cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                    uint64_t cols, int64_t ld) {
  objects().add_created(layout);
  layout_created_state(layout, type, rows, cols, ld);
}
void layout_destroyed(cublasLtMatrixLayout_t layout) {
  objects().remove(layout);
  state_destroyed(layout);
}
void preference_created(const cublasLtMatmulPreference_t* pref) {
  objects().add_created(pref);
  preference_created_state(pref);
}
void preference_destroyed(cublasLtMatmulPreference_t pref) {
  objects().remove(pref);
  state_destroyed(pref);
}

void desc_set(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void* buf,
              size_t size) {
  learn(Kind::kMatmulDesc, attr, size);
  state_set(desc, attr, buf, size);
  set(desc, attr == CUBLASLT_MATMUL_DESC_SCALE_TYPE, attr == CUBLASLT_MATMUL_DESC_POINTER_MODE,
      buf, size);
}

void desc_set(cublasLtMatrixTransformDesc_t desc, cublasLtMatrixTransformDescAttributes_t attr,
              const void* buf, size_t size) {
  learn(Kind::kTransformDesc, attr, size);
  state_set(desc, attr, buf, size);
  set(desc, attr == CUBLASLT_MATRIX_TRANSFORM_DESC_SCALE_TYPE,
      attr == CUBLASLT_MATRIX_TRANSFORM_DESC_POINTER_MODE, buf, size);
}

size_t scale_bytes(const void* desc) {
  DescState s;
  return find(desc, &s) ? data_type_bytes(s.scale_type) : 0;
}

bool device_scalar(const void* desc, const char* param) {
  DescState s;
  if (!find(desc, &s)) return false;
  return scalar_homes::cublaslt_device(s.pointer_mode, param);
}

size_t data_type_bytes(int type) {
  switch (type) {
    case CUDA_R_4I: case CUDA_C_4I: case CUDA_R_4U: case CUDA_C_4U:
    case CUDA_R_8I: case CUDA_R_8U: case CUDA_R_8F_E4M3: case CUDA_R_8F_E5M2:
    case CUDA_R_8F_UE8M0: case CUDA_R_6F_E2M3: case CUDA_R_6F_E3M2: case CUDA_R_4F_E2M1:
      return 1;
    case CUDA_R_16F: case CUDA_R_16BF: case CUDA_C_8I: case CUDA_C_8U: case CUDA_R_16I:
    case CUDA_R_16U:
      return 2;
    case CUDA_R_32F: case CUDA_C_16F: case CUDA_C_16BF: case CUDA_R_32I: case CUDA_R_32U:
    case CUDA_C_16I: case CUDA_C_16U:
      return 4;
    case CUDA_R_64F: case CUDA_C_32F: case CUDA_R_64I: case CUDA_R_64U: case CUDA_C_32I:
    case CUDA_C_32U:
      return 8;
    case CUDA_C_64F: case CUDA_C_64I: case CUDA_C_64U:
      return 16;
    default:
      return 0;
  }
}

}  // namespace gvirtus::cublasLt
