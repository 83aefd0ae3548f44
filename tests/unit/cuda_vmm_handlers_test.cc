// The worker's virtual memory management handlers (src/backend/cuda/vmm.cc): allocation handles
// are the session's ids, never the client's numbers (the driver's behaviour for a handle it did
// not make is undefined), and what GVirtuS refuses is refused before the driver is asked (this
// machine has none: a request that reached it would answer CUDA_ERROR_NO_DEVICE).
#include <cuda.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "backend/cuda/vmm_book.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cuda {
void handle_cuMemCreate(CallContext&);
void handle_cuMemRelease(CallContext&);
void handle_cuMemMap(CallContext&);
void handle_cuMemUnmap(CallContext&);
void handle_cuMemAddressFree(CallContext&);
void handle_cuMemRetainAllocationHandle(CallContext&);
void handle_cuMemGetAllocationGranularity(CallContext&);
void handle_cuMemGetAllocationPropertiesFromHandle(CallContext&);
void handle_cuMemSetAccess(CallContext&);  // generated
}  // namespace gvirtus::backend::cuda

namespace gvirtus::testing {
namespace {

namespace drv = gvirtus::backend::cuda;
using backend::HandleKind;

class VmmHandlers : public HandlerTest {
 protected:
  static CUmemAllocationProp device_prop() {
    CUmemAllocationProp p{};
    p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    return p;
  }
  static wire::Writer create(const CUmemAllocationProp& p) {
    wire::Writer w;
    w.put<uint64_t>(2u << 20);
    w.put<CUmemAllocationProp>(p);
    w.put<uint64_t>(0);
    return w;
  }
  static wire::Writer map(uint64_t id) {
    wire::Writer w;
    w.put<uint64_t>(0x7f0000000000ull);
    w.put<uint64_t>(2u << 20);
    w.put<uint64_t>(0);
    w.put<uint64_t>(id);
    w.put<uint64_t>(0);
    return w;
  }
  static wire::Writer one_id(uint64_t id) {
    wire::Writer w;
    w.put<uint64_t>(id);
    return w;
  }
};

TEST_F(VmmHandlers, AllocationHandlesAreTheSessionsIds) {
  // A number the session never issued (say, a driver address the client guessed) ends it.
  EXPECT_FAULT(run(drv::handle_cuMemMap, map(0x55550000abcdull)), "forged");
  EXPECT_FAULT(run(drv::handle_cuMemRelease, one_id(0x55550000abcdull)), "forged");
  EXPECT_FAULT(run(drv::handle_cuMemGetAllocationPropertiesFromHandle, one_id(0x1234)),
               "forged");
  // An id of another kind of object is not an allocation.
  EXPECT_FAULT(run(drv::handle_cuMemMap, map(live(HandleKind::kStream))), "forged");
  // A released one, or none, is the driver's invalid value, before the driver is asked.
  EXPECT_EQ(run(drv::handle_cuMemMap, map(stale(HandleKind::kMemAllocation))),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(run(drv::handle_cuMemRelease, one_id(stale(HandleKind::kMemAllocation))),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(run(drv::handle_cuMemMap, map(0)), CUDA_ERROR_INVALID_VALUE);
  // A live one reaches the driver (none here) while it holds a reference; once its last
  // reference is released (a mapping keeps the memory), the driver no longer knows the handle
  // and the id is refused until a retain gives it a reference again.
  static int obj = 0;
  const uint64_t raw = reinterpret_cast<uintptr_t>(&obj);
  const uint64_t id = session_.handles().add(HandleKind::kMemAllocation, &obj);
  drv::VmmBook& book = session_.state<drv::VmmBook>();
  ASSERT_TRUE(book.created(raw, 2u << 20, 0));
  EXPECT_EQ(run(drv::handle_cuMemMap, map(id)), CUDA_ERROR_NO_DEVICE);
  std::vector<drv::VmmBook::Dead> dead;
  book.mapped(0x7f0000000000ull, 2u << 20, raw, &dead);
  book.released(raw, &dead);
  EXPECT_EQ(run(drv::handle_cuMemMap, map(id)), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(run(drv::handle_cuMemRelease, one_id(id)), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(run(drv::handle_cuMemGetAllocationPropertiesFromHandle, one_id(id)),
            CUDA_ERROR_INVALID_VALUE);
  ASSERT_TRUE(book.retained(raw));
  EXPECT_EQ(run(drv::handle_cuMemMap, map(id)), CUDA_ERROR_NO_DEVICE);
}

TEST_F(VmmHandlers, TheClientsPointersAndHostMemoryNeverReachTheDriver) {
  CUmemAllocationProp p = device_prop();
  EXPECT_EQ(run(drv::handle_cuMemCreate, create(p)), CUDA_ERROR_NO_DEVICE);  // honest
  p.win32HandleMetaData = reinterpret_cast<void*>(0x1000);  // the client's address
  EXPECT_EQ(run(drv::handle_cuMemCreate, create(p)), CUDA_ERROR_INVALID_VALUE);
  wire::Writer g;
  g.put<CUmemAllocationProp>(p);
  g.put<int32_t>(CU_MEM_ALLOC_GRANULARITY_MINIMUM);
  EXPECT_EQ(run(drv::handle_cuMemGetAllocationGranularity, g), CUDA_ERROR_INVALID_VALUE);
  for (CUmemLocationType t : {CU_MEM_LOCATION_TYPE_HOST, CU_MEM_LOCATION_TYPE_HOST_NUMA,
                              CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT}) {
    CUmemAllocationProp h = device_prop();
    h.location.type = t;
    EXPECT_EQ(run(drv::handle_cuMemCreate, create(h)), CUDA_ERROR_NOT_SUPPORTED) << t;
  }
  EXPECT_EQ(session_.state<drv::VmmBook>().allocations(), 0u);  // nothing recorded
}

// Requests whose length lies (a field missing, bytes left over) end the session before the
// driver or the worker's records are touched.
TEST_F(VmmHandlers, LyingLengthsEndTheSession) {
  wire::Writer one;
  one.put<uint64_t>(0x7f0000000000ull);
  wire::Writer three = one;
  three.put<uint64_t>(2u << 20);
  three.put<uint64_t>(0);
  for (backend::Handler h : {drv::handle_cuMemUnmap, drv::handle_cuMemAddressFree}) {
    EXPECT_FAULT(run(h, one), "payload too short");
    EXPECT_FAULT(run(h, three), "8 unexpected bytes at the end");
  }
  EXPECT_FAULT(run(drv::handle_cuMemRetainAllocationHandle, three), "16 unexpected bytes at the end");
  wire::Writer m = map(live(HandleKind::kMemAllocation));
  m.put<uint8_t>(0);
  EXPECT_FAULT(run(drv::handle_cuMemMap, m), "1 unexpected bytes at the end");
  EXPECT_EQ(session_.state<drv::VmmBook>().mappings(), 0u);
}

// cuMemSetAccess (generated): the client refuses access from the host; a request asking for
// it anyway ends the session, and the access array is bounded by its count.
TEST_F(VmmHandlers, AccessFromTheHostEndsTheSession) {
  auto access = [](CUmemLocationType t, uint64_t count, uint64_t sent) {
    wire::Writer w;
    w.put<uint64_t>(0x7f0000000000ull);
    w.put<uint64_t>(2u << 20);
    w.put<uint64_t>(count);
    w.put<uint8_t>(1);
    for (uint64_t i = 0; i < sent; ++i) {
      CUmemAccessDesc d{};
      d.location.type = i + 1 == sent ? t : CU_MEM_LOCATION_TYPE_DEVICE;
      d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
      w.put<CUmemAccessDesc>(d);
    }
    return w;
  };
  EXPECT_EQ(run(drv::handle_cuMemSetAccess, access(CU_MEM_LOCATION_TYPE_DEVICE, 2, 2)),
            CUDA_ERROR_NO_DEVICE);
  EXPECT_FAULT(run(drv::handle_cuMemSetAccess, access(CU_MEM_LOCATION_TYPE_HOST, 2, 2)),
               "access from the host");
  EXPECT_FAULT(run(drv::handle_cuMemSetAccess, access(CU_MEM_LOCATION_TYPE_DEVICE, 3, 2)),
               "payload too short");
  EXPECT_FAULT(run(drv::handle_cuMemSetAccess, access(CU_MEM_LOCATION_TYPE_DEVICE, 1u << 30, 0)),
               "out of bounds");
}

}  // namespace
}  // namespace gvirtus::testing
