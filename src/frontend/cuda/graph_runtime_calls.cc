// cuGraphGetEdges_v2, cuGraphNodeGetDependencies_v2, cuGraphNodeGetDependentNodes_v2,
// cuGraphInstantiateWithParams (and _ptsz), cuGraphDebugDotPrint: the runtime's requests
// (frontend/cudart/graph_calls.h); a CUgraph, CUgraphNode, CUgraphExec and CUstream are the
// worker's cudaGraph_t & co. A statically linked runtime's cudaGraphGetEdges, node edge
// queries, cudaGraphInstantiateWithParams and cudaGraphDebugDotPrint arrive here.
#include "frontend/cuda/local.h"
#include "frontend/cuda/runtime_code.h"
#include "frontend/cudart/graph_calls.h"

namespace gvirtus::cuda {
namespace {

namespace gc = gvirtus::cudart::graph_calls;

static_assert(sizeof(CUgraphEdgeData) == sizeof(cudaGraphEdgeData) &&
                  alignof(CUgraphEdgeData) == alignof(cudaGraphEdgeData),
              "CUgraphEdgeData and cudaGraphEdgeData are one layout");
static_assert(static_cast<int>(CUDA_GRAPH_INSTANTIATE_ERROR) ==
                      static_cast<int>(cudaGraphInstantiateError) &&
                  static_cast<int>(CU_GRAPH_DEBUG_DOT_FLAGS_VERBOSE) ==
                      static_cast<int>(cudaGraphDebugDotFlagsVerbose),
              "the driver's and the runtime's values");

CUresult instantiate(CUgraphExec* exec, CUgraph g, CUDA_GRAPH_INSTANTIATE_PARAMS* p,
                     bool per_thread) {
  if (!exec || !p) return CUDA_ERROR_INVALID_VALUE;
  cudaGraphInstantiateParams rp{};
  rp.flags = p->flags;
  rp.uploadStream = p->hUploadStream;
  cudaGraphExec_t x = nullptr;
  const cudaError_t e = gc::instantiate_with_params(&x, g, &rp, per_thread);
  // The outputs come back also when instantiation fails (an error node, its result).
  p->hErrNode_out = rp.errNode_out;
  p->result_out = static_cast<CUgraphInstantiateResult>(rp.result_out);
  if (e == cudaSuccess) *exec = x;
  return from_runtime_code(e);
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuGraphGetEdges_v2(CUgraph hGraph, CUgraphNode* from, CUgraphNode* to,
                                      CUgraphEdgeData* edgeData, size_t* numEdges) {
  return guarded("cuGraphGetEdges_v2", [&] {
    return from_runtime_code(gc::get_edges(hGraph, from, to,
                                           reinterpret_cast<cudaGraphEdgeData*>(edgeData),
                                           numEdges));
  });
}

GV_EXPORT CUresult cuGraphNodeGetDependencies_v2(CUgraphNode hNode, CUgraphNode* dependencies,
                                                 CUgraphEdgeData* edgeData,
                                                 size_t* numDependencies) {
  return guarded("cuGraphNodeGetDependencies_v2", [&] {
    return from_runtime_code(gc::node_edges(false, hNode, dependencies,
                                            reinterpret_cast<cudaGraphEdgeData*>(edgeData),
                                            numDependencies));
  });
}

GV_EXPORT CUresult cuGraphNodeGetDependentNodes_v2(CUgraphNode hNode, CUgraphNode* dependentNodes,
                                                   CUgraphEdgeData* edgeData,
                                                   size_t* numDependentNodes) {
  return guarded("cuGraphNodeGetDependentNodes_v2", [&] {
    return from_runtime_code(gc::node_edges(true, hNode, dependentNodes,
                                            reinterpret_cast<cudaGraphEdgeData*>(edgeData),
                                            numDependentNodes));
  });
}

GV_EXPORT CUresult cuGraphInstantiateWithParams(CUgraphExec* phGraphExec, CUgraph hGraph,
                                                CUDA_GRAPH_INSTANTIATE_PARAMS* instantiateParams) {
  return guarded("cuGraphInstantiateWithParams",
                 [&] { return instantiate(phGraphExec, hGraph, instantiateParams, false); });
}

GV_EXPORT CUresult cuGraphInstantiateWithParams_ptsz(
    CUgraphExec* phGraphExec, CUgraph hGraph, CUDA_GRAPH_INSTANTIATE_PARAMS* instantiateParams) {
  return guarded("cuGraphInstantiateWithParams_ptsz",
                 [&] { return instantiate(phGraphExec, hGraph, instantiateParams, true); });
}

GV_EXPORT CUresult cuGraphDebugDotPrint(CUgraph hGraph, const char* path, unsigned int flags) {
  return guarded("cuGraphDebugDotPrint", [&] {
    return from_runtime_code(gc::debug_dot_print(hGraph, path, flags));
  });
}
