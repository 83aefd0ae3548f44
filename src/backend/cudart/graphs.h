// Handle helpers for graphs, graph nodes, executable graphs and memory pools, called by the
// generated cudart handlers (api/cudart.api: `handle cudaGraph_t graph` & co.) and by the
// hand-written ones in cudart/graphs.cc / cudart/pools.cc. Same rules as stream_in & co.
// (cudart/support.h): id 0 passes through as NULL, a stale id answers
// cudaErrorInvalidResourceHandle, a forged one ends the session.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/dispatch.h"

namespace gvirtus::backend::cudart {

bool graph_in(CallContext& ctx, uint64_t id, cudaGraph_t* out);
uint64_t graph_out(CallContext& ctx, cudaGraph_t g);
bool graph_release(CallContext& ctx, uint64_t id, cudaGraph_t* out);

bool graphexec_in(CallContext& ctx, uint64_t id, cudaGraphExec_t* out);
uint64_t graphexec_out(CallContext& ctx, cudaGraphExec_t g);
bool graphexec_release(CallContext& ctx, uint64_t id, cudaGraphExec_t* out);

bool graphnode_in(CallContext& ctx, uint64_t id, cudaGraphNode_t* out);
uint64_t graphnode_out(CallContext& ctx, cudaGraphNode_t n);
bool graphnode_release(CallContext& ctx, uint64_t id, cudaGraphNode_t* out);

bool mempool_in(CallContext& ctx, uint64_t id, cudaMemPool_t* out);
uint64_t mempool_out(CallContext& ctx, cudaMemPool_t p);
bool mempool_release(CallContext& ctx, uint64_t id, cudaMemPool_t* out);

// A kernel's arguments as a void* array over an aligned copy of the packed bytes (graph kernel
// nodes; cudart/kernels.cc). The runtime copies them when it takes the node's parameters.
struct KernelArgs {
  std::unique_ptr<uint64_t[]> storage;
  std::vector<void*> ptrs;
  void** data() { return ptrs.empty() ? nullptr : ptrs.data(); }
};
// The kernel of id `kid` and its arguments from `n` packed bytes (n must be the kernel's
// parameter size: SessionFault otherwise). False with ctx.status set for a stale id.
bool kernel_args_in(CallContext& ctx, uint64_t kid, const uint8_t* bytes, uint32_t n,
                    cudaKernel_t* kernel, KernelArgs* out);

}  // namespace gvirtus::backend::cudart
