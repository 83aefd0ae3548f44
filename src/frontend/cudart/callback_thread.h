// The client's host-callback thread (docs/callbacks.md). Started on the first host callback of
// the process; it owns an auxiliary connection (not counted as an application thread, see
// client::auxiliary_connection), attaches it as the session's callback connection, then loops
// on gvCallbackWait: each reply names a function of this process, its user data and (for
// stream callbacks) the stream and status; the thread calls it and reports it done with its next
// wait. One thread, so callbacks run one at a time, in the order the GPU reached them.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/wire.h"

namespace gvirtus::cudart {

// Starts the callback thread if needed and waits until its connection is attached, so that the
// worker knows whom to release when the client goes away before any callback ran. cudaSuccess,
// or the error to return (the session is lost; or the backend refused the thread's connection
// as one too many for the session: cudaErrorDevicesUnavailable, and the next call tries again).
cudaError_t ensure_callback_thread();

// One callback as gvCallbackWait's reply describes it.
struct CallbackRecord {
  uint64_t id = 0;
  uint8_t kind = 0;  // 0 cudaHostFn_t, 1 cudaStreamCallback_t
  uint64_t fn = 0;
  uint64_t user = 0;
  uint64_t stream = 0;
  int32_t status = 0;
};
// Decodes a gvCallbackWait reply (throws wire::DecodeError if it does not fit).
CallbackRecord read_callback_record(wire::Reader& r);
// Calls the application's function named by rec. False for an unknown kind (nothing called).
bool run_callback(const CallbackRecord& rec);

}  // namespace gvirtus::cudart
