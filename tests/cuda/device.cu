// Runs anywhere: device management and properties. Without a GPU every call reports the same
// error as natively; with one, the properties and all attributes of each device.
#include <cstring>

#include "check.h"

static void print_properties(int d) {
  cudaDeviceProp p;
  std::memset(&p, 0, sizeof(p));
  if (REPORT(cudaGetDeviceProperties(&p, d)) != cudaSuccess) return;
  std::printf("name %s\n", p.name);
  std::printf("compute capability %d.%d\n", p.major, p.minor);
  std::printf("totalGlobalMem %zu\n", p.totalGlobalMem);
  std::printf("sharedMemPerBlock %zu regsPerBlock %d warpSize %d\n", p.sharedMemPerBlock,
              p.regsPerBlock, p.warpSize);
  std::printf("maxThreadsPerBlock %d maxThreadsDim %d %d %d maxGridSize %d %d %d\n",
              p.maxThreadsPerBlock, p.maxThreadsDim[0], p.maxThreadsDim[1], p.maxThreadsDim[2],
              p.maxGridSize[0], p.maxGridSize[1], p.maxGridSize[2]);
  std::printf("multiProcessorCount %d l2CacheSize %d memoryBusWidth %d\n", p.multiProcessorCount,
              p.l2CacheSize, p.memoryBusWidth);
  std::printf("pci %04x:%02x:%02x\n", p.pciDomainID, p.pciBusID, p.pciDeviceID);
  std::printf("uuid");
  for (int i = 0; i < 16; ++i) std::printf(" %02x", static_cast<unsigned char>(p.uuid.bytes[i]));
  std::printf("\n");
  // The whole struct, byte for byte, must arrive as the runtime filled it.
  unsigned long long sum = 0;
  const unsigned char* b = reinterpret_cast<const unsigned char*>(&p);
  for (size_t i = 0; i < sizeof(p); ++i) sum = sum * 131 + b[i];
  std::printf("properties checksum %llx\n", sum);
}

int main() {
  int count = 0;
  cudaError_t e = REPORT(cudaGetDeviceCount(&count));
  if (e != cudaSuccess) {
    int dev = -1, value = -1;
    size_t free_b = 0, total_b = 0;
    cudaDeviceProp p;
    REPORT(cudaGetDevice(&dev));
    REPORT(cudaSetDevice(0));
    REPORT(cudaGetDeviceProperties(&p, 0));
    REPORT(cudaDeviceGetAttribute(&value, cudaDevAttrMaxThreadsPerBlock, 0));
    REPORT(cudaDeviceSynchronize());
    REPORT(cudaMemGetInfo(&free_b, &total_b));
    REPORT(cudaDeviceReset());
    return 0;
  }
  std::printf("devices %d\n", count);
  for (int d = 0; d < count; ++d) {
    std::printf("device %d\n", d);
    REPORT(cudaSetDevice(d));
    int cur = -1;
    REPORT(cudaGetDevice(&cur));
    std::printf("current %d\n", cur);
    print_properties(d);
    for (int a = 1; a <= 160; ++a) {
      int value = 0;
      cudaError_t ae = cudaDeviceGetAttribute(&value, static_cast<cudaDeviceAttr>(a), d);
      if (ae == cudaSuccess)
        std::printf("attribute %d = %d\n", a, value);
      else
        std::printf("attribute %d: %s\n", a, cudaGetErrorName(ae));
    }
    int value = 0;
    REPORT(cudaDeviceGetAttribute(&value, cudaDevAttrMaxThreadsPerBlock, count));  // no such device
    REPORT(cudaDeviceGetAttribute(nullptr, cudaDevAttrMaxThreadsPerBlock, d));
    size_t free_b = 0, total_b = 0;
    REPORT(cudaMemGetInfo(&free_b, &total_b));
    std::printf("free <= total: %d, total > 0: %d\n", free_b <= total_b, total_b > 0);
    REPORT(cudaDeviceSynchronize());
  }
  REPORT(cudaSetDevice(0));
  REPORT(cudaDeviceReset());
  void* p = nullptr;
  REPORT(cudaMalloc(&p, 4096));  // the device works again after a reset
  REPORT(cudaFree(p));
  return 0;
}
