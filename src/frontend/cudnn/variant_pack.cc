// variant_pack.h: what the client knows of each backend descriptor it created.
#include "frontend/cudnn/variant_pack.h"

#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "frontend/core/call_key.h"
#include "frontend/core/process_owner.h"
#include "frontend/cudnn/glue.h"

namespace gvirtus::cudnn {
namespace {

struct Pack {
  bool variant = false;    // a CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR
  bool known = true;       // every Set and Finalize on it had a status the client knows
  bool finalized = false;  // a Finalize succeeded (or was sent, sure to succeed)
  int64_t pointers = 0;    // elements of the last DATA_POINTERS set
  int64_t ids = 0;         // elements of the last UNIQUE_IDS set
  // What an execution with this pack depends on besides the data (execute_key): the ids, and
  // each pointer's null-ness and alignment (mod 256), as last set.
  std::string id_bytes, pointer_classes, workspace_class;
};

// Executions that succeeded (execute_accepted); at most this many before it starts again.
constexpr size_t kMaxExecutions = 4096;

struct Packs {
  std::mutex mu;
  client::ProcessOwner owner;  // a forked child starts empty: its worker is a new one
  std::unordered_map<const void*, Pack> by_id;  // REQUIRES: mu
  std::unordered_set<std::string> executed;     // REQUIRES: mu
  void own_process() {  // REQUIRES: mu
    if (!owner.changed()) return;
    by_id.clear();
    executed.clear();
  }
};

Packs& packs() {
  static auto* p = new Packs;  // never destroyed: calls may come from static destructors
  return *p;
}

// The pack to predict for, or nullptr: created here, a variant pack, its history known.
Pack* find(Packs& p, const void* d) {  // REQUIRES: p.mu
  p.own_process();
  auto it = p.by_id.find(d);
  if (it == p.by_id.end() || !it->second.variant || !it->second.known) return nullptr;
  return &it->second;
}

std::string pointer_classes(const void* array, int64_t count) {
  std::string out;
  if (array == nullptr || count < 1) return out;
  const auto* p = static_cast<void* const*>(array);
  for (int64_t i = 0; i < count; ++i) client::key_append_pointer(&out, p[i]);
  return out;
}

// array: the Set's elements (pointers or int64 ids), count of them.
void record(Pack* pk, cudnnBackendAttributeName_t name, int64_t count, const void* array) {
  if (name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS) {
    pk->pointers = count;
    pk->pointer_classes = pointer_classes(array, count);
  }
  if (name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS) {
    pk->ids = count;
    if (array != nullptr && count > 0)
      pk->id_bytes.assign(static_cast<const char*>(array),
                          static_cast<size_t>(count) * sizeof(int64_t));
  }
  if (name == CUDNN_ATTR_VARIANT_PACK_WORKSPACE)
    pk->workspace_class = pointer_classes(array, count);
}

// The execution's key, or false: a live handle and plan, and a finalized pack whose history the
// client knows.
bool execute_key(Packs& p, cudnnHandle_t handle, cudnnBackendDescriptor_t plan,
                 cudnnBackendDescriptor_t pack, std::string* key) {  // REQUIRES: p.mu
  if (!objects().contains(handle) || !objects().contains(plan)) return false;
  Pack* pk = find(p, pack);
  if (pk == nullptr || !pk->finalized) return false;
  const uintptr_t ids[2] = {reinterpret_cast<uintptr_t>(handle), reinterpret_cast<uintptr_t>(plan)};
  key->assign(reinterpret_cast<const char*>(ids), sizeof ids);
  for (const std::string* part : {&pk->id_bytes, &pk->pointer_classes, &pk->workspace_class}) {
    const uint64_t n = part->size();
    key->append(reinterpret_cast<const char*>(&n), sizeof n);
    key->append(*part);
  }
  return true;
}

}  // namespace

void backend_created(const cudnnBackendDescriptor_t* d, cudnnBackendDescriptorType_t type) {
  objects().add_created(d);
  if (d == nullptr) return;
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  Pack pk;
  pk.variant = type == CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR;
  p.by_id[*d] = pk;
}

void backend_destroyed(cudnnBackendDescriptor_t d) {
  objects().remove(d);
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  p.by_id.erase(d);
}

void backend_unknown(cudnnBackendDescriptor_t d) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  auto it = p.by_id.find(d);
  if (it != p.by_id.end()) it->second.known = false;
}

void backend_finalized(cudnnBackendDescriptor_t d) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  auto it = p.by_id.find(d);
  if (it != p.by_id.end()) it->second.finalized = true;
}

bool variant_set_predicted(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                           cudnnBackendAttributeType_t type, int64_t count, const void* array) {
  if (array == nullptr || count < 1) return false;
  bool ok = false;
  switch (name) {
    case CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS:
      ok = type == CUDNN_TYPE_VOID_PTR;
      break;
    case CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS:
      ok = type == CUDNN_TYPE_INT64;
      break;
    case CUDNN_ATTR_VARIANT_PACK_WORKSPACE:
      ok = type == CUDNN_TYPE_VOID_PTR && count == 1;
      break;
    default:
      break;
  }
  if (!ok) return false;
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  Pack* pk = find(p, d);
  if (pk == nullptr || pk->finalized) return false;
  record(pk, name, count, array);
  return true;
}

void variant_set_done(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                      int64_t count, const void* array, cudnnStatus_t status) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  Pack* pk = find(p, d);
  if (pk == nullptr) return;
  if (status != CUDNN_STATUS_SUCCESS) {
    // What a failed Set leaves behind is cuDNN's business: stop predicting for this pack.
    pk->known = false;
    return;
  }
  record(pk, name, count, array);
}

bool variant_finalize_predicted(cudnnBackendDescriptor_t d) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  Pack* pk = find(p, d);
  return pk != nullptr && !pk->finalized && pk->pointers == pk->ids;
}

bool execute_accepted(cudnnHandle_t handle, cudnnBackendDescriptor_t plan,
                      cudnnBackendDescriptor_t pack) {
  if (client::session_lost()) return false;
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  std::string key;
  return execute_key(p, handle, plan, pack, &key) && p.executed.count(key) != 0;
}

void execute_succeeded(cudnnHandle_t handle, cudnnBackendDescriptor_t plan,
                       cudnnBackendDescriptor_t pack) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  p.own_process();
  std::string key;
  if (!execute_key(p, handle, plan, pack, &key)) return;
  if (p.executed.size() >= kMaxExecutions) p.executed.clear();
  p.executed.insert(std::move(key));
}

}  // namespace gvirtus::cudnn
