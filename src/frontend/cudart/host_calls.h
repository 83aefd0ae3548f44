// The requests that put one of the application's host functions on the GPU's timeline: a host
// function or stream callback on a stream, a host node in a graph. Shared by libcudart.so.13
// (cudaLaunchHostFunc, cudaStreamAddCallback, cudaGraphAddHostNode) and libcuda.so.1
// (cuLaunchHostFunc, cuStreamAddCallback, cuGraphAddHostNode, also what a statically linked
// runtime calls): a CUstream, CUgraph and CUgraphNode are the worker's cudaStream_t, cudaGraph_t
// and cudaGraphNode_t (one handle table), and CUhostFn / CUstreamCallback have the runtime's
// prototypes, so both APIs send the runtime's calls and the function runs on the client's
// callback thread (callback_thread.h, docs/callbacks.md).
//
// Wire: cudaLaunchHostFunc      u64 stream, u64 fn, u64 userData             reply -
//       cudaStreamAddCallback   u64 stream, u64 fn, u64 userData, u32 flags  reply -
//       cudaGraphAddHostNode    u64 graph, u32 n, n x u64 node, u64 fn, u64 userData
//                               reply u64 node
//       cudaGraphHostNodeGetParams      u64 node                   reply u64 fn, u64 userData
//       cudaGraphHostNodeSetParams      u64 node, u64 fn, u64 userData          reply -
//       cudaGraphExecHostNodeSetParams  u64 exec, u64 node, u64 fn, u64 userData  reply -
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace gvirtus::cudart::host_calls {

// The most dependencies one cudaGraphAddHostNode request carries (the worker's bound too).
constexpr size_t kMaxNodeList = size_t{1} << 20;

// Each starts the callback thread if needed, then sends the call. `fn` must not be NULL (the
// callers answer that themselves, in their API's words). The result is the runtime's code;
// the driver's numbers are the same for what these calls answer (invalid value, invalid
// handle, capture errors, not supported). Records a failure as the (runtime's) last error.
cudaError_t launch_host_func(uint64_t stream, uint64_t fn, uint64_t user);
cudaError_t add_stream_callback(uint64_t stream, uint64_t fn, uint64_t user, uint32_t flags);
// deps may be NULL only when n is 0 (else cudaErrorInvalidValue, nothing sent).
cudaError_t add_host_node(cudaGraphNode_t* out, cudaGraph_t graph, const cudaGraphNode_t* deps,
                          size_t n, uint64_t fn, uint64_t user);
// A host node's function and user data (fn and user must not be NULL). These two need a worker
// of protocol 3.7 or later (cudaErrorNotSupported otherwise).
cudaError_t get_host_node(cudaGraphNode_t node, uint64_t* fn, uint64_t* user);
// A new function for a host node of a graph (exec NULL) or of an executable graph.
cudaError_t set_host_node(cudaGraphExec_t exec, cudaGraphNode_t node, uint64_t fn,
                          uint64_t user);

}  // namespace gvirtus::cudart::host_calls
