// cudaLaunchHostFunc, cudaStreamAddCallback (and their _ptsz forms): the function runs in this
// process on the callback thread (callback_thread.h), in stream order; the worker holds the
// stream until it has run. docs/callbacks.md. The requests (also libcuda.so.1's): host_calls.h.
#include "frontend/cudart/host_calls.h"
#include "frontend/cudart/local.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

cudaStream_t per_thread(cudaStream_t s) { return s ? s : cudaStreamPerThread; }

cudaError_t launch_host_func(cudaStream_t stream, cudaHostFn_t fn, void* user) {
  if (!fn) return argument_error(cudaErrorInvalidValue);
  return host_calls::launch_host_func(to_wire(stream), reinterpret_cast<uintptr_t>(fn),
                                      to_wire(user));
}

cudaError_t add_callback(cudaStream_t stream, cudaStreamCallback_t fn, void* user,
                         unsigned int flags) {
  if (!fn) return argument_error(cudaErrorInvalidValue);
  return host_calls::add_stream_callback(to_wire(stream), reinterpret_cast<uintptr_t>(fn),
                                         to_wire(user), flags);
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
