// cudaLaunchHostFunc, cudaStreamAddCallback (and their _ptsz forms), and the host nodes'
// parameters (cudaGraphHostNodeGetParams / SetParams, cudaGraphExecHostNodeSetParams; the node
// itself is made in graphs.cc): the function runs in this
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

GV_EXPORT cudaError_t cudaGraphHostNodeGetParams(cudaGraphNode_t node,
                                                 cudaHostNodeParams* pNodeParams) {
  return guarded("cudaGraphHostNodeGetParams", [&] {
    if (!pNodeParams) return argument_error(cudaErrorInvalidValue);
    uint64_t fn = 0, user = 0;
    cudaError_t e = host_calls::get_host_node(node, &fn, &user);
    if (e != cudaSuccess) return e;
    pNodeParams->fn = reinterpret_cast<cudaHostFn_t>(static_cast<uintptr_t>(fn));
    pNodeParams->userData = from_wire<void*>(user);
    return cudaSuccess;
  });
}

GV_EXPORT cudaError_t cudaGraphHostNodeSetParams(cudaGraphNode_t node,
                                                 const cudaHostNodeParams* pNodeParams) {
  return guarded("cudaGraphHostNodeSetParams", [&] {
    if (!pNodeParams || !pNodeParams->fn) return argument_error(cudaErrorInvalidValue);
    return host_calls::set_host_node(nullptr, node, reinterpret_cast<uintptr_t>(pNodeParams->fn),
                                     to_wire(pNodeParams->userData));
  });
}

GV_EXPORT cudaError_t cudaGraphExecHostNodeSetParams(cudaGraphExec_t hGraphExec,
                                                     cudaGraphNode_t node,
                                                     const cudaHostNodeParams* pNodeParams) {
  return guarded("cudaGraphExecHostNodeSetParams", [&] {
    if (!pNodeParams || !pNodeParams->fn || !hGraphExec)
      return argument_error(cudaErrorInvalidValue);
    return host_calls::set_host_node(hGraphExec, node,
                                     reinterpret_cast<uintptr_t>(pNodeParams->fn),
                                     to_wire(pNodeParams->userData));
  });
}
