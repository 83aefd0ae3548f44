// The driver's graph calls that carry node lists (api/cuda.api 3940-3949; the plain ones are
// generated). Client side: src/frontend/cuda/graphs.cc. Nodes, graphs and events are ids of the
// kinds the runtime uses (cuda/objects.h), so a node the runtime added is a dependency here.
//
// Wire: cuGraphAdd{Empty,Memset,ChildGraph,EventRecord,EventWait}Node
//         u64 graph, u32 n (<= kMaxNodeList), n × u64 node, then the node's own fields:
//         memset: CUDA_MEMSET_NODE_PARAMS, u64 context; child: u64 graph; event: u64 event
//         reply u64 node
//       cuGraphGetNodes / cuGraphGetRootNodes
//         u64 graph, u8 nodes wanted, u64 capacity (<= kMaxNodeList when wanted)
//         reply u64 count, then (wanted) min(count, capacity) × u64 node
//       cuGraphAddDependencies_v2 / cuGraphRemoveDependencies_v2
//         u64 graph, u32 n (<= kMaxNodeList), n × (u64 from, u64 to), u8 edge data present
//         (0/1), then n × CUgraphEdgeData
//       kernel node parameters (cuGraphAddKernelNode_v2 after the head above,
//       cuGraphKernelNodeSetParams_v2 after u64 node, cuGraphExecKernelNodeSetParams_v2 after
//       u64 executable graph, u64 node): u64 function or kernel id, u64 context id, u32 grid[3],
//       u32 block[3], u32 shared memory, then the arguments as a launch's (kernel_args.h)
//       memcpy node parameters (cuGraphAddMemcpyNode after the head, then u64 context;
//       cuGraphMemcpyNodeSetParams after u64 node; cuGraphExecMemcpyNodeSetParams after u64
//       executable graph, u64 node, then u64 context): CUDA_MEMCPY3D with array ids in its
//       array fields; device and array sides only (host memory would have to travel when the
//       graph runs: the client refuses it, and one here ends the session).
//       cuGraphMemcpyNodeGetParams: u64 node; reply CUDA_MEMCPY3D with array ids
//       cuGraphExecUpdate_v2: u64 executable graph, u64 graph, u8 result wanted; reply (also when
//         the update fails, with the result wanted) i32 result, u64 error node, u64 error-from
//         node (ids, 0 for none)
#include <cuda.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/kernel_args.h"
#include "backend/cuda/objects.h"
#include "backend/cuda/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cuda {

namespace {

// The most nodes one request may name; an honest client stays far below.
constexpr uint32_t kMaxNodeList = 1u << 16;

uint32_t read_count(CallContext& ctx, const char* what) {
  const uint32_t n = ctx.in.get<uint32_t>();
  if (n > kMaxNodeList) throw SessionFault(std::string(what) + ": " + std::to_string(n));
  return n;
}

std::vector<uint64_t> read_ids(CallContext& ctx, uint32_t n) {
  std::vector<uint64_t> ids(n);
  for (auto& id : ids) id = ctx.in.get<uint64_t>();
  return ids;
}

bool nodes_in(CallContext& ctx, const std::vector<uint64_t>& ids, std::vector<CUgraphNode>* out) {
  out->resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (!graphnode_in(ctx, ids[i], &(*out)[i])) return false;
  return true;
}

// The head of every add request, read before anything is translated (a short request is a
// decode error whatever its ids are).
struct Head {
  uint64_t graph = 0;
  std::vector<uint64_t> deps;
};
Head read_head(CallContext& ctx) {
  Head h;
  h.graph = ctx.in.get<uint64_t>();
  h.deps = read_ids(ctx, read_count(ctx, "dependencies"));
  return h;
}

// Translates the head (a forged id ends the session whether or not there is a driver), then,
// with the driver's function (have_fn), runs add(&node, graph, deps, count) and replies with the
// new node.
template <typename Add>
void add_node(CallContext& ctx, const Head& h, bool have_fn, Add add) {
  CUgraph g;
  std::vector<CUgraphNode> deps;
  if (!graph_in(ctx, h.graph, &g) || !nodes_in(ctx, h.deps, &deps) || !have_fn) return;
  CUgraphNode node = nullptr;
  const CUresult r = add(&node, g, deps.empty() ? nullptr : deps.data(), deps.size());
  ctx.status = r;
  if (r == CUDA_SUCCESS) ctx.out.put<uint64_t>(graphnode_out(ctx, node));
}

template <typename F>
void node_list(CallContext& ctx, F* query) {
  const uint64_t graph = ctx.in.get<uint64_t>();
  const bool want = ctx.in.get_flag();
  const uint64_t cap = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (want && cap > kMaxNodeList) throw SessionFault("node list of " + std::to_string(cap));
  CUgraph g;
  if (!graph_in(ctx, graph, &g) || !query) return;
  std::vector<CUgraphNode> nodes(want ? (cap ? cap : 1) : 0);  // never NULL when wanted
  size_t count = static_cast<size_t>(cap);
  ctx.status = query(g, want ? nodes.data() : nullptr, &count);
  if (ctx.status != CUDA_SUCCESS) return;
  ctx.out.put<uint64_t>(count);
  if (want)
    for (size_t i = 0; i < count && i < cap; ++i)
      ctx.out.put<uint64_t>(graphnode_out(ctx, nodes[i]));
}

template <typename F>
void dependencies(CallContext& ctx, F* change) {
  const uint64_t graph = ctx.in.get<uint64_t>();
  const uint32_t n = read_count(ctx, "edges");
  std::vector<uint64_t> from(n), to(n);
  for (uint32_t i = 0; i < n; ++i) {
    from[i] = ctx.in.get<uint64_t>();
    to[i] = ctx.in.get<uint64_t>();
  }
  std::vector<CUgraphEdgeData> data;
  if (ctx.in.get_flag()) {
    data.resize(n);
    if (n)
      std::memcpy(data.data(), ctx.in.get_bytes(n * sizeof(CUgraphEdgeData)),
                  n * sizeof(CUgraphEdgeData));
  }
  ctx.in.expect_end();
  CUgraph g;
  std::vector<CUgraphNode> f, t;
  if (!graph_in(ctx, graph, &g) || !nodes_in(ctx, from, &f) || !nodes_in(ctx, to, &t) || !change)
    return;
  ctx.status = change(g, f.empty() ? nullptr : f.data(), t.empty() ? nullptr : t.data(),
                      data.empty() ? nullptr : data.data(), n);
}

// Kernel node parameters from the wire: read, then translated (read_node_params, then
// resolve_node_params) so a short request is a decode error whatever its ids are.
struct WireKernelNode {
  uint64_t fid = 0, cid = 0;
  uint32_t grid[3] = {}, block[3] = {};
  uint32_t shmem = 0;
  KernelArgs args;
};
void read_node_params(CallContext& ctx, WireKernelNode* w) {
  w->fid = ctx.in.get<uint64_t>();
  w->cid = ctx.in.get<uint64_t>();
  for (auto& g : w->grid) g = ctx.in.get<uint32_t>();
  for (auto& b : w->block) b = ctx.in.get<uint32_t>();
  w->shmem = ctx.in.get<uint32_t>();
  read_kernel_args(ctx, true, &w->args);
}
// A kernel id goes into `kern` (with the context), a function into `func`, as the driver reads
// CUDA_KERNEL_NODE_PARAMS.
bool resolve_node_params(CallContext& ctx, WireKernelNode* w, CUDA_KERNEL_NODE_PARAMS* p) {
  const bool is_kernel = is_kernel_id(w->fid);
  CUfunction f = nullptr;
  CUcontext c = nullptr;
  if (!function_in(ctx, w->fid, &f) || !context_in(ctx, w->cid, &c)) return false;
  if (!resolve_kernel_args(ctx, f, is_kernel, &w->args)) return false;
  *p = CUDA_KERNEL_NODE_PARAMS{};
  if (is_kernel) {
    p->kern = reinterpret_cast<CUkernel>(f);
    p->ctx = c;
  } else {
    p->func = f;
  }
  p->gridDimX = w->grid[0];
  p->gridDimY = w->grid[1];
  p->gridDimZ = w->grid[2];
  p->blockDimX = w->block[0];
  p->blockDimY = w->block[1];
  p->blockDimZ = w->block[2];
  p->sharedMemBytes = w->shmem;
  p->kernelParams = w->args.params();
  p->extra = w->args.ext();
  return true;
}

// A copy's array sides: ids -> arrays. Host sides end the session, sides of no known memory
// type answer CUDA_ERROR_INVALID_VALUE; host pointer fields of other sides are cleared (the
// driver does not read them).
bool memcpy_in(CallContext& ctx, CUDA_MEMCPY3D* p) {
  for (CUmemorytype t : {p->srcMemoryType, p->dstMemoryType}) {
    if (t == CU_MEMORYTYPE_HOST) throw SessionFault("host memory in a graph memcpy node");
    // No other kind reaches the driver, which might read a side of an unknown kind as host
    // memory; it answers these as invalid itself.
    if (t != CU_MEMORYTYPE_DEVICE && t != CU_MEMORYTYPE_ARRAY && t != CU_MEMORYTYPE_UNIFIED) {
      ctx.status = CUDA_ERROR_INVALID_VALUE;
      return false;
    }
  }
  p->srcHost = nullptr;
  p->dstHost = nullptr;
  if (p->srcMemoryType == CU_MEMORYTYPE_ARRAY &&
      !array_in(ctx, reinterpret_cast<uintptr_t>(p->srcArray), &p->srcArray))
    return false;
  if (p->dstMemoryType == CU_MEMORYTYPE_ARRAY &&
      !array_in(ctx, reinterpret_cast<uintptr_t>(p->dstArray), &p->dstArray))
    return false;
  return true;
}

}  // namespace

void handle_cuGraphAddMemcpyNode(CallContext& ctx) {
  Head h = read_head(ctx);
  CUDA_MEMCPY3D p = ctx.in.get<CUDA_MEMCPY3D>();
  const uint64_t cid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUcontext c;
  if (!memcpy_in(ctx, &p) || !context_in(ctx, cid, &c)) return;
  auto fn = real<decltype(&::cuGraphAddMemcpyNode)>(ctx, "cuGraphAddMemcpyNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head..., &p, c); });
}

void handle_cuGraphMemcpyNodeSetParams(CallContext& ctx) {
  const uint64_t nid = ctx.in.get<uint64_t>();
  CUDA_MEMCPY3D p = ctx.in.get<CUDA_MEMCPY3D>();
  ctx.in.expect_end();
  CUgraphNode n;
  if (!graphnode_in(ctx, nid, &n) || !memcpy_in(ctx, &p)) return;
  auto fn = real<decltype(&::cuGraphMemcpyNodeSetParams)>(ctx, "cuGraphMemcpyNodeSetParams");
  if (fn) ctx.status = fn(n, &p);
}

void handle_cuGraphExecMemcpyNodeSetParams(CallContext& ctx) {
  const uint64_t eid = ctx.in.get<uint64_t>();
  const uint64_t nid = ctx.in.get<uint64_t>();
  CUDA_MEMCPY3D p = ctx.in.get<CUDA_MEMCPY3D>();
  const uint64_t cid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUgraphExec e;
  CUgraphNode n;
  CUcontext c;
  if (!graphexec_in(ctx, eid, &e) || !graphnode_in(ctx, nid, &n) || !memcpy_in(ctx, &p) ||
      !context_in(ctx, cid, &c))
    return;
  auto fn = real<decltype(&::cuGraphExecMemcpyNodeSetParams)>(
      ctx, "cuGraphExecMemcpyNodeSetParams");
  if (fn) ctx.status = fn(e, n, &p, c);
}

void handle_cuGraphMemcpyNodeGetParams(CallContext& ctx) {
  const uint64_t nid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUgraphNode n;
  if (!graphnode_in(ctx, nid, &n)) return;
  auto fn = real<decltype(&::cuGraphMemcpyNodeGetParams)>(ctx, "cuGraphMemcpyNodeGetParams");
  if (!fn) return;
  CUDA_MEMCPY3D p{};
  ctx.status = fn(n, &p);
  if (ctx.status != CUDA_SUCCESS) return;
  // Arrays back to ids (a live array keeps its id); host pointers mean nothing to the client.
  if (p.srcMemoryType == CU_MEMORYTYPE_ARRAY)
    p.srcArray = reinterpret_cast<CUarray>(static_cast<uintptr_t>(array_out(ctx, p.srcArray)));
  if (p.dstMemoryType == CU_MEMORYTYPE_ARRAY)
    p.dstArray = reinterpret_cast<CUarray>(static_cast<uintptr_t>(array_out(ctx, p.dstArray)));
  p.srcHost = nullptr;
  p.dstHost = nullptr;
  ctx.out.put<CUDA_MEMCPY3D>(p);
}

void handle_cuGraphExecUpdate_v2(CallContext& ctx) {
  const uint64_t eid = ctx.in.get<uint64_t>();
  const uint64_t gid = ctx.in.get<uint64_t>();
  const bool want = ctx.in.get_flag();
  ctx.in.expect_end();
  CUgraphExec e;
  CUgraph g;
  if (!graphexec_in(ctx, eid, &e) || !graph_in(ctx, gid, &g)) return;
  auto fn = real<decltype(&::cuGraphExecUpdate)>(ctx, "cuGraphExecUpdate_v2");
  if (!fn) return;
  CUgraphExecUpdateResultInfo info{};
  ctx.status = fn(e, g, want ? &info : nullptr);
  // The result says why an update failed: it comes back whatever the status.
  if (!want) return;
  ctx.out.put<int32_t>(static_cast<int32_t>(info.result));
  ctx.out.put<uint64_t>(info.errorNode ? graphnode_out(ctx, info.errorNode) : 0);
  ctx.out.put<uint64_t>(info.errorFromNode ? graphnode_out(ctx, info.errorFromNode) : 0);
}

void handle_cuGraphAddKernelNode_v2(CallContext& ctx) {
  Head h = read_head(ctx);
  WireKernelNode w;
  read_node_params(ctx, &w);
  ctx.in.expect_end();
  auto fn = real<decltype(&::cuGraphAddKernelNode)>(ctx, "cuGraphAddKernelNode_v2");
  CUgraph g;
  std::vector<CUgraphNode> deps;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!graph_in(ctx, h.graph, &g) || !nodes_in(ctx, h.deps, &deps) ||
      !resolve_node_params(ctx, &w, &p) || !fn)
    return;
  // The driver copies the arguments before it returns.
  CUgraphNode node = nullptr;
  ctx.status = fn(&node, g, deps.empty() ? nullptr : deps.data(), deps.size(), &p);
  if (ctx.status == CUDA_SUCCESS) ctx.out.put<uint64_t>(graphnode_out(ctx, node));
}

void handle_cuGraphKernelNodeSetParams_v2(CallContext& ctx) {
  const uint64_t nid = ctx.in.get<uint64_t>();
  WireKernelNode w;
  read_node_params(ctx, &w);
  ctx.in.expect_end();
  auto fn = real<decltype(&::cuGraphKernelNodeSetParams)>(ctx, "cuGraphKernelNodeSetParams_v2");
  CUgraphNode n;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!graphnode_in(ctx, nid, &n) || !resolve_node_params(ctx, &w, &p) || !fn) return;
  ctx.status = fn(n, &p);
}

void handle_cuGraphExecKernelNodeSetParams_v2(CallContext& ctx) {
  const uint64_t eid = ctx.in.get<uint64_t>();
  const uint64_t nid = ctx.in.get<uint64_t>();
  WireKernelNode w;
  read_node_params(ctx, &w);
  ctx.in.expect_end();
  auto fn = real<decltype(&::cuGraphExecKernelNodeSetParams)>(
      ctx, "cuGraphExecKernelNodeSetParams_v2");
  CUgraphExec e;
  CUgraphNode n;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!graphexec_in(ctx, eid, &e) || !graphnode_in(ctx, nid, &n) ||
      !resolve_node_params(ctx, &w, &p) || !fn)
    return;
  ctx.status = fn(e, n, &p);
}

void handle_cuGraphAddEmptyNode(CallContext& ctx) {
  Head h = read_head(ctx);
  ctx.in.expect_end();
  auto fn = real<decltype(&::cuGraphAddEmptyNode)>(ctx, "cuGraphAddEmptyNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head...); });
}

void handle_cuGraphAddMemsetNode(CallContext& ctx) {
  Head h = read_head(ctx);
  const CUDA_MEMSET_NODE_PARAMS p = ctx.in.get<CUDA_MEMSET_NODE_PARAMS>();
  const uint64_t cid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUcontext c;
  if (!context_in(ctx, cid, &c)) return;
  auto fn = real<decltype(&::cuGraphAddMemsetNode)>(ctx, "cuGraphAddMemsetNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head..., &p, c); });
}

void handle_cuGraphAddChildGraphNode(CallContext& ctx) {
  Head h = read_head(ctx);
  const uint64_t child = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUgraph c;
  if (!graph_in(ctx, child, &c)) return;
  auto fn = real<decltype(&::cuGraphAddChildGraphNode)>(ctx, "cuGraphAddChildGraphNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head..., c); });
}

void handle_cuGraphAddEventRecordNode(CallContext& ctx) {
  Head h = read_head(ctx);
  const uint64_t eid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUevent e;
  if (!event_in(ctx, eid, &e)) return;
  auto fn = real<decltype(&::cuGraphAddEventRecordNode)>(ctx, "cuGraphAddEventRecordNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head..., e); });
}

void handle_cuGraphAddEventWaitNode(CallContext& ctx) {
  Head h = read_head(ctx);
  const uint64_t eid = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  CUevent e;
  if (!event_in(ctx, eid, &e)) return;
  auto fn = real<decltype(&::cuGraphAddEventWaitNode)>(ctx, "cuGraphAddEventWaitNode");
  add_node(ctx, h, fn != nullptr, [&](auto... head) { return fn(head..., e); });
}

void handle_cuGraphGetNodes(CallContext& ctx) {
  node_list(ctx, real<decltype(&::cuGraphGetNodes)>(ctx, "cuGraphGetNodes"));
}

void handle_cuGraphGetRootNodes(CallContext& ctx) {
  node_list(ctx, real<decltype(&::cuGraphGetRootNodes)>(ctx, "cuGraphGetRootNodes"));
}

void handle_cuGraphAddDependencies_v2(CallContext& ctx) {
  dependencies(ctx, real<decltype(&::cuGraphAddDependencies)>(ctx, "cuGraphAddDependencies_v2"));
}

void handle_cuGraphRemoveDependencies_v2(CallContext& ctx) {
  dependencies(ctx,
               real<decltype(&::cuGraphRemoveDependencies)>(ctx, "cuGraphRemoveDependencies_v2"));
}

}  // namespace gvirtus::backend::cuda
