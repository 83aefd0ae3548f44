// The parameters of graph host nodes: cudaGraphHostNodeGetParams / SetParams and
// cudaGraphExecHostNodeSetParams (libcuda.so.1's cuGraphHostNodeGetParams & co. send the same
// requests). Every host node of a session runs the worker's trampoline with a record the
// session keeps (callbacks.h: cudaGraphAddHostNode, or cudaLaunchHostFunc captured), so its
// parameters as the client knows them are that record's fn and user; a new function gets a new
// record, kept for the session (the graph and its executable graphs may run it many times).
//
// Wire: cudaGraphHostNodeGetParams      u64 node                        reply u64 fn, u64 user
//       cudaGraphHostNodeSetParams      u64 node, u64 fn, u64 user      reply -
//       cudaGraphExecHostNodeSetParams  u64 exec, u64 node, u64 fn, u64 user   reply -
#include "backend/cudart/callbacks.h"
#include "backend/cudart/graphs.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

void handle_cudaGraphHostNodeGetParams(CallContext& ctx) {
  const uint64_t node = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaGraphNode_t n;
  if (!graphnode_in(ctx, node, &n)) return;
  cudaHostNodeParams p{};
  ctx.status = cudaGraphHostNodeGetParams(n, &p);
  if (ctx.status != cudaSuccess) return;
  // Only this session's handlers make host nodes, always with the trampoline; anything else
  // would be a node this worker did not make (and its user data no record of ours).
  if (p.fn != host_fn_trampoline || !p.userData) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  const auto* f = static_cast<const HostFn*>(p.userData);
  ctx.out.put<uint64_t>(f->fn);
  ctx.out.put<uint64_t>(f->user);
}

void handle_cudaGraphHostNodeSetParams(CallContext& ctx) {
  const uint64_t node = ctx.in.get<uint64_t>();
  const uint64_t fn = ctx.in.get<uint64_t>();
  const uint64_t user = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaGraphNode_t n;
  cudaHostNodeParams p;
  if (!graphnode_in(ctx, node, &n) || !host_node_params(ctx, fn, user, &p)) return;
  ctx.status = cudaGraphHostNodeSetParams(n, &p);
}

void handle_cudaGraphExecHostNodeSetParams(CallContext& ctx) {
  const uint64_t exec = ctx.in.get<uint64_t>();
  const uint64_t node = ctx.in.get<uint64_t>();
  const uint64_t fn = ctx.in.get<uint64_t>();
  const uint64_t user = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaGraphExec_t x;
  cudaGraphNode_t n;
  cudaHostNodeParams p;
  if (!graphexec_in(ctx, exec, &x) || !graphnode_in(ctx, node, &n) ||
      !host_node_params(ctx, fn, user, &p))
    return;
  ctx.status = cudaGraphExecHostNodeSetParams(x, n, &p);
}

}  // namespace gvirtus::backend::cudart
