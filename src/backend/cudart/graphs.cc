// Explicit graph construction and queries, the hand-written part (api/cudart.api 1600-1699;
// the plain ones are generated). Client side: src/frontend/cudart/graphs.cc; payloads in
// docs/protocol.md. Graphs, nodes and executable graphs are handles (cudart/graphs.h); device
// pointers are raw values; host pointers never reach a node (memcpy nodes are device-to-device,
// host nodes run the client's function through the callback hub).
#include <cuda.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cudart/callbacks.h"
#include "backend/cudart/graphs.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

// Bounds on what one request may name; an honest client stays far below.
constexpr uint32_t kMaxNodeList = 1u << 20;
constexpr uint64_t kMaxDotBytes = 32u << 20;

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

uint32_t read_count(CallContext& ctx, const char* what) {
  uint32_t n = ctx.in.get<uint32_t>();
  if (n > kMaxNodeList) throw SessionFault(std::string(what) + ": " + std::to_string(n) + " nodes");
  return n;
}

// A list of node ids -> nodes. Ids are read first (the whole request is decoded before any
// handle is translated, so a short payload is always a DecodeError).
std::vector<uint64_t> read_ids(CallContext& ctx, uint32_t n) {
  std::vector<uint64_t> ids(n);
  for (auto& id : ids) id = ctx.in.get<uint64_t>();
  return ids;
}
bool nodes_in(CallContext& ctx, const std::vector<uint64_t>& ids,
              std::vector<cudaGraphNode_t>* out) {
  out->resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (!graphnode_in(ctx, ids[i], &(*out)[i])) return false;
  return true;
}

// The part every cudaGraphAdd*Node request starts with: u64 graph, u32 n, n × u64 node.
struct AddHead {
  uint64_t graph = 0;
  std::vector<uint64_t> deps;
};
AddHead read_head(CallContext& ctx) {
  AddHead h;
  h.graph = ctx.in.get<uint64_t>();
  h.deps = read_ids(ctx, read_count(ctx, "dependencies"));
  return h;
}
struct Resolved {
  cudaGraph_t graph = nullptr;
  std::vector<cudaGraphNode_t> deps;
  const cudaGraphNode_t* dep_ptr() const { return deps.empty() ? nullptr : deps.data(); }
};
bool resolve_head(CallContext& ctx, const AddHead& h, Resolved* r) {
  return graph_in(ctx, h.graph, &r->graph) && nodes_in(ctx, h.deps, &r->deps);
}
// Runs add(&node, graph, deps, count) — a cudaGraphAdd*Node with its own arguments bound — and
// replies with the new node. The node is read only after the call returned (an argument list
// that passes both &node to the call and node to the reply may read it first).
template <typename Add>
void add_and_reply(CallContext& ctx, const Resolved& r, Add add) {
  cudaGraphNode_t node = nullptr;
  const auto e = static_cast<cudaError_t>(add(&node, r.graph, r.dep_ptr(), r.deps.size()));
  ctx.status = e;
  if (e == cudaSuccess) ctx.out.put<uint64_t>(graphnode_out(ctx, node));
}

// Kernel node parameters on the wire: u64 kernel id, dim3 grid, dim3 block, u32 shared
// memory, u32 n, n argument bytes.
struct WireKernel {
  uint64_t kernel = 0;
  dim3 grid, block;
  uint32_t shmem = 0;
  uint32_t n = 0;
  const uint8_t* bytes = nullptr;
};
WireKernel read_kernel(CallContext& ctx) {
  WireKernel k;
  k.kernel = ctx.in.get<uint64_t>();
  k.grid = ctx.in.get<dim3>();
  k.block = ctx.in.get<dim3>();
  k.shmem = ctx.in.get<uint32_t>();
  k.n = ctx.in.get<uint32_t>();
  k.bytes = ctx.in.get_bytes(k.n);
  return k;
}
// Kernel nodes go through the driver's graph API, which takes the kernel's function in the
// current context (cuKernelGetFunction of the cudaKernel_t from cudaLibraryLoadData).
// cudaGraph_t / CUgraph, cudaGraphNode_t / CUgraphNode, cudaGraphExec_t / CUgraphExec and
// cudaKernel_t / CUkernel are the same objects; CUresult codes equal the runtime's for the
// errors these calls give (invalid value, handle, context).
struct DriverGraph {
  CUresult (*ctx_get_current)(CUcontext*) = nullptr;
  CUresult (*kernel_get_function)(CUfunction*, CUkernel) = nullptr;
  CUresult (*add_kernel_node)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t,
                              const CUDA_KERNEL_NODE_PARAMS*) = nullptr;
  CUresult (*kernel_node_set_params)(CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*) = nullptr;
  CUresult (*exec_kernel_node_set_params)(CUgraphExec, CUgraphNode,
                                          const CUDA_KERNEL_NODE_PARAMS*) = nullptr;
  cudaError_t error = cudaSuccess;
};

const DriverGraph& driver_graph() {
  static const DriverGraph d = [] {
    DriverGraph g;
    cudaError_t e = driver_entry("cuCtxGetCurrent", &g.ctx_get_current);
    if (e == cudaSuccess) e = driver_entry("cuKernelGetFunction", &g.kernel_get_function);
    if (e == cudaSuccess) e = driver_entry("cuGraphAddKernelNode", &g.add_kernel_node);
    if (e == cudaSuccess) e = driver_entry("cuGraphKernelNodeSetParams", &g.kernel_node_set_params);
    if (e == cudaSuccess)
      e = driver_entry("cuGraphExecKernelNodeSetParams", &g.exec_kernel_node_set_params);
    g.error = e;
    return g;
  }();
  return d;
}

bool kernel_params_in(CallContext& ctx, const WireKernel& w, KernelArgs* args,
                      CUDA_KERNEL_NODE_PARAMS* p) {
  cudaKernel_t k = nullptr;
  if (!kernel_args_in(ctx, w.kernel, w.bytes, w.n, &k, args)) return false;
  const DriverGraph& d = driver_graph();
  if (d.error != cudaSuccess) {
    ctx.status = d.error;
    return false;
  }
  // The driver calls need the context current on this thread; a server thread that has made no
  // runtime call yet has none, and cudaFree(NULL) makes the runtime set it up.
  CUcontext cur = nullptr;
  if (d.ctx_get_current(&cur) != CUDA_SUCCESS || cur == nullptr) {
    cudaError_t e = cudaFree(nullptr);
    if (e != cudaSuccess) {
      ctx.status = e;
      return false;
    }
  }
  CUfunction f = nullptr;
  CUresult r = d.kernel_get_function(&f, reinterpret_cast<CUkernel>(k));
  if (r != CUDA_SUCCESS) {
    ctx.status = static_cast<int32_t>(r);
    return false;
  }
  *p = CUDA_KERNEL_NODE_PARAMS{};
  p->func = f;
  p->gridDimX = w.grid.x;
  p->gridDimY = w.grid.y;
  p->gridDimZ = w.grid.z;
  p->blockDimX = w.block.x;
  p->blockDimY = w.block.y;
  p->blockDimZ = w.block.z;
  p->sharedMemBytes = w.shmem;
  p->kernelParams = args->data();
  return true;
}

// Edge lists: u32 n, n × (u64 from, u64 to), u8 edge data present, n × cudaGraphEdgeData.
void dependencies(CallContext& ctx, bool add) {
  uint64_t graph = ctx.in.get<uint64_t>();
  uint32_t n = read_count(ctx, "edges");
  std::vector<uint64_t> from(n), to(n);
  for (uint32_t i = 0; i < n; ++i) {
    from[i] = ctx.in.get<uint64_t>();
    to[i] = ctx.in.get<uint64_t>();
  }
  std::vector<cudaGraphEdgeData> data;
  if (ctx.in.get<uint8_t>()) {
    data.resize(n);
    if (n) std::memcpy(data.data(), ctx.in.get_bytes(n * sizeof(cudaGraphEdgeData)),
                       n * sizeof(cudaGraphEdgeData));
  }
  ctx.in.expect_end();
  cudaGraph_t g;
  std::vector<cudaGraphNode_t> f, t;
  if (!graph_in(ctx, graph, &g) || !nodes_in(ctx, from, &f) || !nodes_in(ctx, to, &t)) return;
  const cudaGraphEdgeData* d = data.empty() ? nullptr : data.data();
  ctx.status = add ? cudaGraphAddDependencies(g, f.data(), t.data(), d, n)
                   : cudaGraphRemoveDependencies(g, f.data(), t.data(), d, n);
}

// GetNodes / GetRootNodes: u64 graph, u8 want the nodes, u64 capacity. Reply: u64 count, then
// (with the nodes) min(count, capacity) node ids.
template <typename F>
void node_list(CallContext& ctx, F query) {
  uint64_t graph = ctx.in.get<uint64_t>();
  bool want = ctx.in.get<uint8_t>() != 0;
  uint64_t cap = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (want && cap > kMaxNodeList) throw SessionFault("node list of " + std::to_string(cap));
  cudaGraph_t g;
  if (!graph_in(ctx, graph, &g)) return;
  std::vector<cudaGraphNode_t> nodes(want ? (cap ? cap : 1) : 0);  // never NULL when wanted
  size_t count = static_cast<size_t>(cap);
  ctx.status = query(g, want ? nodes.data() : nullptr, &count);
  if (ctx.status != cudaSuccess) return;
  ctx.out.put<uint64_t>(count);
  if (want)
    for (size_t i = 0; i < count && i < cap; ++i)
      ctx.out.put<uint64_t>(graphnode_out(ctx, nodes[i]));
}

}  // namespace

void handle_cudaGraphAddEmptyNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  ctx.in.expect_end();
  Resolved r;
  if (!resolve_head(ctx, h, &r)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddEmptyNode(head...); });
}

void handle_cudaGraphAddKernelNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  WireKernel w = read_kernel(ctx);
  ctx.in.expect_end();
  Resolved r;
  if (!resolve_head(ctx, h, &r)) return;
  KernelArgs args;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!kernel_params_in(ctx, w, &args, &p)) return;
  add_and_reply(ctx, r,
                [&](auto... head) { return driver_graph().add_kernel_node(head..., &p); });
}

void handle_cudaGraphAddMemcpyNode1D(CallContext& ctx) {
  AddHead h = read_head(ctx);
  uint64_t dst = ctx.in.get<uint64_t>();
  uint64_t src = ctx.in.get<uint64_t>();
  uint64_t count = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  if (!resolve_head(ctx, h, &r)) return;
  add_and_reply(ctx, r, [&](auto... head) {
    return cudaGraphAddMemcpyNode1D(head..., dptr(dst), dptr(src), static_cast<size_t>(count),
                                    cudaMemcpyDeviceToDevice);
  });
}

void handle_cudaGraphAddMemcpyNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  cudaMemcpy3DParms p = {};
  p.dstPtr.ptr = dptr(ctx.in.get<uint64_t>());
  p.dstPtr.pitch = ctx.in.get<uint64_t>();
  p.dstPtr.xsize = ctx.in.get<uint64_t>();
  p.dstPtr.ysize = ctx.in.get<uint64_t>();
  p.srcPtr.ptr = dptr(ctx.in.get<uint64_t>());
  p.srcPtr.pitch = ctx.in.get<uint64_t>();
  p.srcPtr.xsize = ctx.in.get<uint64_t>();
  p.srcPtr.ysize = ctx.in.get<uint64_t>();
  p.dstPos = ctx.in.get<cudaPos>();
  p.srcPos = ctx.in.get<cudaPos>();
  p.extent = ctx.in.get<cudaExtent>();
  p.kind = cudaMemcpyDeviceToDevice;
  ctx.in.expect_end();
  Resolved r;
  if (!resolve_head(ctx, h, &r)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddMemcpyNode(head..., &p); });
}

void handle_cudaGraphAddMemsetNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  cudaMemsetParams p = {};
  p.dst = dptr(ctx.in.get<uint64_t>());
  p.pitch = ctx.in.get<uint64_t>();
  p.value = ctx.in.get<uint32_t>();
  p.elementSize = ctx.in.get<uint32_t>();
  p.width = ctx.in.get<uint64_t>();
  p.height = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  if (!resolve_head(ctx, h, &r)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddMemsetNode(head..., &p); });
}

void handle_cudaGraphAddHostNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  uint64_t fn = ctx.in.get<uint64_t>();
  uint64_t user = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  cudaHostNodeParams p;
  if (!resolve_head(ctx, h, &r) || !host_node_params(ctx, fn, user, &p)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddHostNode(head..., &p); });
}

void handle_cudaGraphAddChildGraphNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  uint64_t child = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  cudaGraph_t c;
  if (!resolve_head(ctx, h, &r) || !graph_in(ctx, child, &c)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddChildGraphNode(head..., c); });
}

void handle_cudaGraphAddEventRecordNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  uint64_t event = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  cudaEvent_t e;
  if (!resolve_head(ctx, h, &r) || !event_in(ctx, event, &e)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddEventRecordNode(head..., e); });
}

void handle_cudaGraphAddEventWaitNode(CallContext& ctx) {
  AddHead h = read_head(ctx);
  uint64_t event = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  Resolved r;
  cudaEvent_t e;
  if (!resolve_head(ctx, h, &r) || !event_in(ctx, event, &e)) return;
  add_and_reply(ctx, r, [&](auto... head) { return cudaGraphAddEventWaitNode(head..., e); });
}

void handle_cudaGraphAddDependencies(CallContext& ctx) { dependencies(ctx, true); }
void handle_cudaGraphRemoveDependencies(CallContext& ctx) { dependencies(ctx, false); }

void handle_cudaGraphGetNodes(CallContext& ctx) { node_list(ctx, cudaGraphGetNodes); }
void handle_cudaGraphGetRootNodes(CallContext& ctx) { node_list(ctx, cudaGraphGetRootNodes); }

namespace {

// The edge queries (cudaGraphGetEdges, cudaGraphNodeGetDependencies, GetDependentNodes): u64
// graph or node, u8 want the edges, u64 capacity, u8 want edge data. Reply: u64 count, then
// (with the edges) min(count, capacity) × the edge's nodes (from and to; or the one other node),
// then (with edge data) as many cudaGraphEdgeData.
struct EdgeQuery {
  uint64_t object = 0;
  bool want = false;
  uint64_t cap = 0;
  bool want_data = false;
  // What the runtime fills: `width` node lists and the edge data, never NULL when wanted.
  std::vector<cudaGraphNode_t> lists[2];
  std::vector<cudaGraphEdgeData> data;
  int width = 1;

  // `what` names the list in the fault of a capacity over the bound.
  EdgeQuery(CallContext& ctx, int w, const char* what) : width(w) {
    object = ctx.in.get<uint64_t>();
    want = ctx.in.get<uint8_t>() != 0;
    cap = ctx.in.get<uint64_t>();
    want_data = ctx.in.get<uint8_t>() != 0;
    ctx.in.expect_end();
    if (want && cap > kMaxNodeList)
      throw SessionFault(std::string(what) + " of " + std::to_string(cap));
    const size_t room = want ? (cap ? cap : 1) : 0;
    for (int l = 0; l < width; ++l) lists[l].resize(room);
    data.resize(want_data ? room : 0);
  }
  cudaGraphNode_t* list(int l) { return want ? lists[l].data() : nullptr; }
  cudaGraphEdgeData* edge_data() { return want && want_data ? data.data() : nullptr; }

  // The reply, once the runtime said `count`.
  void reply(CallContext& ctx, size_t count) {
    ctx.out.put<uint64_t>(count);
    if (!want) return;
    size_t k = count < cap ? count : static_cast<size_t>(cap);
    for (size_t i = 0; i < k; ++i)
      for (int l = 0; l < width; ++l) ctx.out.put<uint64_t>(graphnode_out(ctx, lists[l][i]));
    if (want_data && k) ctx.out.put_bytes(data.data(), k * sizeof(cudaGraphEdgeData));
  }
};

// A node's edges one way: cudaGraphNodeGetDependencies or cudaGraphNodeGetDependentNodes.
template <typename F>
void node_edges(CallContext& ctx, F query) {
  EdgeQuery q(ctx, 1, "node list");
  cudaGraphNode_t n;
  if (!graphnode_in(ctx, q.object, &n)) return;
  size_t count = static_cast<size_t>(q.cap);
  ctx.status = query(n, q.list(0), q.edge_data(), &count);
  if (ctx.status == cudaSuccess) q.reply(ctx, count);
}

}  // namespace

void handle_cudaGraphGetEdges(CallContext& ctx) {
  EdgeQuery q(ctx, 2, "edge list");
  cudaGraph_t g;
  if (!graph_in(ctx, q.object, &g)) return;
  size_t count = static_cast<size_t>(q.cap);
  ctx.status = cudaGraphGetEdges(g, q.list(0), q.list(1), q.edge_data(), &count);
  if (ctx.status == cudaSuccess) q.reply(ctx, count);
}

void handle_cudaGraphNodeGetDependencies(CallContext& ctx) {
  node_edges(ctx, cudaGraphNodeGetDependencies);
}
void handle_cudaGraphNodeGetDependentNodes(CallContext& ctx) {
  node_edges(ctx, cudaGraphNodeGetDependentNodes);
}

// u64 node, then kernel parameters as in cudaGraphAddKernelNode.
void handle_cudaGraphKernelNodeSetParams(CallContext& ctx) {
  uint64_t node = ctx.in.get<uint64_t>();
  WireKernel w = read_kernel(ctx);
  ctx.in.expect_end();
  cudaGraphNode_t n;
  if (!graphnode_in(ctx, node, &n)) return;
  KernelArgs args;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!kernel_params_in(ctx, w, &args, &p)) return;
  ctx.status = static_cast<cudaError_t>(driver_graph().kernel_node_set_params(n, &p));
}

// u64 exec, u64 node, then kernel parameters as in cudaGraphAddKernelNode.
void handle_cudaGraphExecKernelNodeSetParams(CallContext& ctx) {
  uint64_t exec = ctx.in.get<uint64_t>();
  uint64_t node = ctx.in.get<uint64_t>();
  WireKernel w = read_kernel(ctx);
  ctx.in.expect_end();
  cudaGraphExec_t x;
  cudaGraphNode_t n;
  if (!graphexec_in(ctx, exec, &x) || !graphnode_in(ctx, node, &n)) return;
  KernelArgs args;
  CUDA_KERNEL_NODE_PARAMS p;
  if (!kernel_params_in(ctx, w, &args, &p)) return;
  ctx.status = static_cast<cudaError_t>(driver_graph().exec_kernel_node_set_params(x, n, &p));
}

// u64 exec, u64 graph. Reply (whatever the status, as the runtime fills it on failure too):
// i32 result, u64 error node, u64 error-from node.
void handle_cudaGraphExecUpdate(CallContext& ctx) {
  uint64_t exec = ctx.in.get<uint64_t>();
  uint64_t graph = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaGraphExec_t x;
  cudaGraph_t g;
  if (!graphexec_in(ctx, exec, &x) || !graph_in(ctx, graph, &g)) return;
  cudaGraphExecUpdateResultInfo info = {};
  ctx.status = cudaGraphExecUpdate(x, g, &info);
  ctx.out.put<int32_t>(info.result);
  ctx.out.put<uint64_t>(info.errorNode ? graphnode_out(ctx, info.errorNode) : 0);
  ctx.out.put<uint64_t>(info.errorFromNode ? graphnode_out(ctx, info.errorFromNode) : 0);
}

// u64 graph, u64 flags, u64 upload stream. Reply (whatever the status): u64 exec id (0 on
// failure), u64 error node, i32 result.
void handle_cudaGraphInstantiateWithParams(CallContext& ctx) {
  uint64_t graph = ctx.in.get<uint64_t>();
  uint64_t flags = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaGraph_t g;
  cudaStream_t s;
  if (!graph_in(ctx, graph, &g) || !stream_in(ctx, stream, &s)) return;
  cudaGraphInstantiateParams p = {};
  p.flags = flags;
  p.uploadStream = s;
  cudaGraphExec_t exec = nullptr;
  ctx.status = cudaGraphInstantiateWithParams(&exec, g, &p);
  ctx.out.put<uint64_t>(ctx.status == cudaSuccess ? graphexec_out(ctx, exec) : 0);
  ctx.out.put<uint64_t>(p.errNode_out ? graphnode_out(ctx, p.errNode_out) : 0);
  ctx.out.put<int32_t>(p.result_out);
}

// u64 graph, u32 flags. Reply: the DOT text (the rest of the payload). The path is the
// client's: the worker writes a private temporary file, and the client writes the text there.
void handle_cudaGraphDebugDotPrint(CallContext& ctx) {
  uint64_t graph = ctx.in.get<uint64_t>();
  uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  cudaGraph_t g;
  if (!graph_in(ctx, graph, &g)) return;
  char path[] = "/tmp/gvirtus-dot-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    ctx.status = cudaErrorOperatingSystem;
    return;
  }
  ctx.status = cudaGraphDebugDotPrint(g, path, flags);
  std::string text;
  if (ctx.status == cudaSuccess) {
    char buf[65536];
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0 && text.size() < kMaxDotBytes)
      text.append(buf, static_cast<size_t>(r));
    if (r < 0 || text.size() > kMaxDotBytes) ctx.status = cudaErrorOperatingSystem;
  }
  ::close(fd);
  ::unlink(path);
  if (ctx.status == cudaSuccess) ctx.out.put_bytes(text.data(), text.size());
}

}  // namespace gvirtus::backend::cudart
