// Fatbinary and kernel registry, and resolution on the backend. Payloads: docs/frontend.md.
#include "frontend/cudart/modules.h"

#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/digest.h"
#include "common/launch_attrs.h"
#include "frontend/core/answers.h"
#include "frontend/core/lanes.h"
#include "frontend/cudart/answers.h"
#include "frontend/cudart/fatbin_select.h"
#include "frontend/cudart/launch_check.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {

namespace {

// Bytes of module data per frame (well under wire::kMaxPayload with the fields).
constexpr uint64_t kModuleChunk = 32u << 20;
constexpr size_t kMaxKernelName = 64u << 10;

struct Registry {
  std::mutex mu;
  std::vector<std::unique_ptr<Module>> modules;
  std::unordered_set<const Module*> module_set;
  // Records are never freed: the application keeps cudaKernel_t values in statics.
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::unordered_set<const void*> kernel_set;
  std::unordered_map<const void*, Kernel*> by_stub;
  std::vector<std::unique_ptr<Variable>> variables;
  std::unordered_map<const void*, Variable*> by_host;
  // The keys each module registered, so that unregistering one touches only its own (PyTorch
  // unregisters thousands of modules at exit; a scan of every kernel each was quadratic).
  std::unordered_map<const Module*, std::vector<const void*>> stubs_of, hosts_of;
  std::mutex resolve_mu;  // one resolution at a time (rare; keeps each upload single)
};

Registry& reg() {
  static auto* r = new Registry;  // never destroyed: launches may come from static destructors
  return *r;
}

// Reads a u64 handle from a reply; the server must send exactly that.
uint64_t read_id(client::Call& c) {
  uint64_t v = c.result().get<uint64_t>();
  c.result().expect_end();
  return v;
}

// What the worker told of its GPUs and its module cache (kModuleTargets): asked once per
// session and kept with the session's other answers (frontend/core/answers.h).
constexpr uint32_t kMaxTargetDevices = 64;
constexpr uint16_t kModuleCacheMinor = 2;  // the protocol minor that has kModuleTargets
constexpr char kTargetsKey[] = "module:targets";

struct Targets {
  int32_t cache = 0;  // modules may be named by digest (kModuleCached)
  int32_t count = 0;  // devices[0, count)
  ComputeCapability devices[kMaxTargetDevices];
};

// REQUIRES: reg().resolve_mu held. Empty (no device, no cache) when the backend cannot say.
Targets targets() {
  Targets t;
  // The backend's version is known once this thread is connected (the first call connects).
  if (!client::connection() || client::server_minor() < kModuleCacheMinor ||
      client::recall_answer(kTargetsKey, &t, sizeof t))
    return t;
  client::Call c(id(Call::kCall_gvModuleLoad));
  c.args().put<uint8_t>(kModuleTargets);
  if (!c.invoke()) return t;
  // A failure of an earlier request without a reply arrives here as on any reply.
  if (c.deferred() != 0) set_last_error(static_cast<cudaError_t>(c.deferred()));
  // Not the program's call: its failure (no GPU, say) leaves the program's last error alone and
  // the module goes whole, as before; the upload then reports what is wrong.
  if (c.status() != 0) return t;
  wire::Reader& r = c.result();
  t.cache = r.get<uint8_t>() != 0 ? 1 : 0;
  uint32_t n = r.get<uint32_t>();
  if (n > kMaxTargetDevices) throw wire::DecodeError("module targets: too many devices");
  for (uint32_t i = 0; i < n; ++i) {
    t.devices[i].major = r.get<int32_t>();
    t.devices[i].minor = r.get<int32_t>();
  }
  r.expect_end();
  t.count = static_cast<int32_t>(n);
  client::remember_answer(kTargetsKey, &t, sizeof t);
  return t;
}

// Asks the worker to load the module of `size` bytes named by its digest from its cache. True
// with *e set when the worker answered (*lib = 0: not cached); false if the session is lost.
bool load_cached(const uint8_t* bytes, uint64_t size, uint64_t* lib, cudaError_t* e) {
  const Digest d = sha256(bytes, static_cast<size_t>(size));
  client::Call c(id(Call::kCall_gvModuleLoad));
  c.args().put<uint8_t>(kModuleCached);
  c.args().put_bytes(d.data(), d.size());
  c.args().put<uint64_t>(size);
  if (!c.invoke()) return false;
  *e = finish(c);
  if (*e == cudaSuccess) *lib = read_id(c);
  return true;
}

// Uploads m's image, returning the library id in *lib: only the entries the worker's GPUs can
// load, and not at all when the worker's module cache has those bytes.
cudaError_t upload(Module* m, uint64_t* lib) {
  const auto* bytes = static_cast<const uint8_t*>(m->image.data);
  uint64_t size = m->image.size;
  const Targets t = targets();
  if (client::session_lost()) return lost();
  std::vector<uint8_t> selected;
  if (select_images(m->image, std::vector<ComputeCapability>(t.devices, t.devices + t.count),
                    &selected)) {
    bytes = selected.data();
    size = selected.size();
  }
  if (t.cache) {
    cudaError_t e = cudaSuccess;
    *lib = 0;
    if (!load_cached(bytes, size, lib, &e)) return lost();
    if (e != cudaSuccess || *lib != 0) return e;
  }
  if (size <= kModuleChunk) {
    client::Call c(id(Call::kCall_gvModuleLoad));
    c.args().put<uint8_t>(kModuleWhole);
    c.args().put<uint64_t>(size);
    c.attach(bytes, size);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e == cudaSuccess) *lib = read_id(c);
    return e;
  }
  client::Call begin(id(Call::kCall_gvModuleLoad));
  begin.args().put<uint8_t>(kModuleBegin);
  begin.args().put<uint64_t>(size);
  if (!begin.invoke()) return lost();
  cudaError_t e = finish(begin);
  if (e != cudaSuccess) return e;
  uint64_t upload_id = read_id(begin);
  for (uint64_t off = 0; off < size; off += kModuleChunk) {
    uint64_t n = size - off < kModuleChunk ? size - off : kModuleChunk;
    client::Call c(id(Call::kCall_gvModuleLoad));
    c.args().put<uint8_t>(kModuleAppend);
    c.args().put<uint64_t>(upload_id);
    c.args().put<uint64_t>(off);
    c.args().put<uint64_t>(n);
    c.attach(bytes + off, n);
    if (!c.send_async()) return lost();
  }
  client::Call end(id(Call::kCall_gvModuleLoad));
  end.args().put<uint8_t>(kModuleEnd);
  end.args().put<uint64_t>(upload_id);
  if (!end.invoke()) return lost();
  e = finish(end);
  if (e == cudaSuccess) *lib = read_id(end);
  return e;
}

// Sends a -rdc program's per-object fatbins for the worker to JIT-link and load, as the CUDA
// runtime does when the device-linked image has no code for the GPU. One frame: the parts of a
// program are small (libcudadevrt's is about 1 MB); a larger set keeps the original error.
cudaError_t upload_for_link(const Module* m, uint64_t* lib, cudaError_t original) {
  uint64_t total = 0;
  for (const FatbinImage& p : m->prelinked) total += p.size;
  if (total > kModuleChunk) return original;
  client::Call c(id(Call::kCall_gvModuleLoad));
  c.args().put<uint8_t>(kModuleLink);
  c.args().put<uint32_t>(static_cast<uint32_t>(m->prelinked.size()));
  for (const FatbinImage& p : m->prelinked) {  // copied: a one-time, bounded cost
    c.args().put<uint64_t>(p.size);
    c.args().put_bytes(p.data, p.size);
  }
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e == cudaSuccess) *lib = read_id(c);
  return e;
}

// Looks the kernel up in its library and fetches its parameter layout.
cudaError_t get_kernel(Kernel* k) {
  client::Call c(id(Call::kCall_gvKernelGet));
  c.args().put<uint64_t>(k->module->library_id);
  c.args().put_string(k->name);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  uint64_t kid = r.get<uint64_t>();
  uint32_t n = r.get<uint32_t>();
  if (n > kMaxParams) throw wire::DecodeError("kernel parameter count out of range");
  std::vector<ParamInfo> params(n);
  for (auto& p : params) {
    p.offset = r.get<uint32_t>();
    p.size = r.get<uint32_t>();
  }
  r.expect_end();
  ParamLayout layout;
  Status st = make_layout(std::move(params), &layout);
  if (!st.is_ok()) throw wire::DecodeError("kernel parameter layout: " + st.message());
  k->kernel_id = kid;
  k->layout = std::move(layout);
  return cudaSuccess;
}

}  // namespace

Module* register_module(const void* wrapper) {
  auto m = std::make_unique<Module>();
  Status st = parse_fatbin_wrapper(wrapper, &m->image);
  if (!st.is_ok()) {
    GV_ERROR("__cudaRegisterFatBinary: " + st.message() + "; its kernels will not launch");
    m->parse_error = cudaErrorInvalidKernelImage;
  }
  st = parse_prelinked_fatbins(wrapper, &m->prelinked);
  if (!st.is_ok()) GV_WARN("__cudaRegisterFatBinary: " + st.message() + "; not JIT-linkable");
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  Module* raw = m.get();
  r.module_set.insert(raw);
  r.modules.push_back(std::move(m));
  return raw;
}

void register_kernel(Module* m, const void* stub, const char* name) {
  if (!stub || !name) return;
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  if (!m || !r.module_set.count(m)) return;
  auto k = std::make_unique<Kernel>();
  k->stub = stub;
  k->module = m;
  k->name = name;
  if (k->name.size() > kMaxKernelName) {
    GV_ERROR("kernel name of " + std::to_string(k->name.size()) + " bytes is too long");
    k->error = cudaErrorInvalidDeviceFunction;
  }
  r.by_stub[stub] = k.get();
  r.stubs_of[m].push_back(stub);
  r.kernel_set.insert(k.get());
  r.kernels.push_back(std::move(k));
}

void register_variable(Module* m, const void* host, const char* name, size_t size, bool constant,
                       bool managed) {
  if (!host || !name) return;
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  if (!m || !r.module_set.count(m)) return;
  auto v = std::make_unique<Variable>();
  v->host = host;
  v->module = m;
  v->name = name;
  v->size = size;
  v->constant = constant;
  v->managed = managed;
  r.by_host[host] = v.get();
  r.hosts_of[m].push_back(host);
  r.variables.push_back(std::move(v));
}

const Variable* find_variable(const void* host) {
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.by_host.find(host);
  return it == r.by_host.end() ? nullptr : it->second;
}

void unregister_module(Module* m) {
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  if (!m || !r.module_set.count(m)) return;
  m->registered = false;
  // A key another module registered since (the same address reused) stays that module's.
  auto forget = [m](auto& by, auto& keys_of) {
    auto keys = keys_of.find(m);
    if (keys == keys_of.end()) return;
    for (const void* key : keys->second) {
      auto it = by.find(key);
      if (it != by.end() && it->second->module == m) by.erase(it);
    }
    keys_of.erase(keys);
  };
  forget(r.by_host, r.hosts_of);
  // The image belongs to code that may now be unloaded, and its stub addresses may be reused.
  forget(r.by_stub, r.stubs_of);
}

Kernel* find_kernel(const void* p) {
  if (!p) return nullptr;
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.by_stub.find(p);
  if (it != r.by_stub.end()) return it->second;
  if (r.kernel_set.count(p)) return static_cast<Kernel*>(const_cast<void*>(p));
  return nullptr;
}

Kernel* find_kernel_record(const void* p) {
  if (!p) return nullptr;
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.mu);
  return r.kernel_set.count(p) ? static_cast<Kernel*>(const_cast<void*>(p)) : nullptr;
}

namespace {

// The device-linked image of a -rdc program turned out to have no code for the GPU (found at
// load, or with lazy loading at the first kernel or variable): JIT-link its objects instead, once.
// True if m now names the linked library (the caller retries). REQUIRES: reg().resolve_mu held.
bool relink(Module* m) {
  if (m->prelinked.empty() || m->relinked || client::session_lost()) return false;
  m->relinked = true;
  GV_DEBUG("device-linked image has no code for the GPU: JIT-linking its " +
           std::to_string(m->prelinked.size()) + " objects on the backend");
  uint64_t lib = 0;
  if (upload_for_link(m, &lib, cudaErrorNoKernelImageForDevice) != cudaSuccess) return false;
  m->library_id = lib;
  return true;
}

// Uploads m once. REQUIRES: reg().resolve_mu held.
cudaError_t ensure_loaded(Module* m) {
  if (m->parse_error != cudaSuccess) return fail(m->parse_error);
  if (m->load_error != cudaSuccess) return fail(m->load_error);
  if (m->library_id != 0) return cudaSuccess;
  if (!m->registered) return fail(cudaErrorInvalidDeviceFunction);
  uint64_t lib = 0;
  const cudaError_t before = peek_last_error();
  cudaError_t e = upload(m, &lib);
  if (e == cudaErrorNoKernelImageForDevice && relink(m)) {
    set_last_error(before);  // the program sees only the outcome
    return cudaSuccess;
  }
  if (client::session_lost()) return lost();
  if (e != cudaSuccess) {
    m->load_error = e;
    return fail(e);
  }
  m->library_id = lib;
  return cudaSuccess;
}

}  // namespace

cudaError_t resolve_variable(const void* symbol, uint64_t* address, size_t* size) {
  Registry& r = reg();
  Variable* v = nullptr;
  {
    std::lock_guard<std::mutex> g(r.mu);
    auto it = r.by_host.find(symbol);
    if (it != r.by_host.end()) v = it->second;
  }
  if (!v) return fail(cudaErrorInvalidSymbol);
  std::lock_guard<std::mutex> g(r.resolve_mu);
  if (!v->resolved) {
    if (v->error != cudaSuccess) return fail(v->error);
    cudaError_t e = ensure_loaded(v->module);
    if (e != cudaSuccess) return e;
    const cudaError_t before = peek_last_error();
    const Call get = v->managed ? Call::kCall_gvManagedVarGet : Call::kCall_gvGlobalGet;
    client::Call c(id(get));
    c.args().put<uint64_t>(v->module->library_id);
    c.args().put_string(v->name);
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == cudaErrorNoKernelImageForDevice && relink(v->module)) {
      set_last_error(before);
      client::Call again(id(get));
      again.args().put<uint64_t>(v->module->library_id);
      again.args().put_string(v->name);
      if (!again.invoke()) return lost();
      e = finish(again);
      c = std::move(again);
    }
    if (e != cudaSuccess) {
      v->error = e;
      return e;
    }
    uint64_t addr = c.result().get<uint64_t>();
    uint64_t bytes = c.result().get<uint64_t>();
    c.result().expect_end();
    if (bytes != v->size)
      GV_WARN("device variable " + v->name + " has " + std::to_string(bytes) +
              " bytes on the device, " + std::to_string(v->size) + " registered");
    v->address = addr;
    v->size = static_cast<size_t>(bytes);
    v->resolved = true;
    // A __managed__ variable is mirrored at its device address by this process (managed.h):
    // recorded, not claimed.
    if (v->managed)
      track_mirrored_allocation(addr, bytes);
    else
      track_device_allocation(addr, bytes);
  }
  *address = v->address;
  *size = v->size;
  return cudaSuccess;
}

namespace {

cudaError_t resolve_once(Kernel* k) {
  Registry& r = reg();
  std::lock_guard<std::mutex> g(r.resolve_mu);
  if (k->resolved.load(std::memory_order_relaxed)) return cudaSuccess;
  if (k->error != cudaSuccess) return fail(k->error);
  cudaError_t e = ensure_loaded(k->module);
  if (e != cudaSuccess) return e;
  const cudaError_t before = peek_last_error();
  e = get_kernel(k);
  if (e == cudaErrorNoKernelImageForDevice && relink(k->module)) {
    set_last_error(before);
    e = get_kernel(k);
  }
  if (client::session_lost()) return lost();
  if (e != cudaSuccess) {
    k->error = e;
    return fail(e);
  }
  k->resolved.store(true, std::memory_order_release);
  return cudaSuccess;
}

}  // namespace

cudaError_t resolve(Kernel* k) {
  if (k->resolved.load(std::memory_order_acquire)) return cudaSuccess;
  cudaError_t e = resolve_once(k);
  // Outside the resolution lock, which the variables' lookup takes.
  if (e == cudaSuccess) mirror_managed_variables(k->module);
  return e;
}

namespace {

// A launch attribute that records an event is ordered with that event's other uses: such a
// launch stays global (docs/protocol.md, "Lanes").
bool has_event_attribute(const cudaLaunchAttribute* attrs, unsigned n) {
  for (unsigned i = 0; attrs && i < n; ++i)
    if (event_launch_attribute(attrs[i].id)) return true;
  return false;
}

// Resolves k, packs its arguments and sends `call` (payload: docs/frontend.md); waits for the
// reply if with_reply. Launch attributes (cudaLaunchKernelExC only) travel when attrs is set.
cudaError_t send_launch(Kernel* k, Call call, bool with_reply, dim3 grid, dim3 block,
                        void** args, size_t shmem, cudaStream_t stream,
                        const cudaLaunchAttribute* attrs = nullptr, unsigned num_attrs = 0) {
  if (!k) return fail(kUnknownFunction);
  cudaError_t e = resolve(k);
  if (e != cudaSuccess) return e;
  // Small argument lists (the usual case) are packed on the stack.
  uint8_t local[1024];
  std::vector<uint8_t> heap;
  uint8_t* buf = local;
  if (k->layout.total > sizeof local) {
    heap.resize(k->layout.total);
    buf = heap.data();
  }
  Status st = pack_args(k->layout, args, buf);
  if (!st.is_ok()) return fail(cudaErrorInvalidValue);
  client::Call c(id(call));
  wire::Writer& w = c.args();
  // One allocation for the fields below, instead of one per growth of the buffer.
  w.buffer().reserve(64 + num_attrs * sizeof(cudaLaunchAttribute));
  w.put<uint64_t>(k->kernel_id);
  w.put<dim3>(grid);
  w.put<dim3>(block);
  w.put<uint64_t>(shmem);
  w.put<uint64_t>(to_wire(stream));
  if (call == Call::kCall_cudaLaunchKernelExC) {
    w.put<uint32_t>(num_attrs);
    if (num_attrs) w.put_bytes(attrs, num_attrs * sizeof(cudaLaunchAttribute));
  }
  w.put<uint32_t>(k->layout.total);
  c.attach(buf, k->layout.total);
  // Only the calls the worker accepts laned (annotation word `lane`).
  if ((call == Call::kCall___cudaLaunchKernel || call == Call::kCall_cudaLaunchKernel ||
       call == Call::kCall_cudaLaunchKernelExC) &&
      !has_event_attribute(attrs, num_attrs))
    c.set_lane(client::launch_lane(to_wire(stream)));
  if (!with_reply) return c.send_async() ? cudaSuccess : lost();
  if (!c.invoke()) return lost();
  return finish(c);
}

}  // namespace

cudaError_t launch_kernel(Kernel* k, dim3 grid, dim3 block, void** args, size_t shmem,
                          cudaStream_t stream, bool wait) {
  if (!k) return fail(kUnknownFunction);
  cudaError_t e = resolve(k);
  if (e != cudaSuccess) return e;
  // Sent without waiting, from any thread (the worker keeps the session-wide order), whenever
  // the worker is sure to accept it (launch_check.h); else the launch reports its own error.
  const bool with_reply = !launch_surely_accepted(k, grid, block, shmem);
  return send_launch(k, wait ? Call::kCall_cudaLaunchKernel : Call::kCall___cudaLaunchKernel,
                     with_reply, grid, block, args, shmem, stream);
}

cudaError_t launch_extended(Kernel* k, const cudaLaunchConfig_t& config, cudaStream_t stream,
                            void** args) {
  if (config.numAttrs > kMaxLaunchAttributes || (config.numAttrs && !config.attrs))
    return argument_error(cudaErrorInvalidValue);
  for (unsigned i = 0; i < config.numAttrs; ++i) {
    if (!plain_launch_attribute(config.attrs[i].id) &&
        !event_launch_attribute(config.attrs[i].id)) {
      // Values that hold graph nodes would need translating: not done yet. Event handles are
      // translated by the worker.
      log::once(log::Level::kWarn, "launch attribute " + std::to_string(config.attrs[i].id),
                "cudaLaunchKernelExC: launch attribute " +
                    std::to_string(static_cast<int>(config.attrs[i].id)) +
                    " is not supported by GVirtuS yet");
      return fail(cudaErrorNotSupported);
    }
  }
  return send_launch(k, Call::kCall_cudaLaunchKernelExC, true, config.gridDim, config.blockDim,
                     args, config.dynamicSmemBytes, stream, config.attrs, config.numAttrs);
}

cudaError_t launch_cooperative(Kernel* k, dim3 grid, dim3 block, void** args, size_t shmem,
                               cudaStream_t stream) {
  return send_launch(k, Call::kCall_cudaLaunchCooperativeKernel, true, grid, block, args, shmem,
                     stream);
}

cudaError_t func_to_wire(const void* func, uint64_t* id) {
  Kernel* k = find_kernel(func);
  if (!k) return kUnknownFunction;
  cudaError_t e = resolve(k);
  if (e != cudaSuccess) return e;
  *id = k->kernel_id;
  return cudaSuccess;
}

cudaError_t kernel_attributes(Kernel* k, cudaFuncAttributes* attr) {
  cudaError_t e = resolve(k);
  if (e != cudaSuccess) return e;
  if (const Local known = local_kernel_attributes(k->kernel_id, attr)) return *known;
  client::Call c(id(Call::kCall_cudaFuncGetAttributes));
  c.args().put<uint64_t>(k->kernel_id);
  if (!c.invoke()) return lost();
  e = finish(c);
  if (e != cudaSuccess) return e;
  *attr = c.result().get<cudaFuncAttributes>();
  c.result().expect_end();
  keep_kernel_attributes(k->kernel_id, attr);
  return cudaSuccess;
}

}  // namespace gvirtus::cudart
