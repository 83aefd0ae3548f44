// The copy engine: host<->device data in pieces of at most wire::kCopyChunk bytes.
//   host->device: gvMemcpyH2DChunk requests, all but the last NoReply, the bytes sent straight
//                 from the application's buffer (rows packed first only for strided 2D copies);
//   device->host: gvMemcpyD2HChunk requests with a few in flight, each reply's bytes read
//                 straight into the application's buffer;
//   device->device: one cudaMemcpy* call; host->host: done here.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "frontend/cudart/copy_plan.h"

namespace gvirtus::cudart {

// How the copy was asked for: the synchronous API on the legacy default stream (stream 0,
// async_api false), the synchronous per-thread API (_ptds: stream cudaStreamPerThread), or an
// async API on `stream` (wire id). Async copies complete on the backend before returning, but
// for a small one from pageable memory on the legacy stream, which returns once its bytes are
// staged, as natively (wire::kFlagPageableSource).
// driver: asked through the driver API (libcuda.so.1, also under a statically linked cudart),
// whose graph calls do not carry the host ends of captured copies (graph_host.h): a host copy
// on a capturing stream is refused there (the worker answers cudaErrorStreamCaptureUnsupported
// and invalidates the capture) instead of becoming a node nobody fills or delivers.
struct Target {
  uint64_t stream = 0;
  bool async_api = false;
  bool driver = false;
};

// The targets of the copy entry points: the legacy default stream, the per-thread stream
// (_ptds), an async API on a stream, an async API of a per-thread-default-stream program (_ptsz).
inline Target sync_legacy() { return Target{}; }
inline Target sync_per_thread() {
  return Target{reinterpret_cast<uintptr_t>(cudaStreamPerThread), false};
}
inline Target async_on(cudaStream_t s) { return Target{reinterpret_cast<uintptr_t>(s), true}; }
inline Target async_per_thread(cudaStream_t s) { return async_on(s ? s : cudaStreamPerThread); }
// The same for the driver API's entry points (Target::driver).
inline Target driver_api(Target t) {
  t.driver = true;
  return t;
}

// A 2D copy (two_d: cudaMemcpy2D rules, pitches checked) or a 1D one (width bytes, height 1).
// Sets the thread's last error on failure.
cudaError_t copy(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                 size_t height, cudaMemcpyKind kind, const Target& t, bool two_d);

// Plain copies on the legacy stream for the frontend's own use (managed.cc): no direction checks,
// no managed-memory exchange. n bytes, contiguous on both sides.
cudaError_t raw_to_device(uint64_t dst, const void* src, size_t n);
cudaError_t raw_to_host(void* dst, uint64_t src, size_t n);

inline cudaError_t copy_1d(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                           const Target& t) {
  return copy(dst, count, src, count, count, 1, kind, t, false);
}

// Replaces the probe that tells page-locked host memory for asynchronous copies
// (frontend/core/deliveries.h; by default libcudart's table, through client::host_memory_ops()):
// libcuda.so.1 installs its own (its tables, then the runtime's), the tests theirs. nullptr
// restores the default.
void set_page_locked_probe(bool (*probe)(const void* p));

// Sets the kind (host or device) of each pointer end of a 3D copy from `kind` and the device
// ranges this library knows, as copy() does for plain copies; array ends stay arrays. A pointer
// known to be on the device is never taken for host memory (cudaErrorInvalidValue); a kind that
// puts an array on the host side is cudaErrorInvalidMemcpyDirection. Does not set the last error.
cudaError_t classify_ends(cudaMemcpyKind kind, CopyEnd* src, CopyEnd* dst);

// A 3D copy whose ends are classified (x and width in bytes, also for arrays): host ends are
// read or written here and travel in chunk requests; a copy between device and array ends is
// one cudaMemcpy3D / cudaMemcpy3DAsync request. An empty extent copies nothing. Sets the
// thread's last error on failure.
cudaError_t copy_3d(const Copy3D& c, const Target& t);
// cudaMemcpy3DPeer(Async): device and array ends only.
cudaError_t copy_3d_peer(const Copy3D& c, int src_device, int dst_device, const Target& t);

}  // namespace gvirtus::cudart
