// Virtual memory management, as PyTorch's expandable segments use it: granularity, an address
// reservation, two physical allocations mapped side by side and made accessible, the range
// written with cudaMemcpyDefault (its addresses must be known as device memory), a kernel and a
// driver memset across both allocations, a handle released while still mapped (the memory stays
// usable until unmapped), cuMemRetainAllocationHandle, properties and access queries, the errors
// of bad arguments, and the teardown. Prints results only (never addresses or handles).
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "driver/check_drv.h"

namespace {

__global__ void add_one(unsigned* p, size_t n) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    p[i] += 1;
}

CUmemAllocationProp device_prop(int dev) {
  CUmemAllocationProp p{};
  p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  p.location.id = dev;
  return p;
}

}  // namespace

int main() {
  DCHECK(cuInit(0));
  if (cudaSetDevice(0) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) {
    std::printf("no device\n");
    return 1;
  }
  bool ok = true;
  const CUmemAllocationProp prop = device_prop(0);
  size_t g = 0, rec = 0;
  DCHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  DCHECK(cuMemGetAllocationGranularity(&rec, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
  std::printf("granularity: minimum %zu, recommended %zu\n", g, rec);

  CUdeviceptr va = 0;
  DCHECK(cuMemAddressReserve(&va, 4 * g, 0, 0, 0));
  std::printf("reservation aligned: %d\n", static_cast<int>(va % g == 0));
  CUmemGenericAllocationHandle h1 = 0, h2 = 0;
  DCHECK(cuMemCreate(&h1, 2 * g, &prop, 0));
  DCHECK(cuMemCreate(&h2, g, &prop, 0));
  std::printf("two handles differ: %d\n", static_cast<int>(h1 != h2));
  DCHECK(cuMemMap(va, 2 * g, 0, h1, 0));
  DCHECK(cuMemMap(va + 2 * g, g, 0, h2, 0));
  CUmemAccessDesc rw{};
  rw.location = prop.location;
  rw.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  DCHECK(cuMemSetAccess(va, 3 * g, &rw, 1));

  // The second allocation's handle goes now: its mapping keeps the memory.
  DCHECK(cuMemRelease(h2));

  unsigned long long flags = 0;
  CUmemLocation loc = prop.location;
  DCHECK(cuMemGetAccess(&flags, &loc, va + 2 * g));
  std::printf("access of the second allocation: %llu\n", flags);
  std::printf("access past the mappings: %s\n",
              drv_name(cuMemGetAccess(&flags, &loc, va + 3 * g)));

  // Through the runtime, by address only: the range is device memory to cudaMemcpyDefault.
  const size_t n = 3 * g / sizeof(unsigned);
  std::vector<unsigned> host(n), back(n);
  for (size_t i = 0; i < n; ++i) host[i] = static_cast<unsigned>(i * 2654435761u);
  unsigned* d = reinterpret_cast<unsigned*>(static_cast<uintptr_t>(va));
  if (cudaMemcpy(d, host.data(), 3 * g, cudaMemcpyDefault) != cudaSuccess) ok = false;
  add_one<<<64, 256>>>(d, n);
  if (cudaDeviceSynchronize() != cudaSuccess) ok = false;
  DCHECK(cuMemsetD32(va + g, 7u, g / sizeof(unsigned)));  // straddles nothing: inside h1
  if (cudaMemcpy(back.data(), d, 3 * g, cudaMemcpyDefault) != cudaSuccess) ok = false;
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool in_memset = i >= g / sizeof(unsigned) && i < 2 * g / sizeof(unsigned);
    if (back[i] != (in_memset ? 7u : host[i] + 1)) ++wrong;
  }
  std::printf("written, incremented, set, read back: %zu wrong of %zu\n", wrong, n);
  ok = ok && wrong == 0;

  // A retained handle is the allocation's own, and holds a reference of its own.
  CUmemGenericAllocationHandle again = 0;
  DCHECK(cuMemRetainAllocationHandle(&again, reinterpret_cast<void*>(va + g)));
  std::printf("retained handle is the first allocation's: %d\n", static_cast<int>(again == h1));
  DCHECK(cuMemRelease(again));
  CUmemAllocationProp got{};
  DCHECK(cuMemGetAllocationPropertiesFromHandle(&got, h1));
  std::printf("properties: type %d, location %d/%d, handle types %d\n", static_cast<int>(got.type),
              static_cast<int>(got.location.type), got.location.id,
              static_cast<int>(got.requestedHandleTypes));
  // A handle retained from the mapping of a released handle is usable and released again.
  CUmemGenericAllocationHandle revived = 0;
  DCHECK(cuMemRetainAllocationHandle(&revived, reinterpret_cast<void*>(va + 2 * g)));
  DCHECK(cuMemGetAllocationPropertiesFromHandle(&got, revived));
  std::printf("revived handle's device: %d\n", got.location.id);
  DCHECK(cuMemRelease(revived));

  // Errors.
  CUmemGenericAllocationHandle bad = 0;
  std::printf("size not a multiple of the granularity: %s\n",
              drv_name(cuMemCreate(&bad, g + 1, &prop, 0)));
  std::printf("no handle pointer: %s\n", drv_name(cuMemCreate(nullptr, g, &prop, 0)));
  std::printf("no properties: %s\n", drv_name(cuMemCreate(&bad, g, nullptr, 0)));
  CUmemAllocationProp bad_dev = device_prop(1 << 20);
  std::printf("no such device: %s\n", drv_name(cuMemCreate(&bad, g, &bad_dev, 0)));
  std::printf("map over a mapping: %s\n", drv_name(cuMemMap(va, g, 0, h1, 0)));
  std::printf("map at a misaligned address: %s\n",
              drv_name(cuMemMap(va + 3 * g + 4096, g, 0, h1, 0)));
  std::printf("reserve nothing: %s\n", drv_name(cuMemAddressReserve(&bad, 0, 0, 0, 0)));
  std::printf("granularity without properties: %s\n",
              drv_name(cuMemGetAllocationGranularity(&g, nullptr, CU_MEM_ALLOC_GRANULARITY_MINIMUM)));

  // Teardown: unmap (the second allocation's memory is freed now), release, free the range.
  DCHECK(cuMemUnmap(va, 2 * g));
  DCHECK(cuMemUnmap(va + 2 * g, g));
  DCHECK(cuMemRelease(h1));
  DCHECK(cuMemAddressFree(va, 4 * g));

  // Again, as an allocator that grows and shrinks does: 8 rounds of create, map, use, unmap.
  DCHECK(cuMemAddressReserve(&va, 2 * g, 0, 0, 0));
  size_t round_wrong = 0;
  for (int round = 0; round < 8; ++round) {
    CUmemGenericAllocationHandle h = 0;
    DCHECK(cuMemCreate(&h, g, &prop, 0));
    DCHECK(cuMemMap(va + (round % 2) * g, g, 0, h, 0));
    DCHECK(cuMemRelease(h));
    DCHECK(cuMemSetAccess(va + (round % 2) * g, g, &rw, 1));
    DCHECK(cuMemsetD32(va + (round % 2) * g, static_cast<unsigned>(round), g / 4));
    unsigned last = 0;
    DCHECK(cuMemcpyDtoH(&last, va + (round % 2) * g + g - 4, 4));
    if (last != static_cast<unsigned>(round)) ++round_wrong;
    DCHECK(cuMemUnmap(va + (round % 2) * g, g));
  }
  DCHECK(cuMemAddressFree(va, 2 * g));
  std::printf("rounds: %zu wrong\n", round_wrong);
  ok = ok && round_wrong == 0;
  return dverdict(ok);
}
