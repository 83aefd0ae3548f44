// Managed and mapped memory of the frontend's mirrored allocations (src/frontend/cudart/
// managed.h): the worker's side is real managed memory, whose address the client maps too.
//
// Wire (docs/frontend.md, "Managed memory and host callbacks"):
//   gvManagedPeek  request u64 address, u64 n          reply n bytes
//   gvManagedPoke  request u64 address, the bytes      reply -
// Both copy on a non-blocking stream of the worker's own and wait for it alone: they serve the
// host-callback thread while a stream is held by the callback it is about to run, so they must
// neither wait for that stream (as the legacy stream would) nor for the session-wide order (the
// callback connection is unordered).
#include "backend/cudart/managed.h"

#include <cuda_runtime_api.h>

#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "backend/cudart/support.h"
#include "backend/quota_calls.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {
namespace {

// No single allocation above this (the GPU has far less; a larger request is a broken client).
constexpr uint64_t kMaxManagedBytes = uint64_t{1} << 40;

struct ManagedState {
  std::mutex mu;
  std::map<uint64_t, uint64_t> live;  // gvManagedAlloc's allocations: address -> size
  std::map<uint64_t, uint64_t> vars;  // __managed__ variables handed out: address -> size
  cudaStream_t side = nullptr;        // peeks and pokes, made on first use
};

// Whether [addr, addr+n) lies inside one range of `m`. REQUIRES: the state's mu.
bool inside(const std::map<uint64_t, uint64_t>& m, uint64_t addr, uint64_t n) {
  auto it = m.upper_bound(addr);
  if (it == m.begin()) return false;
  --it;
  const uint64_t off = addr - it->first;
  return off < it->second && n <= it->second - off;
}

// Makes the side stream if there is none yet. REQUIRES: the state's mu. Called where managed
// memory is handed out (gvManagedAlloc, gvManagedVarGet), on the application's thread: not
// first inside a host callback, where a CUDA resource call may have to wait for the very
// callback the peek serves (the same reason the peek copies into ordinary memory, below).
cudaError_t make_side(ManagedState& st) {
  if (st.side) return cudaSuccess;
  cudaError_t e = cudaStreamCreateWithFlags(&st.side, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    st.side = nullptr;
    cudaGetLastError();  // not the application's error
  }
  return e;
}

// The range a peek or poke names must be managed memory this client was given; anything else
// is a broken client. Returns the side stream (nullptr with ctx.status set if it cannot be made).
cudaStream_t exchange_stream(CallContext& ctx, uint64_t addr, uint64_t n, const char* what) {
  if (n == 0 || n > wire::kMaxPayload)
    throw SessionFault(std::string(what) + " of " + std::to_string(n) + " bytes");
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.mu);
  if (!inside(st.live, addr, n) && !inside(st.vars, addr, n))
    throw SessionFault(std::string(what) + " outside the session's managed memory");
  // The callback connection's server thread waits on its side stream while the application may
  // be capturing in global mode on another thread: as a relaxed thread it may (a waiting call
  // would otherwise fail and invalidate that capture).
  thread_local bool relaxed = false;
  if (!relaxed) {
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    relaxed = cudaThreadExchangeStreamCaptureMode(&mode) == cudaSuccess;
  }
  if (!st.side && (ctx.status = make_side(st)) != cudaSuccess) return nullptr;
  return st.side;
}

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

}  // namespace

void note_managed_variable(CallContext& ctx, uint64_t addr, uint64_t size) {
  if (size == 0) return;
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.mu);
  st.vars[addr] = size;
  make_side(st);  // a failure is reported by the first peek that needs it
}

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
    st.live[addr] = size;
    make_side(st);  // a failure is reported by the first peek that needs it
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

// Request: u64 address, u64 n, inside one managed range. Reply: its n bytes as the device has
// them once the work already finished on the streams has landed (the side stream waits for no
// other stream).
void handle_gvManagedPeek(CallContext& ctx) {
  uint64_t addr = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s = exchange_stream(ctx, addr, n, "gvManagedPeek");
  if (!s) return;
  // Ordinary memory of this server thread, valid until its next request (the reply is sent
  // before that): the connection's page-locked buffer may have to grow, and freeing page-locked
  // memory synchronises the device, which waits for the host callback this peek serves.
  thread_local std::vector<uint8_t> peeked;
  if (peeked.size() < n) {
    try {
      peeked.resize(static_cast<size_t>(n));
    } catch (const std::bad_alloc&) {
      ctx.status = cudaErrorMemoryAllocation;
      return;
    }
  }
  uint8_t* buf = peeked.data();
  ctx.status = cudaMemcpyAsync(buf, dptr(addr), static_cast<size_t>(n), cudaMemcpyDefault, s);
  if (ctx.status == cudaSuccess) ctx.status = cudaStreamSynchronize(s);
  if (ctx.status != cudaSuccess) return;
  ctx.bulk = buf;
  ctx.bulk_len = static_cast<size_t>(n);
}

// Request: u64 address, then the bytes to write there (inside one managed range). Reply: -.
void handle_gvManagedPoke(CallContext& ctx) {
  uint64_t addr = ctx.in.get<uint64_t>();
  const uint64_t n = ctx.in.remaining();
  const uint8_t* bytes = n ? ctx.in.get_bytes(static_cast<size_t>(n)) : nullptr;
  cudaStream_t s = exchange_stream(ctx, addr, n, "gvManagedPoke");
  if (!s) return;
  ctx.status = cudaMemcpyAsync(dptr(addr), bytes, static_cast<size_t>(n), cudaMemcpyDefault, s);
  if (ctx.status == cudaSuccess) ctx.status = cudaStreamSynchronize(s);
}

}  // namespace gvirtus::backend::cudart
