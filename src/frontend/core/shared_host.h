// Host memory shared with the worker (shm: connections only; docs/zero-copy.md).
//
// Page-locked memory the application allocates (cudaMallocHost, cudaHostAlloc, cuMemAllocHost,
// cuMemHostAlloc) is, over shm:, a sealed memfd that this process maps and passes to the worker
// (SCM_RIGHTS on the connection's socket, then gvShmHostRegister): the worker maps the same
// pages and page-locks them (cudaHostRegister), so a copy from or to such memory is one DMA on
// the worker, straight from or into the application's buffer (gvMemcpyShared), and an async
// copy is only enqueued. Copies of other (pageable) host memory go through a staging area made
// the same way, in slots, so this process fills one slot while the worker copies another.
//
// The registry lives in libgvirtus-frontend so that libcudart and libcuda of one process agree
// on which memory is shared. Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/shared_host_wire.h"
#include "frontend/core/client.h"

namespace gvirtus::client::shared_host {

// Call ids and copy flags: common/shared_host_wire.h.
using namespace ::gvirtus::shared_host_wire;

// Staging for pageable copies: kStagingSlots slots of kStagingSlotBytes, one area per thread
// copying at the same time, kept for reuse by later copies.
constexpr size_t kStagingSlotBytes = 4u << 20;
constexpr size_t kStagingSlots = 4;

// Whether this thread's connection can share memory with the worker (shm:, and not turned
// off with GVIRTUS_SHARED_HOST=0).
GV_API bool available();

// Allocates `bytes` (> 0) of shared, page-aligned host memory registered with the worker.
// nullptr when sharing is not available or the worker declined (over its limits): the caller
// then allocates ordinary memory. *mapped gets the length mapped (bytes rounded up to pages).
GV_API void* allocate(size_t bytes, size_t* mapped);
// Unregisters and unmaps a block that allocate() returned; false if p is no such block's base.
// The worker waits for the device to be idle first (as cudaFreeHost does), so no copy still
// in flight touches the memory afterwards. *status: the worker's answer (0 on success).
GV_API bool release(void* p, int32_t* status);

// Where [p, p + extent) lies, if it lies entirely inside one shared block.
struct Where {
  uint64_t region = 0;  // the worker's id of the block
  uint64_t offset = 0;  // of p from the block's base
};
GV_API bool locate(const void* p, size_t extent, Where* out);

// A staging area of kStagingSlots slots (nullptr base: none could be had). Give it back when
// the copy is done.
struct Staging {
  uint8_t* base = nullptr;
  uint64_t region = 0;
  const void* owner = nullptr;  // the client session whose worker knows the region
};
GV_API Staging acquire_staging();
GV_API void release_staging(const Staging& s);

// For tests that run one client session after another in a process: drops the staging
// areas kept for reuse (a later session's worker does not know them).
GV_API void forget_staging_for_testing();

// Sends one gvMemcpyShared request on `conn` (request id in *rid), expecting a reply unless
// no_reply (then a failure comes back as a deferred error with a later reply).
// host side: region/offset, rows `hpitch` apart; device side: dev, rows `dpitch` apart.
GV_API bool send_copy(Connection* conn, const Where& host, uint64_t hpitch, uint64_t dev,
                      uint64_t dpitch, uint64_t width, uint64_t rows, uint64_t stream,
                      uint32_t flags, uint64_t* rid, bool no_reply = false);

}  // namespace gvirtus::client::shared_host
