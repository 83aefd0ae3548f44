// Explicit graph construction and queries: the calls the generator cannot express (arrays of
// node handles, kernel parameters, host functions, results filled on failure). Payloads in
// docs/protocol.md; what is refused in docs/callbacks.md. Memcpy nodes with a host side:
// graph_host.h.
#include <cstdio>
#include <cstring>
#include <vector>

#include "frontend/cudart/callback_thread.h"
#include "frontend/cudart/graph_calls.h"
#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/graph_wire.h"
#include "frontend/cudart/host_calls.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

constexpr size_t kMaxNodeList = 1u << 20;  // the worker's bound too

// Node lists travel as u32 n, then n × u64.
bool put_nodes(wire::Writer& w, const cudaGraphNode_t* nodes, size_t n) {
  if (n > kMaxNodeList || (n && !nodes)) return false;
  w.put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) w.put<uint64_t>(to_wire(nodes[i]));
  return true;
}

// Sends an Add*Node call whose type-specific fields `body` writes, and returns the node.
template <typename Body>
cudaError_t add_node(Call call, cudaGraphNode_t* out, cudaGraph_t graph,
                     const cudaGraphNode_t* deps, size_t n, Body body) {
  if (!out) return argument_error(cudaErrorInvalidValue);
  client::Call c(id(call));
  c.args().put<uint64_t>(to_wire(graph));
  if (!put_nodes(c.args(), deps, n)) return argument_error(cudaErrorInvalidValue);
  cudaError_t e = body(c.args());
  if (e != cudaSuccess) return e;
  if (!c.invoke()) return lost();
  e = finish(c);
  if (e != cudaSuccess) return e;
  uint64_t node = c.result().get<uint64_t>();
  c.result().expect_end();
  *out = from_wire<cudaGraphNode_t>(node);
  return cudaSuccess;
}

cudaError_t refuse(const char* what, const char* why) {
  log::once(log::Level::kWarn, std::string("graph-memcpy:") + what,
            std::string(what) + ": " + why + " is not supported by GVirtuS");
  return fail(cudaErrorNotSupported);
}

// Which side of a memcpy node is host memory, from the kind and the device ranges this library
// knows (managed memory counts as device memory: the worker holds it). A pointer known to be on
// the device is never taken for host memory (cudaErrorInvalidValue).
enum class Sides { kDeviceToDevice, kHostToDevice, kDeviceToHost, kHostToHost };
cudaError_t sides(const void* dst, const void* src, cudaMemcpyKind kind, Sides* out) {
  const bool dd = is_device(dst), sd = is_device(src);
  switch (kind) {
    case cudaMemcpyDeviceToDevice: *out = Sides::kDeviceToDevice; return cudaSuccess;
    case cudaMemcpyHostToDevice:
      if (sd && !managed::contains(src)) return cudaErrorInvalidValue;
      *out = sd ? Sides::kDeviceToDevice : Sides::kHostToDevice;
      return cudaSuccess;
    case cudaMemcpyDeviceToHost:
      if (dd && !managed::contains(dst)) return cudaErrorInvalidValue;
      *out = dd ? Sides::kDeviceToDevice : Sides::kDeviceToHost;
      return cudaSuccess;
    case cudaMemcpyHostToHost: *out = Sides::kHostToHost; return cudaSuccess;
    case cudaMemcpyDefault:
      *out = dd ? (sd ? Sides::kDeviceToDevice : Sides::kHostToDevice)
                : (sd ? Sides::kDeviceToHost : Sides::kHostToHost);
      return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

cudaError_t put_kernel(wire::Writer& w, const cudaKernelNodeParams* p) {
  return put_kernel_node(w, p);
}

// GetNodes / GetRootNodes.
cudaError_t node_list(Call call, cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* num) {
  if (!num || (nodes && *num > kMaxNodeList)) return argument_error(cudaErrorInvalidValue);
  client::Call c(id(call));
  c.args().put<uint64_t>(to_wire(graph));
  c.args().put<uint8_t>(nodes != nullptr);
  c.args().put<uint64_t>(nodes ? *num : 0);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  uint64_t count = r.get<uint64_t>();
  if (nodes) {
    size_t cap = *num;
    for (size_t i = 0; i < cap; ++i)
      nodes[i] = i < count ? from_wire<cudaGraphNode_t>(r.get<uint64_t>()) : nullptr;
  }
  r.expect_end();
  *num = static_cast<size_t>(count);
  return cudaSuccess;
}

cudaError_t dependencies(Call call, cudaGraph_t graph, const cudaGraphNode_t* from,
                         const cudaGraphNode_t* to, const cudaGraphEdgeData* data, size_t n) {
  if (n > kMaxNodeList || (n && (!from || !to))) return argument_error(cudaErrorInvalidValue);
  client::Call c(id(call));
  wire::Writer& w = c.args();
  w.put<uint64_t>(to_wire(graph));
  w.put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    w.put<uint64_t>(to_wire(from[i]));
    w.put<uint64_t>(to_wire(to[i]));
  }
  w.put<uint8_t>(data != nullptr);
  if (data && n) w.put_bytes(data, n * sizeof(cudaGraphEdgeData));
  if (!c.invoke()) return lost();
  return finish(c);
}

}  // namespace

GV_EXPORT cudaError_t cudaGraphAddEmptyNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                            const cudaGraphNode_t* pDependencies,
                                            size_t numDependencies) {
  return guarded("cudaGraphAddEmptyNode", [&] {
    return add_node(Call::kCall_cudaGraphAddEmptyNode, pGraphNode, graph, pDependencies,
                    numDependencies, [](wire::Writer&) { return cudaSuccess; });
  });
}

GV_EXPORT cudaError_t cudaGraphAddKernelNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                             const cudaGraphNode_t* pDependencies,
                                             size_t numDependencies,
                                             const cudaKernelNodeParams* pNodeParams) {
  return guarded("cudaGraphAddKernelNode", [&] {
    return add_node(Call::kCall_cudaGraphAddKernelNode, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) { return put_kernel(w, pNodeParams); });
  });
}

GV_EXPORT cudaError_t cudaGraphAddMemcpyNode1D(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                               const cudaGraphNode_t* pDependencies,
                                               size_t numDependencies, void* dst,
                                               const void* src, size_t count,
                                               cudaMemcpyKind kind) {
  return guarded("cudaGraphAddMemcpyNode1D", [&]() -> cudaError_t {
    Sides how;
    cudaError_t e = sides(dst, src, kind, &how);
    if (e != cudaSuccess) return argument_error(e);
    if (how == Sides::kHostToHost)
      return refuse("cudaGraphAddMemcpyNode1D", "a host-to-host memcpy node");
    if (how != Sides::kDeviceToDevice) {
      // One side is the application's host memory: a worker staging buffer stands for it.
      const bool up = how == Sides::kHostToDevice;
      auto end = std::make_shared<graph_host::HostEnd>();
      end->to_device = up;
      end->host = static_cast<uint8_t*>(up ? const_cast<void*>(src) : dst);
      end->width = end->pitch = count;
      graph_host::DeviceEnd dev;
      dev.ptr = to_wire(up ? dst : src);
      dev.pitch = count;
      return graph_host::add_memcpy_node(pGraphNode, graph, pDependencies, numDependencies, dev,
                                         std::move(end));
    }
    return add_node(Call::kCall_cudaGraphAddMemcpyNode1D, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) {
                      w.put<uint64_t>(to_wire(dst));
                      w.put<uint64_t>(to_wire(src));
                      w.put<uint64_t>(count);
                      return cudaSuccess;
                    });
  });
}

GV_EXPORT cudaError_t cudaGraphAddMemcpyNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                             const cudaGraphNode_t* pDependencies,
                                             size_t numDependencies,
                                             const cudaMemcpy3DParms* pCopyParams) {
  return guarded("cudaGraphAddMemcpyNode", [&]() -> cudaError_t {
    if (!pCopyParams) return argument_error(cudaErrorInvalidValue);
    const cudaMemcpy3DParms& p = *pCopyParams;
    if (p.srcArray || p.dstArray)
      return refuse("cudaGraphAddMemcpyNode", "a memcpy node with a CUDA array");
    Sides how;
    cudaError_t e = sides(p.dstPtr.ptr, p.srcPtr.ptr, p.kind, &how);
    if (e != cudaSuccess) return argument_error(e);
    if (how == Sides::kHostToHost)
      return refuse("cudaGraphAddMemcpyNode", "a host-to-host memcpy node");
    if (how != Sides::kDeviceToDevice) {
      const bool up = how == Sides::kHostToDevice;
      const cudaPitchedPtr& h = up ? p.srcPtr : p.dstPtr;
      const cudaPos& hp = up ? p.srcPos : p.dstPos;
      const cudaPitchedPtr& d = up ? p.dstPtr : p.srcPtr;
      auto end = std::make_shared<graph_host::HostEnd>();
      end->to_device = up;
      end->pitch = h.pitch;
      end->ysize = h.ysize;
      end->width = p.extent.width;
      end->height = p.extent.height;
      end->depth = p.extent.depth;
      // The first byte the copy touches on the host (the node reads or writes the box only).
      end->host = static_cast<uint8_t*>(h.ptr) + hp.z * h.pitch * h.ysize + hp.y * h.pitch + hp.x;
      graph_host::DeviceEnd dev;
      dev.ptr = to_wire(d.ptr);
      dev.pitch = d.pitch;
      dev.ysize = d.ysize;
      dev.pos = up ? p.dstPos : p.srcPos;
      return graph_host::add_memcpy_node(pGraphNode, graph, pDependencies, numDependencies, dev,
                                         std::move(end));
    }
    return add_node(Call::kCall_cudaGraphAddMemcpyNode, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) {
                      for (const cudaPitchedPtr* q : {&p.dstPtr, &p.srcPtr}) {
                        w.put<uint64_t>(to_wire(q->ptr));
                        w.put<uint64_t>(q->pitch);
                        w.put<uint64_t>(q->xsize);
                        w.put<uint64_t>(q->ysize);
                      }
                      w.put<cudaPos>(p.dstPos);
                      w.put<cudaPos>(p.srcPos);
                      w.put<cudaExtent>(p.extent);
                      return cudaSuccess;
                    });
  });
}

GV_EXPORT cudaError_t cudaGraphAddMemsetNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                             const cudaGraphNode_t* pDependencies,
                                             size_t numDependencies,
                                             const cudaMemsetParams* pMemsetParams) {
  return guarded("cudaGraphAddMemsetNode", [&] {
    if (!pMemsetParams) return argument_error(cudaErrorInvalidValue);
    const cudaMemsetParams& p = *pMemsetParams;
    return add_node(Call::kCall_cudaGraphAddMemsetNode, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) {
                      w.put<uint64_t>(to_wire(p.dst));
                      w.put<uint64_t>(p.pitch);
                      w.put<uint32_t>(p.value);
                      w.put<uint32_t>(p.elementSize);
                      w.put<uint64_t>(p.width);
                      w.put<uint64_t>(p.height);
                      return cudaSuccess;
                    });
  });
}

GV_EXPORT cudaError_t cudaGraphAddHostNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                           const cudaGraphNode_t* pDependencies,
                                           size_t numDependencies,
                                           const cudaHostNodeParams* pNodeParams) {
  return guarded("cudaGraphAddHostNode", [&] {
    if (!pNodeParams || !pNodeParams->fn) return argument_error(cudaErrorInvalidValue);
    if (!pGraphNode || numDependencies > host_calls::kMaxNodeList ||
        (numDependencies && !pDependencies))
      return argument_error(cudaErrorInvalidValue);
    return host_calls::add_host_node(pGraphNode, graph, pDependencies, numDependencies,
                                     reinterpret_cast<uintptr_t>(pNodeParams->fn),
                                     to_wire(pNodeParams->userData));
  });
}

GV_EXPORT cudaError_t cudaGraphAddChildGraphNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                 const cudaGraphNode_t* pDependencies,
                                                 size_t numDependencies, cudaGraph_t childGraph) {
  return guarded("cudaGraphAddChildGraphNode", [&] {
    cudaError_t e = add_node(Call::kCall_cudaGraphAddChildGraphNode, pGraphNode, graph,
                             pDependencies, numDependencies, [&](wire::Writer& w) {
                               w.put<uint64_t>(to_wire(childGraph));
                               return cudaSuccess;
                             });
    // The child is copied into the node, its host ends with it.
    if (e == cudaSuccess) graph_host::child_added(graph, *pGraphNode, childGraph);
    return e;
  });
}

GV_EXPORT cudaError_t cudaGraphAddEventRecordNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                  const cudaGraphNode_t* pDependencies,
                                                  size_t numDependencies, cudaEvent_t event) {
  return guarded("cudaGraphAddEventRecordNode", [&] {
    return add_node(Call::kCall_cudaGraphAddEventRecordNode, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) {
                      w.put<uint64_t>(to_wire(event));
                      return cudaSuccess;
                    });
  });
}

GV_EXPORT cudaError_t cudaGraphAddEventWaitNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                const cudaGraphNode_t* pDependencies,
                                                size_t numDependencies, cudaEvent_t event) {
  return guarded("cudaGraphAddEventWaitNode", [&] {
    return add_node(Call::kCall_cudaGraphAddEventWaitNode, pGraphNode, graph, pDependencies,
                    numDependencies, [&](wire::Writer& w) {
                      w.put<uint64_t>(to_wire(event));
                      return cudaSuccess;
                    });
  });
}

GV_EXPORT cudaError_t cudaGraphAddDependencies(cudaGraph_t graph, const cudaGraphNode_t* from,
                                               const cudaGraphNode_t* to,
                                               const cudaGraphEdgeData* edgeData,
                                               size_t numDependencies) {
  return guarded("cudaGraphAddDependencies", [&] {
    return dependencies(Call::kCall_cudaGraphAddDependencies, graph, from, to, edgeData,
                        numDependencies);
  });
}

GV_EXPORT cudaError_t cudaGraphRemoveDependencies(cudaGraph_t graph, const cudaGraphNode_t* from,
                                                  const cudaGraphNode_t* to,
                                                  const cudaGraphEdgeData* edgeData,
                                                  size_t numDependencies) {
  return guarded("cudaGraphRemoveDependencies", [&] {
    return dependencies(Call::kCall_cudaGraphRemoveDependencies, graph, from, to, edgeData,
                        numDependencies);
  });
}

GV_EXPORT cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes,
                                        size_t* numNodes) {
  return guarded("cudaGraphGetNodes",
                 [&] { return node_list(Call::kCall_cudaGraphGetNodes, graph, nodes, numNodes); });
}

GV_EXPORT cudaError_t cudaGraphGetRootNodes(cudaGraph_t graph, cudaGraphNode_t* pRootNodes,
                                            size_t* pNumRootNodes) {
  return guarded("cudaGraphGetRootNodes", [&] {
    return node_list(Call::kCall_cudaGraphGetRootNodes, graph, pRootNodes, pNumRootNodes);
  });
}

GV_EXPORT cudaError_t cudaGraphGetEdges(cudaGraph_t graph, cudaGraphNode_t* from,
                                        cudaGraphNode_t* to, cudaGraphEdgeData* edgeData,
                                        size_t* numEdges) {
  return guarded("cudaGraphGetEdges",
                 [&] { return graph_calls::get_edges(graph, from, to, edgeData, numEdges); });
}

GV_EXPORT cudaError_t cudaGraphNodeGetDependencies(cudaGraphNode_t node,
                                                   cudaGraphNode_t* pDependencies,
                                                   cudaGraphEdgeData* edgeData,
                                                   size_t* pNumDependencies) {
  return guarded("cudaGraphNodeGetDependencies", [&] {
    return graph_calls::node_edges(false, node, pDependencies, edgeData, pNumDependencies);
  });
}

GV_EXPORT cudaError_t cudaGraphNodeGetDependentNodes(cudaGraphNode_t node,
                                                     cudaGraphNode_t* pDependentNodes,
                                                     cudaGraphEdgeData* edgeData,
                                                     size_t* pNumDependentNodes) {
  return guarded("cudaGraphNodeGetDependentNodes", [&] {
    return graph_calls::node_edges(true, node, pDependentNodes, edgeData, pNumDependentNodes);
  });
}

GV_EXPORT cudaError_t cudaGraphKernelNodeSetParams(cudaGraphNode_t node,
                                                   const cudaKernelNodeParams* pNodeParams) {
  return guarded("cudaGraphKernelNodeSetParams", [&] {
    client::Call c(id(Call::kCall_cudaGraphKernelNodeSetParams));
    c.args().put<uint64_t>(to_wire(node));
    cudaError_t e = put_kernel(c.args(), pNodeParams);
    if (e != cudaSuccess) return e;
    if (!c.invoke()) return lost();
    return finish(c);
  });
}

GV_EXPORT cudaError_t cudaGraphExecKernelNodeSetParams(cudaGraphExec_t hGraphExec,
                                                       cudaGraphNode_t node,
                                                       const cudaKernelNodeParams* pNodeParams) {
  return guarded("cudaGraphExecKernelNodeSetParams", [&] {
    client::Call c(id(Call::kCall_cudaGraphExecKernelNodeSetParams));
    c.args().put<uint64_t>(to_wire(hGraphExec));
    c.args().put<uint64_t>(to_wire(node));
    cudaError_t e = put_kernel(c.args(), pNodeParams);
    if (e != cudaSuccess) return e;
    if (!c.invoke()) return lost();
    return finish(c);
  });
}

GV_EXPORT cudaError_t cudaGraphExecUpdate(cudaGraphExec_t hGraphExec, cudaGraph_t hGraph,
                                          cudaGraphExecUpdateResultInfo* resultInfo) {
  return guarded("cudaGraphExecUpdate", [&] {
    client::Call c(id(Call::kCall_cudaGraphExecUpdate));
    c.args().put<uint64_t>(to_wire(hGraphExec));
    c.args().put<uint64_t>(to_wire(hGraph));
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    wire::Reader& r = c.result();
    if (r.remaining() == 0) return e;  // refused before the runtime was asked (bad handle)
    int32_t result = r.get<int32_t>();
    uint64_t err_node = r.get<uint64_t>();
    uint64_t err_from = r.get<uint64_t>();
    r.expect_end();
    if (resultInfo) {
      resultInfo->result = static_cast<cudaGraphExecUpdateResult>(result);
      resultInfo->errorNode = from_wire<cudaGraphNode_t>(err_node);
      resultInfo->errorFromNode = from_wire<cudaGraphNode_t>(err_from);
    }
    if (e == cudaSuccess) graph_host::exec_updated(hGraphExec, hGraph);
    return e;
  });
}

GV_EXPORT cudaError_t cudaGraphInstantiateWithParams(cudaGraphExec_t* pGraphExec,
                                                     cudaGraph_t graph,
                                                     cudaGraphInstantiateParams* instantiateParams) {
  return guarded("cudaGraphInstantiateWithParams", [&] {
    return graph_calls::instantiate_with_params(pGraphExec, graph, instantiateParams, false);
  });
}

GV_EXPORT cudaError_t cudaGraphInstantiateWithParams_ptsz(
    cudaGraphExec_t* pGraphExec, cudaGraph_t graph, cudaGraphInstantiateParams* instantiateParams) {
  return guarded("cudaGraphInstantiateWithParams_ptsz", [&] {
    return graph_calls::instantiate_with_params(pGraphExec, graph, instantiateParams, true);
  });
}

GV_EXPORT cudaError_t cudaGraphDebugDotPrint(cudaGraph_t graph, const char* path,
                                             unsigned int flags) {
  return guarded("cudaGraphDebugDotPrint",
                 [&] { return graph_calls::debug_dot_print(graph, path, flags); });
}
