// Client-chosen handle ids (client.h, docs/protocol.md "Client-chosen handle ids"): which
// creates are sure to succeed, because the same request succeeded before in this process.
#include <mutex>
#include <string>
#include <unordered_set>

#include "frontend/core/client.h"
#include "frontend/core/process_owner.h"

namespace gvirtus::client {
namespace {

// A training step creates the same few dozen descriptors with the same arguments every step;
// the bound only keeps a program that never repeats itself from growing the set without end.
constexpr size_t kMaxKnown = 4096;

struct Known {
  std::mutex mu;
  ProcessOwner owner;  // a forked child starts empty: its worker is a new one
  std::unordered_set<std::string> keys;
};

Known& known() {
  static auto* k = new Known;  // never destroyed: creates may come from static destructors
  return *k;
}

std::string key_of(const Call& c) {
  const wire::Writer& a = c.args();
  std::string key(sizeof(uint32_t) + a.size(), '\0');
  const uint32_t id = c.call_id();
  key.replace(0, sizeof id, reinterpret_cast<const char*>(&id), sizeof id);
  if (a.size() > 0) key.replace(sizeof id, a.size(), reinterpret_cast<const char*>(a.data()),
                                a.size());
  return key;
}

}  // namespace

bool create_known(const Call& c) {
  Known& k = known();
  const std::string key = key_of(c);
  std::lock_guard<std::mutex> g(k.mu);
  if (!k.owner.current()) return false;
  return k.keys.count(key) != 0;
}

void create_succeeded(const Call& c) {
  Known& k = known();
  std::string key = key_of(c);
  std::lock_guard<std::mutex> g(k.mu);
  if (k.owner.changed()) k.keys.clear();
  if (k.keys.size() < kMaxKnown) k.keys.insert(std::move(key));
}

bool client_ids() {
  Connection* conn = connection();
  return conn != nullptr && conn->client_ids();
}

}  // namespace gvirtus::client
