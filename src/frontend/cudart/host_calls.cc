// Host functions, stream callbacks and host nodes for both frontends; see host_calls.h.
#include "frontend/cudart/host_calls.h"

#include "frontend/cudart/callback_thread.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart::host_calls {
namespace {

// The protocol minor from which the worker has the host nodes' parameter calls (1668-1670); an
// older worker would end the session on them.
constexpr uint16_t kHostNodeParamsMinor = 7;

bool host_node_params_known() {
  return !client::connection() || client::server_minor() >= kHostNodeParamsMinor;
}

cudaError_t send(client::Call& c) {
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e == cudaSuccess) c.result().expect_end();
  return e;
}

}  // namespace

cudaError_t launch_host_func(uint64_t stream, uint64_t fn, uint64_t user) {
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(Call::kCall_cudaLaunchHostFunc));
  c.args().put<uint64_t>(stream);
  c.args().put<uint64_t>(fn);
  c.args().put<uint64_t>(user);
  return send(c);
}

cudaError_t add_stream_callback(uint64_t stream, uint64_t fn, uint64_t user, uint32_t flags) {
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(Call::kCall_cudaStreamAddCallback));
  c.args().put<uint64_t>(stream);
  c.args().put<uint64_t>(fn);
  c.args().put<uint64_t>(user);
  c.args().put<uint32_t>(flags);
  return send(c);
}

cudaError_t add_host_node(cudaGraphNode_t* out, cudaGraph_t graph, const cudaGraphNode_t* deps,
                          size_t n, uint64_t fn, uint64_t user) {
  if (!out || n > kMaxNodeList || (n && !deps)) return fail(cudaErrorInvalidValue);
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(Call::kCall_cudaGraphAddHostNode));
  wire::Writer& w = c.args();
  w.put<uint64_t>(to_wire(graph));
  w.put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) w.put<uint64_t>(to_wire(deps[i]));
  w.put<uint64_t>(fn);
  w.put<uint64_t>(user);
  if (!c.invoke()) return lost();
  e = finish(c);
  if (e != cudaSuccess) return e;
  const uint64_t node = c.result().get<uint64_t>();
  c.result().expect_end();
  *out = from_wire<cudaGraphNode_t>(node);
  return cudaSuccess;
}

cudaError_t get_host_node(cudaGraphNode_t node, uint64_t* fn, uint64_t* user) {
  if (!host_node_params_known()) return fail(cudaErrorNotSupported);
  client::Call c(id(Call::kCall_cudaGraphHostNodeGetParams));
  c.args().put<uint64_t>(to_wire(node));
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  const uint64_t f = r.get<uint64_t>();
  const uint64_t u = r.get<uint64_t>();
  r.expect_end();
  *fn = f;
  *user = u;
  return cudaSuccess;
}

cudaError_t set_host_node(cudaGraphExec_t exec, cudaGraphNode_t node, uint64_t fn,
                          uint64_t user) {
  if (!host_node_params_known()) return fail(cudaErrorNotSupported);
  cudaError_t e = ensure_callback_thread();
  if (e != cudaSuccess) return fail(e);
  client::Call c(id(exec ? Call::kCall_cudaGraphExecHostNodeSetParams
                         : Call::kCall_cudaGraphHostNodeSetParams));
  if (exec) c.args().put<uint64_t>(to_wire(exec));
  c.args().put<uint64_t>(to_wire(node));
  c.args().put<uint64_t>(fn);
  c.args().put<uint64_t>(user);
  return send(c);
}

}  // namespace gvirtus::cudart::host_calls
