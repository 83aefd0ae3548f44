// cudaPointerGetAttributes for every kind of pointer a program has, the PCI bus id queries,
// cudaDeviceFlushGPUDirectRDMAWrites, cudaFuncGetName.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"

__global__ void plain_kernel(int* p) { p[threadIdx.x] = threadIdx.x; }

namespace ns {
template <typename T>
__global__ void templated(T* p, T v) { p[threadIdx.x] = v; }
}  // namespace ns

namespace {

void attrs(const char* what, const void* p, const void* base_dev) {
  cudaPointerAttributes a;
  std::memset(&a, 0x7f, sizeof a);
  cudaError_t e = cudaPointerGetAttributes(&a, p);
  if (e != cudaSuccess) {
    std::printf("%s: %s\n", what, cudaGetErrorName(e));
    cudaGetLastError();
    return;
  }
  std::printf("%s: type %d device %d hostPointer %s", what, static_cast<int>(a.type), a.device,
              a.hostPointer == p ? "same" : (a.hostPointer ? "other" : "null"));
  // Device pointers only: natively a page-locked host buffer also has a device address (unified
  // addressing); GVirtuS leaves that NULL, as the address means nothing on the GPU.
  if (a.type == cudaMemoryTypeDevice)
    std::printf(" devicePointer %s", a.devicePointer == p ? "same" : "other");
  if (base_dev) std::printf(" (inside an allocation)");
  std::printf("\n");
}

}  // namespace

int main() {
  char* d;
  CHECK(cudaMalloc(&d, 1 << 20));
  attrs("cudaMalloc", d, nullptr);
  attrs("cudaMalloc + 1000", d + 1000, d);
  void* pitched;
  size_t pitch;
  CHECK(cudaMallocPitch(&pitched, &pitch, 100, 10));
  attrs("cudaMallocPitch", pitched, nullptr);
  cudaPitchedPtr p3;
  CHECK(cudaMalloc3D(&p3, make_cudaExtent(64, 4, 4)));
  attrs("cudaMalloc3D", p3.ptr, nullptr);
  void* pinned;
  CHECK(cudaMallocHost(&pinned, 4096));
  attrs("cudaMallocHost", pinned, nullptr);
  attrs("cudaMallocHost + 100", static_cast<char*>(pinned) + 100, nullptr);
  void* ha;
  CHECK(cudaHostAlloc(&ha, 8192, cudaHostAllocPortable));
  attrs("cudaHostAlloc", ha, nullptr);
  std::vector<char> reg(1 << 16);
  CHECK(cudaHostRegister(reg.data(), reg.size(), cudaHostRegisterDefault));
  attrs("cudaHostRegister", reg.data(), nullptr);
  CHECK(cudaHostUnregister(reg.data()));
  attrs("after cudaHostUnregister", reg.data(), nullptr);
  std::vector<char> heap(1000);
  attrs("malloc", heap.data(), nullptr);
  int stack = 0;
  attrs("stack", &stack, nullptr);
  attrs("NULL", nullptr, nullptr);
  REPORT(cudaPointerGetAttributes(nullptr, d));
  cudaGetLastError();
  CHECK(cudaFree(d));
  CHECK(cudaFree(pitched));
  CHECK(cudaFree(p3.ptr));
  CHECK(cudaFreeHost(pinned));
  CHECK(cudaFreeHost(ha));

  char bus[64] = {};
  REPORT(cudaDeviceGetPCIBusId(bus, sizeof bus, 0));
  std::printf("bus id length %zu\n", std::strlen(bus));
  int dev = -1;
  REPORT(cudaDeviceGetByPCIBusId(&dev, bus));
  std::printf("device by bus id: %d\n", dev);
  // The short form without the domain is accepted too.
  if (std::strlen(bus) > 5) {
    REPORT(cudaDeviceGetByPCIBusId(&dev, bus + 5));
    std::printf("device by short bus id: %d\n", dev);
  }
  REPORT(cudaDeviceGetByPCIBusId(&dev, "not a bus id"));
  REPORT(cudaDeviceGetByPCIBusId(&dev, "ffff:ff:1f.7"));
  char small[8] = {};
  // Natively the truncated id is written too, though the call fails; GVirtuS sends outputs
  // only with success, so the buffer is left alone here.
  REPORT(cudaDeviceGetPCIBusId(small, sizeof small, 0));
  REPORT(cudaDeviceGetPCIBusId(bus, sizeof bus, 7));
  cudaGetLastError();
  REPORT(cudaDeviceFlushGPUDirectRDMAWrites(cudaFlushGPUDirectRDMAWritesTargetCurrentDevice,
                                            cudaFlushGPUDirectRDMAWritesToOwner));
  cudaGetLastError();

  const char* name = nullptr;
  REPORT(cudaFuncGetName(&name, reinterpret_cast<const void*>(plain_kernel)));
  std::printf("name: %s\n", name ? name : "(null)");
  REPORT(cudaFuncGetName(&name, reinterpret_cast<const void*>(ns::templated<float>)));
  std::printf("name: %s\n", name ? name : "(null)");
  REPORT(cudaFuncGetName(&name, reinterpret_cast<const void*>(&attrs)));
  REPORT(cudaFuncGetName(nullptr, reinterpret_cast<const void*>(plain_kernel)));
  cudaGetLastError();
  return verdict(true);
}
