// Host callbacks on the worker (cudaLaunchHostFunc, cudaStreamAddCallback, host nodes of
// graphs). The application's function must run in the application's process, so the worker
// enqueues a trampoline of its own on the real stream. When the GPU reaches it, the trampoline
// publishes a ready record to the session's CallbackHub and blocks until the client's callback
// thread (waiting in gvCallbackWait on its own connection) has run the function and reported it
// done. Work queued behind the callback therefore waits for it, as natively. See
// docs/callbacks.md.
#pragma once
#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "backend/dispatch.h"

namespace gvirtus::backend::cudart {

class CallbackHub;

// What a trampoline was enqueued with. fn and user are the client's values, opaque here: the
// worker never calls or dereferences them.
struct HostFn {
  CallbackHub* hub = nullptr;
  uint64_t fn = 0;
  uint64_t user = 0;
  uint64_t stream = 0;  // the client's stream id (stream callbacks only)
  uint8_t kind = 0;     // kHostFunc or kStreamCallback
  bool once = false;    // freed by the trampoline after its run (not part of any graph)
};
constexpr uint8_t kHostFunc = 0;
constexpr uint8_t kStreamCallback = 1;

// A callback the client is asked to run (the reply of gvCallbackWait).
struct ReadyCallback {
  uint64_t id = 0;
  uint64_t fn = 0;
  uint64_t user = 0;
  uint64_t stream = 0;
  int32_t status = 0;
  uint8_t kind = 0;
};

// One per session (Session::state). Thread-safe.
class CallbackHub {
 public:
  // Called on CUDA's callback thread: publishes the callback and waits until the client reports
  // it done or the hub closes (the client went away). Never calls the client's function.
  void run(const HostFn& f, int32_t status);

  // gvCallbackAttach: `conn` is the session's callback connection from now on. Also makes the
  // hub close when that connection or the primary closes (registered once per session).
  void attach(Session& session, uint64_t conn);
  // gvCallbackWait: reports `done` (0: nothing) finished, then blocks until a callback is ready
  // (true) or the hub closes or the client hangs up (false). `done` must be a callback this
  // connection was given and has not reported yet: anything else throws SessionFault.
  bool wait(CallContext& ctx, uint64_t done, ReadyCallback* out);
  // Releases every blocked trampoline for good; later callbacks are skipped.
  void close();
  bool closed() const;

  // A HostFn that may run many times (a node of a graph): lives as long as the session.
  // nullptr once the session keeps kMaxKept of them (the caller answers as a full host would:
  // cudaErrorMemoryAllocation), so that a client adding host nodes or setting their parameters
  // in a loop cannot grow its worker without bound.
  HostFn* keep(std::unique_ptr<HostFn> f);
  static constexpr size_t kMaxKept = size_t{1} << 20;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool hooked_ = false;
  uint64_t conn_ = UINT64_MAX;       // the callback connection, once attached
  uint64_t next_id_ = 1;
  std::deque<ReadyCallback> ready_;           // published, not yet handed to the client
  std::unordered_set<uint64_t> running_;      // handed to the client, not reported done
  std::unordered_set<uint64_t> waiting_;      // trampolines blocked on these ids
  std::vector<std::unique_ptr<HostFn>> kept_;
};

CallbackHub& callback_hub(CallContext& ctx);

// Enqueues the trampoline for f on stream s (cudaLaunchHostFunc). Takes care of f's lifetime:
// one-shot unless the stream is being captured (then the host node may run many times).
cudaError_t launch_host_fn(CallContext& ctx, cudaStream_t s, std::unique_ptr<HostFn> f);
// The trampoline, for host nodes added to graphs explicitly (userData: a kept HostFn).
void CUDART_CB host_fn_trampoline(void* user);
// The parameters of a host node the client adds or sets (its function `fn` and user data, as
// the client's values): the trampoline with a record kept for the session, since the node runs
// at every launch of its graph, clones and executable graphs. False with ctx.status set when
// fn is 0 (cudaErrorInvalidValue) or the session keeps too many (cudaErrorMemoryAllocation).
bool host_node_params(CallContext& ctx, uint64_t fn, uint64_t user, cudaHostNodeParams* out);

}  // namespace gvirtus::backend::cudart
