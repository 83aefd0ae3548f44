// cuOccupancyMaxActiveClusters and cuOccupancyMaxPotentialClusterSize on a module's kernel
// (driver/kernels.cu's axpy, sm_90 in the fatbin), with and without a cluster-dimension
// attribute, and the driver's answers to a missing configuration, output or function. The
// counts depend only on the GPU, so a run through GVirtuS prints what the native run prints.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "driver/check_drv.h"
#include "kernels_fatbin.h"

int main() {
  // The runtime first (the program is a runtime program that also uses the driver API).
  if (cudaFree(nullptr) != cudaSuccess) {
    std::printf("FAILED: cudaFree(nullptr)\n");
    return 1;
  }
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  DCHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  DCHECK(cuCtxSetCurrent(ctx));
  // The image in 8-byte aligned memory, as the driver wants it.
  std::vector<unsigned long long> image(sizeof kFatbin / 8 + 1);
  std::memcpy(image.data(), kFatbin, sizeof kFatbin);
  CUmodule mod;
  DCHECK(cuModuleLoadData(&mod, image.data()));
  CUfunction f;
  DCHECK(cuModuleGetFunction(&f, mod, "axpy"));

  CUlaunchAttribute cluster{};
  cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  cluster.value.clusterDim.x = 2;
  cluster.value.clusterDim.y = 1;
  cluster.value.clusterDim.z = 1;
  CUlaunchConfig cfg{};
  cfg.gridDimX = 128;
  cfg.gridDimY = cfg.gridDimZ = 1;
  cfg.blockDimX = 128;
  cfg.blockDimY = cfg.blockDimZ = 1;
  cfg.attrs = &cluster;
  cfg.numAttrs = 1;
  for (unsigned x : {1u, 2u, 4u, 8u}) {
    cluster.value.clusterDim.x = x;
    cfg.gridDimX = 128 * x;
    int n = -1;
    CUresult e = cuOccupancyMaxActiveClusters(&n, f, &cfg);
    std::printf("max active clusters of %u: %s %d\n", x, drv_name(e), n);
  }
  for (unsigned block : {64u, 256u, 1024u}) {
    CUlaunchConfig plain = cfg;
    plain.attrs = nullptr;
    plain.numAttrs = 0;
    plain.blockDimX = block;
    int size = -1;
    CUresult e = cuOccupancyMaxPotentialClusterSize(&size, f, &plain);
    std::printf("max potential cluster size, block %u: %s %d\n", block, drv_name(e), size);
  }
  int n = -1;
  std::printf("no configuration: %s\n", drv_name(cuOccupancyMaxActiveClusters(&n, f, nullptr)));
  std::printf("no output: %s\n", drv_name(cuOccupancyMaxActiveClusters(nullptr, f, &cfg)));
  std::printf("no function: %s\n", drv_name(cuOccupancyMaxActiveClusters(&n, nullptr, &cfg)));
  DCHECK(cuModuleUnload(mod));
  DCHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("PASS\n");
  return 0;
}
