// Runtime queries answered from what the client learnt (answers.h). Keys:
//   count                         cudaGetDeviceCount
//   prop:<device>                 cudaGetDeviceProperties
//   attr:<device>:<attribute>     cudaDeviceGetAttribute (not the compute mode: an operator may
//                                 change it while the process runs)
//   func:occ:<what>:<device>:<kernel>:<block>:<smem>:<flags>    occupancy queries
//   func:smem:<device>:<kernel>:<blocks>:<block>                cudaOccupancyAvailableDynamicSMemPerBlock
//   func:attr:<device>:<kernel id>                              cudaFuncGetAttributes
// Kernels are named by their host stub address (the client's own registry outlives them) or by
// the worker's kernel id. Every "func:" answer is forgotten when a kernel attribute or a cache
// configuration is set (runtime or driver API).
#include "frontend/cudart/answers.h"

#include <cstdint>
#include <string>

#include "frontend/core/answers.h"
#include "frontend/core/live_set.h"
#include "frontend/core/ranges.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {
namespace {

template <typename T>
Local recall(const std::string& key, T* out) {
  if (!out || !client::recall_answer(key, out, sizeof(T))) return std::nullopt;
  return cudaSuccess;
}
template <typename T>
void keep(const std::string& key, const T* value) {
  if (value) client::remember_answer(key, value, sizeof(T));
}

std::string ptr(const void* p) { return std::to_string(reinterpret_cast<uintptr_t>(p)); }

// The thread's current device as a key part, if known (else nothing is answered or kept).
bool device_part(std::string* out) {
  int d = 0;
  if (!client::recall_current_device(&d)) return false;
  *out = std::to_string(d);
  return true;
}

bool cacheable(cudaDeviceAttr attr) { return attr != cudaDevAttrComputeMode; }

}  // namespace

Local local_get_device(int* device) {
  int d = 0;
  if (!device || !client::recall_current_device(&d)) return std::nullopt;
  *device = d;
  return cudaSuccess;
}
void keep_device(int device) { client::remember_current_device(device); }
void keep_device_set(int device) {
  client::remember_current_device(device);
  client::forget_current_context();  // the device's primary context is now current
}

Local local_device_count(int* count) { return recall("count", count); }
void keep_device_count(const int* count) { keep("count", count); }

Local local_device_properties(cudaDeviceProp* prop, int device) {
  return recall("prop:" + std::to_string(device), prop);
}
void keep_device_properties(const cudaDeviceProp* prop, int device) {
  keep("prop:" + std::to_string(device), prop);
}

Local local_device_attribute(int* value, cudaDeviceAttr attr, int device) {
  if (!cacheable(attr)) return std::nullopt;
  return recall("attr:" + std::to_string(device) + ":" + std::to_string(attr), value);
}
void keep_device_attribute(const int* value, cudaDeviceAttr attr, int device) {
  if (cacheable(attr)) keep("attr:" + std::to_string(device) + ":" + std::to_string(attr), value);
}

namespace {
bool occupancy_key(const char* what, const void* func, int block_size, size_t dynamic_smem,
                   unsigned int flags, std::string* key) {
  std::string dev;
  if (!func || !device_part(&dev)) return false;
  *key = std::string("func:occ:") + what + ":" + dev + ":" + ptr(func) + ":" +
         std::to_string(block_size) + ":" + std::to_string(dynamic_smem) + ":" +
         std::to_string(flags);
  return true;
}
bool smem_key(const void* func, int num_blocks, int block_size, std::string* key) {
  std::string dev;
  if (!func || !device_part(&dev)) return false;
  *key = "func:smem:" + dev + ":" + ptr(func) + ":" + std::to_string(num_blocks) + ":" +
         std::to_string(block_size);
  return true;
}
}  // namespace

Local local_occupancy(const char* what, int* out, const void* func, int block_size,
                      size_t dynamic_smem, unsigned int flags) {
  std::string key;
  if (!occupancy_key(what, func, block_size, dynamic_smem, flags, &key)) return std::nullopt;
  return recall(key, out);
}
void keep_occupancy(const char* what, const int* out, const void* func, int block_size,
                    size_t dynamic_smem, unsigned int flags) {
  std::string key;
  if (occupancy_key(what, func, block_size, dynamic_smem, flags, &key)) keep(key, out);
}

Local local_dynamic_smem(size_t* out, const void* func, int num_blocks, int block_size) {
  std::string key;
  if (!smem_key(func, num_blocks, block_size, &key)) return std::nullopt;
  return recall(key, out);
}
void keep_dynamic_smem(const size_t* out, const void* func, int num_blocks, int block_size) {
  std::string key;
  if (smem_key(func, num_blocks, block_size, &key)) keep(key, out);
}

Local local_kernel_attributes(uint64_t kernel_id, cudaFuncAttributes* attr) {
  std::string dev;
  if (!device_part(&dev)) return std::nullopt;
  return recall("func:attr:" + dev + ":" + std::to_string(kernel_id), attr);
}
void keep_kernel_attributes(uint64_t kernel_id, const cudaFuncAttributes* attr) {
  std::string dev;
  if (device_part(&dev)) keep("func:attr:" + dev + ":" + std::to_string(kernel_id), attr);
}

namespace {
client::LiveSet& live_streams() {
  static auto* s = new client::LiveSet;
  return *s;
}
}  // namespace

void stream_created(const cudaStream_t* stream) {
  if (stream) live_streams().add(*stream);
}
void stream_destroyed(cudaStream_t stream) { live_streams().remove(stream); }

Local local_is_capturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  const bool builtin =
      stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
  if (!status || client::capture_may_be_active() || !no_error_recorded() ||
      !(builtin || live_streams().contains(stream)))
    return std::nullopt;
  *status = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

void forget_kernel_answers() {
  client::forget_answers("func:");
  client::forget_answers("funcset:");
}

namespace {
bool attribute_set_key(const void* func, cudaFuncAttribute attr, std::string* key) {
  std::string dev;
  if (!device_part(&dev)) return false;
  *key = "funcset:" + dev + ":" + ptr(func) + ":" + std::to_string(static_cast<int>(attr));
  return true;
}
}  // namespace

Local local_func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
  std::string key;
  int known = 0;
  if (!attribute_set_key(func, attr, &key) || !recall(key, &known) || known != value)
    return std::nullopt;
  return cudaSuccess;  // the same value again: nothing changes, natively too
}

void kernel_attribute_set(const void* func, cudaFuncAttribute attr, int value) {
  std::string key;
  int known = 0;
  const bool same = attribute_set_key(func, attr, &key) && recall(key, &known) && known == value;
  if (same) return;
  client::forget_answers("func:");  // attributes and occupancy may have changed
  if (!key.empty()) keep(key, &value);
}

void device_reset() {
  forget_kernel_answers();
  client::forget_primary_contexts();
  // The calling thread's device (a new thread's is 0); unknown: nothing is forgotten.
  if (const int device = client::known_current_device(); device >= 0) {
    managed::drop_after_reset(device);
    client::forget_device_ranges_at_reset(device);
  }
}

}  // namespace gvirtus::cudart
