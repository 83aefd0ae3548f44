// Hand-written driver-API handlers: module and library loads (images and JIT options),
// cuCtxCreate_v4, launches and the parameter layouts they need. Payloads: docs/driver.md.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/image_staging.h"
#include "backend/cuda/kernel_args.h"
#include "backend/cuda/support.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"
#include "common/image_staging.h"
#include "common/jit_options.h"
#include "common/launch_attrs.h"
#include "common/module_image.h"
#include "common/pointer_attrs.h"
#include "cuda_calls.h"

namespace gvirtus::backend::cuda {
namespace {

// The most an inline image may have (one frame); larger ones are staged (image_staging.h).
constexpr uint64_t kMaxImageBytes = wire::kMaxPayload - (1u << 20);
constexpr unsigned kMaxParams = 4096;
constexpr uint32_t kMaxParamBytes = 32764;  // the driver's limit for kernel parameters

// Images the driver was given, kept as long as their module or library: the driver may read a
// library's code after the load call returned (lazy loading).
struct Images {
  std::mutex mu;
  std::unordered_map<const void*, std::unique_ptr<std::vector<char>>> by_handle;
};

struct Layout {
  std::vector<uint32_t> offsets, sizes;
  uint32_t total = 0;
};
struct Layouts {
  std::mutex mu;
  std::unordered_map<CUfunction, std::shared_ptr<const Layout>> by_function;
};

// u64 n, then n bytes: the image, copied into memory this worker owns with a NUL after it (a
// PTX image is read up to its NUL; an honest client sends it, a hostile one cannot make the
// driver read past the buffer). n = kStagedImage: the image this connection staged
// (gvDrvImageChunk, image_staging.h), which has its NUL too.
std::unique_ptr<std::vector<char>> read_image(CallContext& ctx) {
  const uint64_t n = ctx.in.get<uint64_t>();
  if (n == kStagedImage) return take_staged_image(ctx);
  if (n == 0 || n > kMaxImageBytes) throw SessionFault("module image of " + std::to_string(n) +
                                                       " bytes");
  auto img = std::make_unique<std::vector<char>>(n + 1);
  std::memcpy(img->data(), ctx.in.get_bytes(n), n);
  (*img)[n] = 0;
  return img;
}

// JIT options from the wire: u32 count (≤ kMaxJitOptions), count × (u32 option, u64 value).
struct Jit {
  std::vector<CUjit_option> opts;
  std::vector<void*> vals;
  std::vector<std::vector<char>> logs;  // per option: its log buffer (empty if not a log)
};

Jit read_jit(CallContext& ctx) {
  Jit j;
  const uint32_t n = ctx.in.get<uint32_t>();
  if (n > kMaxJitOptions) throw SessionFault(std::to_string(n) + " JIT options");
  std::vector<uint64_t> raw(n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t o = ctx.in.get<uint32_t>();
    raw[i] = ctx.in.get<uint64_t>();
    if (jit_value_kind(o) == JitValue::kRefused)
      throw SessionFault("JIT option " + std::to_string(o) + " cannot travel");
    j.opts.push_back(static_cast<CUjit_option>(o));
  }
  j.vals.resize(n);
  j.logs.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (jit_value_kind(j.opts[i]) != JitValue::kLogBuffer) {
      j.vals[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(raw[i]));
      continue;
    }
    // The buffer's size comes from its size option (the last if given twice). Without one the
    // driver gets no buffer: nothing is written, and the application's text stays empty.
    bool sized = false;
    uint64_t size = 0;
    for (uint32_t k = 0; k < n; ++k)
      if (j.opts[k] == static_cast<CUjit_option>(jit_log_size_option(j.opts[i]))) {
        size = raw[k];
        sized = true;
      }
    if (!sized) {
      j.vals[i] = nullptr;
      continue;
    }
    if (size > kMaxJitLogBytes) size = kMaxJitLogBytes;
    j.logs[i].assign(size + 1, 0);
    j.vals[i] = j.logs[i].data();
  }
  // A size option says how big its buffer is: the driver is never told more than the buffer
  // made for it holds, whichever occurrence of a repeated option it believes.
  for (uint32_t i = 0; i < n; ++i) {
    if (j.opts[i] != CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES &&
        j.opts[i] != CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
      continue;
    uint64_t cap = kMaxJitLogBytes;
    for (uint32_t k = 0; k < n; ++k)
      if (jit_value_kind(j.opts[k]) == JitValue::kLogBuffer &&
          static_cast<CUjit_option>(jit_log_size_option(j.opts[k])) == j.opts[i])
        cap = std::min<uint64_t>(cap, j.logs[k].empty() ? 0 : j.logs[k].size() - 1);
    j.vals[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(std::min(raw[i], cap)));
  }
  return j;
}

// After the call: u32 count, count × u64 value (as the driver left it), then for each log
// buffer option u32 length + its text (without the NUL).
void write_jit(CallContext& ctx, const Jit& j) {
  ctx.out.put<uint32_t>(static_cast<uint32_t>(j.opts.size()));
  for (size_t i = 0; i < j.opts.size(); ++i) {
    uint64_t v = jit_value_kind(j.opts[i]) == JitValue::kLogBuffer
                     ? 0
                     : static_cast<uint64_t>(reinterpret_cast<uintptr_t>(j.vals[i]));
    ctx.out.put<uint64_t>(v);
  }
  for (size_t i = 0; i < j.opts.size(); ++i) {
    if (jit_value_kind(j.opts[i]) != JitValue::kLogBuffer) continue;
    const std::vector<char>& b = j.logs[i];
    const size_t len = b.empty() ? 0 : ::strnlen(b.data(), b.size() - 1);
    ctx.out.put<uint32_t>(static_cast<uint32_t>(len));
    ctx.out.put_bytes(b.data(), len);
  }
}

void keep_image(CallContext& ctx, const void* handle, std::unique_ptr<std::vector<char>> img) {
  Images& st = ctx.session.state<Images>();
  std::lock_guard<std::mutex> g(st.mu);
  st.by_handle[handle] = std::move(img);
}

enum class Load { kModule, kModuleEx, kFatBinary, kLibrary };

// Reply of every load: u64 handle id (0 on failure), then the JIT options (count 0 without).
void load(CallContext& ctx, Load what) {
  Jit jit;
  const bool with_options = what == Load::kModuleEx || what == Load::kLibrary;
  if (with_options) jit = read_jit(ctx);
  auto img = read_image(ctx);
  ctx.in.expect_end();
  if (!gvirtus::cuda::image_within(img->data(), img->size()))
    throw SessionFault("a module image whose headers reach past the bytes sent, or a fatbin "
                       "wrapper (it points into the client's memory)");
  uint64_t id = 0;
  const unsigned n = static_cast<unsigned>(jit.opts.size());
  CUjit_option* opts = n ? jit.opts.data() : nullptr;
  void** vals = n ? jit.vals.data() : nullptr;
  if (what == Load::kLibrary) {
    auto fn = real<decltype(&::cuLibraryLoadData)>(ctx, "cuLibraryLoadData");
    CUlibrary lib = nullptr;
    if (fn) {
      ctx.status = fn(&lib, img->data(), opts, vals, n, nullptr, nullptr, 0);
      if (ctx.status == CUDA_SUCCESS) {
        id = library_out(ctx, lib);
        keep_image(ctx, lib, std::move(img));
      }
    }
  } else {
    CUmodule mod = nullptr;
    if (what == Load::kModuleEx) {
      auto fn = real<decltype(&::cuModuleLoadDataEx)>(ctx, "cuModuleLoadDataEx");
      if (fn) ctx.status = fn(&mod, img->data(), n, opts, vals);
    } else if (what == Load::kFatBinary) {
      auto fn = real<decltype(&::cuModuleLoadFatBinary)>(ctx, "cuModuleLoadFatBinary");
      if (fn) ctx.status = fn(&mod, img->data());
    } else {
      auto fn = real<decltype(&::cuModuleLoadData)>(ctx, "cuModuleLoadData");
      if (fn) ctx.status = fn(&mod, img->data());
    }
    if (ctx.status == CUDA_SUCCESS && mod) {
      id = module_out(ctx, mod);
      keep_image(ctx, mod, std::move(img));
    }
  }
  ctx.out.put<uint64_t>(id);
  write_jit(ctx, jit);
}

// The parameter layout of f, asked from the driver once per function.
std::shared_ptr<const Layout> layout_of(CallContext& ctx, CUfunction f, bool is_kernel) {
  Layouts& st = ctx.session.state<Layouts>();
  {
    std::lock_guard<std::mutex> g(st.mu);
    auto it = st.by_function.find(f);
    if (it != st.by_function.end()) return it->second;
  }
  // A CUkernel standing for a function is asked through the kernel form.
  auto finfo = real<decltype(&::cuFuncGetParamInfo)>(ctx, "cuFuncGetParamInfo");
  auto kinfo = real<decltype(&::cuKernelGetParamInfo)>(ctx, "cuKernelGetParamInfo");
  if (!finfo || !kinfo) return nullptr;
  auto l = std::make_shared<Layout>();
  for (size_t i = 0;; ++i) {
    size_t off = 0, size = 0;
    CUresult e = is_kernel ? kinfo(reinterpret_cast<CUkernel>(f), i, &off, &size)
                           : finfo(f, i, &off, &size);
    if (e == CUDA_ERROR_INVALID_VALUE) break;  // past the last parameter
    if (e != CUDA_SUCCESS) {
      ctx.status = e;
      return nullptr;
    }
    if (i >= kMaxParams || size == 0 || size > kMaxParamBytes || off > kMaxParamBytes - size) {
      ctx.status = CUDA_ERROR_INVALID_VALUE;  // not a layout we can carry
      return nullptr;
    }
    l->offsets.push_back(static_cast<uint32_t>(off));
    l->sizes.push_back(static_cast<uint32_t>(size));
    if (off + size > l->total) l->total = static_cast<uint32_t>(off + size);
  }
  std::lock_guard<std::mutex> g(st.mu);
  st.by_function.emplace(f, l);
  return l;
}

}  // namespace

void read_kernel_args(CallContext& ctx, bool allow_extra, KernelArgs* ka) {
  ka->form = ctx.in.get<uint8_t>();
  if (ka->form > 1 || (ka->form == 1 && !allow_extra))
    throw SessionFault("unknown launch argument form " + std::to_string(ka->form));
  ka->n = ctx.in.get<uint32_t>();
  if (ka->n > kMaxParamBytes + 1024) throw SessionFault("launch argument buffer too large");
  ka->buf.assign(ka->n / 8 + 1, 0);  // aligned for any parameter type
  if (ka->n) std::memcpy(ka->buf.data(), ctx.in.get_bytes(ka->n), ka->n);
}

bool resolve_kernel_args(CallContext& ctx, CUfunction f, bool is_kernel, KernelArgs* ka) {
  ka->extra_size = ka->n;
  ka->extra[0] = CU_LAUNCH_PARAM_BUFFER_POINTER;
  ka->extra[1] = ka->buf.data();
  ka->extra[2] = CU_LAUNCH_PARAM_BUFFER_SIZE;
  ka->extra[3] = &ka->extra_size;
  ka->extra[4] = CU_LAUNCH_PARAM_END;
  ka->args.clear();
  if (ka->form != 0) return true;
  std::shared_ptr<const Layout> l = layout_of(ctx, f, is_kernel);
  if (!l) return false;
  if (ka->n != l->total)
    throw SessionFault("launch with " + std::to_string(ka->n) +
                       " argument bytes for parameters of " + std::to_string(l->total));
  for (uint32_t off : l->offsets)
    ka->args.push_back(reinterpret_cast<char*>(ka->buf.data()) + off);
  return true;
}

namespace {

enum class Launch { kPlain, kCooperative, kExtended };

// Request: u64 function id, u32 grid[3], u32 block[3], u32 shared memory, u64 stream id,
// (kExtended: u32 attribute count, that many CUlaunchAttribute), u8 form (0: the arguments
// packed at the driver's offsets; 1: an `extra` buffer as the application gave it), u32 n, n
// bytes.
void launch(CallContext& ctx, Launch kind) {
  const uint64_t fid = ctx.in.get<uint64_t>();
  uint32_t grid[3], block[3];
  for (auto& g : grid) g = ctx.in.get<uint32_t>();
  for (auto& b : block) b = ctx.in.get<uint32_t>();
  const uint32_t shmem = ctx.in.get<uint32_t>();
  const uint64_t sid = ctx.in.get<uint64_t>();
  std::vector<CUlaunchAttribute> attrs;
  if (kind == Launch::kExtended) attrs = launch_attributes_in(ctx, "cuLaunchKernelEx", true);
  KernelArgs ka;
  read_kernel_args(ctx, kind != Launch::kCooperative, &ka);
  ctx.in.expect_end();
  static_assert(offsetof(decltype(CUlaunchAttributeValue::programmaticEvent), event) == 0 &&
                    offsetof(decltype(CUlaunchAttributeValue::launchCompletionEvent), event) == 0,
                "the event is the first field of the attribute value");
  // Attributes holding an event carry the client's event id in the value's first field, as
  // the runtime's launches do (cudart/kernels.cc): put the worker's event there (a stale id:
  // CUDA_ERROR_INVALID_HANDLE; NULL passes through to the driver, which answers for it). Before the function and stream:
  // a forged event id ends the session whatever else the request names.
  for (auto& a : attrs) {
    if (!event_launch_attribute(static_cast<cudaLaunchAttributeID>(a.id))) continue;
    uint64_t eid = 0;
    std::memcpy(&eid, &a.value, sizeof eid);
    CUevent ev;
    if (!event_in(ctx, eid, &ev)) return;
    std::memcpy(&a.value, &ev, sizeof ev);
  }
  CUfunction f;
  CUstream s;
  if (!function_in(ctx, fid, &f) || !stream_in(ctx, sid, &s)) return;
  if (!resolve_kernel_args(ctx, f, is_kernel_id(fid), &ka)) return;
  void** params = ka.params();
  void** ext = ka.ext();
  switch (kind) {
    case Launch::kPlain: {
      auto fn = real<decltype(&::cuLaunchKernel)>(ctx, "cuLaunchKernel");
      if (fn)
        ctx.status = fn(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, s,
                        params, ext);
      return;
    }
    case Launch::kCooperative: {
      auto fn = real<decltype(&::cuLaunchCooperativeKernel)>(ctx, "cuLaunchCooperativeKernel");
      if (fn)
        ctx.status = fn(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, s,
                        params);
      return;
    }
    case Launch::kExtended: {
      auto fn = real<decltype(&::cuLaunchKernelEx)>(ctx, "cuLaunchKernelEx");
      if (!fn) return;
      CUlaunchConfig cfg = launch_config(grid, block, shmem, s, attrs);
      ctx.status = fn(&cfg, f, params, ext);
      return;
    }
  }
}

// A link in progress: the driver's state, the JIT options of cuLinkCreate (their log buffers
// are written by every later step) and the inputs, kept until the link is destroyed.
struct LinkRec {
  CUlinkState state = nullptr;
  Jit jit;
  std::vector<std::unique_ptr<std::vector<char>>> inputs;
};
struct Links {
  std::mutex mu;
  std::unordered_map<LinkRec*, std::unique_ptr<LinkRec>> owned;
};

LinkRec* link_in(CallContext& ctx, uint64_t id) {
  void* p = nullptr;
  if (!cudart::handle_in(ctx, HandleKind::kLinkState, id, &p, CUDA_ERROR_INVALID_HANDLE))
    return nullptr;
  return static_cast<LinkRec*>(p);
}

}  // namespace

// Request: as cuModuleLoadDataEx's options. Reply (always): u64 link id (0 on failure), the
// options after the call (write_jit).
void handle_cuLinkCreate_v2(CallContext& ctx) {
  auto rec = std::make_unique<LinkRec>();
  rec->jit = read_jit(ctx);
  ctx.in.expect_end();
  uint64_t id = 0;
  auto fn = real<decltype(&::cuLinkCreate_v2)>(ctx, "cuLinkCreate_v2");
  if (fn) {
    const unsigned n = static_cast<unsigned>(rec->jit.opts.size());
    ctx.status = fn(n, n ? rec->jit.opts.data() : nullptr, n ? rec->jit.vals.data() : nullptr,
                    &rec->state);
    if (ctx.status == CUDA_SUCCESS) {
      id = ctx.session.handles().add(HandleKind::kLinkState, rec.get());
      Links& st = ctx.session.state<Links>();
      std::lock_guard<std::mutex> g(st.mu);
      LinkRec* key = rec.get();
      st.owned.emplace(key, std::move(rec));
      ctx.out.put<uint64_t>(id);
      write_jit(ctx, key->jit);
      return;
    }
  }
  ctx.out.put<uint64_t>(0);
  write_jit(ctx, rec->jit);
}

// Request: u64 link id, u32 input type, string name (≤ 4096), options as cuModuleLoadDataEx's
// (numbers only: a log buffer here is refused by the client; log sizes are dropped), u64 n, n
// bytes. Reply (always, unless the id is stale): the link's cuLinkCreate options (write_jit).
void handle_cuLinkAddData_v2(CallContext& ctx) {
  const uint64_t lid = ctx.in.get<uint64_t>();
  const uint32_t type = ctx.in.get<uint32_t>();
  const std::string name = ctx.in.get_string(4096);
  Jit jit = read_jit(ctx);
  // The link's logs are the buffers made at cuLinkCreate: an input's log buffer is refused (the
  // client refuses one itself), its log sizes do not reach the driver (a size larger than the
  // link's buffer would have the driver write past it); its other options do.
  std::vector<CUjit_option> opts;
  std::vector<void*> vals;
  for (size_t i = 0; i < jit.opts.size(); ++i) {
    const CUjit_option o = jit.opts[i];
    if (jit_value_kind(o) == JitValue::kLogBuffer)
      throw SessionFault("log buffer option on cuLinkAddData");
    if (o == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES || o == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
      continue;
    opts.push_back(o);
    vals.push_back(jit.vals[i]);
  }
  auto data = read_image(ctx);
  ctx.in.expect_end();
  // A cubin or fatbin input is read by its own headers, as a module is.
  if ((type == CU_JIT_INPUT_CUBIN || type == CU_JIT_INPUT_FATBINARY) &&
      !gvirtus::cuda::image_within(data->data(), data->size()))
    throw SessionFault("a link input whose headers reach past the bytes sent, or a fatbin "
                       "wrapper");
  if (name.find('\0') != std::string::npos) throw SessionFault("name with a NUL byte");
  LinkRec* rec = link_in(ctx, lid);
  if (!rec) return;
  auto fn = real<decltype(&::cuLinkAddData_v2)>(ctx, "cuLinkAddData_v2");
  if (fn) {
    const unsigned n = static_cast<unsigned>(opts.size());
    ctx.status = fn(rec->state, static_cast<CUjitInputType>(type), data->data(),
                    data->size() - 1, name.c_str(), n, n ? opts.data() : nullptr,
                    n ? vals.data() : nullptr);
  }
  rec->inputs.push_back(std::move(data));
  write_jit(ctx, rec->jit);
}

// Request: u64 link id. Reply (always, unless the id is stale): the link's options
// (write_jit), then u64 n and n bytes of the linked cubin (n = 0 on failure).
void handle_cuLinkComplete(CallContext& ctx) {
  const uint64_t lid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  LinkRec* rec = link_in(ctx, lid);
  if (!rec) return;
  void* cubin = nullptr;
  size_t size = 0;
  auto fn = real<decltype(&::cuLinkComplete)>(ctx, "cuLinkComplete");
  if (fn) ctx.status = fn(rec->state, &cubin, &size);
  write_jit(ctx, rec->jit);
  if (ctx.status != CUDA_SUCCESS || !cubin || size > kMaxImageBytes) {
    if (ctx.status == CUDA_SUCCESS) ctx.status = CUDA_ERROR_OUT_OF_MEMORY;  // cannot carry it
    ctx.out.put<uint64_t>(0);
    return;
  }
  ctx.out.put<uint64_t>(size);
  ctx.out.put_bytes(cubin, size);
}

// Request: u64 link id.
void handle_cuLinkDestroy(CallContext& ctx) {
  const uint64_t lid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  void* p = nullptr;
  if (!cudart::handle_release(ctx, HandleKind::kLinkState, lid, &p, CUDA_ERROR_INVALID_HANDLE))
    return;
  auto* rec = static_cast<LinkRec*>(p);
  auto fn = real<decltype(&::cuLinkDestroy)>(ctx, "cuLinkDestroy");
  if (fn) ctx.status = fn(rec->state);
  Links& st = ctx.session.state<Links>();
  std::lock_guard<std::mutex> g(st.mu);
  st.owned.erase(rec);
}

// Request: u64 function id, u64 dynamic shared memory, i32 block size limit, u32 flags (the
// client sends the WithFlags form for both; the callback is never sent). Reply: i32 minimum
// grid size, i32 block size.
static void potential_block_size(CallContext& ctx) {
  const uint64_t fid = ctx.in.get<uint64_t>();
  const uint64_t smem = ctx.in.get<uint64_t>();
  const int32_t limit = ctx.in.get<int32_t>();
  const uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  CUfunction f;
  if (!function_in(ctx, fid, &f)) return;
  auto fn = real<decltype(&::cuOccupancyMaxPotentialBlockSizeWithFlags)>(
      ctx, "cuOccupancyMaxPotentialBlockSizeWithFlags");
  if (!fn) return;
  int grid = 0, block = 0;
  ctx.status = fn(&grid, &block, f, nullptr, smem, limit, flags);
  if (ctx.status != CUDA_SUCCESS) return;
  ctx.out.put<int32_t>(grid);
  ctx.out.put<int32_t>(block);
}
void handle_cuOccupancyMaxPotentialBlockSize(CallContext& ctx) { potential_block_size(ctx); }
void handle_cuOccupancyMaxPotentialBlockSizeWithFlags(CallContext& ctx) {
  potential_block_size(ctx);
}

// Request: u32 attribute, u64 address. Reply: u32 n, n bytes of the value (a context as its
// id).
void handle_cuPointerGetAttribute(CallContext& ctx) {
  const uint32_t attr = ctx.in.get<uint32_t>();
  const uint64_t ptr = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  const size_t size = pointer_attribute_size(static_cast<int>(attr));
  if (size == 0) throw SessionFault("pointer attribute " + std::to_string(attr) + " cannot travel");
  auto fn = real<decltype(&::cuPointerGetAttribute)>(ctx, "cuPointerGetAttribute");
  if (!fn) return;
  uint64_t value = 0;
  ctx.status = fn(&value, static_cast<CUpointer_attribute>(attr), ptr);
  if (ctx.status != CUDA_SUCCESS) return;
  if (attr == CU_POINTER_ATTRIBUTE_CONTEXT)
    value = context_out(ctx, reinterpret_cast<CUcontext>(static_cast<uintptr_t>(value)));
  ctx.out.put<uint32_t>(static_cast<uint32_t>(size));
  ctx.out.put_bytes(&value, size);
}

static void put_name(CallContext& ctx, const char* name) {
  ctx.out.put_string(name ? std::string(name, ::strnlen(name, 65536)) : std::string());
}

// Request: u64 function (or kernel) id. Reply: string name (≤ 64 KiB).
void handle_cuFuncGetName(CallContext& ctx) {
  const uint64_t fid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUfunction f;
  if (!function_in(ctx, fid, &f)) return;
  auto fn = real<decltype(&::cuFuncGetName)>(ctx, "cuFuncGetName");
  if (!fn) return;
  const char* name = nullptr;
  ctx.status = fn(&name, f);
  if (ctx.status == CUDA_SUCCESS) put_name(ctx, name);
}

void handle_cuKernelGetName(CallContext& ctx) {
  const uint64_t kid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUkernel k;
  if (!kernel_in(ctx, kid, &k)) return;
  auto fn = real<decltype(&::cuKernelGetName)>(ctx, "cuKernelGetName");
  if (!fn) return;
  const char* name = nullptr;
  ctx.status = fn(&name, k);
  if (ctx.status == CUDA_SUCCESS) put_name(ctx, name);
}

namespace {

// A module's functions, as the driver lists them (nothing if it cannot).
void module_functions(CallContext& ctx, CUmodule mod, std::vector<CUfunction>* out) {
  auto count = real<decltype(&::cuModuleGetFunctionCount)>(ctx, "cuModuleGetFunctionCount");
  auto list = real<decltype(&::cuModuleEnumerateFunctions)>(ctx, "cuModuleEnumerateFunctions");
  unsigned n = 0;
  if (!count || !list || count(&n, mod) != CUDA_SUCCESS || n == 0) return;
  std::vector<CUfunction> fs(n);
  if (list(fs.data(), n, mod) == CUDA_SUCCESS) out->insert(out->end(), fs.begin(), fs.end());
}

}  // namespace

void forget_children(CallContext& ctx, HandleKind kind, void* obj) {
  std::vector<CUfunction> functions;
  std::vector<CUkernel> kernels;
  std::vector<CUmodule> modules;
  if (kind == HandleKind::kModule) {
    module_functions(ctx, static_cast<CUmodule>(obj), &functions);
  } else if (kind == HandleKind::kDrvLibrary) {
    auto lib = static_cast<CUlibrary>(obj);
    auto count = real<decltype(&::cuLibraryGetKernelCount)>(ctx, "cuLibraryGetKernelCount");
    auto list = real<decltype(&::cuLibraryEnumerateKernels)>(ctx, "cuLibraryEnumerateKernels");
    auto to_function = real<decltype(&::cuKernelGetFunction)>(ctx, "cuKernelGetFunction");
    unsigned n = 0;
    if (count && list && count(&n, lib) == CUDA_SUCCESS && n > 0) {
      kernels.resize(n);
      if (list(kernels.data(), n, lib) != CUDA_SUCCESS) kernels.clear();
    }
    for (CUkernel k : kernels) {
      CUfunction f = nullptr;
      if (to_function && to_function(&f, k) == CUDA_SUCCESS && f) functions.push_back(f);
    }
    auto get_module = real<decltype(&::cuLibraryGetModule)>(ctx, "cuLibraryGetModule");
    CUmodule mod = nullptr;
    if (get_module && get_module(&mod, lib) == CUDA_SUCCESS && mod) {
      modules.push_back(mod);
      module_functions(ctx, mod, &functions);
    }
  }
  HandleTable& handles = ctx.session.handles();
  for (CUfunction f : functions) handles.forget(HandleKind::kFunction, f);
  for (CUkernel k : kernels) handles.forget(HandleKind::kDrvKernel, k);
  for (CUmodule m : modules) handles.forget(HandleKind::kModule, m);
  Layouts& st = ctx.session.state<Layouts>();
  std::lock_guard<std::mutex> g(st.mu);
  for (CUfunction f : functions) st.by_function.erase(f);
  for (CUkernel k : kernels) st.by_function.erase(reinterpret_cast<CUfunction>(k));
}

void drop_image(CallContext& ctx, const void* handle) {
  Images& st = ctx.session.state<Images>();
  std::lock_guard<std::mutex> g(st.mu);
  st.by_handle.erase(handle);
}

void handle_cuModuleLoadData(CallContext& ctx) { load(ctx, Load::kModule); }
void handle_cuModuleLoadDataEx(CallContext& ctx) { load(ctx, Load::kModuleEx); }
void handle_cuModuleLoadFatBinary(CallContext& ctx) { load(ctx, Load::kFatBinary); }
void handle_cuLibraryLoadData(CallContext& ctx) { load(ctx, Load::kLibrary); }

void handle_cuLaunchKernel(CallContext& ctx) { launch(ctx, Launch::kPlain); }
void handle_cuLaunchCooperativeKernel(CallContext& ctx) { launch(ctx, Launch::kCooperative); }
void handle_cuLaunchKernelEx(CallContext& ctx) { launch(ctx, Launch::kExtended); }

// Request: u64 function id. Reply: u32 count, count × (u32 offset, u32 size).
void handle_gvDrvParamLayout(CallContext& ctx) {
  const uint64_t fid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUfunction f;
  if (!function_in(ctx, fid, &f)) return;
  std::shared_ptr<const Layout> l =
      layout_of(ctx, f, is_kernel_id(fid));
  if (!l) return;
  ctx.out.put<uint32_t>(static_cast<uint32_t>(l->offsets.size()));
  for (size_t i = 0; i < l->offsets.size(); ++i) {
    ctx.out.put<uint32_t>(l->offsets[i]);
    ctx.out.put<uint32_t>(l->sizes[i]);
  }
}

// Request: u32 flags, i32 device, u8 whether the application passed a CUctxCreateParams (the
// client refuses one with execution-affinity or CIG parameters, which hold pointers). Reply:
// u64 context id.
void handle_cuCtxCreate_v4(CallContext& ctx) {
  const uint32_t flags = ctx.in.get<uint32_t>();
  const int32_t dev = ctx.in.get<int32_t>();
  const bool has_params = ctx.in.get_flag();
  ctx.in.expect_end();
  auto fn = real<decltype(&::cuCtxCreate_v4)>(ctx, "cuCtxCreate_v4");
  if (!fn) return;
  CUctxCreateParams params{};
  CUcontext c = nullptr;
  ctx.status = fn(&c, has_params ? &params : nullptr, flags, dev);
  if (ctx.status == CUDA_SUCCESS) ctx.out.put<uint64_t>(context_out(ctx, c));
}

}  // namespace gvirtus::backend::cuda
