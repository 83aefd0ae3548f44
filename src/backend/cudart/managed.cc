// Managed and mapped memory of the frontend's mirrored allocations (src/frontend/cudart/
// managed.h): the worker's side is real managed memory, whose address the client maps too.
//
// Wire (docs/frontend.md, "Managed memory and host callbacks"):
//   gvManagedPeek  request u64 address, u64 n          reply n bytes
//   gvManagedPoke  request u64 address, the bytes      reply -
// Where the CPU may touch managed memory while kernels run (concurrentManagedAccess on every GPU
// of the worker: Linux on the H200), both are a plain memcpy by the worker, which is what the
// application's own callback does natively: the kernels ahead of the callback have finished by
// stream order, and the page faults move the pages. A CUDA copy cannot serve them there: on the
// H200 a cudaMemcpyAsync of managed memory never returned while a host callback held a stream
// (cuda.callback_managed hung in cuMemcpyAsync, also with page-locked host memory). Elsewhere
// both copy on a non-blocking stream of the worker's own, through page-locked memory made
// beforehand, and wait for that stream alone: they serve the host-callback thread while a stream
// is held by the callback it is about to run, so they must neither wait for that stream (as the
// legacy stream would) nor for the session-wide order (the callback connection is unordered).
// n is at most wire::kCopyChunk, the client's chunk.
#include "backend/cudart/managed.h"

#include <cuda_runtime_api.h>

#include <cstring>
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
  void* pinned = nullptr;             // wire::kCopyChunk page-locked bytes, made with `side`
  std::mutex pinned_mu;               // one peek or poke at a time uses `pinned`
  // Neither is released: the worker process ends with its session.
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
// callback the peek serves (the reason the peek's page-locked buffer is made here too).
bool cpu_may_touch();

cudaError_t make_side(ManagedState& st) {
  cpu_may_touch();  // asked first here, on the application's thread, not inside a callback
  if (st.side && st.pinned) return cudaSuccess;
  cudaError_t e = cudaSuccess;
  if (!st.side) e = cudaStreamCreateWithFlags(&st.side, cudaStreamNonBlocking);
  if (e != cudaSuccess) st.side = nullptr;
  if (e == cudaSuccess && !st.pinned) e = cudaHostAlloc(&st.pinned, wire::kCopyChunk, 0);
  if (e != cudaSuccess) {
    if (!st.pinned) st.pinned = nullptr;  // cudaHostAlloc leaves it unspecified on failure
    cudaGetLastError();                   // not the application's error
  }
  return e;
}

// Whether the CPU may touch managed memory while kernels run, on every GPU the worker has.
bool cpu_may_touch() {
  static const bool yes = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
      cudaGetLastError();
      return false;
    }
    for (int d = 0; d < n; ++d) {
      int v = 0;
      if (cudaDeviceGetAttribute(&v, cudaDevAttrConcurrentManagedAccess, d) != cudaSuccess ||
          v == 0) {
        cudaGetLastError();
        return false;
      }
    }
    return true;
  }();
  return yes;
}

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

// False when CUDA says p is no longer managed memory (a range this state recorded can have been
// freed another way: cudaFree or cuMemFree of it, a device reset, the unload of its library).
// True also when CUDA cannot say (no usable device): the copy then goes through CUDA, which
// fails the same way.
bool still_managed(uint64_t p) {
  const cudaError_t before = cudaPeekAtLastError();
  cudaPointerAttributes a{};
  const cudaError_t e = cudaPointerGetAttributes(&a, dptr(p));
  if (e != cudaSuccess) {
    if (before == cudaSuccess) cudaGetLastError();  // not the client's error
    return true;
  }
  return a.type == cudaMemoryTypeManaged;
}

// The range a peek or poke names must be managed memory this client was given, and still be
// managed memory (both ends): the copy would otherwise write or read whatever is mapped there
// now, or fault. Anything else is a broken client. REQUIRES: st.mu.
void check_range(ManagedState& st, uint64_t addr, uint64_t n, const char* what) {
  if (n == 0 || n > wire::kCopyChunk)
    throw SessionFault(std::string(what) + " of " + std::to_string(n) + " bytes");
  if (!inside(st.live, addr, n) && !inside(st.vars, addr, n))
    throw SessionFault(std::string(what) + " outside the session's managed memory");
  if (!still_managed(addr) || !still_managed(addr + n - 1))
    throw SessionFault(std::string(what) + " of managed memory that was freed");
}

// A peek or poke as a memcpy of the worker where the CPU may touch managed memory (see the top of
// this file); false where it may not. st.mu is held across the copy, so no free of the range can
// come between the check and the copy.
bool copy_directly(CallContext& ctx, uint64_t addr, uint64_t n, const char* what, void* to,
                   const void* from) {
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.mu);
  check_range(st, addr, n, what);
  if (!cpu_may_touch()) return false;
  std::memcpy(to, from, static_cast<size_t>(n));
  ctx.status = cudaSuccess;
  return true;
}

// The side stream for a peek or poke that copies through CUDA (nullptr with ctx.status set if it
// cannot be made).
cudaStream_t exchange_stream(CallContext& ctx, uint64_t addr, uint64_t n, const char* what) {
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.mu);
  check_range(st, addr, n, what);
  // The callback connection's server thread waits on its side stream while the application may
  // be capturing in global mode on another thread: as a relaxed thread it may (a waiting call
  // would otherwise fail and invalidate that capture).
  thread_local bool relaxed = false;
  if (!relaxed) {
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    relaxed = cudaThreadExchangeStreamCaptureMode(&mode) == cudaSuccess;
  }
  if ((!st.side || !st.pinned) && (ctx.status = make_side(st)) != cudaSuccess) return nullptr;
  return st.side;
}

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
  if (n == 0 || n > wire::kCopyChunk)  // before the buffer grows
    throw SessionFault("gvManagedPeek of " + std::to_string(n) + " bytes");
  // The reply is sent from ordinary memory of this server thread, valid until its next request
  // (the reply goes before that); the page-locked buffer is the session's, for the copy alone.
  thread_local std::vector<uint8_t> peeked;
  if (peeked.size() < n) {
    try {
      peeked.resize(static_cast<size_t>(n));
    } catch (const std::bad_alloc&) {
      ctx.status = cudaErrorMemoryAllocation;
      return;
    }
  }
  ctx.bulk = peeked.data();
  ctx.bulk_len = static_cast<size_t>(n);
  if (copy_directly(ctx, addr, n, "gvManagedPeek", peeked.data(), dptr(addr))) return;
  ctx.bulk = nullptr;
  ctx.bulk_len = 0;
  cudaStream_t s = exchange_stream(ctx, addr, n, "gvManagedPeek");
  if (!s) return;
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.pinned_mu);
  ctx.status = cudaMemcpyAsync(st.pinned, dptr(addr), static_cast<size_t>(n),
                               cudaMemcpyDefault, s);
  if (ctx.status == cudaSuccess) ctx.status = cudaStreamSynchronize(s);
  if (ctx.status != cudaSuccess) return;
  std::memcpy(peeked.data(), st.pinned, static_cast<size_t>(n));
  ctx.bulk = peeked.data();
  ctx.bulk_len = static_cast<size_t>(n);
}

// Request: u64 address, then the bytes to write there (inside one managed range). Reply: -.
void handle_gvManagedPoke(CallContext& ctx) {
  uint64_t addr = ctx.in.get<uint64_t>();
  const uint64_t n = ctx.in.remaining();
  const uint8_t* bytes = n ? ctx.in.get_bytes(static_cast<size_t>(n)) : nullptr;
  if (copy_directly(ctx, addr, n, "gvManagedPoke", dptr(addr), bytes)) return;
  cudaStream_t s = exchange_stream(ctx, addr, n, "gvManagedPoke");
  if (!s) return;
  ManagedState& st = ctx.session.state<ManagedState>();
  std::lock_guard<std::mutex> g(st.pinned_mu);
  std::memcpy(st.pinned, bytes, static_cast<size_t>(n));
  ctx.status = cudaMemcpyAsync(dptr(addr), st.pinned, static_cast<size_t>(n),
                               cudaMemcpyDefault, s);
  if (ctx.status == cudaSuccess) ctx.status = cudaStreamSynchronize(s);
}

}  // namespace gvirtus::backend::cudart
