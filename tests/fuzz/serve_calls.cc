// serve_calls (serve_calls.h): the whole handler table behind the real serve loop, one fresh
// session per input.
#include "fuzz/serve_calls.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "backend/control.h"
#include "backend/plugins.h"
#include "backend/worker.h"
#include "common/transport_memory.h"

// The library plugins' entry points (generated <lib>_server.cc). Weak: a build without a
// library (cuDNN and NVML are optional) links no table, and missing_plugins() says so.
#define GVIRTUS_FUZZ_PLUGIN(lib)                                                              \
  extern "C" __attribute__((weak)) const gvirtus::backend::PluginTable*                       \
      gvirtus_backend_plugin_v1_##lib();
GVIRTUS_FUZZ_PLUGIN(cublas)
GVIRTUS_FUZZ_PLUGIN(cublasLt)
GVIRTUS_FUZZ_PLUGIN(cudnn)
GVIRTUS_FUZZ_PLUGIN(cufft)
GVIRTUS_FUZZ_PLUGIN(curand)
GVIRTUS_FUZZ_PLUGIN(cusparse)
GVIRTUS_FUZZ_PLUGIN(cusolver)
GVIRTUS_FUZZ_PLUGIN(nvml)
#undef GVIRTUS_FUZZ_PLUGIN

namespace gvirtus::backend {
namespace cudart {
void register_plugin(Registry& r);
}
namespace cuda {
void register_plugin(Registry& r);
}
}  // namespace gvirtus::backend

namespace gvirtus::fuzz {
namespace {

using backend::HandleKind;

// Replies kept per input, for their statuses (the payloads of big device-to-host copies past
// this are only counted).
constexpr size_t kKeepReplies = 1u << 20;
using backend::PluginTable;

const PluginTable* linked_table(const std::string& name) {
  using Entry = const PluginTable* (*)();
  static const std::pair<const char*, Entry> kLinked[] = {
      {"cublas", &gvirtus_backend_plugin_v1_cublas},
      {"cublasLt", &gvirtus_backend_plugin_v1_cublasLt},
      {"cudnn", &gvirtus_backend_plugin_v1_cudnn},
      {"cufft", &gvirtus_backend_plugin_v1_cufft},
      {"curand", &gvirtus_backend_plugin_v1_curand},
      {"cusparse", &gvirtus_backend_plugin_v1_cusparse},
      {"cusolver", &gvirtus_backend_plugin_v1_cusolver},
      {"nvml", &gvirtus_backend_plugin_v1_nvml},
  };
  for (const auto& [n, fn] : kLinked)
    if (name == n && fn) return fn();
  return nullptr;
}

const PluginTable* load_linked(const backend::LibraryPlugin& p, std::string* error) {
  const PluginTable* t = linked_table(p.name);
  if (!t) *error = std::string("the ") + p.name + " plugin is not linked into the fuzzer";
  return t;
}

// How the cleanup destroys what a session left live: the handler that destroys each kind,
// called with the id as its only argument (as a client would at exit). Kinds owned by another
// object (functions of modules, graph nodes, NVML devices) or by session state (the runtime's
// registered modules and kernels) need none.
const std::pair<HandleKind, const char*> kDestroyers[] = {
    {HandleKind::kStream, "cudaStreamDestroy"},
    {HandleKind::kEvent, "cudaEventDestroy"},
    {HandleKind::kGraph, "cudaGraphDestroy"},
    {HandleKind::kGraphExec, "cudaGraphExecDestroy"},
    {HandleKind::kMemPool, "cudaMemPoolDestroy"},
    {HandleKind::kArray, "cudaFreeArray"},
    {HandleKind::kMipmappedArray, "cudaFreeMipmappedArray"},
    {HandleKind::kModule, "cuModuleUnload"},
    {HandleKind::kDrvLibrary, "cuLibraryUnload"},
    {HandleKind::kLinkState, "cuLinkDestroy"},
    {HandleKind::kMemAllocation, "cuMemRelease"},
    {HandleKind::kCublasHandle, "cublasDestroy_v2"},
    {HandleKind::kCublasLtHandle, "cublasLtDestroy"},
    {HandleKind::kCublasLtMatmulDesc, "cublasLtMatmulDescDestroy"},
    {HandleKind::kCublasLtMatrixLayout, "cublasLtMatrixLayoutDestroy"},
    {HandleKind::kCublasLtMatmulPreference, "cublasLtMatmulPreferenceDestroy"},
    {HandleKind::kCublasLtMatrixTransformDesc, "cublasLtMatrixTransformDescDestroy"},
    {HandleKind::kCudnnHandle, "cudnnDestroy"},
    {HandleKind::kCudnnTensorDesc, "cudnnDestroyTensorDescriptor"},
    {HandleKind::kCudnnFilterDesc, "cudnnDestroyFilterDescriptor"},
    {HandleKind::kCudnnConvolutionDesc, "cudnnDestroyConvolutionDescriptor"},
    {HandleKind::kCudnnPoolingDesc, "cudnnDestroyPoolingDescriptor"},
    {HandleKind::kCudnnActivationDesc, "cudnnDestroyActivationDescriptor"},
    {HandleKind::kCudnnLrnDesc, "cudnnDestroyLRNDescriptor"},
    {HandleKind::kCudnnOpTensorDesc, "cudnnDestroyOpTensorDescriptor"},
    {HandleKind::kCudnnReduceTensorDesc, "cudnnDestroyReduceTensorDescriptor"},
    {HandleKind::kCudnnDropoutDesc, "cudnnDestroyDropoutDescriptor"},
    {HandleKind::kCudnnRnnDesc, "cudnnDestroyRNNDescriptor"},
    {HandleKind::kCudnnRnnDataDesc, "cudnnDestroyRNNDataDescriptor"},
    {HandleKind::kCudnnSpatialTransformerDesc, "cudnnDestroySpatialTransformerDescriptor"},
    {HandleKind::kCudnnCtcLossDesc, "cudnnDestroyCTCLossDescriptor"},
    {HandleKind::kCudnnAttnDesc, "cudnnDestroyAttnDescriptor"},
    {HandleKind::kCudnnSeqDataDesc, "cudnnDestroySeqDataDescriptor"},
    {HandleKind::kCudnnTensorTransformDesc, "cudnnDestroyTensorTransformDescriptor"},
    {HandleKind::kCudnnFusedOpsConstParamPack, "cudnnDestroyFusedOpsConstParamPack"},
    {HandleKind::kCudnnFusedOpsVariantParamPack, "cudnnDestroyFusedOpsVariantParamPack"},
    {HandleKind::kCudnnFusedOpsPlan, "cudnnDestroyFusedOpsPlan"},
    {HandleKind::kCudnnBackendDesc, "cudnnBackendDestroyDescriptor"},
    {HandleKind::kCurandGenerator, "curandDestroyGenerator"},
    {HandleKind::kCurandHostGenerator, "curandDestroyGenerator"},
    {HandleKind::kCusparseHandle, "cusparseDestroy"},
    {HandleKind::kCusparseMatDescr, "cusparseDestroyMatDescr"},
    {HandleKind::kCusparseSpVecDescr, "cusparseDestroySpVec"},
    {HandleKind::kCusparseDnVecDescr, "cusparseDestroyDnVec"},
    {HandleKind::kCusparseSpMatDescr, "cusparseDestroySpMat"},
    {HandleKind::kCusparseDnMatDescr, "cusparseDestroyDnMat"},
    {HandleKind::kCusparseSpSVDescr, "cusparseSpSV_destroyDescr"},
    {HandleKind::kCusparseSpSMDescr, "cusparseSpSM_destroyDescr"},
    {HandleKind::kCusparseSpGEMMDescr, "cusparseSpGEMM_destroyDescr"},
    {HandleKind::kCusparseBsrsv2Info, "cusparseDestroyBsrsv2Info"},
    {HandleKind::kCusparseBsrsm2Info, "cusparseDestroyBsrsm2Info"},
    {HandleKind::kCusparseCsric02Info, "cusparseDestroyCsric02Info"},
    {HandleKind::kCusparseCsrilu02Info, "cusparseDestroyCsrilu02Info"},
    {HandleKind::kCusparseBsrilu02Info, "cusparseDestroyBsrilu02Info"},
    {HandleKind::kCusolverDnHandle, "cusolverDnDestroy"},
    {HandleKind::kCusolverDnParams, "cusolverDnDestroyParams"},
    {HandleKind::kCusolverSyevjInfo, "cusolverDnDestroySyevjInfo"},
    {HandleKind::kCusolverGesvdjInfo, "cusolverDnDestroyGesvdjInfo"},
    {HandleKind::kCusolverIRSParams, "cusolverDnIRSParamsDestroy"},
    {HandleKind::kCusolverIRSInfos, "cusolverDnIRSInfosDestroy"},
    {HandleKind::kCusolverSpHandle, "cusolverSpDestroy"},
    {HandleKind::kCusolverCsrqrInfo, "cusolverSpDestroyCsrqrInfo"},
    {HandleKind::kCusolverCsrcholInfo, "cusolverSpDestroyCsrcholInfo"},
    {HandleKind::kCusolverRfHandle, "cusolverRfDestroy"},
    {HandleKind::kNvmlEventSet, "nvmlEventSetFree"},
};

// Kinds whose objects belong to something else (see kDestroyers).
bool owned_elsewhere(HandleKind k) {
  switch (k) {
    case HandleKind::kLibrary:
    case HandleKind::kKernel:
    case HandleKind::kContext:  // the primary context, retained by the runtime
    case HandleKind::kFunction:
    case HandleKind::kDrvKernel:
    case HandleKind::kGraphNode:
    case HandleKind::kNvmlDevice:
    case HandleKind::kNvmlUnit:
      return true;
    default:
      return false;
  }
}

struct Tables {
  backend::Registry reg;
  std::vector<uint32_t> ids;
  std::unordered_map<uint32_t, const char*> names;
  std::unordered_map<uint8_t, const backend::HandlerEntry*> destroy;  // kind -> handler
};

const Tables& tables() {
  static const Tables* t = [] {
    auto* out = new Tables();
    backend::register_core_plugin(out->reg);
    backend::cudart::register_plugin(out->reg);
    backend::cuda::register_plugin(out->reg);
    out->ids = out->reg.call_ids();
    size_t n = 0;
    const backend::LibraryPlugin* lp = backend::library_plugins(&n);
    for (size_t i = 0; i < n; ++i) {
      out->reg.add_library_plugin(lp[i], &load_linked);
      if (const PluginTable* pt = linked_table(lp[i].name))
        for (size_t j = 0; j < pt->count; ++j) out->ids.push_back(pt->entries[j].call_id);
    }
    std::sort(out->ids.begin(), out->ids.end());
    for (uint32_t id : out->ids) {
      const backend::HandlerEntry* e = out->reg.find(id);
      if (e) out->names[id] = e->name ? e->name : "";
    }
    for (const auto& [kind, name] : kDestroyers) {
      for (uint32_t id : out->ids) {
        auto it = out->names.find(id);
        if (it != out->names.end() && std::strcmp(it->second, name) == 0) {
          out->destroy[static_cast<uint8_t>(kind)] = out->reg.find(id);
          break;
        }
      }
    }
    return out;
  }();
  return *t;
}

void put_le(std::vector<uint8_t>* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Destroys what the session left live, as a well-behaved client would before it exits (a
// worker would just exit: the fuzzer runs every session in one process).
void cleanup(backend::Session& session, backend::ConnState& conn, Outcome* o) {
  const Tables& t = tables();
  std::vector<uint64_t> live = session.handles().live_ids();
  // Newest first: descriptors made from a handle go before the handle.
  std::sort(live.rbegin(), live.rend(), [](uint64_t a, uint64_t b) {
    return (a & ((uint64_t{1} << 56) - 1)) < (b & ((uint64_t{1} << 56) - 1));
  });
  for (uint64_t id : live) {
    HandleKind k = backend::handle_kind_of(id);
    if (owned_elsewhere(k)) continue;
    auto it = t.destroy.find(static_cast<uint8_t>(k));
    if (it == t.destroy.end()) {
      o->left_live.push_back(id);
      continue;
    }
    void* obj = nullptr;
    if (session.handles().find(k, id, &obj) != backend::HandleTable::Found::kLive) continue;
    wire::Writer w;
    w.put<uint64_t>(id);
    wire::FrameHeader h;
    h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    h.call_id = it->second->call_id;
    h.length = static_cast<uint32_t>(w.size());
    backend::CallContext ctx{session, conn, h, wire::Reader(w.data(), w.size()), wire::Writer()};
    try {
      it->second->fn(ctx);
      ++o->destroyed;
    } catch (...) {
      o->left_live.push_back(id);  // a destroyer that does not take the id alone: a harness bug
    }
  }
}

struct sigaction g_previous_segv;

bool nvidia_library(const char* path) {
  const char* base = std::strrchr(path, '/');
  base = base ? base + 1 : path;
  return std::strncmp(base, "libcu", 5) == 0 || std::strncmp(base, "libnvidia", 9) == 0;
}

void on_segv(int sig, siginfo_t* si, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  void* pc = nullptr;
#if defined(__x86_64__)
  pc = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  pc = reinterpret_cast<void*>(uc->uc_mcontext.pc);
#endif
  Dl_info info{};
  if (reinterpret_cast<uintptr_t>(si->si_addr) < 65536 && pc && ::dladdr(pc, &info) &&
      info.dli_fname && nvidia_library(info.dli_fname)) {
    static const char kMsg[] = "gvirtus fuzz: NULL dereference inside ";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    (void)!::write(2, info.dli_fname, std::strlen(info.dli_fname));
    (void)!::write(2, " (natively a crash too)\n", 24);
    ::_exit(kNativeNullCrash);
  }
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction) return g_previous_segv.sa_sigaction(sig, si, context);
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    return g_previous_segv.sa_handler(sig);
  }
  ::signal(sig, SIG_DFL);  // the instruction faults again and the process dies of it
}

}  // namespace

bool gpu_present() {
  pid_t pid = ::fork();
  if (pid < 0) return true;  // cannot tell: assume the worst
  if (pid == 0) {
    int n = 0;
    ::_exit(cudaGetDeviceCount(&n) == cudaSuccess && n > 0 ? 1 : 0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

void filter_native_null_crashes() {
  struct sigaction sa {};
  sa.sa_sigaction = &on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSEGV, &sa, &g_previous_segv);
}

const backend::Registry& registry() { return tables().reg; }
const std::vector<uint32_t>& ids() { return tables().ids; }

std::string call_name(uint32_t id) {
  auto it = tables().names.find(id);
  return it == tables().names.end() ? std::string() : std::string(it->second);
}

std::string library_name(uint32_t id) {
  // The compiled-in plugins' ranges (api/cudart.api, api/cuda.api: `ids`).
  if (id < 1000) return "core";
  if (id < 3000) return "cudart";
  if (id < 6000) return "cuda";
  size_t n = 0;
  const backend::LibraryPlugin* lp = backend::library_plugins(&n);
  for (size_t i = 0; i < n; ++i)
    if (id >= lp[i].first_id && id <= lp[i].last_id) return lp[i].name;
  return "unknown";
}

std::vector<std::string> missing_plugins() {
  std::vector<std::string> out;
  size_t n = 0;
  const backend::LibraryPlugin* lp = backend::library_plugins(&n);
  for (size_t i = 0; i < n; ++i)
    if (!linked_table(lp[i].name)) out.push_back(lp[i].name);
  return out;
}

void append_record(std::vector<uint8_t>* out, uint32_t call_id, const std::vector<uint8_t>& body,
                   uint8_t flags) {
  put_le(out, call_id, 4);
  out->push_back(flags);
  put_le(out, std::min<size_t>(body.size(), 0xffff), 2);
  out->insert(out->end(), body.begin(), body.begin() + std::min<size_t>(body.size(), 0xffff));
}

Outcome serve_calls(const uint8_t* data, size_t size) {
  const Tables& t = tables();
  Outcome o;
  // The records as request frames.
  std::vector<uint8_t> frames;
  size_t off = 0;
  while (off + kRecordHeader <= size && o.records < kMaxRecords) {
    uint32_t id = static_cast<uint32_t>(get_le(data + off, 4));
    uint8_t flags = data[off + 4];
    size_t len = std::min<size_t>(get_le(data + off + 5, 2), size - off - kRecordHeader);
    off += kRecordHeader;
    if (!t.names.count(id)) id = t.ids[id % t.ids.size()];
    wire::FrameHeader h;
    h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    h.call_id = id;
    h.request_id = o.records + 1;
    h.flags = (flags & kRecordNoReply) ? wire::kFlagNoReply : 0;
    h.length = static_cast<uint32_t>(len);
    uint8_t hdr[wire::kHeaderSize];
    wire::encode_header(h, hdr);
    frames.insert(frames.end(), hdr, hdr + wire::kHeaderSize);
    frames.insert(frames.end(), data + off, data + off + len);
    off += len;
    ++o.records;
  }

  backend::Session session(backend::ClientInfo{}, backend::SessionOptions{false, false});
  static char issued;  // serial 1: stale_id() of every kind
  void* p = nullptr;
  session.handles().remove(HandleKind::kOther,
                           session.handles().add(HandleKind::kOther, &issued), &p);
  backend::ConnState conn(session, session.next_connection_id());
  MemoryStream stream(frames.data(), frames.size(), kKeepReplies);
  o.status = backend::serve_connection(session, conn, stream, t.reg);
  const std::vector<uint8_t>& sent = stream.sent();
  for (size_t at = 0; at + wire::kHeaderSize <= sent.size();) {
    wire::FrameHeader h;
    if (!wire::decode_header(sent.data() + at, wire::kMaxPayload, &h)) break;
    if (h.kind == static_cast<uint16_t>(wire::Kind::kReply)) o.statuses.push_back(h.status);
    at += wire::kHeaderSize + h.length;
  }
  session.conn_closed(conn);
  cleanup(session, conn, &o);
  return o;
}

}  // namespace gvirtus::fuzz
