// The calls that charge and credit the session's GPU memory ledger (quota_calls.h).
#include "backend/quota_calls.h"

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backend/cuda/support.h"
#include "backend/memory_quota.h"
#include "common/log.h"

namespace gvirtus::backend::quota {
namespace {

enum class Role : uint8_t {
  kPointer,      // returns a device pointer first in its reply: charged at its exact size
  kPointerFree,  // takes a device pointer first in its request: credits it
  kCreate,       // returns a new object's id first in its reply: measured, charged to it
  kDestroy,      // takes an object's id first in its request: credits it
  kGrow,         // takes an object's id first in its request and may allocate for it: measured
  kDeviceReset,  // frees everything on a device (the current one, or an int first in the request)
};

struct Rule {
  const char* name;
  Role role;
  // kCreate/kDestroy/kGrow: the call that destroys such objects; the ledger's family for them
  // is its call id (the array families share cudaFreeArray's and cudaFreeMipmappedArray's).
  // nullptr: the family below.
  const char* destroy;
  uint32_t family;    // for destroy == nullptr
  uint8_t id_bytes;   // the id's size on the wire: 8 (a handle id, a pointer) or 4 (a cufftHandle)
};

// Objects whose calls allocate inside the driver or a library. A call not forwarded by this
// build (some driver calls) simply never matches. Any new forwarded call that allocates device
// memory belongs here or in the runtime handlers' explicit accounting (quota_calls.h), and in
// docs/security.md's table; the test QuotaCalls.EveryAllocatingCallIsAccounted looks for
// forwarded calls whose names say they allocate.
constexpr Rule kRules[] = {
    // The driver's device pointers (cudaFree may free them, and cuMemFree cudaMalloc's).
    {"cuMemAlloc_v2", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocPitch_v2", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocManaged", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocAsync", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocAsync_ptsz", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocFromPoolAsync", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemAllocFromPoolAsync_ptsz", Role::kPointer, nullptr, kDevicePointer, 8},
    {"cuMemFree_v2", Role::kPointerFree, nullptr, kDevicePointer, 8},
    {"cuMemFreeAsync", Role::kPointerFree, nullptr, kDevicePointer, 8},
    {"cuMemFreeAsync_ptsz", Role::kPointerFree, nullptr, kDevicePointer, 8},
    // Resets of a device's primary context free everything the session held there.
    {"cudaDeviceReset", Role::kDeviceReset, nullptr, 0, 0},
    {"cuDevicePrimaryCtxReset_v2", Role::kDeviceReset, nullptr, 0, 4},
    // Contexts the client creates (each holds device memory of its own; the primary contexts
    // are the worker's, not counted).
    {"cuCtxCreate_v4", Role::kCreate, "cuCtxDestroy_v2", 0, 8},
    {"cuCtxDestroy_v2", Role::kDestroy, "cuCtxDestroy_v2", 0, 8},
    // Arrays: one object kind for the runtime and the driver.
    {"cudaMallocArray", Role::kCreate, "cudaFreeArray", 0, 8},
    {"cudaMalloc3DArray", Role::kCreate, "cudaFreeArray", 0, 8},
    {"cudaFreeArray", Role::kDestroy, "cudaFreeArray", 0, 8},
    {"cuArrayCreate_v2", Role::kCreate, "cudaFreeArray", 0, 8},
    {"cuArray3DCreate_v2", Role::kCreate, "cudaFreeArray", 0, 8},
    {"cuArrayDestroy", Role::kDestroy, "cudaFreeArray", 0, 8},
    {"cudaMallocMipmappedArray", Role::kCreate, "cudaFreeMipmappedArray", 0, 8},
    {"cudaFreeMipmappedArray", Role::kDestroy, "cudaFreeMipmappedArray", 0, 8},
    {"cuMipmappedArrayCreate", Role::kCreate, "cudaFreeMipmappedArray", 0, 8},
    {"cuMipmappedArrayDestroy", Role::kDestroy, "cudaFreeMipmappedArray", 0, 8},
    // The device's malloc heap and stacks (cudaLimitMallocHeapSize, cudaLimitStackSize...).
    {"cudaDeviceSetLimit", Role::kGrow, nullptr, kDeviceLimit, 0},
    {"cuCtxSetLimit", Role::kGrow, nullptr, kDeviceLimit, 0},
    // cuBLAS: the handle's workspaces (the default one, one per stream).
    {"cublasCreate_v2", Role::kCreate, "cublasDestroy_v2", 0, 8},
    {"cublasDestroy_v2", Role::kDestroy, "cublasDestroy_v2", 0, 8},
    {"cublasSetStream_v2", Role::kGrow, "cublasDestroy_v2", 0, 8},
    {"cublasSetWorkspace_v2", Role::kGrow, "cublasDestroy_v2", 0, 8},
    {"cublasLtCreate", Role::kCreate, "cublasLtDestroy", 0, 8},
    {"cublasLtDestroy", Role::kDestroy, "cublasLtDestroy", 0, 8},
    // cuDNN.
    {"cudnnCreate", Role::kCreate, "cudnnDestroy", 0, 8},
    {"cudnnDestroy", Role::kDestroy, "cudnnDestroy", 0, 8},
    {"cudnnSetStream", Role::kGrow, "cudnnDestroy", 0, 8},
    // cuFFT: plans (a cufftHandle is an int) and their work areas.
    {"cufftCreate", Role::kCreate, "cufftDestroy", 0, 4},
    {"cufftPlan1d", Role::kCreate, "cufftDestroy", 0, 4},
    {"cufftPlan2d", Role::kCreate, "cufftDestroy", 0, 4},
    {"cufftPlan3d", Role::kCreate, "cufftDestroy", 0, 4},
    {"cufftPlanMany", Role::kCreate, "cufftDestroy", 0, 4},
    {"cufftDestroy", Role::kDestroy, "cufftDestroy", 0, 4},
    {"cufftMakePlan1d", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftMakePlan2d", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftMakePlan3d", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftMakePlanMany", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftMakePlanMany64", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftXtMakePlanMany", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftSetAutoAllocation", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftSetWorkArea", Role::kGrow, "cufftDestroy", 0, 4},
    {"cufftSetStream", Role::kGrow, "cufftDestroy", 0, 4},
    // cuRAND: a device generator's states (allocated on its first generation).
    {"curandCreateGenerator", Role::kCreate, "curandDestroyGenerator", 0, 8},
    {"curandDestroyGenerator", Role::kDestroy, "curandDestroyGenerator", 0, 8},
    {"curandGenerate", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateLongLong", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateUniform", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateUniformDouble", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateNormal", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateNormalDouble", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateLogNormal", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateLogNormalDouble", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGeneratePoisson", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGenerateSeeds", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandSetStream", Role::kGrow, "curandDestroyGenerator", 0, 8},
    {"curandGeneratePoissonMethod", Role::kGrow, "curandDestroyGenerator", 0, 8},
    // A Poisson distribution's histogram (the reply's and the destroy's u64 is its pointer).
    {"curandCreatePoissonDistribution", Role::kCreate, "curandDestroyDistribution", 0, 8},
    {"curandDestroyDistribution", Role::kDestroy, "curandDestroyDistribution", 0, 8},
    // cuSOLVER and cuSPARSE handles (their work buffers are the client's cudaMalloc).
    {"cusolverDnCreate", Role::kCreate, "cusolverDnDestroy", 0, 8},
    {"cusolverDnDestroy", Role::kDestroy, "cusolverDnDestroy", 0, 8},
    {"cusolverDnSetStream", Role::kGrow, "cusolverDnDestroy", 0, 8},
    {"cusolverSpCreate", Role::kCreate, "cusolverSpDestroy", 0, 8},
    {"cusolverSpDestroy", Role::kDestroy, "cusolverSpDestroy", 0, 8},
    {"cusolverSpSetStream", Role::kGrow, "cusolverSpDestroy", 0, 8},
    {"cusolverRfCreate", Role::kCreate, "cusolverRfDestroy", 0, 8},
    {"cusolverRfDestroy", Role::kDestroy, "cusolverRfDestroy", 0, 8},
    {"cusparseCreate", Role::kCreate, "cusparseDestroy", 0, 8},
    {"cusparseDestroy", Role::kDestroy, "cusparseDestroy", 0, 8},
    {"cusparseSetStream", Role::kGrow, "cusparseDestroy", 0, 8},
    // The legacy incomplete-LU infos hold device memory of their own (api/cusparse.api).
    {"cusparseCreateCsrilu02Info", Role::kCreate, "cusparseDestroyCsrilu02Info", 0, 8},
    {"cusparseDestroyCsrilu02Info", Role::kDestroy, "cusparseDestroyCsrilu02Info", 0, 8},
    {"cusparseCreateBsrilu02Info", Role::kCreate, "cusparseDestroyBsrilu02Info", 0, 8},
    {"cusparseDestroyBsrilu02Info", Role::kDestroy, "cusparseDestroyBsrilu02Info", 0, 8},
};

const Rule* rule_named(const char* name) {
  if (!name) return nullptr;
  for (const Rule& r : kRules)
    if (std::strcmp(r.name, name) == 0) return &r;
  return nullptr;
}

// Per call id, whether it has a rule (0: not looked up, 1: none, 2 + i: kRules[i]), so that the
// common call pays one relaxed load. Call ids beyond the table are looked up by name each time.
constexpr size_t kCallIds = 1 << 15;
std::array<std::atomic<uint8_t>, kCallIds> g_rule_of{};
static_assert(sizeof(kRules) / sizeof(kRules[0]) < 250, "rule indexes fit a byte");

const Rule* rule_for(const HandlerEntry& e) {
  if (e.call_id >= kCallIds) return rule_named(e.name);
  uint8_t v = g_rule_of[e.call_id].load(std::memory_order_relaxed);
  if (v == 0) {
    const Rule* r = rule_named(e.name);
    v = r ? static_cast<uint8_t>(2 + (r - kRules)) : 1;
    g_rule_of[e.call_id].store(v, std::memory_order_relaxed);
  }
  return v == 1 ? nullptr : &kRules[v - 2];
}

// The status that says "out of device memory" in the call's own API, by its name's prefix.
int32_t alloc_failed(const char* name) {
  const std::string n = name ? name : "";
  auto starts = [&](const char* p) { return n.rfind(p, 0) == 0; };
  if (starts("cublas")) return 3;       // CUBLAS_STATUS_ALLOC_FAILED (cuBLASLt too)
  if (starts("cufft")) return 2;        // CUFFT_ALLOC_FAILED
  if (starts("cudnn")) return 4004;     // CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED
  if (starts("curand")) return 102;     // CURAND_STATUS_ALLOCATION_FAILED
  if (starts("cusolver")) return 2;     // CUSOLVER_STATUS_ALLOC_FAILED
  if (starts("cusparse")) return 2;     // CUSPARSE_STATUS_ALLOC_FAILED
  if (starts("cuda")) return cudaErrorMemoryAllocation;
  return CUDA_ERROR_OUT_OF_MEMORY;      // the driver API
}

int current_device() {
  int d = 0;
  if (cudaGetDevice(&d) != cudaSuccess) return 0;
  return d;
}

// The first n (4 or 8) bytes of p as a key; false if there are fewer.
bool id_of(const uint8_t* p, size_t avail, uint8_t n, uint64_t* out) {
  if (n == 0) {
    *out = 0;
    return true;
  }
  if (avail < n) return false;
  if (n == 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    *out = v;
  } else {
    std::memcpy(out, p, 8);
  }
  return true;
}

// ---- the worker process's own device memory, from NVML ----

// nvmlProcessInfo_v2_t (NVML's ABI, nvml.h).
struct NvmlProcess {
  unsigned int pid;
  unsigned long long used;
  unsigned int gpu_instance, compute_instance;
};
using NvmlInit = int (*)();
using NvmlByBus = int (*)(const char*, void**);
using NvmlProcesses = int (*)(void*, unsigned int*, NvmlProcess*);
constexpr int kNvmlInsufficientSize = 7;
constexpr unsigned long long kNvmlNotAvailable = ~0ull;

struct Nvml {
  NvmlByBus by_bus = nullptr;
  NvmlProcesses processes = nullptr;
  std::string why;  // why not, when the functions are missing
};

const Nvml& nvml() {
  static const Nvml n = [] {
    Nvml r;
    void* h = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      r.why = "libnvidia-ml.so.1 cannot be loaded";
      return r;
    }
    // GVirtuS's own NVML library (the frontend) answers for a remote GPU, not this process.
    if (::dlsym(h, "_ZN7gvirtus6client10connectionEv")) {
      r.why = "libnvidia-ml.so.1 is GVirtuS's frontend library, not NVIDIA's";
      return r;
    }
    auto init = reinterpret_cast<NvmlInit>(::dlsym(h, "nvmlInit_v2"));
    auto by_bus = reinterpret_cast<NvmlByBus>(::dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2"));
    auto procs =
        reinterpret_cast<NvmlProcesses>(::dlsym(h, "nvmlDeviceGetComputeRunningProcesses_v3"));
    if (!init || !by_bus || !procs) {
      r.why = "libnvidia-ml.so.1 lacks nvmlDeviceGetComputeRunningProcesses_v3";
      return r;
    }
    if (int e = init(); e != 0) {
      r.why = "nvmlInit_v2 failed (" + std::to_string(e) + ")";
      return r;
    }
    r.by_bus = by_bus;
    r.processes = procs;
    return r;
  }();
  return n;
}

// This process's pid as NVML lists it: getpid(), or in a PID namespace of its own the host's
// pid, learnt while it is the only process on its GPU (self_pid()). 0: not known yet.
std::atomic<unsigned int> g_self{0};

// The processes NVML lists on `device`. false: no list (*why says why).
bool nvml_list(int device, std::vector<NvmlProcess>* out, std::string* why) {
  const Nvml& n = nvml();
  if (!n.processes) {
    *why = n.why;
    return false;
  }
  char bus[64] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) {
    *why = "cudaDeviceGetPCIBusId failed";
    return false;
  }
  void* dev = nullptr;
  if (n.by_bus(bus, &dev) != 0) {
    *why = std::string("NVML does not know the GPU at ") + bus;
    return false;
  }
  std::vector<NvmlProcess> list(64);
  unsigned int count = static_cast<unsigned int>(list.size());
  int e = n.processes(dev, &count, list.data());
  for (int tries = 0; e == kNvmlInsufficientSize && tries < 4 && count <= 65536; ++tries) {
    list.resize(count + 16);
    count = static_cast<unsigned int>(list.size());
    e = n.processes(dev, &count, list.data());
  }
  if (e != 0) {
    *why = "nvmlDeviceGetComputeRunningProcesses failed (" + std::to_string(e) + ")";
    return false;
  }
  list.resize(std::min<size_t>(count, list.size()));
  *out = std::move(list);
  return true;
}

// This process's pid in NVML's lists, learnt once. With a context on the current device (its
// primary one, made now if need be), NVML lists the process there: under
// its own pid, or, in a PID namespace of its own (a container), under the host's pid, which is
// known for sure only while it is the only process listed on that GPU.
unsigned int self_pid(std::string* why) {
  if (unsigned int s = g_self.load(std::memory_order_relaxed)) return s;
  const int d = current_device();
  std::vector<NvmlProcess> list;
  {
    // The thread's context stays the client's (or none, as before a driver program's first
    // cuCtxCreate): the primary context made here is only for NVML to see the process.
    cuda::KeepCurrentContext keep;
    if (cudaSetDevice(d) != cudaSuccess) {
      *why = "no CUDA device";
      return 0;
    }
    if (!nvml_list(d, &list, why)) return 0;
  }
  const auto own = static_cast<unsigned int>(::getpid());
  std::set<unsigned int> pids;
  for (const NvmlProcess& p : list) pids.insert(p.pid);
  unsigned int s = 0;
  if (pids.count(own)) {
    s = own;
  } else if (pids.size() == 1) {
    s = *pids.begin();
    GV_INFO("GPU memory quota: NVML lists this worker as pid " + std::to_string(s) +
            " (a PID namespace of its own), learnt while it was alone on GPU " +
            std::to_string(d));
  } else {
    *why = "NVML does not list this worker's pid " + std::to_string(own) + " and " +
           std::to_string(pids.size()) + " other processes use the GPU (a PID namespace of its "
           "own: run the backend with the host's PID namespace)";
    return 0;
  }
  g_self.store(s, std::memory_order_relaxed);
  return s;
}

// What this process holds on `device` (NVML counts every allocation of the process there,
// rounded to the driver's pages). *found: NVML lists the process on that device at all (it does
// once the process has a context there). false: no figure.
bool process_memory(int device, uint64_t* bytes, bool* found, std::string* why) {
  const unsigned int self = self_pid(why);
  if (self == 0) return false;
  std::vector<NvmlProcess> list;
  if (!nvml_list(device, &list, why)) return false;
  *bytes = 0;
  *found = false;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].pid != self) continue;
    if (list[i].used == kNvmlNotAvailable) {
      *why = "NVML gives no memory figure for this process (MIG without privileges?)";
      return false;
    }
    *bytes += list[i].used;
    *found = true;
  }
  return true;
}

// The sum over every device this process sees (a call may allocate on another device than the
// current one: cuCtxCreate names its device). *found: listed on at least one.
bool process_memory_all(uint64_t* bytes, bool* found, std::string* why) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
    *why = "no CUDA device";
    return false;
  }
  *bytes = 0;
  *found = false;
  for (int d = 0; d < n; ++d) {
    uint64_t b = 0;
    bool f = false;
    if (!process_memory(d, &b, &f, why)) return false;
    *bytes += b;
    *found = *found || f;
  }
  return true;
}

// A refusal, logged: the first ten, then every thousandth (a client that retries forever must
// not flood the log).
void log_refusal(const std::string& text) {
  static std::atomic<uint64_t> n{0};
  const uint64_t i = n.fetch_add(1, std::memory_order_relaxed);
  if (i < 10 || i % 1000 == 0)
    GV_INFO(text + " [refusal " + std::to_string(i + 1) + " of this session]");
}

// One measured call at a time, so that one call's growth is not taken for another's.
std::mutex g_measure_mu;

void warn_unmeasurable(const std::string& why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    GV_WARN("GPU memory quota: library and array allocations cannot be measured (" + why +
            "): under a \"gpu_memory\" limit those calls answer their out-of-memory error "
            "(docs/security.md, \"GPU memory quota\")");
  });
}

// Runs `d` (a destroy call) on the object whose id is `id` (n bytes), as a request of ctx's
// client would. Its result is not the client's business.
void destroy_object(const HandlerEntry& d, CallContext& ctx, const uint8_t* id, size_t n) {
  std::vector<uint8_t> buf(id, id + n);
  wire::FrameHeader h = ctx.header;
  h.call_id = d.call_id;
  h.length = static_cast<uint32_t>(n);
  CallContext dc{ctx.session, ctx.conn, h, wire::Reader(buf.data(), buf.size()), wire::Writer()};
  try {
    d.fn(dc);
  } catch (const std::exception& e) {
    GV_WARN(std::string("GPU memory quota: ") + d.name + " of an object over the quota failed: " +
            e.what());
  }
}

// The request's first id (read without consuming ctx.in).
bool request_id(const CallContext& ctx, uint8_t n, uint64_t* out) {
  wire::Reader peek = ctx.in;
  if (n == 0) return id_of(nullptr, 0, 0, out);
  try {
    const uint8_t* p = peek.get_bytes(n);
    return id_of(p, n, n, out);
  } catch (const wire::DecodeError&) {
    return false;  // the handler itself will reject the request
  }
}

// Per rule, its family once known (0: not yet).
std::array<std::atomic<uint32_t>, sizeof(kRules) / sizeof(kRules[0])> g_family{};

uint32_t family_of(const Registry& reg, const Rule& r, uint32_t near) {
  if (!r.destroy) return r.family;
  std::atomic<uint32_t>& cached = g_family[static_cast<size_t>(&r - kRules)];
  if (uint32_t f = cached.load(std::memory_order_relaxed)) return f;
  const HandlerEntry* d = reg.find_named(r.destroy, near);
  // 100 + call id: clear of the fixed families whatever the id. A destroy call this build does
  // not forward: its objects share one family of their own (the rule's position).
  const uint32_t f = d ? 100 + d->call_id : 1000000 + static_cast<uint32_t>(&r - kRules);
  cached.store(f, std::memory_order_relaxed);
  return f;
}

void run_pointer(const HandlerEntry& entry, CallContext& ctx) {
  const int64_t limit = ledger().limit();
  if (limit >= 0 && !ledger().fits(1)) {
    ctx.status = alloc_failed(entry.name);
    return;
  }
  entry.fn(ctx);
  uint64_t ptr = 0;
  if (ctx.status != 0 || !id_of(ctx.out.buffer().data(), ctx.out.size(), 8, &ptr) || ptr == 0)
    return;
  // The allocation's exact extent, as the driver knows it.
  using GetRange = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
  auto range = reinterpret_cast<GetRange>(cuda::real_symbol("cuMemGetAddressRange_v2"));
  CUdeviceptr base = 0;
  size_t size = 0;
  const bool known = range && range(&base, &size, static_cast<CUdeviceptr>(ptr)) == CUDA_SUCCESS;
  if (known && ledger().charge(kDevicePointer, ptr, size, current_device())) return;
  if (!known && limit < 0) return;  // not counted, and nothing to enforce
  // Over the quota (or not measurable under one): as if the allocation had failed.
  log_refusal(known ? over_limit_text(size, ledger())
                : std::string("GPU memory quota: the size of a ") + entry.name +
                      " allocation is unknown; refused");
  cudaFree(reinterpret_cast<void*>(static_cast<uintptr_t>(ptr)));
  ctx.out.clear();
  ctx.status = alloc_failed(entry.name);
}

void run_measured(const Registry& reg, const Rule& r, const HandlerEntry& entry,
                  CallContext& ctx) {
  const int64_t limit = ledger().limit();
  const uint32_t family = family_of(reg, r, entry.call_id);
  uint64_t grown_id = 0;
  if (r.role == Role::kGrow && !request_id(ctx, r.id_bytes, &grown_id)) {
    entry.fn(ctx);  // a malformed request: the handler says so
    return;
  }
  if (limit >= 0 && !ledger().fits(1)) {  // nothing left: as on a full GPU
    ctx.status = alloc_failed(entry.name);
    return;
  }
  // Without a limit, what existing objects grow by is not worth an NVML query per call (cuRAND
  // generates often): only creations are counted, for the operators' figures.
  if (limit < 0 && r.role == Role::kGrow) {
    entry.fn(ctx);
    return;
  }
  std::lock_guard<std::mutex> g(g_measure_mu);
  uint64_t before = 0, after = 0;
  bool found_before = false, found_after = false;
  std::string why;
  const bool measured_before = process_memory_all(&before, &found_before, &why);
  if (!measured_before && limit >= 0) {
    warn_unmeasurable(why);
    ctx.status = alloc_failed(entry.name);
    return;
  }
  entry.fn(ctx);
  if (!measured_before) return;  // no limit: not counted
  const bool measured_after = process_memory_all(&after, &found_after, &why);
  // After a call that ran on the device the process has a context there: absent from NVML's
  // list means NVML sees another PID namespace.
  bool ok = measured_after && (found_after || ctx.status != 0);
  if (!ok && limit < 0) return;
  if (!ok) warn_unmeasurable(measured_after ? "NVML does not list this process's pid (a PID "
                                              "namespace of its own?)" : why);
  const uint64_t growth = ok && after > before ? after - before : 0;
  const int device = current_device();  // where the ledger shows it
  if (r.role == Role::kCreate) {
    uint64_t id = 0;
    if (ctx.status != 0 || !id_of(ctx.out.buffer().data(), ctx.out.size(), r.id_bytes, &id))
      return;
    if (ok && ledger().charge(family, id, growth, device)) return;
    if (ok) log_refusal(over_limit_text(growth, ledger()));
    // Undo: destroy what the call made, and answer as a full GPU would.
    if (const HandlerEntry* d = reg.find_named(r.destroy, entry.call_id))
      destroy_object(*d, ctx, ctx.out.buffer().data(), r.id_bytes);
    ctx.out.clear();
    ctx.status = alloc_failed(entry.name);
    return;
  }
  // kGrow: the object keeps what it took until it is destroyed.
  if (!ok) {
    ctx.status = ctx.status == 0 ? alloc_failed(entry.name) : ctx.status;
    return;
  }
  if (!ledger().charge_anyway(family, grown_id, growth, device) && ctx.status == 0) {
    log_refusal(over_limit_text(growth, ledger()));
    ctx.status = alloc_failed(entry.name);
  }
}

}  // namespace

void set_limit(int64_t bytes) {
  ledger().set_limit(bytes);
  if (bytes >= 0)
    GV_INFO("GPU memory quota of this session: " + std::to_string(bytes) +
            " bytes (\"gpu_memory\" in the backend's \"limits\")");
}

bool room_for(uint64_t bytes) {
  if (ledger().fits(bytes)) return true;
  log_refusal(over_limit_text(bytes, ledger()));
  return false;
}

bool allocated(uint64_t ptr, uint64_t bytes) {
  if (ptr == 0 || ledger().charge(kDevicePointer, ptr, bytes, current_device())) return true;
  log_refusal(over_limit_text(bytes, ledger()));
  return false;
}

void freed(uint64_t ptr) {
  if (ptr != 0) ledger().release(kDevicePointer, ptr);
}

void prepare_measurement() {
  const Nvml& n = nvml();  // nvmlInit: about 10 ms on the H100 machine
  int count = 0;
  if (!n.by_bus || cudaGetDeviceCount(&count) != cudaSuccess) return;
  // NVML's first look at a GPU costs about 6 ms more; later ones microseconds.
  for (int d = 0; d < count; ++d) {
    char bus[64] = {};
    void* dev = nullptr;
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, d) == cudaSuccess) (void)n.by_bus(bus, &dev);
  }
}

bool vmm_room_for(uint64_t bytes) { return room_for(bytes); }

bool vmm_created(uint64_t raw, uint64_t bytes, int device) {
  if (ledger().charge(kVmmAllocation, raw, bytes, device)) return true;
  log_refusal(over_limit_text(bytes, ledger()));
  return false;
}

void vmm_freed(uint64_t raw) { ledger().release(kVmmAllocation, raw); }

void run(const Registry& reg, const HandlerEntry& entry, CallContext& ctx) {
  const Rule* r = rule_for(entry);
  if (!r) {
    entry.fn(ctx);
    return;
  }
  switch (r->role) {
    case Role::kPointer:
      run_pointer(entry, ctx);
      return;
    case Role::kPointerFree: {
      uint64_t ptr = 0;
      const bool have = request_id(ctx, 8, &ptr);
      entry.fn(ctx);
      if (have && ctx.status == 0) freed(ptr);
      return;
    }
    case Role::kDestroy: {
      uint64_t id = 0;
      const bool have = request_id(ctx, r->id_bytes, &id);
      entry.fn(ctx);
      if (have && ctx.status == 0) ledger().release(family_of(reg, *r, entry.call_id), id);
      return;
    }
    case Role::kCreate:
    case Role::kGrow:
      run_measured(reg, *r, entry, ctx);
      return;
    case Role::kDeviceReset: {
      uint64_t dev = 0;
      const bool have = r->id_bytes == 0 || request_id(ctx, r->id_bytes, &dev);
      const int device = r->id_bytes == 0 ? current_device() : static_cast<int>(dev);
      entry.fn(ctx);
      if (have && ctx.status == 0) ledger().release_device(device);
      return;
    }
  }
}

const char* accounted_as(const char* name) {
  const Rule* r = rule_named(name);
  if (!r) return nullptr;
  switch (r->role) {
    case Role::kPointer: return "device-pointer";
    case Role::kPointerFree: return "device-pointer-free";
    case Role::kCreate: return "create";
    case Role::kDestroy: return "destroy";
    case Role::kGrow: return "grow";
    case Role::kDeviceReset: return "device-reset";
  }
  return nullptr;
}

}  // namespace gvirtus::backend::quota
