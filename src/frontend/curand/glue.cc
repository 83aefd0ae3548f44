// glue.h: loss, reply completion and the set of host generators; registers the "curand" plugin.
#include "frontend/curand/glue.h"

#include <mutex>
#include <unordered_set>

namespace gvirtus::curand {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("curand"); }

struct HostGenerators {
  std::mutex mu;
  std::unordered_set<curandGenerator_t> ids;  // REQUIRES: mu
};

HostGenerators& host_generators() {
  static auto* h = new HostGenerators;
  return *h;
}

}  // namespace

curandStatus_t lost() { return CURAND_STATUS_INITIALIZATION_FAILED; }

curandStatus_t finish(const client::Call& c) { return client::library_result<curandStatus_t>(c); }

void note_host_generator(curandGenerator_t g, bool host) {
  HostGenerators& h = host_generators();
  std::lock_guard<std::mutex> lock(h.mu);
  if (host)
    h.ids.insert(g);
  else
    h.ids.erase(g);
}

bool is_host_generator(curandGenerator_t g) {
  HostGenerators& h = host_generators();
  std::lock_guard<std::mutex> lock(h.mu);
  return h.ids.count(g) != 0;
}

}  // namespace gvirtus::curand
