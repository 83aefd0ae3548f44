// cuLaunchHostFunc, cuStreamAddCallback (and _ptsz), cuGraphAddHostNode and the host nodes'
// parameters (cuGraphHostNodeGetParams / SetParams, cuGraphExecHostNodeSetParams): the runtime's
// requests
// (frontend/cudart/host_calls.h), so the function runs on this process's callback thread as
// libcudart.so.13's do (docs/callbacks.md). A statically linked runtime's cudaLaunchHostFunc,
// cudaStreamAddCallback and cudaGraphAddHostNode arrive here.
#include "frontend/cuda/local.h"
#include "frontend/cuda/runtime_code.h"
#include "frontend/cudart/host_calls.h"

namespace gvirtus::cuda {
namespace hc = gvirtus::cudart::host_calls;
namespace {

CUstream per_thread(CUstream s) { return s ? s : CU_STREAM_PER_THREAD; }

CUresult launch_host_func(CUstream s, CUhostFn fn, void* user) {
  if (!fn) return CUDA_ERROR_INVALID_VALUE;
  return from_runtime_code(
      hc::launch_host_func(to_wire(s), reinterpret_cast<uintptr_t>(fn), to_wire(user)));
}

CUresult add_callback(CUstream s, CUstreamCallback fn, void* user, unsigned int flags) {
  if (!fn) return CUDA_ERROR_INVALID_VALUE;
  return from_runtime_code(hc::add_stream_callback(to_wire(s), reinterpret_cast<uintptr_t>(fn),
                                                   to_wire(user), flags));
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void* userData) {
  return guarded("cuLaunchHostFunc", [&] { return launch_host_func(hStream, fn, userData); });
}

GV_EXPORT CUresult cuLaunchHostFunc_ptsz(CUstream hStream, CUhostFn fn, void* userData) {
  return guarded("cuLaunchHostFunc_ptsz",
                 [&] { return launch_host_func(per_thread(hStream), fn, userData); });
}

GV_EXPORT CUresult cuStreamAddCallback(CUstream hStream, CUstreamCallback callback,
                                       void* userData, unsigned int flags) {
  return guarded("cuStreamAddCallback",
                 [&] { return add_callback(hStream, callback, userData, flags); });
}

GV_EXPORT CUresult cuStreamAddCallback_ptsz(CUstream hStream, CUstreamCallback callback,
                                            void* userData, unsigned int flags) {
  return guarded("cuStreamAddCallback_ptsz",
                 [&] { return add_callback(per_thread(hStream), callback, userData, flags); });
}

GV_EXPORT CUresult cuGraphAddHostNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                      const CUgraphNode* dependencies, size_t numDependencies,
                                      const CUDA_HOST_NODE_PARAMS* nodeParams) {
  return guarded("cuGraphAddHostNode", [&]() -> CUresult {
    if (!phGraphNode || !nodeParams || !nodeParams->fn) return CUDA_ERROR_INVALID_VALUE;
    return from_runtime_code(hc::add_host_node(phGraphNode, hGraph, dependencies,
                                               numDependencies,
                                               reinterpret_cast<uintptr_t>(nodeParams->fn),
                                               to_wire(nodeParams->userData)));
  });
}

GV_EXPORT CUresult cuGraphHostNodeGetParams(CUgraphNode hNode, CUDA_HOST_NODE_PARAMS* nodeParams) {
  return guarded("cuGraphHostNodeGetParams", [&]() -> CUresult {
    if (!nodeParams) return CUDA_ERROR_INVALID_VALUE;
    uint64_t fn = 0, user = 0;
    const cudaError_t e = hc::get_host_node(hNode, &fn, &user);
    if (e != cudaSuccess) return from_runtime_code(e);
    nodeParams->fn = reinterpret_cast<CUhostFn>(static_cast<uintptr_t>(fn));
    nodeParams->userData = from_wire<void*>(user);
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuGraphHostNodeSetParams(CUgraphNode hNode,
                                            const CUDA_HOST_NODE_PARAMS* nodeParams) {
  return guarded("cuGraphHostNodeSetParams", [&]() -> CUresult {
    if (!nodeParams || !nodeParams->fn) return CUDA_ERROR_INVALID_VALUE;
    return from_runtime_code(hc::set_host_node(nullptr, hNode,
                                               reinterpret_cast<uintptr_t>(nodeParams->fn),
                                               to_wire(nodeParams->userData)));
  });
}

GV_EXPORT CUresult cuGraphExecHostNodeSetParams(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                const CUDA_HOST_NODE_PARAMS* nodeParams) {
  return guarded("cuGraphExecHostNodeSetParams", [&]() -> CUresult {
    if (!nodeParams || !nodeParams->fn || !hGraphExec) return CUDA_ERROR_INVALID_VALUE;
    return from_runtime_code(hc::set_host_node(hGraphExec, hNode,
                                               reinterpret_cast<uintptr_t>(nodeParams->fn),
                                               to_wire(nodeParams->userData)));
  });
}
