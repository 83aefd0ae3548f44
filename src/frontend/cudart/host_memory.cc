// Host memory: cudaMallocHost & co. return page-aligned host memory that, over shm:, is shared
// with the worker and page-locked there (frontend/core/shared_host.h: copies from and to it are
// one DMA), and elsewhere is ordinary memory (the copy functions accept any host memory).
// Registrations of existing memory are only remembered: the worker cannot map another
// process's private memory, so their copies take the staged path (docs/zero-copy.md). Mapped
// memory from cudaHostAlloc is a mirrored allocation (managed.h). Registering existing memory as
// mapped (cudaHostRegisterMapped) makes an alias (managed::alias): a device copy at another
// address, exchanged like mirrored memory; cudaHostGetDevicePointer of other page-locked memory
// makes one on first use.
#include <sys/mman.h>
#include <unistd.h>

#include "frontend/core/deliveries.h"
#include "frontend/core/shared_host.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {
namespace {

RangeMap& host_allocs() {
  static auto* m = new RangeMap;  // tag: cudaHostAlloc flags
  return *m;
}
RangeMap& host_registered() {
  static auto* m = new RangeMap;  // tag: cudaHostRegister flags
  return *m;
}

size_t page_round(size_t n) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (n > SIZE_MAX - (page - 1)) return 0;
  return (n + page - 1) / page * page;
}

// Tag bit of host_allocs() entries that are mirrored allocations (never a cudaHostAlloc flag).
constexpr unsigned kMirrored = 0x80000000u;

cudaError_t refuse_mapped(const char* fn, const char* flag) {
  log::once(log::Level::kError, std::string("mapped:") + fn,
            std::string(fn) + " with " + flag +
                ": mapped host memory (a device pointer to host memory) is not supported by "
                "GVirtuS; the call fails with cudaErrorNotSupported");
  return fail(cudaErrorNotSupported);
}

cudaError_t host_alloc(void** pHost, size_t size, unsigned int flags) {
  if (!pHost) return fail(cudaErrorInvalidValue);
  constexpr unsigned kKnown =
      cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  if (flags & ~kKnown) return fail(cudaErrorInvalidValue);
  if (flags & cudaHostAllocMapped) {
    if (size == 0) return fail(cudaErrorInvalidValue);
    // The worker's side is managed memory (attached globally); the program's flags are kept for
    // cudaHostGetFlags.
    void* p = nullptr;
    cudaError_t e = managed::allocate(&p, size, cudaMemAttachGlobal, managed::Kind::kMapped);
    if (e != cudaSuccess) return e;
    if (!host_allocs().add(reinterpret_cast<uintptr_t>(p), size, flags | kMirrored)) {
      managed::release(p);
      return fail(cudaErrorMemoryAllocation);
    }
    *pHost = p;
    return cudaSuccess;
  }
  if (size == 0) {
    *pHost = nullptr;
    return cudaSuccess;
  }
  size_t len = 0;
  void* p = client::shared_host::allocate(size, &len);
  const bool shared = p != nullptr;
  if (!shared) {
    len = page_round(size);
    if (len == 0) return fail(cudaErrorMemoryAllocation);
    p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  }
  if (!host_allocs().add(reinterpret_cast<uintptr_t>(p), len, flags)) {
    int32_t ignored;
    if (!shared || !client::shared_host::release(p, &ignored)) ::munmap(p, len);
    return fail(cudaErrorMemoryAllocation);
  }
  *pHost = p;
  return cudaSuccess;
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaMallocHost(void** ptr, size_t size) {
  return guarded("cudaMallocHost", [&] { return host_alloc(ptr, size, 0); });
}

GV_EXPORT cudaError_t cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  return guarded("cudaHostAlloc", [&] { return host_alloc(pHost, size, flags); });
}

GV_EXPORT cudaError_t cudaFreeHost(void* ptr) {
  return guarded("cudaFreeHost", [&] {
    if (!ptr) return cudaSuccess;
    RangeMap::Range r;
    if (!host_allocs().remove(reinterpret_cast<uintptr_t>(ptr), &r))
      return fail(cudaErrorInvalidValue);
    // Asynchronous copies into it still to land are dropped (deliveries.h).
    gvirtus::client::deliveries::forget_range(ptr, r.size);
    if (r.tag & kMirrored) return managed::release(ptr);
    cudaError_t e = managed::release_alias(ptr);  // its device copy, if it was ever aliased
    int32_t st = 0;
    if (!gvirtus::client::shared_host::release(ptr, &st)) {
      ::munmap(ptr, r.size);
    } else if (st != 0 && e == cudaSuccess) {
      e = st < 0 ? lost() : fail(static_cast<cudaError_t>(st));
    }
    return e;
  });
}

GV_EXPORT cudaError_t cudaHostRegister(void* ptr, size_t size, unsigned int flags) {
  return guarded("cudaHostRegister", [&] {
    constexpr unsigned kKnown = cudaHostRegisterPortable | cudaHostRegisterMapped |
                                cudaHostRegisterIoMemory | cudaHostRegisterReadOnly;
    if (!ptr || size == 0 || (flags & ~kKnown)) return fail(cudaErrorInvalidValue);
    if (flags & cudaHostRegisterIoMemory)
      return refuse_mapped("cudaHostRegister", "cudaHostRegisterIoMemory");
    uintptr_t base = reinterpret_cast<uintptr_t>(ptr);
    if (base + size < base) return fail(cudaErrorInvalidValue);
    // Memory from cudaHostAlloc is already page-locked natively.
    if (host_allocs().overlaps(base, size)) return fail(cudaErrorHostMemoryAlreadyRegistered);
    if (!host_registered().add(base, size, flags))
      return fail(cudaErrorHostMemoryAlreadyRegistered);
    if (flags & cudaHostRegisterMapped) {
      void* dev = nullptr;
      cudaError_t e = managed::alias(ptr, size, &dev);
      if (e != cudaSuccess) {
        host_registered().remove(base);
        return e;
      }
    }
    return cudaSuccess;
  });
}

GV_EXPORT cudaError_t cudaHostUnregister(void* ptr) {
  return guarded("cudaHostUnregister", [&] {
    if (!ptr) return fail(cudaErrorInvalidValue);
    RangeMap::Range r;
    if (!host_registered().remove(reinterpret_cast<uintptr_t>(ptr), &r))
      return fail(cudaErrorHostMemoryNotRegistered);
    // No longer page-locked: asynchronous copies into it still to land land now, as the
    // synchronous path would have left them (deliveries.h).
    if (!gvirtus::client::deliveries::wait_range(ptr, r.size)) return lost();
    return managed::release_alias(ptr);
  });
}

GV_EXPORT cudaError_t cudaHostGetFlags(unsigned int* pFlags, void* pHost) {
  return guarded("cudaHostGetFlags", [&] {
    if (!pFlags || !pHost) return fail(cudaErrorInvalidValue);
    RangeMap::Range r;
    uintptr_t p = reinterpret_cast<uintptr_t>(pHost);
    if (host_allocs().find(p, &r) || host_registered().find(p, &r)) {
      *pFlags = r.tag & ~kMirrored;
      return cudaSuccess;
    }
    return fail(cudaErrorInvalidValue);
  });
}

namespace gvirtus::cudart {
bool is_page_locked_host(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return a && (host_allocs().find(a) || host_registered().find(a));
}

bool is_host_allocation(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return a && host_allocs().find(a);
}

bool page_locked_range(const void* p, void** base, size_t* size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  RangeMap::Range r;
  if (!a || !(host_allocs().find(a, &r) || host_registered().find(a, &r))) return false;
  *base = reinterpret_cast<void*>(r.base);
  *size = r.size;
  return true;
}
}  // namespace gvirtus::cudart
