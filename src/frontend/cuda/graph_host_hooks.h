// The driver's graph calls keep the runtime's table of graphs with host memory
// (frontend/cudart/graph_host.h) up to date, so that host copies captured from a stream and
// memcpy nodes with a host side work through libcuda.so.1 (also under a statically linked
// runtime) as they do through libcudart.so.13: CUgraph, CUgraphExec, CUgraphNode and CUstream
// are the runtime's handles. The `local=` hooks of api/cuda.api, in the driver's result type;
// the `after=` / `failed=` hooks call graph_host directly.
#pragma once
#include <cuda.h>

#include <optional>

#include "frontend/cuda/runtime_code.h"
#include "frontend/cudart/graph_host.h"

namespace gvirtus::cuda::graph_host_hooks {

inline std::optional<CUresult> as_driver(std::optional<cudaError_t> e) {
  if (!e) return std::nullopt;
  return from_runtime_code(*e);
}

// cuStreamEndCapture: the capture's id, if host copies were captured.
inline std::optional<CUresult> ending_capture(CUstream s) {
  return as_driver(cudart::graph_host::ending_capture(s));
}
// cuGraphLaunch: the staged launch of an executable graph with host sides.
inline std::optional<CUresult> launch(CUgraphExec x, CUstream s) {
  return as_driver(cudart::graph_host::launch(x, s));
}
// cuGraphExecChildGraphNodeSetParams: refused where host sides take part.
inline std::optional<CUresult> child_params_changing(CUgraphExec x, CUgraph child) {
  return as_driver(cudart::graph_host::child_params_changing(x, child));
}

}  // namespace gvirtus::cuda::graph_host_hooks
