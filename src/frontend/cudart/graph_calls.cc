// Graph requests shared by libcudart.so.13 and libcuda.so.1; see graph_calls.h.
#include "frontend/cudart/graph_calls.h"

#include <cstdio>
#include <cstring>

#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart::graph_calls {
namespace {

constexpr size_t kMaxNodeList = 1u << 20;  // the worker's bound too (as graphs.cc's)
// The protocol minor from which the worker has the node edge queries (1671, 1672); an older
// worker would end the session on them.
constexpr uint16_t kNodeEdgesMinor = 9;

// The edge queries' one exchange (graph_calls.h): `object` names the graph or the node; `lists`
// are the caller's `width` arrays of *num entries (the first NULL: only the count is asked),
// filled with the edges' nodes, NULL past the count.
cudaError_t exchange_edges(Call call, uint64_t object, cudaGraphNode_t* const* lists, int width,
                           cudaGraphEdgeData* edgeData, size_t* num) {
  const bool want = lists[0] != nullptr;
  client::Call c(id(call));
  c.args().put<uint64_t>(object);
  c.args().put<uint8_t>(want);
  c.args().put<uint64_t>(want ? *num : 0);
  c.args().put<uint8_t>(edgeData != nullptr);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  uint64_t count = r.get<uint64_t>();
  if (want) {
    size_t cap = *num;
    size_t k = count < cap ? static_cast<size_t>(count) : cap;
    for (size_t i = 0; i < cap; ++i)
      for (int l = 0; l < width; ++l)
        lists[l][i] = i < k ? from_wire<cudaGraphNode_t>(r.get<uint64_t>()) : nullptr;
    if (edgeData && k)
      std::memcpy(edgeData, r.get_bytes(k * sizeof(cudaGraphEdgeData)),
                  k * sizeof(cudaGraphEdgeData));
  }
  r.expect_end();
  *num = static_cast<size_t>(count);
  return cudaSuccess;
}

}  // namespace

cudaError_t node_edges(bool dependents, cudaGraphNode_t node, cudaGraphNode_t* nodes,
                       cudaGraphEdgeData* edgeData, size_t* num) {
  if (!num || (nodes && *num > kMaxNodeList) || (edgeData && !nodes))
    return argument_error(cudaErrorInvalidValue);
  if (client::connection() && client::server_minor() < kNodeEdgesMinor) {
    client::unsupported(dependents ? "cudaGraphNodeGetDependentNodes (backend before protocol 3.9)"
                                   : "cudaGraphNodeGetDependencies (backend before protocol 3.9)");
    return fail(cudaErrorNotSupported);
  }
  return exchange_edges(dependents ? Call::kCall_cudaGraphNodeGetDependentNodes
                                   : Call::kCall_cudaGraphNodeGetDependencies,
                        to_wire(node), &nodes, 1, edgeData, num);
}

cudaError_t get_edges(cudaGraph_t graph, cudaGraphNode_t* from, cudaGraphNode_t* to,
                      cudaGraphEdgeData* edgeData, size_t* numEdges) {
  const bool want = from || to;
  if (!numEdges || (want && (!from || !to || *numEdges > kMaxNodeList)) || (edgeData && !want))
    return argument_error(cudaErrorInvalidValue);
  cudaGraphNode_t* const lists[2] = {from, to};
  return exchange_edges(Call::kCall_cudaGraphGetEdges, to_wire(graph), lists, 2, edgeData,
                        numEdges);
}

cudaError_t instantiate_with_params(cudaGraphExec_t* exec, cudaGraph_t graph,
                                    cudaGraphInstantiateParams* params, bool per_thread) {
  if (!exec || !params) return argument_error(cudaErrorInvalidValue);
  cudaStream_t upload = params->uploadStream;
  if (per_thread && !upload) upload = cudaStreamPerThread;
  client::Call c(id(Call::kCall_cudaGraphInstantiateWithParams));
  c.args().put<uint64_t>(to_wire(graph));
  c.args().put<uint64_t>(params->flags);
  c.args().put<uint64_t>(to_wire(upload));
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  wire::Reader& r = c.result();
  if (r.remaining() == 0) return e;  // refused before the runtime was asked (bad handle)
  uint64_t x = r.get<uint64_t>();
  uint64_t err_node = r.get<uint64_t>();
  int32_t result = r.get<int32_t>();
  r.expect_end();
  params->errNode_out = from_wire<cudaGraphNode_t>(err_node);
  params->result_out = static_cast<cudaGraphInstantiateResult>(result);
  if (e == cudaSuccess) {
    *exec = from_wire<cudaGraphExec_t>(x);
    graph_host::instantiated(*exec, graph);
  }
  return e;
}

cudaError_t debug_dot_print(cudaGraph_t graph, const char* path, unsigned int flags) {
  if (!path) return argument_error(cudaErrorInvalidValue);
  client::Call c(id(Call::kCall_cudaGraphDebugDotPrint));
  c.args().put<uint64_t>(to_wire(graph));
  c.args().put<uint32_t>(flags);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  size_t n = r.remaining();
  const uint8_t* text = r.get_bytes(n);
  // The path names a file on the application's machine: write it here.
  FILE* f = std::fopen(path, "w");
  if (!f) return fail(cudaErrorOperatingSystem);
  bool ok = std::fwrite(text, 1, n, f) == n;
  ok &= std::fclose(f) == 0;
  return ok ? cudaSuccess : fail(cudaErrorOperatingSystem);
}

}  // namespace gvirtus::cudart::graph_calls
