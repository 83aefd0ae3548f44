// Handle helpers of the driver plugin for the objects it shares with the runtime: graphs, graph
// nodes, executable graphs, memory pools, arrays and mipmapped arrays (api/cuda.api `handle
// CUgraph graph` & co.). A CUgraph is a cudaGraph_t (the same C type), a CUarray the runtime's
// cudaArray_t (documented as interchangeable): the ids are those of the runtime's helpers
// (HandleKind kGraph, kGraphExec, kGraphNode, kMemPool, kArray, kMipmappedArray), so an object
// made through one API is named by the same id in the other. Same rules as the runtime's: id 0
// passes through as NULL, a stale id answers CUDA_ERROR_INVALID_HANDLE (the runtime's
// cudaErrorInvalidResourceHandle, the same number), a forged one ends the session.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "backend/cudart/graphs.h"
#include "backend/dispatch.h"

namespace gvirtus::backend::cuda {

// CUgraph, CUgraphExec, CUgraphNode and CUmemoryPool are the runtime's types.
using cudart::graph_in;
using cudart::graph_out;
using cudart::graph_release;
using cudart::graphexec_in;
using cudart::graphexec_out;
using cudart::graphexec_release;
using cudart::graphnode_in;
using cudart::graphnode_out;
using cudart::graphnode_release;
using cudart::mempool_in;
using cudart::mempool_out;
using cudart::mempool_release;

bool array_in(CallContext& ctx, uint64_t id, CUarray* out);
uint64_t array_out(CallContext& ctx, CUarray a);
bool array_release(CallContext& ctx, uint64_t id, CUarray* out);
bool mipmapped_in(CallContext& ctx, uint64_t id, CUmipmappedArray* out);
uint64_t mipmapped_out(CallContext& ctx, CUmipmappedArray m);
bool mipmapped_release(CallContext& ctx, uint64_t id, CUmipmappedArray* out);

}  // namespace gvirtus::backend::cuda
