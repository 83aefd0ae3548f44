// The driver's graph calls that carry node lists: adding empty, memset, child-graph and event
// nodes, the node lists of a graph, and edges. Node ids travel as arrays. Wire:
// src/backend/cuda/graphs.cc.
#include <memory>
#include <vector>

#include "frontend/cuda/graph_host_nodes.h"
#include "frontend/cuda/kernel_args.h"
#include "frontend/cuda/local.h"
#include "frontend/cuda/memory.h"
#include "frontend/cuda/runtime_code.h"
#include "frontend/cudart/graph_host.h"

namespace gvirtus::cuda {
namespace {

// The worker's bound on one request's node list (backend/cuda/graphs.cc); beyond it the driver
// would answer, here the call is refused before anything is sent.
constexpr size_t kMaxNodeList = size_t{1} << 16;

CUresult put_head(client::Call& c, CUgraph g, const CUgraphNode* deps, size_t n) {
  if (n > kMaxNodeList) return refuse("cuGraphAdd*Node", "more than 65536 dependencies");
  if (n && !deps) return CUDA_ERROR_INVALID_VALUE;
  c.args().put<uint64_t>(to_wire(g));
  c.args().put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) c.args().put<uint64_t>(to_wire(deps[i]));
  return CUDA_SUCCESS;
}

template <typename Fields>
CUresult add(Call call, CUgraphNode* out, CUgraph g, const CUgraphNode* deps, size_t n,
             Fields fields) {
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  client::Call c(id(call));
  CUresult e = put_head(c, g, deps, n);
  if (e != CUDA_SUCCESS) return e;
  fields(c.args());
  if (!c.invoke()) return lost();
  e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  const uint64_t node = c.result().get<uint64_t>();
  c.result().expect_end();
  *out = from_wire<CUgraphNode>(node);
  return CUDA_SUCCESS;
}

CUresult node_list(Call call, CUgraph g, CUgraphNode* nodes, size_t* count) {
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  const bool want = nodes != nullptr;
  if (want && *count > kMaxNodeList) return refuse("cuGraphGetNodes", "more than 65536 nodes");
  client::Call c(id(call));
  c.args().put<uint64_t>(to_wire(g));
  c.args().put<uint8_t>(want ? 1 : 0);
  c.args().put<uint64_t>(want ? *count : 0);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  wire::Reader& r = c.result();
  const uint64_t n = r.get<uint64_t>();
  if (want) {
    const uint64_t got = n < *count ? n : *count;
    std::vector<CUgraphNode> ids(got);
    for (auto& id : ids) id = from_wire<CUgraphNode>(r.get<uint64_t>());
    r.expect_end();
    for (uint64_t i = 0; i < got; ++i) nodes[i] = ids[i];
  } else {
    r.expect_end();
  }
  *count = static_cast<size_t>(n);
  return CUDA_SUCCESS;
}

CUresult edges(Call call, CUgraph g, const CUgraphNode* from, const CUgraphNode* to,
               const CUgraphEdgeData* data, size_t n) {
  if (n > kMaxNodeList) return refuse("cuGraphAddDependencies", "more than 65536 edges");
  if (n && (!from || !to)) return CUDA_ERROR_INVALID_VALUE;
  client::Call c(id(call));
  c.args().put<uint64_t>(to_wire(g));
  c.args().put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    c.args().put<uint64_t>(to_wire(from[i]));
    c.args().put<uint64_t>(to_wire(to[i]));
  }
  c.args().put<uint8_t>(data ? 1 : 0);
  if (data)
    for (size_t i = 0; i < n; ++i) c.args().put<CUgraphEdgeData>(data[i]);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e == CUDA_SUCCESS) c.result().expect_end();
  return e;
}

// Kernel node parameters: the function (or the kernel, with its context), the geometry and
// the arguments as a launch sends them.
CUresult put_kernel_node(wire::Writer& w, const CUDA_KERNEL_NODE_PARAMS* p) {
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  const bool kernel = p->func == nullptr;
  const CUfunction f = kernel ? reinterpret_cast<CUfunction>(p->kern) : p->func;
  if (!f) return CUDA_ERROR_INVALID_VALUE;
  w.put<uint64_t>(to_wire(f));
  w.put<uint64_t>(kernel ? to_wire(p->ctx) : 0);
  for (unsigned v : {p->gridDimX, p->gridDimY, p->gridDimZ}) w.put<uint32_t>(v);
  for (unsigned v : {p->blockDimX, p->blockDimY, p->blockDimZ}) w.put<uint32_t>(v);
  w.put<uint32_t>(p->sharedMemBytes);
  return put_kernel_args(w, f, p->kernelParams, p->extra);
}

// A graph memcpy node's copy: device and array sides only; cuGraphAddMemcpyNode stages a host
// side (graph_host_nodes.h), the SetParams calls refuse one (the staging buffers are fixed when
// the node is made). Arrays travel as their ids, in the struct.
CUresult check_memcpy_node(const char* fn, const CUDA_MEMCPY3D* p) {
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  if (p->srcMemoryType == CU_MEMORYTYPE_HOST || p->dstMemoryType == CU_MEMORYTYPE_HOST)
    return refuse(fn, "host memory in a graph memcpy node (it would be read or written when the "
                      "graph runs, on the GPU host)");
  return CUDA_SUCCESS;
}

// A CU_MEMORYTYPE_UNIFIED side as host or device memory, as cuMemcpy decides it.
template <typename HostPtr>
CUresult resolve_unified(CUmemorytype* type, HostPtr* host, CUdeviceptr device) {
  if (*type != CU_MEMORYTYPE_UNIFIED) return CUDA_SUCCESS;
  bool on_dev = false;
  CUresult e = pointer_on_device(device, &on_dev);
  if (e != CUDA_SUCCESS) return e;
  *type = on_dev ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  if (!on_dev) *host = reinterpret_cast<HostPtr>(static_cast<uintptr_t>(device));
  return CUDA_SUCCESS;
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuGraphAddEmptyNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                       size_t n) {
  return guarded("cuGraphAddEmptyNode", [&] {
    return add(Call::kCall_cuGraphAddEmptyNode, out, g, deps, n, [](wire::Writer&) {});
  });
}

GV_EXPORT CUresult cuGraphAddKernelNode_v2(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                           size_t n, const CUDA_KERNEL_NODE_PARAMS* p) {
  return guarded("cuGraphAddKernelNode_v2", [&]() -> CUresult {
    if (!out) return CUDA_ERROR_INVALID_VALUE;
    client::Call c(id(Call::kCall_cuGraphAddKernelNode_v2));
    CUresult e = put_head(c, g, deps, n);
    if (e == CUDA_SUCCESS) e = put_kernel_node(c.args(), p);
    if (e != CUDA_SUCCESS) return e;
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e != CUDA_SUCCESS) return e;
    const uint64_t node = c.result().get<uint64_t>();
    c.result().expect_end();
    *out = from_wire<CUgraphNode>(node);
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuGraphKernelNodeSetParams_v2(CUgraphNode node,
                                                 const CUDA_KERNEL_NODE_PARAMS* p) {
  return guarded("cuGraphKernelNodeSetParams_v2", [&]() -> CUresult {
    client::Call c(id(Call::kCall_cuGraphKernelNodeSetParams_v2));
    c.args().put<uint64_t>(to_wire(node));
    CUresult e = put_kernel_node(c.args(), p);
    if (e != CUDA_SUCCESS) return e;
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == CUDA_SUCCESS) c.result().expect_end();
    return e;
  });
}

GV_EXPORT CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec exec, CUgraphNode node,
                                                     const CUDA_KERNEL_NODE_PARAMS* p) {
  return guarded("cuGraphExecKernelNodeSetParams_v2", [&]() -> CUresult {
    client::Call c(id(Call::kCall_cuGraphExecKernelNodeSetParams_v2));
    c.args().put<uint64_t>(to_wire(exec));
    c.args().put<uint64_t>(to_wire(node));
    CUresult e = put_kernel_node(c.args(), p);
    if (e != CUDA_SUCCESS) return e;
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == CUDA_SUCCESS) c.result().expect_end();
    return e;
  });
}

GV_EXPORT CUresult cuGraphAddMemcpyNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                        size_t n, const CUDA_MEMCPY3D* p, CUcontext ctx) {
  return guarded("cuGraphAddMemcpyNode", [&]() -> CUresult {
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    // A host side: a staged node of the runtime's (graph_host_nodes.h).
    CUDA_MEMCPY3D q = *p;
    CUresult e = resolve_unified(&q.srcMemoryType, &q.srcHost, q.srcDevice);
    if (e == CUDA_SUCCESS) e = resolve_unified(&q.dstMemoryType, &q.dstHost, q.dstDevice);
    if (e != CUDA_SUCCESS) return e;
    StagedEnds ends;
    e = staged_ends(q, &ends);
    if (ends.refusal) return refuse("cuGraphAddMemcpyNode", ends.refusal);
    if (e != CUDA_SUCCESS) return e;
    if (ends.staged) {
      if (!out || (n && !deps)) return CUDA_ERROR_INVALID_VALUE;
      auto host = std::make_shared<cudart::graph_host::HostEnd>(ends.host);
      return from_runtime_code(
          cudart::graph_host::add_memcpy_node(out, g, deps, n, ends.dev, std::move(host)));
    }
    e = check_memcpy_node("cuGraphAddMemcpyNode", p);
    if (e != CUDA_SUCCESS) return e;
    return add(Call::kCall_cuGraphAddMemcpyNode, out, g, deps, n, [&](wire::Writer& w) {
      w.put<CUDA_MEMCPY3D>(*p);
      w.put<uint64_t>(to_wire(ctx));
    });
  });
}

GV_EXPORT CUresult cuGraphMemcpyNodeSetParams(CUgraphNode node, const CUDA_MEMCPY3D* p) {
  return guarded("cuGraphMemcpyNodeSetParams", [&]() -> CUresult {
    CUresult e = check_memcpy_node("cuGraphMemcpyNodeSetParams", p);
    if (e != CUDA_SUCCESS) return e;
    client::Call c(id(Call::kCall_cuGraphMemcpyNodeSetParams));
    c.args().put<uint64_t>(to_wire(node));
    c.args().put<CUDA_MEMCPY3D>(*p);
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == CUDA_SUCCESS) c.result().expect_end();
    return e;
  });
}

GV_EXPORT CUresult cuGraphExecMemcpyNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                                  const CUDA_MEMCPY3D* p, CUcontext ctx) {
  return guarded("cuGraphExecMemcpyNodeSetParams", [&]() -> CUresult {
    CUresult e = check_memcpy_node("cuGraphExecMemcpyNodeSetParams", p);
    if (e != CUDA_SUCCESS) return e;
    client::Call c(id(Call::kCall_cuGraphExecMemcpyNodeSetParams));
    c.args().put<uint64_t>(to_wire(exec));
    c.args().put<uint64_t>(to_wire(node));
    c.args().put<CUDA_MEMCPY3D>(*p);
    c.args().put<uint64_t>(to_wire(ctx));
    if (!c.invoke()) return lost();
    e = finish(c);
    if (e == CUDA_SUCCESS) c.result().expect_end();
    return e;
  });
}

GV_EXPORT CUresult cuGraphMemcpyNodeGetParams(CUgraphNode node, CUDA_MEMCPY3D* p) {
  return guarded("cuGraphMemcpyNodeGetParams", [&]() -> CUresult {
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    client::Call c(id(Call::kCall_cuGraphMemcpyNodeGetParams));
    c.args().put<uint64_t>(to_wire(node));
    return invoke_for(c, p);
  });
}

GV_EXPORT CUresult cuGraphExecUpdate_v2(CUgraphExec exec, CUgraph g,
                                        CUgraphExecUpdateResultInfo* info) {
  return guarded("cuGraphExecUpdate_v2", [&]() -> CUresult {
    client::Call c(id(Call::kCall_cuGraphExecUpdate_v2));
    c.args().put<uint64_t>(to_wire(exec));
    c.args().put<uint64_t>(to_wire(g));
    c.args().put<uint8_t>(info ? 1 : 0);
    if (!c.invoke()) return lost();
    const CUresult e = finish(c);
    wire::Reader& r = c.result();
    if (info && r.remaining() > 0) {  // nothing comes back for a stale id or without a driver
      CUgraphExecUpdateResultInfo got{};
      got.result = static_cast<CUgraphExecUpdateResult>(r.get<int32_t>());
      got.errorNode = from_wire<CUgraphNode>(r.get<uint64_t>());
      got.errorFromNode = from_wire<CUgraphNode>(r.get<uint64_t>());
      *info = got;
    }
    r.expect_end();
    // The executable graph's staged nodes now use `g`'s buffers (graph_host_hooks.h).
    if (e == CUDA_SUCCESS) cudart::graph_host::exec_updated(exec, g);
    return e;
  });
}

GV_EXPORT CUresult cuGraphAddMemsetNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                        size_t n, const CUDA_MEMSET_NODE_PARAMS* p,
                                        CUcontext ctx) {
  return guarded("cuGraphAddMemsetNode", [&]() -> CUresult {
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    return add(Call::kCall_cuGraphAddMemsetNode, out, g, deps, n, [&](wire::Writer& w) {
      w.put<CUDA_MEMSET_NODE_PARAMS>(*p);
      w.put<uint64_t>(to_wire(ctx));
    });
  });
}

GV_EXPORT CUresult cuGraphAddChildGraphNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                            size_t n, CUgraph child) {
  return guarded("cuGraphAddChildGraphNode", [&] {
    CUresult e = add(Call::kCall_cuGraphAddChildGraphNode, out, g, deps, n,
                     [&](wire::Writer& w) { w.put<uint64_t>(to_wire(child)); });
    // The child is copied into the node, its host sides with it (graph_host_hooks.h).
    if (e == CUDA_SUCCESS) cudart::graph_host::child_added(g, *out, child);
    return e;
  });
}

GV_EXPORT CUresult cuGraphAddEventRecordNode(CUgraphNode* out, CUgraph g,
                                             const CUgraphNode* deps, size_t n, CUevent e) {
  return guarded("cuGraphAddEventRecordNode", [&] {
    return add(Call::kCall_cuGraphAddEventRecordNode, out, g, deps, n,
               [&](wire::Writer& w) { w.put<uint64_t>(to_wire(e)); });
  });
}

GV_EXPORT CUresult cuGraphAddEventWaitNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                           size_t n, CUevent e) {
  return guarded("cuGraphAddEventWaitNode", [&] {
    return add(Call::kCall_cuGraphAddEventWaitNode, out, g, deps, n,
               [&](wire::Writer& w) { w.put<uint64_t>(to_wire(e)); });
  });
}

GV_EXPORT CUresult cuGraphGetNodes(CUgraph g, CUgraphNode* nodes, size_t* count) {
  return guarded("cuGraphGetNodes",
                 [&] { return node_list(Call::kCall_cuGraphGetNodes, g, nodes, count); });
}

GV_EXPORT CUresult cuGraphGetRootNodes(CUgraph g, CUgraphNode* nodes, size_t* count) {
  return guarded("cuGraphGetRootNodes",
                 [&] { return node_list(Call::kCall_cuGraphGetRootNodes, g, nodes, count); });
}

GV_EXPORT CUresult cuGraphAddDependencies_v2(CUgraph g, const CUgraphNode* from,
                                             const CUgraphNode* to, const CUgraphEdgeData* data,
                                             size_t n) {
  return guarded("cuGraphAddDependencies_v2", [&] {
    return edges(Call::kCall_cuGraphAddDependencies_v2, g, from, to, data, n);
  });
}

GV_EXPORT CUresult cuGraphRemoveDependencies_v2(CUgraph g, const CUgraphNode* from,
                                                const CUgraphNode* to,
                                                const CUgraphEdgeData* data, size_t n) {
  return guarded("cuGraphRemoveDependencies_v2", [&] {
    return edges(Call::kCall_cuGraphRemoveDependencies_v2, g, from, to, data, n);
  });
}
