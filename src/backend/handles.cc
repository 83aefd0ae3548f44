// HandleTable: opaque ids for worker objects. Kind in the top byte, a serial number below that
// grows for the life of the table, so an id is never handed out twice.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend/dispatch.h"

namespace gvirtus::backend {
namespace {

using wire::kClientIdBit;
using wire::kIdSerialMask;

const char* kind_name(HandleKind k) {
  switch (k) {
    case HandleKind::kStream: return "stream";
    case HandleKind::kEvent: return "event";
    case HandleKind::kLibrary: return "library";
    case HandleKind::kKernel: return "kernel";
    case HandleKind::kContext: return "context";
    case HandleKind::kModule: return "module";
    case HandleKind::kFunction: return "function";
    case HandleKind::kDrvLibrary: return "library";
    case HandleKind::kDrvKernel: return "kernel";
    case HandleKind::kGraph: return "graph";
    case HandleKind::kGraphExec: return "graph exec";
    case HandleKind::kGraphNode: return "graph node";
    case HandleKind::kMemPool: return "memory pool";
    case HandleKind::kArray: return "array";
    case HandleKind::kMipmappedArray: return "mipmapped array";
    case HandleKind::kLinkState: return "link state";
    case HandleKind::kUserObject: return "user object";
    case HandleKind::kOther: return "object";
    case HandleKind::kMemAllocation: return "memory allocation";
    default: break;
  }
  if (k >= HandleKind::kCublasHandle && k <= HandleKind::kCublasLtMatrixTransformDesc)
    return "cuBLAS object";
  if (k >= HandleKind::kCudnnHandle && k <= HandleKind::kCudnnBackendDesc) return "cuDNN object";
  if (k >= HandleKind::kCusparseHandle && k <= HandleKind::kCusparseBsrilu02Info)
    return "cuSPARSE object";
  if (k == HandleKind::kCurandGenerator || k == HandleKind::kCurandHostGenerator)
    return "cuRAND generator";
  if (k >= HandleKind::kCusolverDnHandle && k <= HandleKind::kCusolverRfHandle)
    return "cuSOLVER object";
  if (k >= HandleKind::kNvmlDevice && k <= HandleKind::kNvmlEventSet) return "NVML object";
  return "unknown";
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

uint64_t HandleTable::add(HandleKind kind, void* obj) {
  std::lock_guard<std::mutex> g(mu_);
  auto& ids = ids_[static_cast<uint8_t>(kind)];
  if (auto known = ids.find(obj); known != ids.end()) return known->second;
  // 2^55 ids: at a million a second, a thousand years. Still, never wrap into reuse, nor into
  // the client-chosen ids (bit 55).
  if (next_ >= kClientIdBit) {
    std::fprintf(stderr, "gvirtus: handle serial numbers exhausted\n");
    std::abort();
  }
  uint64_t id = (uint64_t{static_cast<uint8_t>(kind)} << 56) | next_++;
  live_.emplace(id, std::make_pair(kind, obj));
  ids.emplace(obj, id);
  return id;
}

// Serials are shared by all kinds, so an id of the right kind whose serial was issued to
// another kind counts as released rather than forged: harmless (the call fails with an
// invalid-handle error) and it keeps the table free of a record per released id.
HandleTable::Found HandleTable::find(HandleKind kind, uint64_t id, void** obj) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(id);
  if (it != live_.end() && it->second.first == kind) {
    if (obj) *obj = it->second.second;
    return Found::kLive;
  }
  if (handle_kind_of(id) != kind) return Found::kNever;
  if (wire::is_client_id(id)) {
    // Likewise for client-chosen ids: any ticket up to the last one claimed counts as issued.
    const uint64_t t = wire::client_id_ticket(id);
    return t != 0 && t <= last_claim_ ? Found::kReleased : Found::kNever;
  }
  uint64_t serial = id & kIdSerialMask;
  if (serial != 0 && serial < next_) return Found::kReleased;
  return Found::kNever;
}

uint64_t HandleTable::claim_client_id(HandleKind kind, uint64_t ticket) {
  const uint64_t id = wire::client_id(kind, ticket);
  std::lock_guard<std::mutex> g(mu_);
  if (id == 0)
    throw SessionFault(std::string("a client-chosen ") + kind_name(kind) + " id for ticket " +
                       std::to_string(ticket) + " (a create that asks for one needs a ticket "
                       "below 2^55)");
  // Tickets run in order, so each claim is above the last: one that is not names an id that
  // was named before (a replayed or duplicated ticket).
  if (ticket <= last_claim_ || live_.count(id))
    throw SessionFault(std::string("client-chosen ") + kind_name(kind) + " id " + hex(id) +
                       " named twice (ticket " + std::to_string(ticket) + ", last claimed " +
                       std::to_string(last_claim_) + ")");
  last_claim_ = ticket;
  claimed_ = id;
  return id;
}

bool HandleTable::bind_client_id(HandleKind kind, uint64_t id, void* obj) {
  std::lock_guard<std::mutex> g(mu_);
  if (id == 0 || id != claimed_ || handle_kind_of(id) != kind) return false;
  claimed_ = 0;
  auto& ids = ids_[static_cast<uint8_t>(kind)];
  if (ids.count(obj)) return false;
  live_.emplace(id, std::make_pair(kind, obj));
  ids.emplace(obj, id);
  return true;
}

bool HandleTable::lookup(HandleKind kind, uint64_t id, void** obj) const {
  switch (find(kind, id, obj)) {
    case Found::kLive: return true;
    case Found::kReleased: return false;
    case Found::kNever: break;
  }
  throw SessionFault(std::string("forged ") + kind_name(kind) + " handle " + hex(id) +
                     " (never issued in this session)");
}

bool HandleTable::remove(HandleKind kind, uint64_t id, void** obj) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(id);
  if (it == live_.end() || it->second.first != kind) return false;
  if (obj) *obj = it->second.second;
  ids_[static_cast<uint8_t>(kind)].erase(it->second.second);
  live_.erase(it);
  return true;
}

void HandleTable::forget(HandleKind kind, void* obj) {
  std::lock_guard<std::mutex> g(mu_);
  auto& ids = ids_[static_cast<uint8_t>(kind)];
  auto it = ids.find(obj);
  if (it == ids.end()) return;
  live_.erase(it->second);
  ids.erase(it);
}

std::vector<void*> HandleTable::live(HandleKind kind) const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<void*> out;
  for (const auto& [id, entry] : live_)
    if (entry.first == kind) out.push_back(entry.second);
  return out;
}

std::vector<uint64_t> HandleTable::live_ids() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<uint64_t> out;
  out.reserve(live_.size());
  for (const auto& entry : live_) out.push_back(entry.first);
  return out;
}

}  // namespace gvirtus::backend
