// The process's host-memory implementation (host_memory_ops.h).
#include "frontend/core/host_memory_ops.h"

#include <atomic>

namespace gvirtus::client {
namespace {
std::atomic<const HostMemoryOps*> g_ops{nullptr};
}  // namespace

void set_host_memory_ops(const HostMemoryOps& ops) {
  auto* copy = new HostMemoryOps(ops);  // lives as long as the process
  const HostMemoryOps* expected = nullptr;
  if (!g_ops.compare_exchange_strong(expected, copy, std::memory_order_acq_rel)) delete copy;
}

const HostMemoryOps* host_memory_ops() { return g_ops.load(std::memory_order_acquire); }

}  // namespace gvirtus::client
