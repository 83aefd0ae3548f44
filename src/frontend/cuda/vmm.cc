// Virtual memory management, the hand-written part (api/cuda.api 4400-4499; vmm.h). Physical
// allocations are named by the worker's ids (the driver's handles are its objects' addresses);
// reservations and mappings are the worker's device addresses. Wire: src/backend/cuda/vmm.cc.
#include "frontend/cuda/vmm.h"

#include "common/vmm_rules.h"
#include "frontend/core/ranges.h"
#include "frontend/cuda/local.h"

namespace gvirtus::cuda {

std::optional<CUresult> vmm_refused(const char* fn) {
  if (client::connection() && client::server_minor() < kVmmMinor)
    return refuse(fn, "virtual memory management towards a backend before protocol 3.10");
  return std::nullopt;
}

std::optional<CUresult> vmm_access_refused(const CUmemAccessDesc* desc, size_t count) {
  if (auto r = vmm_refused("cuMemSetAccess")) return r;
  for (size_t i = 0; desc && i < count; ++i)
    if (vmm_host_location(desc[i].location.type))
      return refuse("cuMemSetAccess", "access from the host (the worker's CPU)");
  return std::nullopt;
}

void vmm_reserved(CUdeviceptr ptr, size_t size) {
  // A reservation is large (PyTorch's expandable segments reserve more than the GPU's memory
  // per pool): its addresses are claimed in this process as an allocation's are.
  client::record_device_range(static_cast<uintptr_t>(ptr), size, client::kReservedRange, true);
}

namespace {

// A call whose reply is its status only.
CUresult status_call(Call call, const char* fn, uint64_t a, uint64_t b) {
  if (auto r = vmm_refused(fn)) return *r;
  client::Call c(id(call));
  c.args().put<uint64_t>(a);
  c.args().put<uint64_t>(b);
  if (!c.invoke()) return lost();
  return finish(c);
}

// A call whose reply is one value of type T (after success): `args` writes the request.
template <typename T, typename Args>
CUresult value_call(Call call, const char* fn, Args&& args, T* out) {
  if (auto r = vmm_refused(fn)) return *r;
  client::Call c(id(call));
  args(c.args());
  return invoke_for(c, out);
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  return guarded("cuMemAddressFree", [&]() -> CUresult {
    // The record is noted before the request and forgotten after it succeeded, if it is still
    // that record (client::forget_device_range_if_same).
    client::RangeMap::Range r;
    const bool known = client::device_range_at(static_cast<uintptr_t>(ptr), &r) &&
                       (r.tag & client::kReservedRange) != 0;
    const CUresult e = status_call(Call::kCall_cuMemAddressFree, "cuMemAddressFree", ptr, size);
    if (e == CUDA_SUCCESS && known) client::forget_device_range_if_same(r);
    return e;
  });
}

GV_EXPORT CUresult cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size,
                               const CUmemAllocationProp* prop, unsigned long long flags) {
  return guarded("cuMemCreate", [&]() -> CUresult {
    if (!handle || !prop) return CUDA_ERROR_INVALID_VALUE;
    if (client::connection() && client::server_minor() >= kVmmMinor &&
        vmm_host_location(prop->location.type))
      return refuse("cuMemCreate", "physical memory on the host (the worker's)");
    uint64_t h = 0;
    const CUresult e = value_call(
        Call::kCall_cuMemCreate, "cuMemCreate",
        [&](wire::Writer& a) {
          a.put<uint64_t>(size);
          a.put<CUmemAllocationProp>(*prop);
          a.put<uint64_t>(flags);
        },
        &h);
    if (e == CUDA_SUCCESS) *handle = h;
    return e;
  });
}

GV_EXPORT CUresult cuMemRelease(CUmemGenericAllocationHandle handle) {
  return guarded("cuMemRelease", [&]() -> CUresult {
    if (auto r = vmm_refused("cuMemRelease")) return *r;
    client::Call c(id(Call::kCall_cuMemRelease));
    c.args().put<uint64_t>(handle);
    if (!c.invoke()) return lost();
    return finish(c);
  });
}

GV_EXPORT CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                            CUmemGenericAllocationHandle handle, unsigned long long flags) {
  return guarded("cuMemMap", [&]() -> CUresult {
    if (auto r = vmm_refused("cuMemMap")) return *r;
    client::Call c(id(Call::kCall_cuMemMap));
    c.args().put<uint64_t>(ptr);
    c.args().put<uint64_t>(size);
    c.args().put<uint64_t>(offset);
    c.args().put<uint64_t>(handle);
    c.args().put<uint64_t>(flags);
    if (!c.invoke()) return lost();
    return finish(c);
  });
}

GV_EXPORT CUresult cuMemUnmap(CUdeviceptr ptr, size_t size) {
  return guarded("cuMemUnmap", [&]() -> CUresult {
    return status_call(Call::kCall_cuMemUnmap, "cuMemUnmap", ptr, size);
  });
}

GV_EXPORT CUresult cuMemGetAllocationGranularity(size_t* granularity,
                                                 const CUmemAllocationProp* prop,
                                                 CUmemAllocationGranularity_flags option) {
  return guarded("cuMemGetAllocationGranularity", [&]() -> CUresult {
    if (!granularity || !prop) return CUDA_ERROR_INVALID_VALUE;
    uint64_t g = 0;
    const CUresult e = value_call(
        Call::kCall_cuMemGetAllocationGranularity, "cuMemGetAllocationGranularity",
        [&](wire::Writer& a) {
          a.put<CUmemAllocationProp>(*prop);
          a.put<int32_t>(static_cast<int32_t>(option));
        },
        &g);
    if (e == CUDA_SUCCESS) *granularity = static_cast<size_t>(g);
    return e;
  });
}

GV_EXPORT CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp* prop,
                                                          CUmemGenericAllocationHandle handle) {
  return guarded("cuMemGetAllocationPropertiesFromHandle", [&]() -> CUresult {
    if (!prop) return CUDA_ERROR_INVALID_VALUE;
    CUmemAllocationProp p{};
    const CUresult e = value_call(
        Call::kCall_cuMemGetAllocationPropertiesFromHandle,
        "cuMemGetAllocationPropertiesFromHandle", [&](wire::Writer& a) { a.put<uint64_t>(handle); },
        &p);
    if (e != CUDA_SUCCESS) return e;
    p.win32HandleMetaData = nullptr;
    *prop = p;
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle* handle, void* addr) {
  return guarded("cuMemRetainAllocationHandle", [&]() -> CUresult {
    if (!handle) return CUDA_ERROR_INVALID_VALUE;
    uint64_t h = 0;
    const CUresult e = value_call(
        Call::kCall_cuMemRetainAllocationHandle, "cuMemRetainAllocationHandle",
        [&](wire::Writer& a) { a.put<uint64_t>(reinterpret_cast<uintptr_t>(addr)); }, &h);
    if (e == CUDA_SUCCESS) *handle = h;
    return e;
  });
}
