// Hand-written cudart handlers: modules (fatbinaries), kernels, launches. The client side is
// src/frontend/cudart/modules.cc and kernels.cc; payloads are in docs/frontend.md.
//
// Per session: uploaded fatbinaries are copied into memory this worker owns and loaded with
// cudaLibraryLoadData (handle kind kLibrary); kernels found with cudaLibraryGetKernel keep
// their parameter layout from cudaFuncGetParamInfo (handle kind kKernel). A launch carries the
// packed parameter buffer, whose size must be exactly the kernel's.
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cudart/graphs.h"
#include "backend/cudart/managed.h"
#include "backend/cudart/module_cache.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"
#include "common/launch_attrs.h"
#include "common/log.h"
#include "common/module_image.h"

namespace gvirtus::backend::cudart {

namespace {

// gvModuleLoad sub-operations (first payload byte); the client's names are in
// src/frontend/cudart/modules.h.
enum : uint8_t {
  kModuleWhole = 0, kModuleBegin = 1, kModuleAppend = 2, kModuleEnd = 3, kModuleLink = 4,
  kModuleTargets = 5, kModuleCached = 6
};
constexpr int kMaxTargetDevices = 64;

constexpr uint64_t kMaxModuleBytes = 2ull << 30;   // one fatbinary
constexpr uint64_t kMaxPendingBytes = 2ull << 30;  // all unfinished uploads of a session
constexpr size_t kMaxPendingUploads = 8;
constexpr size_t kMaxKernelName = 64u << 10;
constexpr uint32_t kMaxLinkParts = 4096;  // as the client's kMaxPrelinkedFatbins
constexpr uint32_t kMaxParamBytes = 64u << 10;  // the hardware limit is 32764
constexpr uint32_t kMaxParams = kMaxParamBytes;

struct Library {
  cudaLibrary_t lib = nullptr;
  std::unique_ptr<uint8_t[]> image;  // kept for the library's lifetime
  uint64_t size = 0;
};

struct Kernel {
  cudaKernel_t kernel = nullptr;
  std::vector<uint32_t> offsets;
  std::vector<uint32_t> sizes;
  uint32_t total = 0;  // bytes of the packed parameter buffer
};

struct Upload {
  std::unique_ptr<uint8_t[]> buf;
  uint64_t total = 0;
  uint64_t received = 0;
};

// One per session (Session::state). Libraries and kernels live until the session ends: the
// worker process exits then and its context goes with it.
struct ModuleState {
  std::mutex mu;
  uint64_t next_upload = 1;
  uint64_t pending_bytes = 0;
  std::unordered_map<uint64_t, Upload> uploads;
  std::vector<std::unique_ptr<Library>> libraries;
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::unordered_map<cudaKernel_t, Kernel*> by_kernel;  // one record per kernel, however often asked
};

std::unique_ptr<uint8_t[]> allocate(uint64_t n) {
  return std::unique_ptr<uint8_t[]>(new (std::nothrow) uint8_t[static_cast<size_t>(n)]);
}

// The client loads modules and resolves kernels on their first launch, which may come while its
// thread captures a stream in global mode: natively that lazy loading is the runtime's own
// business and never disturbs the capture. Here it is an API call of the thread, so it runs in
// relaxed mode (which allows it) and the thread's mode is put back afterwards.
class RelaxedCapture {
 public:
  RelaxedCapture() { ok_ = cudaThreadExchangeStreamCaptureMode(&mode_) == cudaSuccess; }
  ~RelaxedCapture() {
    if (ok_) cudaThreadExchangeStreamCaptureMode(&mode_);
    else cudaGetLastError();
  }
  RelaxedCapture(const RelaxedCapture&) = delete;
  RelaxedCapture& operator=(const RelaxedCapture&) = delete;

 private:
  cudaStreamCaptureMode mode_ = cudaStreamCaptureModeRelaxed;
  bool ok_ = false;
};

// keep: the bytes came from the client, so the module cache (if any) keeps a copy once they
// load (a module that does not load is not worth keeping).
void load_library(CallContext& ctx, ModuleState& st, std::unique_ptr<uint8_t[]> image,
                  uint64_t size, bool keep) {
  // The runtime reads the image by its own headers: they must stay within what was received.
  if (!gvirtus::cuda::image_within(image.get(), size))
    throw SessionFault("a module image whose headers reach past its " + std::to_string(size) +
                       " bytes, or a fatbin wrapper, or text without its NUL");
  RelaxedCapture relaxed;
  cudaLibrary_t lib = nullptr;
  cudaError_t e = cudaLibraryLoadData(&lib, image.get(), nullptr, nullptr, 0, nullptr, nullptr, 0);
  if (e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  if (keep) module_cache_put(image.get(), size);
  auto rec = std::make_unique<Library>();
  rec->lib = lib;
  rec->image = std::move(image);
  rec->size = size;
  uint64_t id = ctx.session.handles().add(HandleKind::kLibrary, rec.get());
  {
    std::lock_guard<std::mutex> g(st.mu);
    st.libraries.push_back(std::move(rec));
  }
  ctx.out.put<uint64_t>(id);
}

// The driver's JIT linker, reached through the static runtime (the backend does not link
// libcuda itself: cuda.h gives only the types).
using LinkCreateFn = CUresult (*)(unsigned, CUjit_option*, void**, CUlinkState*);
using LinkAddDataFn = CUresult (*)(CUlinkState, CUjitInputType, void*, size_t, const char*,
                                   unsigned, CUjit_option*, void**);
using LinkCompleteFn = CUresult (*)(CUlinkState, void**, size_t*);
using LinkDestroyFn = CUresult (*)(CUlinkState);

// JIT-links a -rdc program's per-object fatbins (kModuleLink) and loads the result, as the CUDA
// runtime does when the device-linked image has no code for the GPU. Link errors come back as
// cudaErrorNoKernelImageForDevice, the error the program would see natively without the
// fallback; the linker's log goes to the worker's log.
void link_and_load(CallContext& ctx, ModuleState& st) {
  uint32_t count = ctx.in.get<uint32_t>();
  if (count == 0 || count > kMaxLinkParts)
    throw SessionFault("module link of " + std::to_string(count) + " parts");
  std::vector<std::pair<const uint8_t*, uint64_t>> parts;
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t n = ctx.in.get<uint64_t>();
    if (n == 0 || n > ctx.in.remaining())
      throw SessionFault("module link part of " + std::to_string(n) + " bytes carries " +
                         std::to_string(ctx.in.remaining()));
    parts.emplace_back(ctx.in.get_bytes(n), n);
    // A fatbin the driver's linker reads by its own header.
    if (!gvirtus::cuda::image_within(parts.back().first, n))
      throw SessionFault("module link part whose headers reach past its " + std::to_string(n) +
                         " bytes");
  }
  ctx.in.expect_end();
  LinkCreateFn create;
  LinkAddDataFn add;
  LinkCompleteFn complete;
  LinkDestroyFn destroy;
  if (driver_entry("cuLinkCreate", &create) != cudaSuccess ||
      driver_entry("cuLinkAddData", &add) != cudaSuccess ||
      driver_entry("cuLinkComplete", &complete) != cudaSuccess ||
      driver_entry("cuLinkDestroy", &destroy) != cudaSuccess) {
    GV_WARN("JIT link of a -rdc program's objects: the driver's linker is not available");
    ctx.status = cudaErrorNoKernelImageForDevice;
    return;
  }
  // Runtime first: the link needs the context the runtime's library loads use.
  if (cudaError_t e = cudaFree(nullptr); e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  char log[4096] = {};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* vals[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof log - 1))};
  CUlinkState ls = nullptr;
  if (CUresult cr = create(2, opts, vals, &ls); cr != CUDA_SUCCESS) {
    GV_WARN("JIT link of a -rdc program's objects: cuLinkCreate: driver error " +
            std::to_string(static_cast<int>(cr)));
    ctx.status = cudaErrorNoKernelImageForDevice;
    return;
  }
  CUresult r = CUDA_SUCCESS;
  for (const auto& [data, n] : parts) {
    r = add(ls, CU_JIT_INPUT_FATBINARY, const_cast<uint8_t*>(data), static_cast<size_t>(n),
            "prelinked", 0, nullptr, nullptr);
    if (r != CUDA_SUCCESS) break;
  }
  void* cubin = nullptr;
  size_t size = 0;
  if (r == CUDA_SUCCESS) r = complete(ls, &cubin, &size);
  std::unique_ptr<uint8_t[]> image;
  if (r == CUDA_SUCCESS && size > 0 && size <= kMaxModuleBytes && (image = allocate(size)))
    std::memcpy(image.get(), cubin, size);
  destroy(ls);  // frees cubin
  if (!image) {
    GV_WARN("JIT link of a -rdc program's objects failed (driver error " +
            std::to_string(static_cast<int>(r)) +
            "): " + log);
    ctx.status = cudaErrorNoKernelImageForDevice;
    return;
  }
  GV_INFO("JIT-linked " + std::to_string(parts.size()) + " objects of a -rdc program into " +
          std::to_string(size) + " bytes of code for this GPU");
  load_library(ctx, st, std::move(image), size, /*keep=*/false);
}

// kModuleTargets: what the client needs to send only the images these GPUs can load, and
// whether it may name a module by digest: u8 cache enabled, u32 n, n x (i32 major, i32 minor).
void module_targets(CallContext& ctx) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  count = count > kMaxTargetDevices ? kMaxTargetDevices : count;
  std::vector<std::pair<int, int>> ccs;
  for (int d = 0; d < count; ++d) {
    int major = 0, minor = 0;
    e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d);
    if (e != cudaSuccess) {
      ctx.status = e;
      return;
    }
    ccs.emplace_back(major, minor);
  }
  ctx.out.put<uint8_t>(module_cache_enabled() ? 1 : 0);
  ctx.out.put<uint32_t>(static_cast<uint32_t>(ccs.size()));
  for (const auto& [major, minor] : ccs) {
    ctx.out.put<int32_t>(major);
    ctx.out.put<int32_t>(minor);
  }
}

// The kernel record behind an id; false (status set) for a released one, SessionFault for a
// forged one.
bool kernel_in(CallContext& ctx, uint64_t id, Kernel** out) {
  void* p = nullptr;
  if (!ctx.session.handles().lookup(HandleKind::kKernel, id, &p)) {
    ctx.status = cudaErrorInvalidResourceHandle;
    return false;
  }
  *out = static_cast<Kernel*>(p);
  return true;
}

}  // namespace

bool kernel_args_in(CallContext& ctx, uint64_t kid, const uint8_t* bytes, uint32_t n,
                    cudaKernel_t* kernel, KernelArgs* out) {
  Kernel* k;
  if (!kernel_in(ctx, kid, &k)) return false;
  if (n != k->total)
    throw SessionFault("kernel node with " + std::to_string(n) +
                       " argument bytes for a kernel that takes " + std::to_string(k->total));
  out->storage.reset(new uint64_t[(n + 7) / 8 + 1]);
  std::memcpy(out->storage.get(), bytes, n);
  auto* base = reinterpret_cast<uint8_t*>(out->storage.get());
  out->ptrs.resize(k->offsets.size());
  for (size_t i = 0; i < out->ptrs.size(); ++i) out->ptrs[i] = base + k->offsets[i];
  *kernel = k->kernel;
  return true;
}

namespace {

enum class LaunchKind { kPlain, kCooperative, kExtended };

void launch(CallContext& ctx, LaunchKind kind) {
  uint64_t kid = ctx.in.get<uint64_t>();
  dim3 grid = ctx.in.get<dim3>();
  dim3 block = ctx.in.get<dim3>();
  uint64_t shmem = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  std::vector<cudaLaunchAttribute> attrs;
  if (kind == LaunchKind::kExtended) {
    uint32_t na = ctx.in.get<uint32_t>();
    if (na > kMaxLaunchAttributes)
      throw SessionFault("launch with " + std::to_string(na) + " attributes");
    attrs.resize(na);
    if (na) std::memcpy(attrs.data(), ctx.in.get_bytes(na * sizeof(cudaLaunchAttribute)),
                        na * sizeof(cudaLaunchAttribute));
    for (const auto& a : attrs)
      if (!plain_launch_attribute(a.id) && !event_launch_attribute(a.id))
        throw SessionFault("launch attribute " + std::to_string(static_cast<int>(a.id)) +
                           " cannot travel as bytes");
  }
  uint32_t n = ctx.in.get<uint32_t>();
  if (n != ctx.in.remaining())
    throw SessionFault("launch announces " + std::to_string(n) + " argument bytes but carries " +
                       std::to_string(ctx.in.remaining()));
  const uint8_t* bytes = ctx.in.get_bytes(n);
  Kernel* k;
  if (!kernel_in(ctx, kid, &k)) return;
  if (n != k->total)
    throw SessionFault("launch with " + std::to_string(n) +
                       " argument bytes for a kernel that takes " + std::to_string(k->total));
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  static_assert(offsetof(decltype(cudaLaunchAttributeValue::programmaticEvent), event) == 0 &&
                    offsetof(decltype(cudaLaunchAttributeValue::launchCompletionEvent), event) == 0,
                "the event is the first field of the attribute value");
  // Attributes holding an event carry the client's event id in the value's first field (the
  // event member of programmaticEvent and launchCompletionEvent): put the worker's event there.
  for (auto& a : attrs) {
    if (!event_launch_attribute(a.id)) continue;
    uint64_t eid = 0;
    std::memcpy(&eid, &a.val, sizeof eid);
    cudaEvent_t ev;
    if (!event_in(ctx, eid, &ev)) return;
    std::memcpy(&a.val, &ev, sizeof ev);
  }
  // An aligned copy, so no parameter is read from an odd address inside the frame; on the
  // stack for the usual few hundred bytes (no allocation per launch).
  constexpr size_t kInlineWords = 4096 / 8 + 1, kInlineArgs = 64;  // 4 KiB: the classic limit
  uint64_t inline_words[kInlineWords];
  void* inline_args[kInlineArgs];
  std::unique_ptr<uint64_t[]> heap_words;
  std::unique_ptr<void*[]> heap_args;
  const size_t words = (n + 7) / 8 + 1;
  uint64_t* aligned = inline_words;
  if (words > kInlineWords) {
    heap_words.reset(new uint64_t[words]);
    aligned = heap_words.get();
  }
  std::memcpy(aligned, bytes, n);
  auto* base = reinterpret_cast<uint8_t*>(aligned);
  const size_t nargs = k->offsets.size();
  void** a = inline_args;
  if (nargs > kInlineArgs) {
    heap_args.reset(new void*[nargs]);
    a = heap_args.get();
  }
  for (size_t i = 0; i < nargs; ++i) a[i] = base + k->offsets[i];
  if (nargs == 0) a = nullptr;
  const void* f = reinterpret_cast<const void*>(k->kernel);
  switch (kind) {
    case LaunchKind::kPlain:
      ctx.status = cudaLaunchKernel(f, grid, block, a, static_cast<size_t>(shmem), s);
      break;
    case LaunchKind::kCooperative:
      ctx.status = cudaLaunchCooperativeKernel(f, grid, block, a, static_cast<size_t>(shmem), s);
      break;
    case LaunchKind::kExtended: {
      cudaLaunchConfig_t cfg{};
      cfg.gridDim = grid;
      cfg.blockDim = block;
      cfg.dynamicSmemBytes = static_cast<size_t>(shmem);
      cfg.stream = s;
      cfg.attrs = attrs.empty() ? nullptr : attrs.data();
      cfg.numAttrs = static_cast<unsigned>(attrs.size());
      ctx.status = cudaLaunchKernelExC(&cfg, f, a);
      break;
    }
  }
}

}  // namespace

void handle_gvModuleLoad(CallContext& ctx) {
  ModuleState& st = ctx.session.state<ModuleState>();
  uint8_t op = ctx.in.get<uint8_t>();
  switch (op) {
    case kModuleWhole: {
      uint64_t n = ctx.in.get<uint64_t>();
      if (n == 0 || n != ctx.in.remaining())
        throw SessionFault("module of " + std::to_string(n) + " bytes carries " +
                           std::to_string(ctx.in.remaining()));
      const uint8_t* data = ctx.in.get_bytes(n);
      auto image = allocate(n);
      if (!image) {
        ctx.status = cudaErrorMemoryAllocation;
        return;
      }
      std::memcpy(image.get(), data, n);
      load_library(ctx, st, std::move(image), n, /*keep=*/true);
      return;
    }
    case kModuleBegin: {
      uint64_t total = ctx.in.get<uint64_t>();
      ctx.in.expect_end();
      if (total == 0 || total > kMaxModuleBytes)
        throw SessionFault("module upload of " + std::to_string(total) + " bytes");
      std::lock_guard<std::mutex> g(st.mu);
      if (st.uploads.size() >= kMaxPendingUploads || total > kMaxPendingBytes - st.pending_bytes) {
        ctx.status = cudaErrorMemoryAllocation;
        return;
      }
      Upload u;
      u.buf = allocate(total);
      if (!u.buf) {
        ctx.status = cudaErrorMemoryAllocation;
        return;
      }
      u.total = total;
      uint64_t id = st.next_upload++;
      st.pending_bytes += total;
      st.uploads.emplace(id, std::move(u));
      ctx.out.put<uint64_t>(id);
      return;
    }
    case kModuleAppend: {
      uint64_t id = ctx.in.get<uint64_t>();
      uint64_t off = ctx.in.get<uint64_t>();
      uint64_t n = ctx.in.get<uint64_t>();
      if (n != ctx.in.remaining())
        throw SessionFault("module chunk of " + std::to_string(n) + " bytes carries " +
                           std::to_string(ctx.in.remaining()));
      const uint8_t* data = ctx.in.get_bytes(n);
      std::lock_guard<std::mutex> g(st.mu);
      auto it = st.uploads.find(id);
      if (it == st.uploads.end()) throw SessionFault("module chunk for an unknown upload");
      Upload& u = it->second;
      if (off != u.received || n > u.total - u.received)
        throw SessionFault("module chunk at " + std::to_string(off) + " of " + std::to_string(n) +
                           " bytes does not continue an upload at " + std::to_string(u.received) +
                           " of " + std::to_string(u.total));
      std::memcpy(u.buf.get() + off, data, n);
      u.received += n;
      return;
    }
    case kModuleLink:
      link_and_load(ctx, st);
      return;
    case kModuleEnd: {
      uint64_t id = ctx.in.get<uint64_t>();
      ctx.in.expect_end();
      Upload u;
      {
        std::lock_guard<std::mutex> g(st.mu);
        auto it = st.uploads.find(id);
        if (it == st.uploads.end()) throw SessionFault("end of an unknown module upload");
        if (it->second.received != it->second.total)
          throw SessionFault("module upload ended after " + std::to_string(it->second.received) +
                             " of " + std::to_string(it->second.total) + " bytes");
        u = std::move(it->second);
        st.uploads.erase(it);
        st.pending_bytes -= u.total;
      }
      load_library(ctx, st, std::move(u.buf), u.total, /*keep=*/true);
      return;
    }
    case kModuleTargets: {
      ctx.in.expect_end();
      module_targets(ctx);
      return;
    }
    case kModuleCached: {
      Digest digest;
      std::memcpy(digest.data(), ctx.in.get_bytes(digest.size()), digest.size());
      uint64_t n = ctx.in.get<uint64_t>();
      ctx.in.expect_end();
      if (n == 0 || n > kMaxModuleBytes)
        throw SessionFault("cached module of " + std::to_string(n) + " bytes");
      auto image = module_cache_get(digest, n);
      if (!image) {
        ctx.out.put<uint64_t>(0);  // a miss: the client uploads it
        return;
      }
      load_library(ctx, st, std::move(image), n, /*keep=*/false);
      return;
    }
  }
  throw SessionFault("unknown module operation " + std::to_string(op));
}

// Reads the request of a by-name lookup in a library: u64 library id, string name (≤ 64 KiB,
// no NUL). Returns the library, or nullptr for a released id (status set).
static Library* read_library_and_name(CallContext& ctx, std::string* name) {
  uint64_t lib_id = ctx.in.get<uint64_t>();
  *name = ctx.in.get_string(kMaxKernelName);
  ctx.in.expect_end();
  if (name->find('\0') != std::string::npos) throw SessionFault("name with a NUL byte");
  void* p = nullptr;
  if (!ctx.session.handles().lookup(HandleKind::kLibrary, lib_id, &p)) {
    ctx.status = cudaErrorInvalidResourceHandle;
    return nullptr;
  }
  return static_cast<Library*>(p);
}

void handle_gvKernelGet(CallContext& ctx) {
  std::string name;
  Library* lib = read_library_and_name(ctx, &name);
  if (!lib) return;
  RelaxedCapture relaxed;
  cudaKernel_t kernel = nullptr;
  cudaError_t e = cudaLibraryGetKernel(&kernel, lib->lib, name.c_str());
  if (e != cudaSuccess) {
    ctx.status = e;
    return;
  }
  ModuleState& st = ctx.session.state<ModuleState>();
  auto reply = [&ctx](const Kernel& k) {
    ctx.out.put<uint64_t>(ctx.session.handles().add(HandleKind::kKernel,
                                                    const_cast<Kernel*>(&k)));  // its live id
    ctx.out.put<uint32_t>(static_cast<uint32_t>(k.sizes.size()));
    for (size_t i = 0; i < k.sizes.size(); ++i) {
      ctx.out.put<uint32_t>(k.offsets[i]);
      ctx.out.put<uint32_t>(k.sizes[i]);
    }
  };
  {
    // A kernel asked for again (an honest client asks once per kernel) gets the same record:
    // a client repeating the question grows nothing here.
    std::lock_guard<std::mutex> g(st.mu);
    if (auto it = st.by_kernel.find(kernel); it != st.by_kernel.end()) {
      reply(*it->second);
      return;
    }
  }
  // Parameters one by one until the index is past the last one (cudaErrorInvalidValue).
  auto rec = std::make_unique<Kernel>();
  std::vector<uint32_t>& sizes = rec->sizes;
  for (uint32_t i = 0;; ++i) {
    size_t off = 0, size = 0;
    e = cudaFuncGetParamInfo(reinterpret_cast<const void*>(kernel), i, &off, &size);
    if (e == cudaErrorInvalidValue) break;
    if (e != cudaSuccess) {
      ctx.status = e;
      return;
    }
    if (i >= kMaxParams || size == 0 || size > kMaxParamBytes || off > kMaxParamBytes - size) {
      ctx.status = cudaErrorInvalidValue;  // not a layout we can carry
      return;
    }
    rec->offsets.push_back(static_cast<uint32_t>(off));
    sizes.push_back(static_cast<uint32_t>(size));
    if (off + size > rec->total) rec->total = static_cast<uint32_t>(off + size);
  }
  (void)cudaGetLastError();  // the index past the end is an expected failure
  rec->kernel = kernel;
  std::lock_guard<std::mutex> g(st.mu);
  auto [it, fresh] = st.by_kernel.emplace(kernel, rec.get());
  if (fresh) st.kernels.push_back(std::move(rec));  // else another thread's came first
  reply(*it->second);
}

// <<<>>> launches (NoReply: a failure becomes the connection's deferred error).
void handle___cudaLaunchKernel(CallContext& ctx) { launch(ctx, LaunchKind::kPlain); }

void handle_cudaLaunchCooperativeKernel(CallContext& ctx) {
  launch(ctx, LaunchKind::kCooperative);
}

void handle_cudaLaunchKernelExC(CallContext& ctx) { launch(ctx, LaunchKind::kExtended); }

void handle_cudaLaunchKernel(CallContext& ctx) { launch(ctx, LaunchKind::kPlain); }

// The client resolves kernels with gvModuleLoad / gvKernelGet; a host stub address means
// nothing here, so an honest client never sends this call.
void handle___cudaGetKernel(CallContext& ctx) {
  (void)ctx;
  throw SessionFault("__cudaGetKernel is resolved on the client; the call is never sent");
}

// Request: u64 library id, string name (the variable's device name). Reply: u64 device address,
// u64 size.
void handle_gvGlobalGet(CallContext& ctx) {
  std::string name;
  Library* lib = read_library_and_name(ctx, &name);
  if (!lib) return;
  void* address = nullptr;
  size_t size = 0;
  ctx.status = cudaLibraryGetGlobal(&address, &size, lib->lib, name.c_str());
  if (ctx.status != cudaSuccess) return;
  ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(address));
  ctx.out.put<uint64_t>(size);
}

// Request: u64 library id, string name (a __managed__ variable's device name). Reply: u64
// address (managed memory), u64 size. The client mirrors the variable (frontend managed.h).
void handle_gvManagedVarGet(CallContext& ctx) {
  std::string name;
  Library* lib = read_library_and_name(ctx, &name);
  if (!lib) return;
  void* address = nullptr;
  size_t size = 0;
  ctx.status = cudaLibraryGetManaged(&address, &size, lib->lib, name.c_str());
  if (ctx.status != cudaSuccess) return;
  note_managed_variable(ctx, reinterpret_cast<uintptr_t>(address), size);
  ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(address));
  ctx.out.put<uint64_t>(size);
}

bool func_in(CallContext& ctx, uint64_t id, const void** out) {
  Kernel* k;
  if (!kernel_in(ctx, id, &k)) return false;
  *out = reinterpret_cast<const void*>(k->kernel);
  return true;
}

void handle_cudaFuncGetAttributes(CallContext& ctx) {
  uint64_t kid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Kernel* k;
  if (!kernel_in(ctx, kid, &k)) return;
  cudaFuncAttributes attr;
  std::memset(&attr, 0, sizeof attr);
  ctx.status = cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(k->kernel));
  if (ctx.status == cudaSuccess) ctx.out.put(attr);
}

// Request: u64 kernel id. Reply: i32 the thread's current device; i32 its largest grid x, y, z
// and block x, y, z; i32 the kernel's maxThreadsPerBlock and maxDynamicSharedSizeBytes there.
// What the client needs to tell that a launch will be accepted (frontend launch_check.h).
void handle_gvLaunchLimits(CallContext& ctx) {
  uint64_t kid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Kernel* k;
  if (!kernel_in(ctx, kid, &k)) return;
  int device = 0;
  ctx.status = cudaGetDevice(&device);
  if (ctx.status != cudaSuccess) return;
  static const cudaDeviceAttr kAttrs[6] = {
      cudaDevAttrMaxGridDimX,  cudaDevAttrMaxGridDimY,  cudaDevAttrMaxGridDimZ,
      cudaDevAttrMaxBlockDimX, cudaDevAttrMaxBlockDimY, cudaDevAttrMaxBlockDimZ};
  int32_t v[6];
  for (int i = 0; i < 6; ++i) {
    int x = 0;
    ctx.status = cudaDeviceGetAttribute(&x, kAttrs[i], device);
    if (ctx.status != cudaSuccess) return;
    v[i] = x;
  }
  cudaFuncAttributes attr;
  std::memset(&attr, 0, sizeof attr);
  ctx.status = cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(k->kernel));
  if (ctx.status != cudaSuccess) return;
  ctx.out.put<int32_t>(device);
  for (int32_t x : v) ctx.out.put<int32_t>(x);
  ctx.out.put<int32_t>(attr.maxThreadsPerBlock);
  ctx.out.put<int32_t>(attr.maxDynamicSharedSizeBytes);
}

}  // namespace gvirtus::backend::cudart
