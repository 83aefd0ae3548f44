// cuOccupancyMaxActiveClusters and cuOccupancyMaxPotentialClusterSize on the worker; wire in
// src/frontend/cuda/occupancy_clusters.cc.
#include <cuda.h>

#include <vector>

#include "backend/cuda/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cuda {
namespace {

using ClusterQuery = CUresult (*)(int*, CUfunction, const CUlaunchConfig*);

void cluster_query(CallContext& ctx, const char* name) {
  const uint64_t fid = ctx.in.get<uint64_t>();
  uint32_t grid[3], block[3];
  for (auto& g : grid) g = ctx.in.get<uint32_t>();
  for (auto& b : block) b = ctx.in.get<uint32_t>();
  const uint32_t shmem = ctx.in.get<uint32_t>();
  const uint64_t sid = ctx.in.get<uint64_t>();
  std::vector<CUlaunchAttribute> attrs = launch_attributes_in(ctx, name, false);
  const bool has_out = ctx.in.get_flag();
  ctx.in.expect_end();
  CUfunction f;
  CUstream s;
  if (!function_in(ctx, fid, &f) || !stream_in(ctx, sid, &s)) return;
  auto fn = real<ClusterQuery>(ctx, name);
  if (!fn) return;
  CUlaunchConfig cfg = launch_config(grid, block, shmem, s, attrs);
  int v = 0;
  ctx.status = fn(has_out ? &v : nullptr, f, &cfg);
  if (ctx.status == CUDA_SUCCESS) ctx.out.put<int32_t>(v);
}

}  // namespace

void handle_cuOccupancyMaxActiveClusters(CallContext& ctx) {
  cluster_query(ctx, "cuOccupancyMaxActiveClusters");
}

void handle_cuOccupancyMaxPotentialClusterSize(CallContext& ctx) {
  cluster_query(ctx, "cuOccupancyMaxPotentialClusterSize");
}

}  // namespace gvirtus::backend::cuda
