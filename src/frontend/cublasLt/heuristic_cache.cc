// heuristic_cache.h: the objects' state and the kept heuristic answers.
#include "frontend/cublasLt/heuristic_cache.h"

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "frontend/core/answers.h"
#include "frontend/core/call_key.h"
#include "frontend/core/client.h"
#include "frontend/core/process_owner.h"

namespace gvirtus::cublasLt {
namespace {

// A training step asks a few dozen distinct questions; the bound keeps a program that never
// repeats a shape from growing the cache without end.
constexpr size_t kMaxEntries = 4096;

struct Object {
  std::string created;                  // kind byte + the create's arguments
  std::map<int, std::string> attrs;     // attribute -> the bytes stored by SetAttribute
};

struct Answer {
  int returned;
  std::vector<cublasLtMatmulHeuristicResult_t> results;  // `requested` entries, as sent back
};

struct State {
  std::mutex mu;
  client::ProcessOwner owner;  // a forked child starts empty: its worker is a new one
  std::unordered_map<const void*, Object> objects;  // REQUIRES: mu
  std::unordered_map<std::string, Answer> answers;  // REQUIRES: mu
  std::unordered_set<std::string> accepted;         // matmuls that succeeded; REQUIRES: mu
  void own_process() {  // REQUIRES: mu
    if (!owner.changed()) return;
    objects.clear();
    answers.clear();
    accepted.clear();
  }
};

State& state() {
  static auto* s = new State;  // never destroyed: calls may come from static destructors
  return *s;
}

void put_u64(std::string* k, uint64_t v) { k->append(reinterpret_cast<const char*>(&v), sizeof v); }

void put_bytes(std::string* k, const std::string& b) {
  put_u64(k, b.size());
  k->append(b);
}

// Appends the object's complete state (not its id: PyTorch makes new descriptors for every
// product); false if the client does not know it.
bool put_object(std::string* k, const State& s, const void* object) {  // REQUIRES: s.mu
  k->push_back(object != nullptr);
  if (object == nullptr) return true;  // cuBLASLt's own answer to a NULL descriptor is kept
  auto it = s.objects.find(object);
  if (it == s.objects.end()) return false;
  put_bytes(k, it->second.created);
  put_u64(k, it->second.attrs.size());
  for (const auto& [attr, bytes] : it->second.attrs) {
    put_u64(k, static_cast<uint64_t>(static_cast<int64_t>(attr)));
    put_bytes(k, bytes);
  }
  return true;
}

// The settings libcublas.so.13 records per handle (frontend/cublas/glue.cc, note_setting).
constexpr const char* kHandleSettings[] = {"math", "workspace", "atomics", "sm_count",
                                           "emulation", "emulation_special", "fixed_control",
                                           "fixed_max_bits", "fixed_offset"};

// The calling thread's device, the handle and the settings cuBLAS keeps in it.
bool put_context(std::string* k, cublasLtHandle_t handle) {
  int device = -1;
  if (!client::recall_current_device(&device)) return false;
  put_u64(k, static_cast<uint64_t>(device));
  put_u64(k, reinterpret_cast<uintptr_t>(handle));
  const std::string prefix = "cublas:setting:" +
                             std::to_string(reinterpret_cast<uintptr_t>(handle)) + ":";
  for (const char* name : kHandleSettings) {
    int64_t v[2] = {0, 0};
    const bool set = client::recall_answer(prefix + name, v, sizeof v);
    k->push_back(set ? 1 : 0);
    put_u64(k, static_cast<uint64_t>(v[0]));
    put_u64(k, static_cast<uint64_t>(v[1]));
  }
  return true;
}

bool key_of(std::string* k, const State& s, cublasLtHandle_t handle, cublasLtMatmulDesc_t op,
            cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
            cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t pref, int requested) {
  if (!put_context(k, handle)) return false;
  put_u64(k, static_cast<uint64_t>(static_cast<int64_t>(requested)));
  for (const void* o : {static_cast<const void*>(op), static_cast<const void*>(a),
                        static_cast<const void*>(b), static_cast<const void*>(c),
                        static_cast<const void*>(d), static_cast<const void*>(pref)})
    if (!put_object(k, s, o)) return false;
  return true;
}

// Everything cublasLtMatmul's outcome depends on at the call, but the data: the context, the
// five objects' state, the algorithm's bytes, the workspace size, the stream, and the pointers'
// null-ness and alignment (alpha and beta: presence only).
bool matmul_key(std::string* k, const State& s, cublasLtHandle_t handle,
                cublasLtMatmulDesc_t op, const void* alpha, const void* A,
                cublasLtMatrixLayout_t a, const void* B, cublasLtMatrixLayout_t b,
                const void* beta, const void* C, cublasLtMatrixLayout_t c, const void* D,
                cublasLtMatrixLayout_t d, const cublasLtMatmulAlgo_t* algo, const void* ws,
                size_t ws_bytes, cudaStream_t stream) {
  k->push_back('X');
  if (!put_context(k, handle)) return false;
  for (const void* o : {static_cast<const void*>(op), static_cast<const void*>(a),
                        static_cast<const void*>(b), static_cast<const void*>(c),
                        static_cast<const void*>(d)})
    if (o == nullptr || !put_object(k, s, o)) return false;
  k->push_back(algo != nullptr);
  if (algo != nullptr) k->append(reinterpret_cast<const char*>(algo), sizeof *algo);
  put_u64(k, ws_bytes);
  put_u64(k, reinterpret_cast<uintptr_t>(stream));
  k->push_back(alpha != nullptr);
  k->push_back(beta != nullptr);
  for (const void* p : {A, B, C, D, ws}) client::key_append_pointer(k, p);
  return true;
}

}  // namespace

void state_created(const void* object, char kind, const void* args, size_t n) {
  if (object == nullptr) return;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  Object& o = s.objects[object];
  o.created.assign(1, kind);
  o.created.append(static_cast<const char*>(args), n);
  o.attrs.clear();
}

void state_set(const void* object, int attr, const void* buf, size_t size) {
  if (object == nullptr || buf == nullptr) return;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  auto it = s.objects.find(object);
  if (it == s.objects.end()) return;
  it->second.attrs[attr].assign(static_cast<const char*>(buf), size);
}

void state_destroyed(const void* object) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  s.objects.erase(object);
}

void layout_created_state(const cublasLtMatrixLayout_t* layout, cudaDataType type,
                          uint64_t rows, uint64_t cols, int64_t ld) {
  if (layout == nullptr) return;
  // Whole words only: a struct's padding would put indeterminate bytes into the key.
  const uint64_t args[4] = {static_cast<uint64_t>(static_cast<int64_t>(type)), rows, cols,
                            static_cast<uint64_t>(ld)};
  state_created(*layout, 'L', args, sizeof args);
}

void matmul_desc_created_state(const cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                               cudaDataType_t scale) {
  if (desc == nullptr) return;
  const int32_t args[2] = {static_cast<int32_t>(compute), static_cast<int32_t>(scale)};
  state_created(*desc, 'M', args, sizeof args);
}

void preference_created_state(const cublasLtMatmulPreference_t* pref) {
  if (pref != nullptr) state_created(*pref, 'P', nullptr, 0);
}

std::optional<cublasStatus_t> heuristic_recall(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t* results,
    int* returned) {
  if (results == nullptr || returned == nullptr || requested <= 0 || client::session_lost())
    return std::nullopt;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  std::string key;
  if (!key_of(&key, s, handle, op, a, b, c, d, pref, requested)) return std::nullopt;
  auto it = s.answers.find(key);
  if (it == s.answers.end() || it->second.results.size() != static_cast<size_t>(requested))
    return std::nullopt;
  std::memcpy(results, it->second.results.data(),
              it->second.results.size() * sizeof(cublasLtMatmulHeuristicResult_t));
  *returned = it->second.returned;
  return CUBLAS_STATUS_SUCCESS;
}

void heuristic_keep(cublasLtHandle_t handle, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
                    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                    cublasLtMatmulPreference_t pref, int requested,
                    const cublasLtMatmulHeuristicResult_t* results, const int* returned) {
  if (results == nullptr || returned == nullptr || requested <= 0) return;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  if (s.answers.size() >= kMaxEntries) return;
  std::string key;
  if (!key_of(&key, s, handle, op, a, b, c, d, pref, requested)) return;
  Answer& ans = s.answers[key];
  ans.returned = *returned;
  ans.results.assign(results, results + requested);
}

bool matmul_accepted(cublasLtHandle_t handle, cublasLtMatmulDesc_t op, const void* alpha,
                     const void* A, cublasLtMatrixLayout_t a, const void* B,
                     cublasLtMatrixLayout_t b, const void* beta, const void* C,
                     cublasLtMatrixLayout_t c, void* D, cublasLtMatrixLayout_t d,
                     const cublasLtMatmulAlgo_t* algo, void* ws, size_t ws_bytes,
                     cudaStream_t stream) {
  if (client::session_lost()) return false;
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  std::string key;
  if (!matmul_key(&key, s, handle, op, alpha, A, a, B, b, beta, C, c, D, d, algo, ws, ws_bytes,
                  stream))
    return false;
  return s.accepted.count(key) != 0;
}

void matmul_succeeded(cublasLtHandle_t handle, cublasLtMatmulDesc_t op, const void* alpha,
                      const void* A, cublasLtMatrixLayout_t a, const void* B,
                      cublasLtMatrixLayout_t b, const void* beta, const void* C,
                      cublasLtMatrixLayout_t c, void* D, cublasLtMatrixLayout_t d,
                      const cublasLtMatmulAlgo_t* algo, void* ws, size_t ws_bytes,
                      cudaStream_t stream) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  std::string key;
  if (!matmul_key(&key, s, handle, op, alpha, A, a, B, b, beta, C, c, D, d, algo, ws, ws_bytes,
                  stream))
    return;
  if (s.accepted.size() >= kMaxEntries) s.accepted.clear();
  s.accepted.insert(std::move(key));
}

size_t heuristic_entries() {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  return s.answers.size();
}

}  // namespace gvirtus::cublasLt
