// Module and library loads. The image's length comes from its own header (image.h); the bytes
// travel in the load request, or staged ahead of it in pieces when larger than one frame
// (common/image_staging.h); the worker's driver loads them (PTX is compiled there). JIT options
// with plain values travel as numbers; the info and error log buffers are filled on the worker
// and copied back into the application's buffers, with the sizes and wall time the driver
// reports; options whose values point to arrays of names or addresses are refused.
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/image_staging.h"
#include "common/jit_options.h"
#include "common/module_image.h"
#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

// The largest image: larger than one frame, it is staged on the worker in pieces
// (common/image_staging.h).
constexpr size_t kMaxImage = kMaxStagedImageBytes;

// Sends an image larger than one frame ahead of its load, in gvDrvImageChunk pieces, on this
// thread's connection (the load that follows names it). Images that fit travel in the load.
CUresult stage_image(const void* data, size_t n, bool* staged) {
  *staged = n > kMaxInlineImageBytes;
  if (!*staged) return CUDA_SUCCESS;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t off = 0; off < n;) {
    const size_t len = n - off < kImageChunkBytes ? n - off : kImageChunkBytes;
    client::Call c(id(kCall_gvDrvImageChunk));
    c.args().put<uint64_t>(n);
    c.args().put<uint64_t>(off);
    c.args().put<uint64_t>(len);
    c.attach(bytes + off, len);
    if (!c.invoke()) return lost();
    CUresult e = finish(c);
    if (e != CUDA_SUCCESS) return e;
    c.result().expect_end();
    off += len;
  }
  return CUDA_SUCCESS;
}

// The image's place in a load request: its length and bytes, or kStagedImage once staged.
void put_image(client::Call& c, const void* data, size_t n, bool staged) {
  if (staged) {
    c.args().put<uint64_t>(kStagedImage);
    return;
  }
  c.args().put<uint64_t>(n);
  c.attach(data, n);
}

struct JitArgs {
  unsigned n = 0;
  const CUjit_option* opts = nullptr;
  void** vals = nullptr;
  // The log buffers' capacities, per option, when they are no longer in vals (a link's: the
  // driver rewrites the size options with what it wrote after cuLinkCreate).
  const uint64_t* caps = nullptr;
};

CUresult check_jit(const char* fn, const JitArgs& j) {
  if (j.n == 0) return CUDA_SUCCESS;
  if (!j.opts || !j.vals) return CUDA_ERROR_INVALID_VALUE;
  if (j.n > kMaxJitOptions) return refuse(fn, "more than 64 JIT options");
  for (unsigned i = 0; i < j.n; ++i) {
    if (jit_value_kind(j.opts[i]) == JitValue::kRefused)
      return refuse(fn, "JIT option " + std::to_string(j.opts[i]) +
                            " (its value points to host memory of the application)");
  }
  return CUDA_SUCCESS;
}

// Options on the wire: u32 count, count × (u32 option, u64 value; 0 for a log buffer).
void put_jit(wire::Writer& a, const JitArgs& j) {
  a.put<uint32_t>(j.n);
  for (unsigned i = 0; i < j.n; ++i) {
    a.put<uint32_t>(static_cast<uint32_t>(j.opts[i]));
    a.put<uint64_t>(jit_value_kind(j.opts[i]) == JitValue::kLogBuffer
                        ? 0
                        : static_cast<uint64_t>(reinterpret_cast<uintptr_t>(j.vals[i])));
  }
}

// The options after the call: u32 count, count × u64 value, then each log buffer's text, which
// goes into the application's buffer (as much as its size option said it holds, NUL-ended).
void read_jit(wire::Reader& r, const JitArgs& j) {
  const uint32_t n = r.get<uint32_t>();
  if (n != j.n) throw wire::DecodeError("JIT option count differs");
  // The capacities the application gave, before the driver's answers replace them.
  std::vector<uint64_t> before(n);
  for (uint32_t i = 0; i < n; ++i)
    before[i] = j.caps ? j.caps[i] : reinterpret_cast<uintptr_t>(j.vals[i]);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t v = r.get<uint64_t>();
    if (jit_value_kind(j.opts[i]) != JitValue::kLogBuffer)
      j.vals[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(v));
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (jit_value_kind(j.opts[i]) != JitValue::kLogBuffer) continue;
    const uint32_t len = r.get<uint32_t>();
    const char* text = reinterpret_cast<const char*>(r.get_bytes(len));
    uint64_t cap = 0;
    for (uint32_t k = 0; k < n; ++k)
      if (j.opts[k] == static_cast<CUjit_option>(jit_log_size_option(j.opts[i]))) cap = before[k];
    char* dst = static_cast<char*>(j.vals[i]);
    if (dst && cap > 0) {
      const size_t m = len < cap - 1 ? len : static_cast<size_t>(cap - 1);
      std::memcpy(dst, text, m);
      dst[m] = 0;
    }
  }
}

// Sends one load (call c's id); reply: u64 handle id, u32 count, count × u64 values, log texts.
CUresult load(uint32_t call, const char* fn, const void* image, const JitArgs& j,
              uint64_t* handle) {
  if (!image) return CUDA_ERROR_INVALID_VALUE;
  CUresult e = check_jit(fn, j);
  if (e != CUDA_SUCCESS) return e;
  Image im;
  if (!measure_image(image, kMaxImage, &im)) {
    // A PTX text with no NUL within the limit, or an ELF/fatbin whose headers do not add up
    // (or are larger than one request can carry).
    return CUDA_ERROR_INVALID_IMAGE;
  }
  const bool with_options = call == id(kCall_cuModuleLoadDataEx) ||
                            call == id(kCall_cuLibraryLoadData);
  bool staged = false;
  e = stage_image(im.data, im.size, &staged);
  if (e != CUDA_SUCCESS) return e;
  client::Call c(call);
  wire::Writer& a = c.args();
  if (with_options) put_jit(a, j);
  put_image(c, im.data, im.size, staged);
  if (!c.invoke()) return lost();
  wire::Reader& r = c.result();
  const uint64_t h = r.get<uint64_t>();
  read_jit(r, with_options ? j : JitArgs{});
  r.expect_end();
  e = finish(c);
  if (e == CUDA_SUCCESS) *handle = h;
  return e;
}

// Reads a whole file for cuModuleLoad / cuLibraryLoadFromFile (the path is the client's).
CUresult read_file(const char* path, std::vector<char>* out) {
  if (!path) return CUDA_ERROR_INVALID_VALUE;
  FILE* f = std::fopen(path, "rb");
  if (!f) return CUDA_ERROR_FILE_NOT_FOUND;
  std::vector<char> buf;
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
    buf.insert(buf.end(), chunk, chunk + got);
    if (buf.size() > kMaxImage) {
      std::fclose(f);
      return CUDA_ERROR_INVALID_IMAGE;
    }
  }
  std::fclose(f);
  buf.push_back(0);  // a PTX file has no NUL of its own
  *out = std::move(buf);
  return CUDA_SUCCESS;
}

// A link in progress on this side: cuLinkCreate's options (the driver keeps writing their log
// buffers and sizes until the link is destroyed, and the application keeps the arrays alive as
// long) and the linked cubin, which cuLinkComplete hands out and cuLinkDestroy frees.
struct LinkRec {
  std::vector<CUjit_option> opts;
  std::vector<uint64_t> caps;  // the option values as cuLinkCreate got them
  void** vals = nullptr;
  std::vector<char> cubin;
  JitArgs jit() const {
    return JitArgs{static_cast<unsigned>(opts.size()), opts.data(), vals, caps.data()};
  }
};
std::mutex g_links_mu;
std::unordered_map<uint64_t, std::unique_ptr<LinkRec>>& links() {
  static auto* m = new std::unordered_map<uint64_t, std::unique_ptr<LinkRec>>;
  return *m;
}
LinkRec* link_of(CUlinkState s) {
  std::lock_guard<std::mutex> g(g_links_mu);
  auto it = links().find(to_wire(s));
  return it == links().end() ? nullptr : it->second.get();
}

CUresult link_create(unsigned n, CUjit_option* options, void** values, CUlinkState* out) {
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  JitArgs j{n, options, values};
  CUresult e = check_jit("cuLinkCreate", j);
  if (e != CUDA_SUCCESS) return e;
  auto rec = std::make_unique<LinkRec>();
  if (n) rec->opts.assign(options, options + n);
  for (unsigned i = 0; i < n; ++i) rec->caps.push_back(reinterpret_cast<uintptr_t>(values[i]));
  rec->vals = values;
  client::Call c(id(kCall_cuLinkCreate_v2));
  put_jit(c.args(), j);
  if (!c.invoke()) return lost();
  wire::Reader& r = c.result();
  const uint64_t h = r.get<uint64_t>();
  read_jit(r, j);
  r.expect_end();
  e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  std::lock_guard<std::mutex> g(g_links_mu);
  links()[h] = std::move(rec);
  *out = from_wire<CUlinkState>(h);
  return CUDA_SUCCESS;
}

CUresult link_add(CUlinkState state, CUjitInputType type, const void* data, size_t size,
                  const char* name, unsigned n, CUjit_option* options, void** values) {
  LinkRec* rec = link_of(state);
  if (!rec) return CUDA_ERROR_INVALID_HANDLE;
  if (!data || size == 0) return CUDA_ERROR_INVALID_VALUE;
  if (size > kMaxImage) return CUDA_ERROR_INVALID_IMAGE;
  JitArgs j{n, options, values};
  CUresult e = check_jit("cuLinkAddData", j);
  if (e != CUDA_SUCCESS) return e;
  for (unsigned i = 0; i < n; ++i)
    if (jit_value_kind(options[i]) == JitValue::kLogBuffer)
      return refuse("cuLinkAddData", "log buffer options (give them to cuLinkCreate)");
  const std::string nm = name ? std::string(name, ::strnlen(name, 4096)) : std::string();
  bool staged = false;
  e = stage_image(data, size, &staged);
  if (e != CUDA_SUCCESS) return e;
  client::Call c(id(kCall_cuLinkAddData_v2));
  wire::Writer& a = c.args();
  a.put<uint64_t>(to_wire(state));
  a.put<uint32_t>(static_cast<uint32_t>(type));
  a.put_string(nm);
  put_jit(a, j);
  put_image(c, data, size, staged);
  if (!c.invoke()) return lost();
  e = finish(c);
  if (c.result().remaining() > 0) {  // nothing comes back for a stale link
    read_jit(c.result(), rec->jit());
    c.result().expect_end();
  }
  return e;
}

CUresult link_complete(CUlinkState state, void** cubin, size_t* size) {
  LinkRec* rec = link_of(state);
  if (!rec) return CUDA_ERROR_INVALID_HANDLE;
  if (!cubin || !size) return CUDA_ERROR_INVALID_VALUE;
  client::Call c(id(kCall_cuLinkComplete));
  c.args().put<uint64_t>(to_wire(state));
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  wire::Reader& r = c.result();
  if (r.remaining() == 0) return e;
  read_jit(r, rec->jit());
  const uint64_t n = r.get<uint64_t>();
  const char* bytes = reinterpret_cast<const char*>(r.get_bytes(n));
  r.expect_end();
  if (e != CUDA_SUCCESS) return e;
  // The cubin lives in client memory owned by the link, as natively it lives in the link
  // state: valid until cuLinkDestroy.
  rec->cubin.assign(bytes, bytes + n);
  *cubin = rec->cubin.data();
  *size = rec->cubin.size();
  return CUDA_SUCCESS;
}

CUresult link_destroy(CUlinkState state) {
  if (!link_of(state)) return CUDA_ERROR_INVALID_HANDLE;
  client::Call c(id(kCall_cuLinkDestroy));
  c.args().put<uint64_t>(to_wire(state));
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  std::lock_guard<std::mutex> g(g_links_mu);
  links().erase(to_wire(state));
  return e;
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuLinkCreate_v2(unsigned int n, CUjit_option* options, void** values,
                                   CUlinkState* stateOut) {
  return guarded("cuLinkCreate_v2", [&] { return link_create(n, options, values, stateOut); });
}

GV_EXPORT CUresult cuLinkAddData_v2(CUlinkState state, CUjitInputType type, void* data,
                                    size_t size, const char* name, unsigned int n,
                                    CUjit_option* options, void** values) {
  return guarded("cuLinkAddData_v2", [&] {
    return link_add(state, type, data, size, name, n, options, values);
  });
}

GV_EXPORT CUresult cuLinkAddFile_v2(CUlinkState state, CUjitInputType type, const char* path,
                                    unsigned int n, CUjit_option* options, void** values) {
  return guarded("cuLinkAddFile_v2", [&]() -> CUresult {
    std::vector<char> buf;
    CUresult e = read_file(path, &buf);
    if (e != CUDA_SUCCESS) return e;
    // read_file adds a NUL for PTX; other inputs are passed with their own length.
    const size_t size = type == CU_JIT_INPUT_PTX ? buf.size() : buf.size() - 1;
    return link_add(state, type, buf.data(), size, path, n, options, values);
  });
}

GV_EXPORT CUresult cuLinkComplete(CUlinkState state, void** cubinOut, size_t* sizeOut) {
  return guarded("cuLinkComplete", [&] { return link_complete(state, cubinOut, sizeOut); });
}

GV_EXPORT CUresult cuLinkDestroy(CUlinkState state) {
  return guarded("cuLinkDestroy", [&] { return link_destroy(state); });
}

GV_EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  return guarded("cuModuleLoadData", [&]() -> CUresult {
    if (!module) return CUDA_ERROR_INVALID_VALUE;
    uint64_t h = 0;
    CUresult e = load(id(kCall_cuModuleLoadData), "cuModuleLoadData", image, {}, &h);
    if (e == CUDA_SUCCESS) *module = from_wire<CUmodule>(h);
    return e;
  });
}

GV_EXPORT CUresult cuModuleLoadFatBinary(CUmodule* module, const void* fatCubin) {
  return guarded("cuModuleLoadFatBinary", [&]() -> CUresult {
    if (!module) return CUDA_ERROR_INVALID_VALUE;
    uint64_t h = 0;
    CUresult e = load(id(kCall_cuModuleLoadFatBinary), "cuModuleLoadFatBinary", fatCubin, {}, &h);
    if (e == CUDA_SUCCESS) *module = from_wire<CUmodule>(h);
    return e;
  });
}

GV_EXPORT CUresult cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int n,
                                      CUjit_option* options, void** values) {
  return guarded("cuModuleLoadDataEx", [&]() -> CUresult {
    if (!module) return CUDA_ERROR_INVALID_VALUE;
    uint64_t h = 0;
    CUresult e = load(id(kCall_cuModuleLoadDataEx), "cuModuleLoadDataEx", image,
                      JitArgs{n, options, values}, &h);
    if (e == CUDA_SUCCESS) *module = from_wire<CUmodule>(h);
    return e;
  });
}

GV_EXPORT CUresult cuLibraryLoadData(CUlibrary* library, const void* code,
                                     CUjit_option* jitOptions, void** jitOptionsValues,
                                     unsigned int numJitOptions, CUlibraryOption* libraryOptions,
                                     void** libraryOptionValues, unsigned int numLibraryOptions) {
  return guarded("cuLibraryLoadData", [&]() -> CUresult {
    (void)libraryOptionValues;
    if (!library) return CUDA_ERROR_INVALID_VALUE;
    if (numLibraryOptions != 0 && !libraryOptions) return CUDA_ERROR_INVALID_VALUE;
    // NVIDIA's static runtime passes library options with every image it loads
    // (docs/static-cudart.md). Both options CUDA 13 has are dropped here, as nothing could
    // tell them apart: CU_LIBRARY_BINARY_IS_PRESERVED is a memory hint the driver may ignore
    // (the worker keeps its own copy of the image), and the host table of
    // CU_LIBRARY_HOST_UNIVERSAL_FUNCTION_AND_DATA_TABLE is read only by
    // cuLibraryGetUnifiedFunction, which GVirtuS refuses. Any other option is refused.
    for (unsigned i = 0; i < numLibraryOptions; ++i) {
      if (libraryOptions[i] != CU_LIBRARY_BINARY_IS_PRESERVED &&
          libraryOptions[i] != CU_LIBRARY_HOST_UNIVERSAL_FUNCTION_AND_DATA_TABLE)
        return refuse("cuLibraryLoadData",
                      "library option " + std::to_string(static_cast<int>(libraryOptions[i])));
    }
    uint64_t h = 0;
    CUresult e = load(id(kCall_cuLibraryLoadData), "cuLibraryLoadData", code,
                      JitArgs{numJitOptions, jitOptions, jitOptionsValues}, &h);
    if (e == CUDA_SUCCESS) *library = from_wire<CUlibrary>(h);
    return e;
  });
}

GV_EXPORT CUresult cuModuleLoad(CUmodule* module, const char* fname) {
  return guarded("cuModuleLoad", [&]() -> CUresult {
    if (!module) return CUDA_ERROR_INVALID_VALUE;
    std::vector<char> buf;
    CUresult e = read_file(fname, &buf);
    if (e != CUDA_SUCCESS) return e;
    return cuModuleLoadData(module, buf.data());
  });
}

GV_EXPORT CUresult cuLibraryLoadFromFile(CUlibrary* library, const char* fileName,
                                         CUjit_option* jitOptions, void** jitOptionsValues,
                                         unsigned int numJitOptions,
                                         CUlibraryOption* libraryOptions,
                                         void** libraryOptionValues,
                                         unsigned int numLibraryOptions) {
  return guarded("cuLibraryLoadFromFile", [&]() -> CUresult {
    if (!library) return CUDA_ERROR_INVALID_VALUE;
    std::vector<char> buf;
    CUresult e = read_file(fileName, &buf);
    if (e != CUDA_SUCCESS) return e;
    return cuLibraryLoadData(library, buf.data(), jitOptions, jitOptionsValues, numJitOptions,
                             libraryOptions, libraryOptionValues, numLibraryOptions);
  });
}
