// What a call handler on the backend sees, and the table that maps call ids to handlers.
// Generated handlers (build/gen/cudart_server.cc) and hand-written ones (src/backend/cudart_*.cc)
// both have the signature `void h(CallContext&)`.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/wire.h"

namespace gvirtus::backend {

// Thrown by a handler when the client sent something no honest client sends (an id that was
// never issued, an impossible length). The worker logs it and ends this session only.
class SessionFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One kind per type of worker object a client can name. Runtime and driver types that are the
// same object natively share a kind (cudaStream_t and CUstream are both kStream), so a handle
// created through one API is accepted by the other.
enum class HandleKind : uint8_t {
  kStream = 1,
  kEvent = 2,
  kLibrary = 3,    // a module uploaded by the runtime's registration (record of cudart/kernels.cc)
  kKernel = 4,     // a kernel of such a module (record of cudart/kernels.cc)
  kContext = 5,    // CUcontext
  kModule = 6,     // CUmodule
  kFunction = 7,   // CUfunction
  kDrvLibrary = 8, // CUlibrary / cudaLibrary_t loaded explicitly
  kDrvKernel = 9,  // CUkernel / cudaKernel_t of such a library
  kGraph = 10,     // cudaGraph_t / CUgraph
  kGraphExec = 11, // cudaGraphExec_t / CUgraphExec
  kGraphNode = 12, // cudaGraphNode_t / CUgraphNode
  kMemPool = 13,   // cudaMemPool_t / CUmemoryPool
  kArray = 14,     // cudaArray_t / CUarray
  kMipmappedArray = 15,  // cudaMipmappedArray_t / CUmipmappedArray
  kLinkState = 16, // CUlinkState
  kUserObject = 17,      // cudaUserObject_t / CUuserObject
  kOther = 18,     // anything else a plugin needs (say which in its code)
  // Library plugins' objects (api/<lib>.api `handle ... kind=`): one kind per C type, so an id
  // of one descriptor type is never taken for another.
  kCublasHandle = 32,
  kCublasLtHandle = 33,
  kCublasLtMatmulDesc = 34,
  kCublasLtMatrixLayout = 35,
  kCublasLtMatmulPreference = 36,
  kCublasLtMatrixTransformDesc = 37,
  kCudnnHandle = 40,
  kCudnnTensorDesc = 41,
  kCudnnFilterDesc = 42,
  kCudnnConvolutionDesc = 43,
  kCudnnPoolingDesc = 44,
  kCudnnActivationDesc = 45,
  kCudnnLrnDesc = 46,
  kCudnnOpTensorDesc = 47,
  kCudnnReduceTensorDesc = 48,
  kCudnnDropoutDesc = 49,
  kCudnnRnnDesc = 50,
  kCudnnRnnDataDesc = 51,
  kCudnnSpatialTransformerDesc = 52,
  kCudnnCtcLossDesc = 53,
  kCudnnAttnDesc = 54,
  kCudnnSeqDataDesc = 55,
  kCudnnTensorTransformDesc = 56,
  kCudnnFusedOpsConstParamPack = 57,
  kCudnnFusedOpsVariantParamPack = 58,
  kCudnnFusedOpsPlan = 59,
  kCudnnBackendDesc = 60,
  // 64-127: the libraries of issue "Library plugins II" (cuFFT, cuRAND, cuSPARSE, cuSOLVER,
  // NVML).
  kCurandGenerator = 64,      // curandCreateGenerator: generates into device memory
  kCurandHostGenerator = 65,  // curandCreateGeneratorHost: its output travels back to the client
  // cuSPARSE (api/cusparse.api): a Const descriptor type shares its non-const type's kind.
  kCusparseHandle = 66,        // cusparseHandle_t
  kCusparseMatDescr = 67,      // cusparseMatDescr_t (legacy API)
  kCusparseSpVecDescr = 68,    // cusparse(Const)SpVecDescr_t
  kCusparseDnVecDescr = 69,    // cusparse(Const)DnVecDescr_t
  kCusparseSpMatDescr = 70,    // cusparse(Const)SpMatDescr_t
  kCusparseDnMatDescr = 71,    // cusparse(Const)DnMatDescr_t
  kCusparseSpSVDescr = 72,     // cusparseSpSVDescr_t
  kCusparseSpSMDescr = 73,     // cusparseSpSMDescr_t
  kCusparseSpGEMMDescr = 74,   // cusparseSpGEMMDescr_t
  kCusparseBsrsv2Info = 75,    // bsrsv2Info_t (legacy API)
  kCusparseBsrsm2Info = 76,    // bsrsm2Info_t (legacy API)
  kCusparseCsric02Info = 77,   // csric02Info_t (legacy API)
  kCusparseCsrilu02Info = 78,  // csrilu02Info_t (legacy API)
  kCusparseBsrilu02Info = 79,  // bsrilu02Info_t (legacy API)
  // 80-95: cuSOLVER (api/cusolver.api), one kind per object type.
  kCusolverDnHandle = 80,     // cusolverDnHandle_t
  kCusolverDnParams = 81,     // cusolverDnParams_t (the 64-bit API's options)
  kCusolverSyevjInfo = 82,    // syevjInfo_t
  kCusolverGesvdjInfo = 83,   // gesvdjInfo_t
  kCusolverIRSParams = 84,    // cusolverDnIRSParams_t
  kCusolverIRSInfos = 85,     // cusolverDnIRSInfos_t
  kCusolverSpHandle = 86,     // cusolverSpHandle_t
  kCusolverCsrqrInfo = 87,    // csrqrInfo_t
  kCusolverCsrcholInfo = 88,  // csrcholInfo_t
  kCusolverRfHandle = 89,     // cusolverRfHandle_t
  // 96-111: NVML (api/nvml.api).
  kNvmlDevice = 96,  // nvmlDevice_t: a GPU (or MIG device) of the worker's NVML
  kNvmlUnit = 97,    // nvmlUnit_t: an S-class unit of the worker's NVML
  kNvmlEventSet = 98,  // nvmlEventSet_t: an event set the worker's NVML created
};

// Maps opaque 64-bit ids handed to the client to real objects of this worker. Ids are never
// reused: an id that was issued and since released is a stale handle (the call returns the
// library's invalid-handle error); an id that was never issued is forged (SessionFault).
// Thread-safe.
class HandleTable {
 public:
  // Registers obj and returns its id. An object that is already live under this kind keeps its
  // id (CUDA hands out the same context, function or node more than once), so ids compare equal
  // whenever the objects do.
  uint64_t add(HandleKind kind, void* obj);
  enum class Found { kLive, kReleased, kNever };
  Found find(HandleKind kind, uint64_t id, void** obj) const;
  // Like find, but throws SessionFault for a forged id. Returns false for a released one.
  bool lookup(HandleKind kind, uint64_t id, void** obj) const;
  // Removes a live id; returns false if it was not live.
  bool remove(HandleKind kind, uint64_t id, void** obj);
  // Every live object of a kind (for cleanup at session end).
  std::vector<void*> live(HandleKind kind) const;
  // Every live id, of every kind (the fuzzer's cleanup between inputs, tests/fuzz).
  std::vector<uint64_t> live_ids() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;  // REQUIRES: mu_ held
  std::unordered_map<uint64_t, std::pair<HandleKind, void*>> live_;
  std::unordered_map<void*, uint64_t> ids_[256];  // REQUIRES: mu_ held; obj -> id, per kind
};

// Id layout: kind in the top byte, a never-reused serial number below. Zero is never an id.
inline HandleKind handle_kind_of(uint64_t id) { return static_cast<HandleKind>(id >> 56); }

class Session;     // worker-wide state (handle tables, modules); defined in worker.h
struct ConnState;  // per-connection state (staging buffers, deferred error); defined in worker.h

struct CallContext {
  Session& session;
  ConnState& conn;
  const wire::FrameHeader& header;
  wire::Reader in;    // the request payload, untrusted
  wire::Writer out;   // reply payload fields, written by the handler
  int32_t status = 0; // the call's result code, sent in the reply header
  // Optional bytes sent after `out` without copying them (device-to-host data). Must stay valid
  // until the handler's reply is sent (e.g. a ConnState staging buffer).
  const void* bulk = nullptr;
  size_t bulk_len = 0;
  // The request's ticket while it holds its place in the session-wide order (worker.h,
  // Session::wait_turn); 0 once released, or for an unordered request.
  uint64_t ticket = 0;
};

using Handler = void (*)(CallContext&);

// Gives up the request's place in the session-wide order now (serve.cc): for handlers that
// are about to block on something later requests of other connections may be needed for.
void release_order(CallContext& ctx);

// HandlerEntry::flags
enum : uint32_t {
  // The call only waits for GPU work already enqueued (a synchronize) and enqueues none: it
  // gives up its place in the session-wide order before it runs, so that other client threads
  // go on meanwhile, as natively (annotation word `waits`).
  kEntryWaits = 1u << 0,
};

struct HandlerEntry {
  uint32_t call_id;
  const char* name;
  Handler fn;
  uint32_t flags = 0;
};

struct PluginTable;    // plugins.h
struct LibraryPlugin;  // plugins.h
using PluginLoader = const PluginTable* (*)(const LibraryPlugin&, std::string* error);

// Call id -> handler, filled once at worker start by each compiled-in plugin's register
// function; library plugins (plugins.h) join on the first call in their id range.
class Registry {
 public:
  // Adds a plugin's handlers. Duplicate call ids are a programming error (aborts).
  void add_plugin(const std::string& name, const HandlerEntry* entries, size_t n);
  // A plugin that `loader` loads on the first find() of an id in its range (once per process;
  // thread-safe). Its name counts for has_plugin() before it is loaded.
  void add_library_plugin(const LibraryPlugin& p, PluginLoader loader);
  // nullptr for an unknown call id, and for one of a library plugin that could not be loaded
  // (then unavailable() says so).
  const HandlerEntry* find(uint32_t call_id) const;
  // For a call id of a library plugin that could not be loaded: true, with the status every
  // call of that library answers and why. *first is true the first time per plugin.
  bool unavailable(uint32_t call_id, int32_t* status, std::string* why, bool* first) const;
  bool has_plugin(const std::string& name) const;
  // The handler called `name` among the compiled-in plugins' and those of the library plugin
  // that call id `near` belongs to (loaded by then); nullptr if none.
  const HandlerEntry* find_named(const char* name, uint32_t near) const;
  // The library plugin a call id belongs to, as its first call id; 0 for the compiled-in ones
  // (control calls, the runtime, the driver).
  uint32_t library_of(uint32_t call_id) const;
  std::vector<std::string> plugins() const;
  // The call ids of the compiled-in plugins (not of library plugins), for the fuzzers.
  std::vector<uint32_t> call_ids() const;

 private:
  struct Lazy;
  const Lazy* lazy_for(uint32_t call_id) const;
  std::unordered_map<uint32_t, HandlerEntry> by_id_;
  std::vector<std::string> plugins_;
  std::vector<std::shared_ptr<Lazy>> lazy_;
};

// The process-wide registry with every compiled-in plugin registered.
const Registry& registry();

}  // namespace gvirtus::backend
