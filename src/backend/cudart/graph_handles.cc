// Handle helpers for graphs, nodes, executable graphs and memory pools (cudart/graphs.h).
#include "backend/cudart/graphs.h"

#include "backend/cudart/support.h"

namespace gvirtus::backend::cudart {
bool graph_in(CallContext& ctx, uint64_t id, cudaGraph_t* out) {
  return handle_in_as(ctx, HandleKind::kGraph, id, out);
}
uint64_t graph_out(CallContext& ctx, cudaGraph_t g) { return handle_out(ctx, HandleKind::kGraph, g); }
bool graph_release(CallContext& ctx, uint64_t id, cudaGraph_t* out) {
  return handle_release_as(ctx, HandleKind::kGraph, id, out);
}

bool graphexec_in(CallContext& ctx, uint64_t id, cudaGraphExec_t* out) {
  return handle_in_as(ctx, HandleKind::kGraphExec, id, out);
}
uint64_t graphexec_out(CallContext& ctx, cudaGraphExec_t g) {
  return handle_out(ctx, HandleKind::kGraphExec, g);
}
bool graphexec_release(CallContext& ctx, uint64_t id, cudaGraphExec_t* out) {
  return handle_release_as(ctx, HandleKind::kGraphExec, id, out);
}

bool graphnode_in(CallContext& ctx, uint64_t id, cudaGraphNode_t* out) {
  return handle_in_as(ctx, HandleKind::kGraphNode, id, out);
}
uint64_t graphnode_out(CallContext& ctx, cudaGraphNode_t n) {
  return handle_out(ctx, HandleKind::kGraphNode, n);
}
bool graphnode_release(CallContext& ctx, uint64_t id, cudaGraphNode_t* out) {
  return handle_release_as(ctx, HandleKind::kGraphNode, id, out);
}

bool mempool_in(CallContext& ctx, uint64_t id, cudaMemPool_t* out) {
  return handle_in_as(ctx, HandleKind::kMemPool, id, out);
}
uint64_t mempool_out(CallContext& ctx, cudaMemPool_t p) {
  return handle_out(ctx, HandleKind::kMemPool, p);
}
bool mempool_release(CallContext& ctx, uint64_t id, cudaMemPool_t* out) {
  return handle_release_as(ctx, HandleKind::kMemPool, id, out);
}

}  // namespace gvirtus::backend::cudart
