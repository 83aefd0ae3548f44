// Graph requests that libcudart.so.13 and libcuda.so.1 both send (a CUgraph, CUgraphNode,
// CUgraphExec, CUstream is the worker's cudaGraph_t & co.; a statically linked runtime's
// cudaGraphGetEdges, cudaGraphNodeGetDependencies, cudaGraphNodeGetDependentNodes,
// cudaGraphInstantiateWithParams and cudaGraphDebugDotPrint arrive at their cu* forms). Each records a
// failure as the (runtime's) last error and answers in the runtime's codes, whose numbers are
// the driver's for what these calls answer.
//
// Wire: cudaGraphGetEdges  u64 graph, u8 want lists, u64 capacity, u8 want edge data
//         reply u64 count, then (want) min(count, capacity) x (u64 from, u64 to) and
//         (edge data) as many cudaGraphEdgeData
//       cudaGraphNodeGetDependencies, cudaGraphNodeGetDependentNodes  u64 node, u8 want the
//         list, u64 capacity, u8 want edge data   reply u64 count, then (want)
//         min(count, capacity) x u64 node and (edge data) as many cudaGraphEdgeData
//       cudaGraphInstantiateWithParams  u64 graph, u64 flags, u64 upload stream
//         reply (once the runtime was asked) u64 exec, u64 error node, i32 result
//       cudaGraphDebugDotPrint  u64 graph, u32 flags   reply the DOT text (the client writes it
//         to the application's path)
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace gvirtus::cudart::graph_calls {

cudaError_t get_edges(cudaGraph_t graph, cudaGraphNode_t* from, cudaGraphNode_t* to,
                      cudaGraphEdgeData* edgeData, size_t* numEdges);
// A node's dependencies, or (dependents) the nodes that depend on it.
cudaError_t node_edges(bool dependents, cudaGraphNode_t node, cudaGraphNode_t* nodes,
                       cudaGraphEdgeData* edgeData, size_t* num);
// per_thread: a NULL upload stream means the per-thread stream (the _ptsz entry points).
// Keeps graph_host's table (the executable graph takes the graph's host sides).
cudaError_t instantiate_with_params(cudaGraphExec_t* exec, cudaGraph_t graph,
                                    cudaGraphInstantiateParams* params, bool per_thread);
cudaError_t debug_dot_print(cudaGraph_t graph, const char* path, unsigned int flags);

}  // namespace gvirtus::cudart::graph_calls
