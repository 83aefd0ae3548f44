// Registers this library's host memory (host_memory.cc, managed_api.cc) and managed memory
// (managed.h) as the process's, for libcuda.so.1's cuMemHostAlloc & co. and cuMemAllocManaged
// (frontend/core/host_memory_ops.h). Each entry runs the runtime function and puts the
// thread's last error back as it was: a driver call does not touch the runtime's error state.
#include "frontend/core/host_memory_ops.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {
namespace {

template <typename F>
int32_t as_driver_call(F&& f) {
  const cudaError_t saved = take_last_error();
  const cudaError_t e = f();
  (void)take_last_error();
  if (saved != cudaSuccess) set_last_error(saved);
  return static_cast<int32_t>(e);
}

int32_t op_alloc(void** p, size_t size, unsigned flags) {
  return as_driver_call([&] { return cudaHostAlloc(p, size, flags); });
}
int32_t op_free(void* p) {
  return as_driver_call([&] { return cudaFreeHost(p); });
}
int32_t op_register(void* p, size_t size, unsigned flags) {
  return as_driver_call([&] { return cudaHostRegister(p, size, flags); });
}
int32_t op_unregister(void* p) {
  return as_driver_call([&] { return cudaHostUnregister(p); });
}
int32_t op_device_pointer(void** dev, void* host) {
  return as_driver_call([&] { return cudaHostGetDevicePointer(dev, host, 0); });
}
// The driver's answer: with unified addressing it reports every page-locked allocation as
// mapped (seen on the GPU machine: cuMemAllocHost memory answers CU_MEMHOSTALLOC_DEVICEMAP, and
// programs compare against that); a registration keeps the flags it was given.
int32_t op_flags(unsigned* flags, void* p) {
  return as_driver_call([&] {
    cudaError_t e = cudaHostGetFlags(flags, p);
    if (e == cudaSuccess && is_host_allocation(p)) *flags |= cudaHostAllocMapped;
    return e;
  });
}
bool op_is_page_locked(const void* p) { return is_page_locked_host(p); }
int32_t op_alloc_managed(void** p, size_t size, unsigned flags) {
  return as_driver_call(
      [&] { return managed::allocate(p, size, flags, managed::Kind::kManaged); });
}
bool op_owns_managed(const void* p) { return managed::owns(p, managed::Kind::kManaged); }
int32_t op_free_managed(void* p) {
  return as_driver_call([&] { return managed::release(p); });
}
int32_t op_adopt_managed(uint64_t addr, size_t size) {
  return as_driver_call([&] { return managed::adopt(addr, size); });
}

struct Register {
  Register() {
    client::HostMemoryOps ops;
    ops.alloc = &op_alloc;
    ops.free = &op_free;
    ops.register_range = &op_register;
    ops.unregister = &op_unregister;
    ops.device_pointer = &op_device_pointer;
    ops.flags = &op_flags;
    ops.is_page_locked = &op_is_page_locked;
    ops.alloc_managed = &op_alloc_managed;
    ops.owns_managed = &op_owns_managed;
    ops.free_managed = &op_free_managed;
    ops.adopt_managed = &op_adopt_managed;
    ops.before_device_work = &managed::before_device_work;
    ops.after_synchronisation = &managed::after_synchronisation;
    ops.before_callback = &managed::before_callback;
    ops.after_callback = &managed::after_callback;
    ops.contains_managed = &managed::contains;
    ops.refuses_free = &managed::refuses_free;
    ops.drop_after_reset = &managed::drop_after_reset;
    client::set_host_memory_ops(ops);
  }
} g_register;

}  // namespace
}  // namespace gvirtus::cudart
