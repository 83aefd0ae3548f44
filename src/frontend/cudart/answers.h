// The runtime's queries answered by the client when it can do so exactly (frontend/core/
// answers.h keeps what was learnt): called by the generated stubs through `local=` (before
// anything is sent: a value is the answer) and `after=` (after a successful reply: keep it).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace gvirtus::cudart {

using Local = std::optional<cudaError_t>;

Local local_get_device(int* device);
void keep_device(int device);
Local local_device_count(int* count);
void keep_device_count(const int* count);
Local local_device_properties(cudaDeviceProp* prop, int device);
void keep_device_properties(const cudaDeviceProp* prop, int device);
Local local_device_attribute(int* value, cudaDeviceAttr attr, int device);
void keep_device_attribute(const int* value, cudaDeviceAttr attr, int device);

// Occupancy of a kernel on the current device (known to this thread), by its arguments.
Local local_occupancy(const char* what, int* out, const void* func, int block_size,
                      size_t dynamic_smem, unsigned int flags);
void keep_occupancy(const char* what, const int* out, const void* func, int block_size,
                    size_t dynamic_smem, unsigned int flags);
Local local_dynamic_smem(size_t* out, const void* func, int num_blocks, int block_size);
void keep_dynamic_smem(const size_t* out, const void* func, int num_blocks, int block_size);
// A kernel's attributes by the worker's kernel id, on the current device.
Local local_kernel_attributes(uint64_t kernel_id, cudaFuncAttributes* attr);
void keep_kernel_attributes(uint64_t kernel_id, const cudaFuncAttributes* attr);
// A kernel attribute or a cache configuration was set: forget kernel attributes and occupancy.
void forget_kernel_answers();

}  // namespace gvirtus::cudart
