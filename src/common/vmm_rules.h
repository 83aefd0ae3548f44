// What GVirtuS refuses of the driver's virtual memory management, one definition for the client
// (frontend/cuda/vmm.cc answers CUDA_ERROR_NOT_SUPPORTED before sending) and the worker
// (backend/cuda/vmm.cc: cuMemCreate answers CUDA_ERROR_NOT_SUPPORTED too; cuMemSetAccess ends
// the session of a client that sends host access anyway). docs/driver.md, "Virtual memory
// management".
#pragma once
#include <cuda.h>

namespace gvirtus {

// Host locations: physical memory there would be the worker's page-locked memory (outside the
// GPU memory quota), and access from there the worker's CPU, which the application's code never
// runs on.
constexpr bool vmm_host_location(CUmemLocationType t) {
  return t == CU_MEM_LOCATION_TYPE_HOST || t == CU_MEM_LOCATION_TYPE_HOST_NUMA ||
         t == CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT;
}

// The first protocol minor whose backend knows the calls (3.10).
constexpr unsigned kVmmMinor = 10;

}  // namespace gvirtus
