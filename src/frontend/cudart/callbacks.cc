// cudaLaunchHostFunc, cudaStreamAddCallback (and their _ptsz forms): the function runs in this
// process on the callback thread (callback_thread.h), in stream order; the worker holds the
// stream until it has run. docs/callbacks.md.
//
// Wire: cudaLaunchHostFunc      u64 stream, u64 fn, u64 userData             reply -
//       cudaStreamAddCallback   u64 stream, u64 fn, u64 userData, u32 flags  reply -
#include "frontend/cudart/callback_thread.h"
#include "frontend/cudart/local.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

cudaStream_t per_thread(cudaStream_t s) { return s ? s : cudaStreamPerThread; }

cudaError_t launch_host_func(cudaStream_t stream, cudaHostFn_t fn, void* user) {
  if (!fn) return argument_error(cudaErrorInvalidValue);
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(Call::kCall_cudaLaunchHostFunc));
  c.args().put<uint64_t>(to_wire(stream));
  c.args().put<uint64_t>(reinterpret_cast<uintptr_t>(fn));
  c.args().put<uint64_t>(to_wire(user));
  if (!c.invoke()) return lost();
  return finish(c);
}

cudaError_t add_callback(cudaStream_t stream, cudaStreamCallback_t fn, void* user,
                         unsigned int flags) {
  if (!fn) return argument_error(cudaErrorInvalidValue);
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(Call::kCall_cudaStreamAddCallback));
  c.args().put<uint64_t>(to_wire(stream));
  c.args().put<uint64_t>(reinterpret_cast<uintptr_t>(fn));
  c.args().put<uint64_t>(to_wire(user));
  c.args().put<uint32_t>(flags);
  if (!c.invoke()) return lost();
  return finish(c);
}

}  // namespace

GV_EXPORT cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* userData) {
  return guarded("cudaLaunchHostFunc", [&] { return launch_host_func(stream, fn, userData); });
}

GV_EXPORT cudaError_t cudaLaunchHostFunc_ptsz(cudaStream_t stream, cudaHostFn_t fn,
                                              void* userData) {
  return guarded("cudaLaunchHostFunc_ptsz",
                 [&] { return launch_host_func(per_thread(stream), fn, userData); });
}

GV_EXPORT cudaError_t cudaStreamAddCallback(cudaStream_t stream, cudaStreamCallback_t callback,
                                            void* userData, unsigned int flags) {
  return guarded("cudaStreamAddCallback",
                 [&] { return add_callback(stream, callback, userData, flags); });
}

GV_EXPORT cudaError_t cudaStreamAddCallback_ptsz(cudaStream_t stream,
                                                 cudaStreamCallback_t callback, void* userData,
                                                 unsigned int flags) {
  return guarded("cudaStreamAddCallback_ptsz",
                 [&] { return add_callback(per_thread(stream), callback, userData, flags); });
}
