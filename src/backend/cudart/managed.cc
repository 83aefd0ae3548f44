// Managed and mapped memory of the frontend's mirrored allocations (src/frontend/cudart/
// managed.h): the worker's side is real managed memory, whose address the client maps too.
#include <cuda_runtime_api.h>

#include <mutex>
#include <string>
#include <unordered_set>

#include "backend/cudart/support.h"
#include "backend/quota_calls.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {
namespace {

// No single allocation above this (the GPU has far less; a larger request is a broken client).
constexpr uint64_t kMaxManagedBytes = uint64_t{1} << 40;

struct ManagedState {
  std::mutex mu;
  std::unordered_set<uint64_t> live;  // addresses handed out by gvManagedAlloc
};

}  // namespace

// Request: u64 size, u32 flags (cudaMemAttachGlobal / cudaMemAttachHost; the runtime checks
// them). Reply: u64 address.
void handle_gvManagedAlloc(CallContext& ctx) {
  uint64_t size = ctx.in.get<uint64_t>();
  uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  if (size == 0 || size > kMaxManagedBytes) {
    ctx.status = size == 0 ? cudaErrorInvalidValue : cudaErrorMemoryAllocation;
    return;
  }
  void* p = nullptr;
  if (!quota::room_for(size)) {  // the session's GPU memory quota: as on a full GPU
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  cudaError_t e = cudaMallocManaged(&p, static_cast<size_t>(size), flags);
  ctx.status = e;
  if (e != cudaSuccess) return;
  const auto addr = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
  if (!quota::allocated(addr, size)) {
    cudaFree(p);
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ManagedState& st = ctx.session.state<ManagedState>();
  {
    std::lock_guard<std::mutex> g(st.mu);
    st.live.insert(addr);
  }
  ctx.out.put<uint64_t>(addr);
}

// Request: u64 address from gvManagedAlloc. Anything else is a broken client.
void handle_gvManagedFree(CallContext& ctx) {
  uint64_t addr = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  ManagedState& st = ctx.session.state<ManagedState>();
  {
    std::lock_guard<std::mutex> g(st.mu);
    if (st.live.erase(addr) == 0)
      throw SessionFault("gvManagedFree of an address that is no managed allocation");
  }
  ctx.status = cudaFree(reinterpret_cast<void*>(static_cast<uintptr_t>(addr)));
  if (ctx.status == cudaSuccess) quota::freed(addr);
}

}  // namespace gvirtus::backend::cudart
