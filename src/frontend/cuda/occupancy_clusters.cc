// cuOccupancyMaxActiveClusters and cuOccupancyMaxPotentialClusterSize (cuSPARSELt, which
// PyTorch's wheel carries with NVIDIA's runtime linked in, asks the first before its kernels).
// The launch configuration travels as cuLaunchKernelEx's does: its geometry, shared memory,
// stream and plain attributes (common/launch_attrs.h); attributes holding an event or a graph
// node are refused as there.
//   request: u64 function id, u32 grid[3], u32 block[3], u32 shared memory, u64 stream id,
//            u32 attribute count, that many CUlaunchAttribute, u8 whether the output was given
//   reply:   i32 the count
#include <string>

#include "common/launch_attrs.h"
#include "frontend/cuda/handle_check.h"
#include "frontend/cuda/local.h"

using namespace gvirtus;
using namespace gvirtus::cuda;

namespace {

CUresult cluster_query(const char* name, uint32_t call, int* out, CUfunction f,
                       const CUlaunchConfig* config) {
  // The driver's own answers to what cannot travel.
  if (!config) return CUDA_ERROR_INVALID_VALUE;
  if (config->numAttrs > 0 && !config->attrs) return CUDA_ERROR_INVALID_VALUE;
  if (config->numAttrs > kMaxLaunchAttributes) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < config->numAttrs; ++i)
    if (!plain_launch_attribute(static_cast<cudaLaunchAttributeID>(config->attrs[i].id)))
      return refuse(name, "launch attribute " + std::to_string(config->attrs[i].id) +
                              " (it holds an event or a graph node)");
  client::Call c(call);
  wire::Writer& a = c.args();
  a.put<uint64_t>(to_wire(f));
  for (uint32_t v : {config->gridDimX, config->gridDimY, config->gridDimZ}) a.put<uint32_t>(v);
  for (uint32_t v : {config->blockDimX, config->blockDimY, config->blockDimZ}) a.put<uint32_t>(v);
  a.put<uint32_t>(config->sharedMemBytes);
  a.put<uint64_t>(to_wire(config->hStream));
  a.put<uint32_t>(config->numAttrs);
  if (config->numAttrs)
    a.put_bytes(config->attrs, config->numAttrs * sizeof(CUlaunchAttribute));
  a.put<uint8_t>(out != nullptr);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  const int32_t v = c.result().get<int32_t>();
  c.result().expect_end();
  if (out) *out = v;
  return CUDA_SUCCESS;
}

}  // namespace

GV_EXPORT CUresult cuOccupancyMaxActiveClusters(int* numClusters, CUfunction func,
                                                const CUlaunchConfig* config) {
  return guarded("cuOccupancyMaxActiveClusters", [&] {
    if (auto r = local_function_handle(func)) return *r;
    return cluster_query("cuOccupancyMaxActiveClusters", id(kCall_cuOccupancyMaxActiveClusters),
                         numClusters, func, config);
  });
}

GV_EXPORT CUresult cuOccupancyMaxPotentialClusterSize(int* clusterSize, CUfunction func,
                                                      const CUlaunchConfig* config) {
  return guarded("cuOccupancyMaxPotentialClusterSize", [&] {
    if (auto r = local_function_handle(func)) return *r;
    return cluster_query("cuOccupancyMaxPotentialClusterSize",
                         id(kCall_cuOccupancyMaxPotentialClusterSize), clusterSize, func, config);
  });
}
