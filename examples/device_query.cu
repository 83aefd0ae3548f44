// device_query: what the CUDA runtime sees. Through GVirtuS, that is the GPU of the backend.
//   gvirtus run -- ./device_query
#include <cuda_runtime.h>

#include <cstdio>

static void print_version(const char* what, int v) {
  std::printf("%-24s %d.%d\n", what, v / 1000, (v % 1000) / 10);
}

int main() {
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) print_version("CUDA runtime version", runtime);
  cudaError_t e = cudaDriverGetVersion(&driver);
  if (e != cudaSuccess)
    std::printf("%-24s error %s\n", "CUDA driver version", cudaGetErrorName(e));
  else if (driver == 0)
    std::printf("%-24s none (no CUDA driver is installed)\n", "CUDA driver version");
  else
    print_version("CUDA driver version", driver);

  int count = 0;
  e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    std::printf("cudaGetDeviceCount failed: %s: %s\n", cudaGetErrorName(e), cudaGetErrorString(e));
    return 1;
  }
  std::printf("%d CUDA device%s\n", count, count == 1 ? "" : "s");
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, d);
    if (e != cudaSuccess) {
      std::printf("device %d: cudaGetDeviceProperties failed: %s\n", d, cudaGetErrorName(e));
      return 1;
    }
    std::printf("\ndevice %d: %s\n", d, p.name);
    std::printf("  compute capability        %d.%d\n", p.major, p.minor);
    std::printf("  global memory             %zu MiB\n", p.totalGlobalMem >> 20);
    std::printf("  multiprocessors           %d\n", p.multiProcessorCount);
    std::printf("  max threads per block     %d\n", p.maxThreadsPerBlock);
    std::printf("  max block                 %d x %d x %d\n", p.maxThreadsDim[0], p.maxThreadsDim[1],
                p.maxThreadsDim[2]);
    std::printf("  max grid                  %d x %d x %d\n", p.maxGridSize[0], p.maxGridSize[1],
                p.maxGridSize[2]);
    std::printf("  shared memory per block   %zu KiB\n", p.sharedMemPerBlock >> 10);
    std::printf("  warp size                 %d\n", p.warpSize);
    std::printf("  L2 cache                  %d KiB\n", p.l2CacheSize >> 10);
    std::printf("  memory bus width          %d bits\n", p.memoryBusWidth);
    int clock = 0, mem_clock = 0;
    if (cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, d) == cudaSuccess)
      std::printf("  clock                     %d MHz\n", clock / 1000);
    if (cudaDeviceGetAttribute(&mem_clock, cudaDevAttrMemoryClockRate, d) == cudaSuccess)
      std::printf("  memory clock              %d MHz\n", mem_clock / 1000);
    std::printf("  PCI                       %04x:%02x:%02x\n", p.pciDomainID, p.pciBusID, p.pciDeviceID);
  }
  return 0;
}
