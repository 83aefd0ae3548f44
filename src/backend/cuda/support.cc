// The driver plugin's access to the real driver and its handle helpers.
#include "backend/cuda/support.h"

#include <dlfcn.h>

#include <cstring>

#include <mutex>
#include <string>
#include <unordered_map>

#include "backend/cudart/support.h"
#include "backend/worker.h"
#include "common/launch_attrs.h"
#include "common/log.h"

namespace gvirtus::backend::cuda {
namespace {

struct Driver {
  std::mutex mu;
  bool tried = false;
  void* handle = nullptr;                       // REQUIRES: mu (after tried)
  std::unordered_map<std::string, void*> syms;  // REQUIRES: mu
};

Driver& driver() {
  static auto* d = new Driver;
  return *d;
}

// Opens the driver once. RTLD_NOLOAD first: the CUDA runtime linked into the worker has usually
// loaded it already, and both must use the same copy.
void* open_driver_locked(Driver& d) {
  if (d.tried) return d.handle;
  d.tried = true;
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  if (!h) h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    GV_INFO(std::string("driver API: cannot load libcuda.so.1: ") + ::dlerror());
    return nullptr;
  }
  // GVirtuS's own libcuda.so.1 (a backend started with the frontend's directory on its library
  // path) would forward every call to itself: refuse it. Ours depends on the client core.
  if (::dlsym(h, "_ZN7gvirtus6client10connectionEv") != nullptr) {
    GV_ERROR("driver API: libcuda.so.1 found by the backend is GVirtuS's frontend, not the "
             "NVIDIA driver; remove the GVirtuS library directory from the backend's "
             "LD_LIBRARY_PATH");
    return nullptr;
  }
  d.handle = h;
  return h;
}

int32_t invalid_for(HandleKind kind) {
  return kind == HandleKind::kContext ? CUDA_ERROR_INVALID_CONTEXT : CUDA_ERROR_INVALID_HANDLE;
}

template <typename T>
bool in_kind(CallContext& ctx, HandleKind kind, uint64_t id, T* out) {
  return cudart::handle_in_as(ctx, kind, id, out, invalid_for(kind));
}

template <typename T>
bool release_kind(CallContext& ctx, HandleKind kind, uint64_t id, T* out) {
  void* p = nullptr;
  bool ok = cudart::handle_release(ctx, kind, id, &p, invalid_for(kind));
  *out = static_cast<T>(p);
  // The unload that follows does not read the image any more; what dies with it is forgotten.
  if (ok && p && (kind == HandleKind::kModule || kind == HandleKind::kDrvLibrary)) {
    forget_children(ctx, kind, p);
    drop_image(ctx, p);
  }
  return ok;
}

}  // namespace

void* real_symbol(const char* name) {
  Driver& d = driver();
  std::lock_guard<std::mutex> g(d.mu);
  auto it = d.syms.find(name);
  if (it != d.syms.end()) return it->second;
  void* h = open_driver_locked(d);
  void* p = h ? ::dlsym(h, name) : nullptr;
  d.syms.emplace(name, p);
  return p;
}

KeepCurrentContext::KeepCurrentContext() {
  using Get = CUresult (*)(CUcontext*);
  static const auto get = reinterpret_cast<Get>(real_symbol("cuCtxGetCurrent"));
  have_ctx_ = get && get(&ctx_) == CUDA_SUCCESS;
  if (cudaGetDevice(&device_) != cudaSuccess) device_ = -1;
}

KeepCurrentContext::~KeepCurrentContext() {
  using Set = CUresult (*)(CUcontext);
  static const auto set = reinterpret_cast<Set>(real_symbol("cuCtxSetCurrent"));
  // A context the thread had: current again, and the runtime takes its device from it (a
  // cudaSetDevice first would make that device's primary context, which the client may never
  // have had). None: the runtime's device back (that binds its primary context), then none
  // current, as before. The context unknown (no driver): the device back, as before.
  if (have_ctx_ && set && ctx_) {
    set(ctx_);
    return;
  }
  int now = -1;
  if (device_ >= 0 && cudaGetDevice(&now) == cudaSuccess && now != device_) cudaSetDevice(device_);
  if (have_ctx_ && set) set(nullptr);
}

bool driver_loaded() {
  Driver& d = driver();
  std::lock_guard<std::mutex> g(d.mu);
  return open_driver_locked(d) != nullptr;
}

// A CUkernel may stand for a CUfunction (the driver takes one cast to the other in
// cuLaunchKernel, cuFuncGetAttribute and friends): a kernel id is accepted there.
bool is_kernel_id(uint64_t id) {
  const HandleKind kind = handle_kind_of(id);
  return kind == HandleKind::kDrvKernel || kind == HandleKind::kKernel;
}

bool kernel_in(CallContext& ctx, uint64_t id, CUkernel* out) {
  if (handle_kind_of(id) == HandleKind::kKernel) {
    // The runtime plugin's record: its failures are the runtime's (a stale id answers
    // cudaErrorInvalidResourceHandle, which is CUDA_ERROR_INVALID_HANDLE's number too).
    const void* k = nullptr;
    const bool ok = cudart::func_in(ctx, id, &k);
    *out = reinterpret_cast<CUkernel>(const_cast<void*>(k));
    return ok;
  }
  return in_kind(ctx, HandleKind::kDrvKernel, id, out);
}

bool function_in(CallContext& ctx, uint64_t id, CUfunction* out) {
  if (is_kernel_id(id)) {
    CUkernel k = nullptr;
    const bool ok = kernel_in(ctx, id, &k);
    *out = reinterpret_cast<CUfunction>(k);
    return ok;
  }
  return in_kind(ctx, HandleKind::kFunction, id, out);
}

#define GV_CUDA_HANDLE(prefix, type, kind)                                          \
  bool prefix##_release(CallContext& ctx, uint64_t id, type* out) {                 \
    return release_kind(ctx, HandleKind::kind, id, out);                            \
  }                                                                                 \
  uint64_t prefix##_out(CallContext& ctx, type obj) {                               \
    return cudart::handle_out(ctx, HandleKind::kind, obj);                          \
  }
#define GV_CUDA_HANDLE_IN(prefix, type, kind)                  \
  bool prefix##_in(CallContext& ctx, uint64_t id, type* out) { \
    return in_kind(ctx, HandleKind::kind, id, out);            \
  }
GV_CUDA_HANDLE_IN(stream, CUstream, kStream)
GV_CUDA_HANDLE_IN(event, CUevent, kEvent)
GV_CUDA_HANDLE_IN(context, CUcontext, kContext)
GV_CUDA_HANDLE_IN(module, CUmodule, kModule)
GV_CUDA_HANDLE_IN(library, CUlibrary, kDrvLibrary)
GV_CUDA_HANDLE_IN(linkstate, CUlinkState, kLinkState)
#undef GV_CUDA_HANDLE_IN
GV_CUDA_HANDLE(stream, CUstream, kStream)
GV_CUDA_HANDLE(event, CUevent, kEvent)
GV_CUDA_HANDLE(context, CUcontext, kContext)
GV_CUDA_HANDLE(module, CUmodule, kModule)
GV_CUDA_HANDLE(function, CUfunction, kFunction)
GV_CUDA_HANDLE(library, CUlibrary, kDrvLibrary)
GV_CUDA_HANDLE(kernel, CUkernel, kDrvKernel)
GV_CUDA_HANDLE(linkstate, CUlinkState, kLinkState)
#undef GV_CUDA_HANDLE

CUlaunchConfig launch_config(const uint32_t grid[3], const uint32_t block[3], uint32_t shmem,
                             CUstream s, std::vector<CUlaunchAttribute>& attrs) {
  CUlaunchConfig cfg{};
  cfg.gridDimX = grid[0];
  cfg.gridDimY = grid[1];
  cfg.gridDimZ = grid[2];
  cfg.blockDimX = block[0];
  cfg.blockDimY = block[1];
  cfg.blockDimZ = block[2];
  cfg.sharedMemBytes = shmem;
  cfg.hStream = s;
  cfg.attrs = attrs.empty() ? nullptr : attrs.data();
  cfg.numAttrs = static_cast<unsigned>(attrs.size());
  return cfg;
}

std::vector<CUlaunchAttribute> launch_attributes_in(CallContext& ctx, const char* what,
                                                    bool events) {
  const uint32_t na = ctx.in.get<uint32_t>();
  if (na > kMaxLaunchAttributes)
    throw SessionFault(std::string(what) + ": " + std::to_string(na) + " launch attributes");
  std::vector<CUlaunchAttribute> attrs(na);
  if (na)
    std::memcpy(attrs.data(), ctx.in.get_bytes(na * sizeof(CUlaunchAttribute)),
                na * sizeof(CUlaunchAttribute));
  for (const auto& a : attrs) {
    const auto aid = static_cast<cudaLaunchAttributeID>(a.id);
    if (!plain_launch_attribute(aid) && !(events && event_launch_attribute(aid)))
      throw SessionFault(std::string(what) + ": launch attribute " + std::to_string(a.id) +
                         " cannot travel");
  }
  return attrs;
}

}  // namespace gvirtus::backend::cuda
