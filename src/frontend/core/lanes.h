// Lanes (docs/protocol.md, "Lanes"): a launch on a stream this process created non-blocking
// (cudaStreamNonBlocking, CU_STREAM_NON_BLOCKING) may be sent laned, so that the worker orders
// it only after the previous request of its stream and the last request that is not laned,
// and launches of several threads on their own streams run at the same time, as natively.
// Everything else stays in the one session-wide order of tickets.
//
// Shared by libcudart.so.13 and libcuda.so.1 (both create streams in the one worker), so it
// lives in libgvirtus-frontend.so. Thread-safe.
#pragma once
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::client {

// A stream was created with `flags` (bit 0: non-blocking); `stream` is its wire id.
GV_API void note_lane_stream(uint64_t stream, unsigned flags);
// A stream was destroyed: launches on a stream of that id are global again.
GV_API void forget_lane_stream(uint64_t stream);
// The lane a launch on `stream` may take: the stream's id if this process created it
// non-blocking and no stream capture may be active here (a capture's launches stay global,
// so that its implicit dependencies are exactly as natively); 0 (global) otherwise.
GV_API uint64_t launch_lane(uint64_t stream);
// The lane of a synchronisation of `stream` (cudaStreamSynchronize, cuStreamSynchronize and
// their per-thread forms): launch_lane(stream) towards a backend of protocol 3.8 or later, else
// 0 (global). Laned, it waits for its stream's earlier requests and the last global one only,
// not for other threads' launches on other streams (docs/protocol.md, "Lanes").
GV_API uint64_t sync_lane(uint64_t stream);

// For the generated stream create / destroy stubs (after=, api/cudart.api and api/cuda.api):
// cudaStream_t and CUstream are the same pointer type.
template <class S>
inline void lane_stream_created(const S* out, unsigned flags) {
  if (out) note_lane_stream(reinterpret_cast<uintptr_t>(*out), flags);
}
template <class S>
inline void lane_stream_destroyed(S stream) {
  forget_lane_stream(reinterpret_cast<uintptr_t>(stream));
}

}  // namespace gvirtus::client
