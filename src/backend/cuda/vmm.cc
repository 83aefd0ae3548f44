// The driver's virtual memory management (api/cuda.api 4400-4499): physical allocations
// (cuMemCreate), address reservations, mappings and access. Client side:
// src/frontend/cuda/vmm.cc; payloads in docs/driver.md, "Virtual memory management".
//
// An allocation handle is the address of a driver object, and the driver's behaviour for any
// other value is undefined, so the client names allocations by HandleTable ids (kind
// kMemAllocation) and the worker keeps each one's references and mappings (vmm_book.h): an id
// stays valid while a reference made through it (cuMemCreate, cuMemRetainAllocationHandle) is
// not released, and the session's GPU memory ledger gives the bytes back when the driver frees
// them. Addresses (reservations, mappings) are the worker's device addresses: the driver checks
// them.
//
// Refused: physical memory on the host (CU_MEM_LOCATION_TYPE_HOST*: the worker's page-locked
// memory, outside the GPU memory quota), and access to a range from the host (the application's
// CPU cannot reach the worker's memory): CUDA_ERROR_NOT_SUPPORTED, which the client answers
// itself for an honest request; a Windows handle attribute pointer (the client's address):
// CUDA_ERROR_INVALID_VALUE.
//
// Wire: cuMemAddressFree                        u64 ptr, u64 size
//       cuMemCreate                             u64 size, CUmemAllocationProp, u64 flags
//                                                 reply u64 handle id
//       cuMemRelease                            u64 handle id
//       cuMemMap                                u64 ptr, u64 size, u64 offset, u64 handle id,
//                                                 u64 flags
//       cuMemUnmap                              u64 ptr, u64 size
//       cuMemGetAllocationGranularity           CUmemAllocationProp, i32 option
//                                                 reply u64 granularity
//       cuMemGetAllocationPropertiesFromHandle  u64 handle id      reply CUmemAllocationProp
//       cuMemRetainAllocationHandle             u64 addr           reply u64 handle id
// (cuMemAddressReserve, cuMemSetAccess and cuMemGetAccess are generated.)
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend/cuda/support.h"
#include "backend/cuda/vmm.h"
#include "backend/cuda/vmm_book.h"
#include "backend/cudart/clearing.h"
#include "backend/handle_io.h"
#include "backend/quota_calls.h"
#include "backend/worker.h"
#include "common/log.h"

namespace gvirtus::backend::cuda {

namespace {

constexpr HandleKind kAlloc = HandleKind::kMemAllocation;
// The driver documents CUDA_ERROR_INVALID_VALUE for a handle it does not know.
constexpr int32_t kStale = CUDA_ERROR_INVALID_VALUE;

VmmBook& book(CallContext& ctx) { return ctx.session.state<VmmBook>(); }

uint64_t raw_of(const void* p) { return reinterpret_cast<uintptr_t>(p); }
void* obj_of(CUmemGenericAllocationHandle h) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(h));
}

// The allocation an id names, holding a reference, or false with ctx.status set (a stale id,
// or one whose allocation lives on only through a mapping: the driver released its handle; a
// forged id throws).
bool alloc_in(CallContext& ctx, uint64_t id, CUmemGenericAllocationHandle* out) {
  void* p = nullptr;
  if (id == 0) {
    ctx.status = kStale;
    return false;
  }
  if (!handle_in(ctx, kAlloc, id, &p, kStale)) return false;
  if (book(ctx).references(raw_of(p)) == 0) {
    ctx.status = kStale;
    return false;
  }
  *out = raw_of(p);
  return true;
}

// A property structure from the client: no Windows attribute pointer (its address is the
// client's; CUDA requires NULL on Linux) and physical memory on a device.
bool prop_accepted(CallContext& ctx, const CUmemAllocationProp& prop, bool creates) {
  if (prop.win32HandleMetaData != nullptr) {
    ctx.status = CUDA_ERROR_INVALID_VALUE;
    return false;
  }
  if (creates && vmm_host_location(prop.location.type)) {
    log::once(log::Level::kInfo, "vmm:host-memory",
              "cuMemCreate: physical memory on the host is not supported by GVirtuS; answered "
              "CUDA_ERROR_NOT_SUPPORTED");
    ctx.status = CUDA_ERROR_NOT_SUPPORTED;
    return false;
  }
  return true;
}

// The allocations that died: their bytes go back to the ledger and their ids are forgotten (the
// driver may give a later allocation the same handle, which must get an id of its own).
void bury(CallContext& ctx, const std::vector<VmmBook::Dead>& dead) {
  for (const VmmBook::Dead& d : dead) {
    quota::vmm_freed(d.raw);
    ctx.session.handles().forget(kAlloc, obj_of(d.raw));
  }
}

// With clearing on (clearing.h), new physical memory is zeroed before the client can map it:
// mapped for the moment at an address of the worker's own.
CUresult clear_physical(CallContext& ctx, CUmemGenericAllocationHandle h, size_t size,
                        int device) {
  auto reserve = real<decltype(&::cuMemAddressReserve)>(ctx, "cuMemAddressReserve");
  auto map = real<decltype(&::cuMemMap)>(ctx, "cuMemMap");
  auto access = real<decltype(&::cuMemSetAccess)>(ctx, "cuMemSetAccess");
  auto unmap = real<decltype(&::cuMemUnmap)>(ctx, "cuMemUnmap");
  auto free_va = real<decltype(&::cuMemAddressFree)>(ctx, "cuMemAddressFree");
  if (!reserve || !map || !access || !unmap || !free_va) return CUDA_ERROR_NOT_FOUND;
  CUdeviceptr va = 0;
  CUresult e = reserve(&va, size, 0, 0, 0);
  if (e != CUDA_SUCCESS) return e;
  e = map(va, size, 0, h, 0);
  if (e == CUDA_SUCCESS) {
    CUmemAccessDesc d{};
    d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    d.location.id = device;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    e = access(va, size, &d, 1);
    if (e == CUDA_SUCCESS) {
      KeepCurrentContext keep;
      const cudaError_t ce = cudaSetDevice(device) == cudaSuccess
                                 ? cudart::clear_allocation(reinterpret_cast<void*>(va), size,
                                                            nullptr, false)
                                 : cudaErrorInvalidDevice;
      if (ce != cudaSuccess) e = CUDA_ERROR_UNKNOWN;
    }
    unmap(va, size);
  }
  free_va(va, size);
  return e;
}

}  // namespace

void vmm_check_access(const CUmemAccessDesc* desc, size_t count) {
  for (size_t i = 0; desc && i < count; ++i)
    if (vmm_host_location(desc[i].location.type))
      throw SessionFault("cuMemSetAccess: access from the host (the client refuses it)");
}

void handle_cuMemCreate(CallContext& ctx) {
  const uint64_t size = ctx.in.get<uint64_t>();
  CUmemAllocationProp prop = ctx.in.get<CUmemAllocationProp>();
  const uint64_t flags = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (!prop_accepted(ctx, prop, true)) return;
  if (!quota::vmm_room_for(size)) {
    ctx.status = CUDA_ERROR_OUT_OF_MEMORY;
    return;
  }
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  auto create = real<decltype(&::cuMemCreate)>(ctx, "cuMemCreate");
  auto release = real<decltype(&::cuMemRelease)>(ctx, "cuMemRelease");
  if (!create || !release) return;
  CUmemGenericAllocationHandle h = 0;
  ctx.status = create(&h, static_cast<size_t>(size), &prop, flags);
  if (ctx.status != CUDA_SUCCESS) return;
  const int device = prop.location.id;
  if (!book(ctx).created(h, size, device)) {
    // The driver gave a handle this session still holds: nothing to name it by.
    release(h);
    ctx.status = CUDA_ERROR_UNKNOWN;
    return;
  }
  std::vector<VmmBook::Dead> dead;
  auto undo = [&](int32_t status) {
    book(ctx).released(h, &dead);
    release(h);
    ctx.status = status;
  };
  if (!quota::vmm_created(h, size, device)) {
    undo(CUDA_ERROR_OUT_OF_MEMORY);  // nothing was charged
    return;
  }
  if (cudart::clear_new_memory()) {
    const CUresult e = clear_physical(ctx, h, static_cast<size_t>(size), device);
    if (e != CUDA_SUCCESS) {
      undo(e);
      bury(ctx, dead);
      return;
    }
  }
  ctx.out.put<uint64_t>(handle_out(ctx, kAlloc, obj_of(h)));
}

void handle_cuMemRelease(CallContext& ctx) {
  const uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  CUmemGenericAllocationHandle h = 0;
  if (!alloc_in(ctx, id, &h)) return;
  auto release = real<decltype(&::cuMemRelease)>(ctx, "cuMemRelease");
  if (!release) return;
  ctx.status = release(h);
  if (ctx.status != CUDA_SUCCESS) return;
  // The id stays while the allocation lives (a mapping may keep it), so that a handle retained
  // from its mapping is the same id, as natively the same handle value; bury forgets it.
  std::vector<VmmBook::Dead> dead;
  book(ctx).released(h, &dead);
  bury(ctx, dead);
}

void handle_cuMemMap(CallContext& ctx) {
  const uint64_t ptr = ctx.in.get<uint64_t>();
  const uint64_t size = ctx.in.get<uint64_t>();
  const uint64_t offset = ctx.in.get<uint64_t>();
  const uint64_t id = ctx.in.get<uint64_t>();
  const uint64_t flags = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  CUmemGenericAllocationHandle h = 0;
  if (!alloc_in(ctx, id, &h)) return;
  auto map = real<decltype(&::cuMemMap)>(ctx, "cuMemMap");
  if (!map) return;
  ctx.status = map(ptr, static_cast<size_t>(size), static_cast<size_t>(offset), h, flags);
  if (ctx.status != CUDA_SUCCESS) return;
  std::vector<VmmBook::Dead> dead;
  book(ctx).mapped(ptr, size, h, &dead);
  bury(ctx, dead);
}

// cuMemUnmap, and cuMemAddressFree. The driver (580) refuses to free a reservation with mappings
// in it, and a partial unmap (docs/driver.md); should one free the reservation all the same,
// the worker unmaps what it recorded there too, so no memory stays mapped that the ledger no
// longer counts.
template <typename F>
void unmap_range(CallContext& ctx, const char* name, bool frees_reservation) {
  const uint64_t ptr = ctx.in.get<uint64_t>();
  const uint64_t size = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  auto f = real<F>(ctx, name);
  auto unmap = real<decltype(&::cuMemUnmap)>(ctx, "cuMemUnmap");
  if (!f || !unmap) return;
  const auto left = frees_reservation ? book(ctx).mappings_in(ptr, size)
                                      : std::vector<std::pair<uint64_t, uint64_t>>{};
  ctx.status = f(ptr, static_cast<size_t>(size));
  if (ctx.status != CUDA_SUCCESS) return;
  for (const auto& [va, n] : left) unmap(va, static_cast<size_t>(n));
  std::vector<VmmBook::Dead> dead;
  book(ctx).unmapped(ptr, size, &dead);
  bury(ctx, dead);
}

void handle_cuMemUnmap(CallContext& ctx) {
  unmap_range<decltype(&::cuMemUnmap)>(ctx, "cuMemUnmap", false);
}
void handle_cuMemAddressFree(CallContext& ctx) {
  unmap_range<decltype(&::cuMemAddressFree)>(ctx, "cuMemAddressFree", true);
}

void handle_cuMemGetAllocationGranularity(CallContext& ctx) {
  CUmemAllocationProp prop = ctx.in.get<CUmemAllocationProp>();
  const int32_t option = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  if (!prop_accepted(ctx, prop, false)) return;
  auto f = real<decltype(&::cuMemGetAllocationGranularity)>(ctx, "cuMemGetAllocationGranularity");
  if (!f) return;
  size_t g = 0;
  ctx.status = f(&g, &prop, static_cast<CUmemAllocationGranularity_flags>(option));
  if (ctx.status == CUDA_SUCCESS) ctx.out.put<uint64_t>(g);
}

void handle_cuMemGetAllocationPropertiesFromHandle(CallContext& ctx) {
  const uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  CUmemGenericAllocationHandle h = 0;
  if (!alloc_in(ctx, id, &h)) return;
  auto f = real<decltype(&::cuMemGetAllocationPropertiesFromHandle)>(
      ctx, "cuMemGetAllocationPropertiesFromHandle");
  if (!f) return;
  CUmemAllocationProp prop{};
  ctx.status = f(&prop, h);
  if (ctx.status != CUDA_SUCCESS) return;
  prop.win32HandleMetaData = nullptr;  // the worker's address means nothing to the client
  ctx.out.put<CUmemAllocationProp>(prop);
}

void handle_cuMemRetainAllocationHandle(CallContext& ctx) {
  const uint64_t addr = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> serial(book(ctx).calls());
  auto retain = real<decltype(&::cuMemRetainAllocationHandle)>(ctx, "cuMemRetainAllocationHandle");
  auto release = real<decltype(&::cuMemRelease)>(ctx, "cuMemRelease");
  if (!retain || !release) return;
  CUmemGenericAllocationHandle h = 0;
  ctx.status = retain(&h, reinterpret_cast<void*>(static_cast<uintptr_t>(addr)));
  if (ctx.status != CUDA_SUCCESS) return;
  if (!book(ctx).retained(h)) {
    // Memory this session did not make (none can be imported): not the client's to hold.
    release(h);
    ctx.status = CUDA_ERROR_INVALID_VALUE;
    return;
  }
  // The allocation's id, kept while it lives (HandleTable keeps one id per object).
  ctx.out.put<uint64_t>(handle_out(ctx, kAlloc, obj_of(h)));
}

}  // namespace gvirtus::backend::cuda
