// Managed and mapped memory by mirroring; see managed.h for the model.
//
// Wire (protocol-internal calls, docs/frontend.md):
//   gvManagedAlloc  request u64 size, u32 flags   reply u64 address (worker's cudaMallocManaged)
//   gvManagedFree   request u64 address           reply -
//   gvManagedPeek   request u64 address, u64 n    reply n bytes     (host callbacks; the worker's
//   gvManagedPoke   request u64 address, bytes    reply -            side stream, see managed.h)
#include "frontend/cudart/managed.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_calls.h"  // generated: the driver's call ids
#include "frontend/core/answers.h"
#include "frontend/core/host_memory_ops.h"
#include "frontend/core/ranges.h"
#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::cudart::managed {
namespace {

struct Region {
  uintptr_t base = 0;  // the device address (worker's allocation)
  uintptr_t host = 0;  // where the host copy lives: base, or the program's memory for an alias
  size_t size = 0;  // as asked
  unsigned flags = 0;
  Kind kind = Kind::kManaged;
  int device = -1;  // the making thread's current device (-1: unknown), for drop_after_reset
  std::unique_ptr<uint8_t[]> shadow;  // the bytes both sides last agreed on
};

struct State {
  std::mutex mu;                          // regions, and one exchange at a time
  std::map<uintptr_t, Region> regions;    // by base
  std::map<uintptr_t, uintptr_t> aliases; // alias regions: host address -> base
  // The driver packs small managed allocations into shared pages, so host pages are mapped
  // once and counted: page address -> regions using it.
  std::map<uintptr_t, int> pages;
  std::atomic<size_t> count{0};           // regions.size(), read without the lock
  std::atomic<uint64_t> device_epoch{0};  // grows when device work may have started
  uint64_t pulled_epoch = 0;              // device_epoch at the last read-back (REQUIRES: mu)
  // Where the thread holding mu took it, for the message of a host callback that gives up
  // waiting for it (lock_for_callback); nullptr when free.
  std::atomic<const char*> holder{nullptr};
  // Host callbacks between before_callback and the end of after_callback. While one runs, other
  // threads send their host writes with gvManagedPoke (which never waits for a stream) instead
  // of the legacy-stream copy chunks: those would wait for the stream the callback holds, while
  // holding mu, which the callback needs to finish.
  std::atomic<int> callbacks_running{0};
};

State& state() {
  static auto* s = new State;  // never destroyed: frees may come from static destructors
  return *s;
}

// Takes st.mu for a host callback, waiting a little: the holder may be waiting for this very
// callback (a legacy-stream copy behind its stream), and then the exchange is skipped. The
// warning names where the holder took the lock.
bool lock_for_callback(State& st, std::unique_lock<std::mutex>& lock) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + std::chrono::milliseconds(200);
  while (!lock.try_lock()) {
    if (Clock::now() >= give_up) {
      const char* holder = st.holder.load(std::memory_order_relaxed);
      gvirtus::log::once(gvirtus::log::Level::kWarn, "managed:callback-busy",
                         std::string("a host callback ran without a fresh copy of managed "
                                     "memory: another thread was exchanging it (in ") +
                             (holder ? holder : "?") +
                             "), possibly waiting for this callback");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// st.mu, taken at a named place (State::holder). The host callback's form waits only a little
// (lock_for_callback): owns() says whether it got the lock.
class Held {
 public:
  enum ForCallback { kForCallback };
  Held(State& st, const char* where) : st_(st), lock_(st.mu) { mark(where); }
  Held(State& st, const char* where, ForCallback) : st_(st), lock_(st.mu, std::defer_lock) {
    if (lock_for_callback(st, lock_)) mark(where);
  }
  ~Held() {
    if (owns()) st_.holder.store(nullptr, std::memory_order_relaxed);
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  bool owns() const { return lock_.owns_lock(); }

 private:
  void mark(const char* where) { st_.holder.store(where, std::memory_order_relaxed); }
  State& st_;
  std::unique_lock<std::mutex> lock_;
};

thread_local bool t_busy = false;  // this thread is exchanging: its own calls do not recurse
thread_local bool t_callback_counted = false;  // this thread counts in State::callbacks_running

size_t page_size() {
  static const size_t p = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

// Calls that may start device work: host writes must be on the device before they run.
// Generous on purpose (a needless push costs a compare): memory, execution, arrays, graphs,
// pools, callbacks, and the whole driver API. Not:
// - the copy engine's chunks (2902-2903, 2930-2949): copy() and copy_3d exchange once per copy
//   (before_device_work), not once per chunk;
// - the host-callback thread's gvCallbackAttach / gvCallbackWait (2910-2929): a stream may be
//   held by the very callback that thread is about to report, and a push waits for the stream.
// The driver's waits and queries start nothing either (the runtime's, 1204 and friends, lie
// outside these ranges): a push before them is not needed (the read-back after a synchronisation
// pushes first) and could wait for a host callback's stream (static runtime: cuStreamSynchronize
// while the callback writes managed memory).
bool driver_wait(uint32_t id) {
  switch (static_cast<cuda::Call>(id)) {
    case cuda::Call::kCall_cuCtxSynchronize:
    case cuda::Call::kCall_cuCtxSynchronize_v2:
    case cuda::Call::kCall_cuStreamSynchronize:
    case cuda::Call::kCall_cuStreamSynchronize_ptsz:
    case cuda::Call::kCall_cuStreamQuery:
    case cuda::Call::kCall_cuStreamQuery_ptsz:
    case cuda::Call::kCall_cuEventSynchronize:
    case cuda::Call::kCall_cuEventQuery:
      return true;
    default:
      return false;
  }
}

bool starts_device_work(uint32_t id) {
  if (driver_wait(id)) return false;
  return (id >= 1100 && id < 1200) || (id >= 1400 && id < 1800) || (id >= 3000 && id < 6000);
}

// Calls after which the program may read what the device wrote.
bool synchronises(uint32_t id, int32_t status) {
  if (status != cudaSuccess) return false;
  if (driver_wait(id)) return true;
  switch (static_cast<cuda::Call>(id)) {  // the driver's others (libcuda.so.1, same session)
    case cuda::Call::kCall_cuMemFree_v2:
    // The synchronous memsets: synchronous with the host on managed memory (the driver's
    // "API synchronization behavior"); the static runtime's cudaMemset is one of them.
    case cuda::Call::kCall_cuMemsetD8_v2:
    case cuda::Call::kCall_cuMemsetD16_v2:
    case cuda::Call::kCall_cuMemsetD32_v2:
    case cuda::Call::kCall_cuMemsetD2D8_v2:
    case cuda::Call::kCall_cuMemsetD2D16_v2:
    case cuda::Call::kCall_cuMemsetD2D32_v2:
    case cuda::Call::kCall_cuMemsetD8_v2_ptds:
    case cuda::Call::kCall_cuMemsetD16_v2_ptds:
    case cuda::Call::kCall_cuMemsetD32_v2_ptds:
    case cuda::Call::kCall_cuMemsetD2D8_v2_ptds:
    case cuda::Call::kCall_cuMemsetD2D16_v2_ptds:
    case cuda::Call::kCall_cuMemsetD2D32_v2_ptds:
      return true;
    default:
      break;
  }
  switch (static_cast<Call>(id)) {
    case Call::kCall_cudaDeviceSynchronize:
    case Call::kCall_cudaStreamSynchronize:
    case Call::kCall_cudaStreamSynchronize_ptsz:
    case Call::kCall_cudaEventSynchronize:
    case Call::kCall_cudaFree:
    case Call::kCall_cudaMemcpy:
    case Call::kCall_cudaMemcpy2D:
    case Call::kCall_cudaMemset:
    case Call::kCall_cudaMemset2D:
    case Call::kCall_cudaMemset_ptds:
    case Call::kCall_cudaMemset2D_ptds:
      return status == cudaSuccess;
    case Call::kCall_cudaStreamQuery:
    case Call::kCall_cudaStreamQuery_ptsz:
    case Call::kCall_cudaEventQuery:
      return status == cudaSuccess;  // complete (cudaErrorNotReady is not)
    default:
      return false;
  }
}

// Copies between a device range and this process: the legacy-stream copy engine (transfer.h),
// or the worker's side stream around host callbacks.
using ToDevice = cudaError_t (*)(uint64_t dst, const void* src, size_t n);

cudaError_t poke(uint64_t dst, const void* src, size_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (size_t off = 0; off < n; off += wire::kCopyChunk) {
    const size_t k = n - off < wire::kCopyChunk ? n - off : wire::kCopyChunk;
    client::Call c(id(Call::kCall_gvManagedPoke));
    c.args().put<uint64_t>(dst + off);
    c.attach(p + off, k);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t peek(void* dst, uint64_t src, size_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  for (size_t off = 0; off < n; off += wire::kCopyChunk) {
    const size_t k = n - off < wire::kCopyChunk ? n - off : wire::kCopyChunk;
    client::Call c(id(Call::kCall_gvManagedPeek));
    c.args().put<uint64_t>(src + off);
    c.args().put<uint64_t>(k);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    wire::Reader& r = c.result();
    if (r.remaining() != k) throw wire::DecodeError("gvManagedPeek reply length");
    std::memcpy(p + off, r.get_bytes(k), k);
  }
  return cudaSuccess;
}

// Sends the pages of r that differ from its shadow. REQUIRES: st.mu held, t_busy set.
void push_region(Region& r, ToDevice send = raw_to_device) {
  const auto* host = reinterpret_cast<const uint8_t*>(r.host);
  const size_t page = page_size();
  size_t off = 0;
  while (off < r.size) {
    size_t n = r.size - off < page ? r.size - off : page;
    if (std::memcmp(host + off, r.shadow.get() + off, n) == 0) {
      off += n;
      continue;
    }
    // A run of changed pages: one copy.
    size_t end = off + n;
    while (end < r.size) {
      size_t m = r.size - end < page ? r.size - end : page;
      if (std::memcmp(host + end, r.shadow.get() + end, m) == 0) break;
      end += m;
    }
    std::memcpy(r.shadow.get() + off, host + off, end - off);
    if (send(r.base + off, r.shadow.get() + off, end - off) != cudaSuccess) {
      // The device copy is unknown now: make the next exchange send this run again.
      std::memset(r.shadow.get() + off, ~host[off], 1);
      return;
    }
    off = end;
  }
}

// How another thread's host writes go now: around a running host callback, not through a
// stream (State::callbacks_running).
ToDevice push_way(const State& st) {
  return st.callbacks_running.load(std::memory_order_acquire) > 0 ? poke : raw_to_device;
}

void push_all() {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0 || t_busy) return;
  Held g(st, "push_all");
  t_busy = true;
  for (auto& [base, r] : st.regions) push_region(r, push_way(st));
  t_busy = false;
}

// Reads every region back after the whole device finished. REQUIRES: nothing held.
// The lock is not held across the device synchronisation: a host callback still to run may need
// it (before_callback), and the synchronisation waits for that callback.
void pull_all() {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0 || t_busy) return;
  uint64_t epoch = 0;
  {
    Held g(st, "pull_all");
    epoch = st.device_epoch.load(std::memory_order_acquire);
    if (epoch == st.pulled_epoch) return;
    // Host writes not sent yet (another thread's, since the call's own push) go first, so the
    // read-back cannot undo them.
    t_busy = true;
    for (auto& [base, r] : st.regions) push_region(r, push_way(st));
    t_busy = false;
  }
  t_busy = true;
  client::Call sync(id(Call::kCall_cudaDeviceSynchronize));
  bool ok = sync.invoke() && sync.status() == cudaSuccess;
  t_busy = false;
  // A failed synchronisation (a kernel fault) is the program's to see through its own calls;
  // the host copies stay as they were.
  if (!ok) return;
  Held g(st, "pull_all");
  t_busy = true;
  for (auto& [base, r] : st.regions) {
    push_region(r, push_way(st));  // written meanwhile by another thread: kept
    auto* host = reinterpret_cast<uint8_t*>(r.host);
    if (raw_to_host(r.shadow.get(), r.base, r.size) != cudaSuccess) {
      ok = false;
      break;
    }
    std::memcpy(host, r.shadow.get(), r.size);
  }
  if (ok && epoch > st.pulled_epoch) st.pulled_epoch = epoch;
  t_busy = false;
}

// Set while this copy runs one of its hooks. Every copy that has exchange state installed its
// own hook set (client::set_call_hooks runs each), so inside a hook a copy does only its own
// work: forwarding to the copy that registered the mirrored allocations (registered_elsewhere)
// there would run that copy's exchange twice.
thread_local bool t_in_own_hook = false;

template <typename F>
void own_hook(F&& f) {
  struct Restore {
    bool saved = t_in_own_hook;
    ~Restore() { t_in_own_hook = saved; }
  } restore;
  t_in_own_hook = true;
  f();
}

void hook_before(uint32_t call_id) {
  if (starts_device_work(call_id)) own_hook([] { before_device_work(); });
}

void hook_after(uint32_t call_id, int32_t status) {
  if (synchronises(call_id, status)) own_hook([] { after_synchronisation(); });
}

// This copy's work around a host callback: the graph results ahead of it, then managed memory;
// managed memory again after it.
void callback_work_before() {
  own_hook([] {
    graph_host::before_callback();
    before_callback();
  });
}
void callback_work_after() {
  own_hook([] { after_callback(); });
}

void install_hooks() {
  static std::once_flag once;
  std::call_once(once, [] {
    client::CallHooks h;
    h.before = &hook_before;
    h.after = &hook_after;
    // Around host callbacks, whichever library's callback thread runs them (callback_thread.h).
    h.before_callback = &callback_work_before;
    h.after_callback = &callback_work_after;
    client::set_call_hooks(h);
  });
}

// Maps the host pages of [base, base+size) that no region maps yet, at their addresses; counts
// every page. False (nothing changed) if an address is taken by something else in this process.
// REQUIRES: st.mu held.
bool map_pages(State& st, uintptr_t base, size_t size) {
  const uintptr_t page = page_size();
  const uintptr_t first = base / page * page, end = (base + size + page - 1) / page * page;
  std::vector<std::pair<uintptr_t, uintptr_t>> fresh;  // runs mapped here
  bool ok = true;
  for (uintptr_t p = first; p < end && ok;) {
    if (st.pages.count(p)) {
      p += page;
      continue;
    }
    uintptr_t q = p;
    while (q < end && !st.pages.count(q)) q += page;
    void* want = reinterpret_cast<void*>(p);
    void* got = ::mmap(want, q - p, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != want) {
      if (got != MAP_FAILED) ::munmap(got, q - p);
      ok = false;
      break;
    }
    fresh.emplace_back(p, q);
    p = q;
  }
  if (!ok) {
    for (auto [a, b] : fresh) ::munmap(reinterpret_cast<void*>(a), b - a);
    return false;
  }
  for (uintptr_t p = first; p < end; p += page) ++st.pages[p];
  return true;
}

// Uncounts the pages of [base, base+size); unmaps those no region uses. REQUIRES: st.mu held.
void unmap_pages(State& st, uintptr_t base, size_t size) {
  const uintptr_t page = page_size();
  const uintptr_t first = base / page * page, end = (base + size + page - 1) / page * page;
  for (uintptr_t p = first; p < end; p += page) {
    auto it = st.pages.find(p);
    if (it == st.pages.end()) continue;
    if (--it->second == 0) {
      st.pages.erase(it);
      ::munmap(reinterpret_cast<void*>(p), page);
    }
  }
}

cudaError_t free_on_worker(uint64_t addr) {
  client::Call c(id(Call::kCall_gvManagedFree));
  c.args().put<uint64_t>(addr);
  if (!c.invoke()) return lost();
  return finish(c);
}

// This code is linked into libcudart.so.13 and, statically, into libcuda.so.1 (the driver's
// copy engine is the runtime's), each copy with its own state. The process's mirrored
// allocations are libcudart.so.13's (it registers them in frontend/core/host_memory_ops.h, and
// libcuda.so.1's cuMemAllocManaged / cuMemHostAlloc make them there): in the other copy, the
// exchange points the copy engine and the callback thread reach directly run that library's
// too. Its table, if it is another copy's (no value in the copy that registered it).
const client::HostMemoryOps* registered_elsewhere() {
  if (t_in_own_hook) return nullptr;  // that copy's own hooks run its exchange
  const client::HostMemoryOps* ops = client::host_memory_ops();
  return ops && ops->before_device_work && ops->before_device_work != &before_device_work
             ? ops
             : nullptr;
}

}  // namespace

cudaError_t allocate(void** ptr, size_t size, unsigned flags, Kind kind) {
  if (!ptr) return argument_error(cudaErrorInvalidValue);
  if (size == 0) return argument_error(cudaErrorInvalidValue);
  if (size > SIZE_MAX - 2 * page_size()) return fail(cudaErrorMemoryAllocation);
  install_hooks();
  client::Call c(id(Call::kCall_gvManagedAlloc));
  c.args().put<uint64_t>(size);
  c.args().put<uint32_t>(flags);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  const uint64_t addr = c.result().get<uint64_t>();
  c.result().expect_end();
  // The host copy at the device address, or nothing: a pointer that means two things is the one
  // outcome not allowed.
  State& st = state();
  Region r;
  r.base = static_cast<uintptr_t>(addr);
  r.host = r.base;
  r.size = size;
  r.flags = flags;
  r.kind = kind;
  r.device = client::known_current_device();
  r.shadow.reset(new (std::nothrow) uint8_t[size]());
  if (!r.shadow) {
    free_on_worker(addr);
    return fail(cudaErrorMemoryAllocation);
  }
  {
    Held g(st, "allocate");
    // A device range recorded there is stale (the worker handed the addresses out again): its
    // claim would keep the mirror out.
    client::forget_claimed_ranges_in(r.base, size);
    if (!map_pages(st, r.base, size)) {
      e = cudaErrorMemoryAllocation;
      gvirtus::log::once(gvirtus::log::Level::kError, "managed:clash",
                         "cudaMallocManaged / mapped cudaHostAlloc: the device address is taken "
                         "in this process, so no host copy can live there; the call fails with "
                         "cudaErrorMemoryAllocation");
    } else {
      // Both copies start alike: the device's bytes are read once.
      t_busy = true;
      e = raw_to_host(r.shadow.get(), addr, size);
      t_busy = false;
      if (e == cudaSuccess) {
        std::memcpy(reinterpret_cast<void*>(r.base), r.shadow.get(), size);
        st.regions.emplace(r.base, std::move(r));
        st.count.store(st.regions.size(), std::memory_order_release);
      } else {
        unmap_pages(st, r.base, size);
      }
    }
  }
  if (e != cudaSuccess) {
    free_on_worker(addr);
    return fail(e);
  }
  track_mirrored_allocation(addr, size);
  *ptr = from_wire<void*>(addr);
  return cudaSuccess;
}

cudaError_t adopt(uint64_t addr, size_t size) {
  if (addr == 0 || size == 0 || size > SIZE_MAX - 2 * page_size() || addr + size < addr)
    return fail(cudaErrorInvalidValue);
  install_hooks();
  State& st = state();
  Region r;
  r.base = static_cast<uintptr_t>(addr);
  r.host = r.base;
  r.size = size;
  r.flags = cudaMemAttachGlobal;
  r.kind = Kind::kModuleVar;
  r.device = client::known_current_device();
  r.shadow.reset(new (std::nothrow) uint8_t[size]());
  if (!r.shadow) return fail(cudaErrorMemoryAllocation);
  Held g(st, "adopt");
  auto it = st.regions.find(r.base);
  if (it != st.regions.end())
    return it->second.size == size ? cudaSuccess : fail(cudaErrorInvalidValue);
  client::forget_claimed_ranges_in(r.base, size);  // stale, as in allocate
  if (!map_pages(st, r.base, size)) {
    gvirtus::log::once(gvirtus::log::Level::kError, "managed:var-clash",
                       "__managed__ variable: its device address is taken in this process, so no "
                       "host copy can live there");
    return fail(cudaErrorMemoryAllocation);
  }
  t_busy = true;
  cudaError_t e = raw_to_host(r.shadow.get(), addr, size);
  t_busy = false;
  if (e != cudaSuccess) {
    unmap_pages(st, r.base, size);
    return fail(e);
  }
  std::memcpy(reinterpret_cast<void*>(r.base), r.shadow.get(), size);
  st.regions.emplace(r.base, std::move(r));
  st.count.store(st.regions.size(), std::memory_order_release);
  return cudaSuccess;
}

bool owns(const void* p, Kind kind) {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0) return false;
  Held g(st, "owns");
  auto it = st.regions.find(reinterpret_cast<uintptr_t>(p));
  return it != st.regions.end() && it->second.kind == kind && it->second.host == it->second.base;
}

bool contains(const void* p) {
  unsigned ignored;
  if (flags_of(p, &ignored)) return true;
  const client::HostMemoryOps* other = registered_elsewhere();
  return other && other->contains_managed && other->contains_managed(p);
}

namespace {
// Calls f(region, p as an address) under the state's lock for the region (keyed by its device
// address, an alias's too) that contains p, and returns what f says; false if none does.
template <typename F>
bool at_region(const void* p, const char* what, F&& f) {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0) return false;
  const auto a = reinterpret_cast<uintptr_t>(p);
  Held g(st, what);
  auto it = st.regions.upper_bound(a);
  if (it == st.regions.begin()) return false;
  --it;
  if (a - it->second.base >= it->second.size) return false;
  return f(it->second, a);
}
}  // namespace

bool flags_of(const void* p, unsigned* flags) {
  return at_region(p, "flags_of", [&](const Region& r, uintptr_t) {
    // An alias's device address has no host copy at that address: it is device memory only.
    if (r.host != r.base) return false;
    *flags = r.flags;
    return true;
  });
}

bool refuses_free(const void* p) {
  return at_region(p, "refuses_free", [](const Region& r, uintptr_t a) {
    return r.kind == Kind::kMapped || (r.kind == Kind::kManaged && a != r.base);
  });
}

void drop_after_reset(int device) {
  if (const client::HostMemoryOps* other = registered_elsewhere())
    if (other->drop_after_reset) other->drop_after_reset(device);
  if (client::own_contexts_made()) return;  // as client::forget_device_ranges_at_reset
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0) return;
  std::vector<uintptr_t> bases;
  {
    Held g(st, "drop_after_reset");
    for (auto it = st.regions.begin(); it != st.regions.end();) {
      const Region& r = it->second;
      // A module's variable stays: the runtime looks it up again when the module comes back,
      // and nvcc's host pointer to it must not dangle meanwhile.
      if (r.device != device || r.kind == Kind::kModuleVar) {
        ++it;
        continue;
      }
      // The reset freed the worker's copy: no more exchanges, nothing to free there. The host
      // copy of managed memory goes as its memory natively does; mapped host memory (the
      // program's buffer, or cudaHostAlloc's) stays the program's.
      if (r.kind != Kind::kMapped) unmap_pages(st, r.base, r.size);
      if (r.host != r.base) st.aliases.erase(r.host);
      bases.push_back(r.base);
      it = st.regions.erase(it);
    }
    st.count.store(st.regions.size(), std::memory_order_release);
  }
  for (uintptr_t b : bases) untrack_device_allocation(b);
}

cudaError_t release(void* p) {
  State& st = state();
  Region r;
  {
    Held g(st, "release");
    auto it = st.regions.find(reinterpret_cast<uintptr_t>(p));
    if (it == st.regions.end() || it->second.host != it->second.base)
      return fail(cudaErrorInvalidValue);
    r = std::move(it->second);
    st.regions.erase(it);
    st.count.store(st.regions.size(), std::memory_order_release);
  }
  {
    Held g(st, "release");
    unmap_pages(st, r.base, r.size);
  }
  // A module's variable stays on the worker (its module owns it): only the mirror ends.
  if (r.kind == Kind::kModuleVar) return cudaSuccess;
  untrack_device_allocation(r.base);
  return free_on_worker(r.base);
}

void before_device_work() {
  if (const client::HostMemoryOps* other = registered_elsewhere()) other->before_device_work();
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0 || t_busy) return;
  st.device_epoch.fetch_add(1, std::memory_order_acq_rel);
  push_all();
}

void after_synchronisation() {
  if (const client::HostMemoryOps* other = registered_elsewhere())
    if (other->after_synchronisation) other->after_synchronisation();
  pull_all();
  graph_host::deliver_finished();
}

void ensure_hooks() { install_hooks(); }

bool is_synchronisation(uint32_t call_id, int32_t status) { return synchronises(call_id, status); }

bool pushes_before(uint32_t call_id) { return starts_device_work(call_id); }

void before_callback() {
  if (const client::HostMemoryOps* other = registered_elsewhere())
    if (other->before_callback) other->before_callback();
  State& st = state();
  if (!t_callback_counted) {  // until the end of after_callback on this (the callback) thread
    t_callback_counted = true;
    st.callbacks_running.fetch_add(1, std::memory_order_acq_rel);
  }
  if (st.count.load(std::memory_order_acquire) == 0 || t_busy) return;
  Held lock(st, "before_callback", Held::kForCallback);
  if (!lock.owns()) return;
  // Nothing can have changed on the device since the last full read-back.
  if (st.device_epoch.load(std::memory_order_acquire) == st.pulled_epoch) return;
  t_busy = true;
  for (auto& [base, r] : st.regions) {
    push_region(r, poke);  // host writes not sent yet are kept
    // Into a scratch copy: if the read fails, host and shadow stay as they agreed.
    std::unique_ptr<uint8_t[]> fresh(new (std::nothrow) uint8_t[r.size]);
    if (!fresh || peek(fresh.get(), r.base, r.size) != cudaSuccess) continue;
    std::memcpy(r.shadow.get(), fresh.get(), r.size);
    std::memcpy(reinterpret_cast<void*>(r.host), fresh.get(), r.size);
  }
  t_busy = false;
}

void after_callback() {
  if (const client::HostMemoryOps* other = registered_elsewhere())
    if (other->after_callback) other->after_callback();
  State& st = state();
  struct Uncount {  // after the callback's own writes went out
    State& st;
    ~Uncount() {
      if (!t_callback_counted) return;
      t_callback_counted = false;
      st.callbacks_running.fetch_sub(1, std::memory_order_acq_rel);
    }
  } uncount{st};
  if (st.count.load(std::memory_order_acquire) == 0 || t_busy) return;
  Held lock(st, "after_callback", Held::kForCallback);
  if (!lock.owns()) return;
  t_busy = true;
  for (auto& [base, r] : st.regions) push_region(r, poke);
  t_busy = false;
}

// Aliases: the program's own page-locked memory made reachable from kernels. Same exchange as
// the mirrored allocations (push before device work, read-back after a synchronisation); only
// the host copy lives at the program's address instead of the device address.
cudaError_t alias(void* host, size_t size, void** device) {
  if (!host || !device || size == 0) return argument_error(cudaErrorInvalidValue);
  if (size > SIZE_MAX - 2 * page_size()) return fail(cudaErrorMemoryAllocation);
  const auto h = reinterpret_cast<uintptr_t>(host);
  if (h + size < h) return argument_error(cudaErrorInvalidValue);
  if (alias_base(host) == h && alias_device(host, device)) return cudaSuccess;  // made already
  install_hooks();
  client::Call c(id(Call::kCall_gvManagedAlloc));
  c.args().put<uint64_t>(size);
  c.args().put<uint32_t>(cudaMemAttachGlobal);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  const uint64_t addr = c.result().get<uint64_t>();
  c.result().expect_end();
  Region r;
  r.base = static_cast<uintptr_t>(addr);
  r.host = h;
  r.size = size;
  r.flags = cudaMemAttachGlobal;
  r.kind = Kind::kMapped;
  r.device = client::known_current_device();
  r.shadow.reset(new (std::nothrow) uint8_t[size]);
  if (!r.shadow) {
    free_on_worker(addr);
    return fail(cudaErrorMemoryAllocation);
  }
  State& st = state();
  bool raced = false;
  {
    Held g(st, "alias");
    if (st.aliases.count(h)) {
      raced = true;  // another thread aliased the same range first
    } else {
      // Both copies start alike: the program's bytes are sent once.
      std::memcpy(r.shadow.get(), host, size);
      t_busy = true;
      e = raw_to_device(addr, r.shadow.get(), size);
      t_busy = false;
      if (e == cudaSuccess) {
        st.aliases.emplace(h, r.base);
        st.regions.emplace(r.base, std::move(r));
        st.count.store(st.regions.size(), std::memory_order_release);
      }
    }
  }
  if (raced || e != cudaSuccess) {
    free_on_worker(addr);
    if (raced) return alias_device(host, device) ? cudaSuccess : fail(cudaErrorUnknown);
    return fail(e);
  }
  // An alias's device address has no host copy there (the host copy is the program's own
  // memory): claimed as any device range, unless it is the host copy's own address.
  if (addr == h)
    track_mirrored_allocation(addr, size);
  else
    track_device_allocation(addr, size);
  *device = from_wire<void*>(addr);
  return cudaSuccess;
}

uintptr_t alias_base(const void* p) {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0) return 0;
  const auto a = reinterpret_cast<uintptr_t>(p);
  Held g(st, "alias_base");
  auto it = st.aliases.upper_bound(a);
  if (it == st.aliases.begin()) return 0;
  --it;
  const Region& r = st.regions.at(it->second);
  return a - r.host < r.size ? r.host : 0;
}

bool alias_device(const void* p, void** device) {
  State& st = state();
  if (st.count.load(std::memory_order_acquire) == 0) return false;
  const auto a = reinterpret_cast<uintptr_t>(p);
  Held g(st, "alias_device");
  auto it = st.aliases.upper_bound(a);
  if (it == st.aliases.begin()) return false;
  --it;
  const Region& r = st.regions.at(it->second);
  if (a - r.host >= r.size) return false;
  *device = from_wire<void*>(r.base + (a - r.host));
  return true;
}

cudaError_t release_alias(void* host) {
  State& st = state();
  uintptr_t base = 0;
  {
    Held g(st, "release_alias");
    auto it = st.aliases.find(reinterpret_cast<uintptr_t>(host));
    if (it == st.aliases.end()) return cudaSuccess;  // never aliased: nothing to do
    base = it->second;
    st.aliases.erase(it);
    st.regions.erase(base);
    st.count.store(st.regions.size(), std::memory_order_release);
  }
  untrack_device_allocation(base);
  return free_on_worker(base);
}

}  // namespace gvirtus::cudart::managed
