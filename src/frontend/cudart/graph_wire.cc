// Kernel node parameters on the wire; see graph_wire.h.
#include "frontend/cudart/graph_wire.h"

#include <string>
#include <vector>

#include "frontend/cudart/kernel_args.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"

namespace gvirtus::cudart {

cudaError_t put_kernel_node(wire::Writer& w, const cudaKernelNodeParams* p) {
  if (!p) return argument_error(cudaErrorInvalidValue);
  if (p->extra) {
    log::once(log::Level::kWarn, "graph-kernel-extra",
              "kernel nodes with `extra` arguments are not supported by GVirtuS yet");
    return fail(cudaErrorNotSupported);
  }
  Kernel* k = find_kernel(p->func);
  if (!k) return fail(kUnknownFunction);
  cudaError_t e = resolve(k);
  if (e != cudaSuccess) return e;
  std::vector<uint8_t> buf(k->layout.total);
  Status st = pack_args(k->layout, p->kernelParams, buf.data());
  if (!st.is_ok()) {
    GV_WARN("kernel node for " + k->name + ": " + st.message());
    return argument_error(cudaErrorInvalidValue);
  }
  w.put<uint64_t>(k->kernel_id);
  w.put<dim3>(p->gridDim);
  w.put<dim3>(p->blockDim);
  w.put<uint32_t>(p->sharedMemBytes);
  w.put<uint32_t>(k->layout.total);
  w.put_bytes(buf.data(), buf.size());
  return cudaSuccess;
}

}  // namespace gvirtus::cudart
