// The runtime's cudaKernel_t resolver (runtime_kernels.h).
#include "frontend/core/runtime_kernels.h"

#include <atomic>

namespace gvirtus::client {
namespace {
std::atomic<RuntimeKernelResolver> g_resolver{nullptr};
}  // namespace

void set_runtime_kernel_resolver(RuntimeKernelResolver r) {
  g_resolver.store(r, std::memory_order_release);
}

int32_t runtime_kernel_id(const void* p, uint64_t* id) {
  const RuntimeKernelResolver r = g_resolver.load(std::memory_order_acquire);
  return r ? r(p, id) : -1;
}

}  // namespace gvirtus::client
