// Virtual memory management on the client (api/cuda.api 4400-4499; the hand-written calls are in
// vmm.cc): what the generated stubs of cuMemAddressReserve, cuMemSetAccess and cuMemGetAccess
// call. A reservation is device address space of the worker: it is recorded with the device
// allocations (client::device_ranges, tag kReservedRange), mapped or not, so that the runtime's
// cudaMemcpyDefault and cuMemcpy never take its addresses for host memory.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace gvirtus::cuda {

// Not supported towards a backend before protocol 3.10 (it would end the session on the
// unknown call): CUDA_ERROR_NOT_SUPPORTED, logged once.
std::optional<CUresult> vmm_refused(const char* fn);
// The same, and access from the host (common/vmm_rules.h): CUDA_ERROR_NOT_SUPPORTED.
std::optional<CUresult> vmm_access_refused(const CUmemAccessDesc* desc, size_t count);
// A reservation made / freed.
void vmm_reserved(CUdeviceptr ptr, size_t size);

}  // namespace gvirtus::cuda
