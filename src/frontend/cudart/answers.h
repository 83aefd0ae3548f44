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
// After cudaSetDevice: the device, and the context is that device's primary one (unknown here).
void keep_device_set(int device);
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
// Streams created and not destroyed (after= of cudaStreamCreate* and cudaStreamDestroy).
void stream_created(const cudaStream_t* stream);
void stream_destroyed(cudaStream_t stream);
// cudaStreamIsCapturing: "not capturing" for a valid stream (the default ones, or one this
// process created and has not destroyed) while no capture was begun in this process and no
// error was recorded (a sticky one would be the answer).
Local local_is_capturing(cudaStream_t stream, cudaStreamCaptureStatus* status);

// A kernel's attributes by the worker's kernel id, on the current device.
Local local_kernel_attributes(uint64_t kernel_id, cudaFuncAttributes* attr);
void keep_kernel_attributes(uint64_t kernel_id, const cudaFuncAttributes* attr);
// A kernel attribute or a cache configuration was set: forget kernel attributes and occupancy.
void forget_kernel_answers();
// cudaFuncSetAttribute: setting again the value this thread's device last got for that kernel
// and attribute through it is answered here (PyTorch sets the same one before each launch).
Local local_func_set_attribute(const void* func, cudaFuncAttribute attr, int value);
// After a successful cudaFuncSetAttribute: remembers the value; a new one forgets the kernels'
// attributes and occupancy.
void kernel_attribute_set(const void* func, cudaFuncAttribute attr, int value);
// After cudaDeviceReset: kernel attributes are back to their defaults, the primary context is
// a new one.
void device_reset();

}  // namespace gvirtus::cudart
