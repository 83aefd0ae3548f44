// Helpers for cudart handlers on the backend, shared by generated handlers
// (build/gen/cudart_server.cc) and hand-written ones (cudart_*.cc). Contract with the generator.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/dispatch.h"
#include "backend/handle_io.h"

namespace gvirtus::backend::cudart {

// The generic handle helpers of backend/handle_io.h, with the runtime's invalid-handle error as
// the default.
inline bool handle_in(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
                      int32_t invalid_status = cudaErrorInvalidResourceHandle) {
  return ::gvirtus::backend::handle_in(ctx, kind, id, out, invalid_status);
}
inline bool handle_release(CallContext& ctx, HandleKind kind, uint64_t id, void** out,
                           int32_t invalid_status = cudaErrorInvalidResourceHandle) {
  return ::gvirtus::backend::handle_release(ctx, kind, id, out, invalid_status);
}
using ::gvirtus::backend::handle_out;
template <typename T>
bool handle_in_as(CallContext& ctx, HandleKind kind, uint64_t id, T* out,
                  int32_t invalid_status = cudaErrorInvalidResourceHandle) {
  return ::gvirtus::backend::handle_in_as(ctx, kind, id, out, invalid_status);
}
template <typename T>
bool handle_release_as(CallContext& ctx, HandleKind kind, uint64_t id, T* out,
                       int32_t invalid_status = cudaErrorInvalidResourceHandle) {
  return ::gvirtus::backend::handle_release_as(ctx, kind, id, out, invalid_status);
}

// A function of the driver that the worker's runtime loaded, in its CUDA 13 form
// (cudaGetDriverEntryPointByVersion), for handlers that need one the runtime has no call for.
// cudaSuccess with *out set, or the error (cudaErrorNotSupported if the driver lacks it); a
// failed lookup does not stay behind as the runtime's last error.
template <typename F>
cudaError_t driver_entry(const char* name, F* out) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
  cudaError_t e = cudaGetDriverEntryPointByVersion(name, &p, CUDART_VERSION, cudaEnableDefault, &q);
  if (e == cudaSuccess && (q != cudaDriverEntryPointSuccess || !p)) e = cudaErrorNotSupported;
  if (e != cudaSuccess) (void)cudaGetLastError();
  *out = reinterpret_cast<F>(p);
  return e;
}

// Translate a stream id from the wire. 0, cudaStreamLegacy (1) and cudaStreamPerThread (2) pass
// through. Returns false for a stale id after setting ctx.status to
// cudaErrorInvalidResourceHandle; throws SessionFault for a forged one.
bool stream_in(CallContext& ctx, uint64_t id, cudaStream_t* out);
bool event_in(CallContext& ctx, uint64_t id, cudaEvent_t* out);
// Register a newly created object and return the id the client will hold.
uint64_t stream_out(CallContext& ctx, cudaStream_t s);
uint64_t event_out(CallContext& ctx, cudaEvent_t e);
// For destroy calls: look the id up and remove it (same failure rules as *_in). The caller
// destroys the object.
bool stream_release(CallContext& ctx, uint64_t id, cudaStream_t* out);
bool event_release(CallContext& ctx, uint64_t id, cudaEvent_t* out);

// CUDA arrays and mipmapped arrays (HandleKind kArray / kMipmappedArray), same rules. Defined
// in cudart/arrays.cc.
bool array_in(CallContext& ctx, uint64_t id, cudaArray_t* out);
bool array_in(CallContext& ctx, uint64_t id, cudaArray_const_t* out);
uint64_t array_out(CallContext& ctx, cudaArray_t a);
bool array_release(CallContext& ctx, uint64_t id, cudaArray_t* out);
bool mipmapped_in(CallContext& ctx, uint64_t id, cudaMipmappedArray_t* out);
bool mipmapped_in(CallContext& ctx, uint64_t id, cudaMipmappedArray_const_t* out);
uint64_t mipmapped_out(CallContext& ctx, cudaMipmappedArray_t m);
bool mipmapped_release(CallContext& ctx, uint64_t id, cudaMipmappedArray_t* out);

// A kernel id from the wire (parameters annotated `func`): the kernel's cudaKernel_t, which the
// runtime accepts wherever it takes a function symbol. Same failure rules as stream_in.
bool func_in(CallContext& ctx, uint64_t id, const void** out);

// For a host<->device copy on stream s whose host side is a buffer the worker reuses: the
// capture refusal of memory.cc (cudaErrorStreamCaptureUnsupported, capture invalidated), or
// cudaSuccess when s does not capture.
cudaError_t refuse_capture(cudaStream_t s);

// The plugin's registration, called by registry() at worker start. Defined in the generated
// cudart_server.cc: it adds every generated and hand-written cudart handler.
void register_plugin(Registry& r);

}  // namespace gvirtus::backend::cudart
