// variant_pack.h: what the client knows of each backend descriptor it created.
#include "frontend/cudnn/variant_pack.h"

#include <unistd.h>

#include <mutex>
#include <unordered_map>

#include "frontend/cudnn/glue.h"

namespace gvirtus::cudnn {
namespace {

struct Pack {
  bool variant = false;    // a CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR
  bool known = true;       // every Set and Finalize on it had a status the client knows
  bool finalized = false;  // a Finalize succeeded (or was sent, sure to succeed)
  int64_t pointers = 0;    // elements of the last DATA_POINTERS set
  int64_t ids = 0;         // elements of the last UNIQUE_IDS set
};

struct Packs {
  std::mutex mu;
  pid_t pid = 0;  // a forked child starts empty: its worker is a new one
  std::unordered_map<const void*, Pack> by_id;  // REQUIRES: mu
  void own_process() {  // REQUIRES: mu
    const pid_t me = ::getpid();
    if (pid == me) return;
    by_id.clear();
    pid = me;
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

void record(Pack* pk, cudnnBackendAttributeName_t name, int64_t count) {
  if (name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS) pk->pointers = count;
  if (name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS) pk->ids = count;
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
  record(pk, name, count);
  return true;
}

void variant_set_done(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                      int64_t count, cudnnStatus_t status) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  Pack* pk = find(p, d);
  if (pk == nullptr) return;
  if (status != CUDNN_STATUS_SUCCESS) {
    // What a failed Set leaves behind is cuDNN's business: stop predicting for this pack.
    pk->known = false;
    return;
  }
  record(pk, name, count);
}

bool variant_finalize_predicted(cudnnBackendDescriptor_t d) {
  Packs& p = packs();
  std::lock_guard<std::mutex> g(p.mu);
  Pack* pk = find(p, d);
  return pk != nullptr && !pk->finalized && pk->pointers == pk->ids;
}

}  // namespace gvirtus::cudnn
