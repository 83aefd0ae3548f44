// Asynchronous copies between device memory and page-locked host memory over a socket
// transport (TCP, unix; shm shares that memory instead, docs/zero-copy.md). Host-to-device:
// start_to_device() below. Device-to-host: cudaMemcpyAsync (and the 2D and driver forms)
// returns once the worker has enqueued the copy into a staging buffer of its own
// (gvStagingFromDevice, with the buffer's event recorded behind it on the stream); the bytes
// travel later, written into the application's memory by:
//   - the synchronisation that covers the copy: after every call that succeeds as a
//     synchronisation (the runtime's and the driver's stream / event / device synchronisations
//     and successful queries, frees, synchronous copies), each pending delivery whose event is
//     done is read (gvStagingRead mode 0) and lands before the call returns;
//   - a host callback: before it runs, every pending copy that is done is delivered (a copy
//     ahead of the callback on its stream is), so the callback sees the bytes;
//   - a later call that reads or writes host memory overlapping a pending delivery (the source
//     of a host-to-device copy, either side of a host copy, a graph's host node data): that
//     delivery is waited for first (mode 1).
// The state is the process's (this core is shared by libcudart.so.13 and libcuda.so.1), so a
// copy made through either library is delivered by a synchronisation through the other.
// Buffers are pooled per session (sizes rounded up to powers of two) and reused only once their
// delivery landed. docs/async-copies.md.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::client::deliveries {

// The runtime's protocol-internal calls used here (api/cudart.api; the runtime's copy engine
// checks at compile time that these are the generated ids).
constexpr uint32_t kCallStagingAlloc = 2912;
constexpr uint32_t kCallStagingFree = 2913;
constexpr uint32_t kCallStagingRead = 2915;
constexpr uint32_t kCallStagingWrite = 2914;
constexpr uint32_t kCallStagingFromDevice = 2919;
constexpr uint32_t kCallStagingToDevice = 2920;
// The first protocol minor whose backend has gvStagingFromDevice.
constexpr uint16_t kMinor = 5;

// The largest piece one staging buffer holds (a longer copy is several pieces), the smallest
// buffer made, the free bytes kept for reuse, and the most bytes pending at once (beyond it a
// copy takes the synchronous path).
constexpr uint64_t kPieceBytes = uint64_t{64} << 20;
constexpr uint64_t kMinBuffer = uint64_t{64} << 10;
constexpr uint64_t kPoolBytes = uint64_t{512} << 20;
constexpr uint64_t kMaxPendingBytes = uint64_t{2} << 30;

// start()'s answer when it did nothing (copy as before) / when the session is lost.
constexpr int32_t kNotTaken = -1;
constexpr int32_t kLost = -2;

// Whether copies may be delivered asynchronously on this thread's connection: not turned off
// (GVIRTUS_ASYNC_COPIES=0), a backend of protocol 3.5 or later, and no shared host memory
// (shm:, docs/zero-copy.md).
GV_API bool enabled();

// Which calls are synchronisations (the runtime's table, managed.h): installed by the copy
// engine before its first delivery. Both libraries install the same function.
GV_API void set_sync_predicate(bool (*synchronises)(uint32_t call_id, int32_t status));

// Starts a device-to-host copy of `rows` rows of `width` bytes from device address `dev` (rows
// `dpitch` apart) into `host` (rows `hpitch` apart) on `stream` (wire id). 0: enqueued, to be
// delivered; a CUDA error of the enqueue (nothing of the copy will land); kNotTaken: nothing
// was done (a row longer than a piece, too much pending, no staging memory on the worker);
// kLost.
GV_API int32_t start(uint64_t dev, uint64_t dpitch, uint8_t* host, uint64_t hpitch,
                     uint64_t width, uint64_t rows, uint64_t stream);

// Starts a host-to-device copy from page-locked memory: the bytes are written into staging
// buffers of the worker (gvStagingWrite, without waiting) and a copy from each is enqueued on
// `stream` (gvStagingToDevice). Same answers as start(). A buffer so used goes back to the
// pool at the next synchronisation (a write into a buffer whose copy has not run yet would
// wait for it on the worker).
// With `sure` (the caller can tell the worker will accept the copy: its device rows inside a
// known allocation, no capture), the enqueue is sent without waiting too, and the rows of a
// one-row piece are lent to the connection's send queue rather than sent from this thread
// (Call::lend): the call returns before the bytes have gone, as natively before the DMA, and
// a failure on the worker comes back with a later reply. Otherwise the call returns once the
// bytes are sent and the enqueue answered.
GV_API int32_t start_to_device(uint64_t dev, uint64_t dpitch, const uint8_t* host,
                               uint64_t hpitch, uint64_t width, uint64_t rows, uint64_t stream,
                               bool sure);

// After a call's reply was read (call.cc): delivers what finished if the call synchronised.
// false: a delivery failed because the session is lost (the call then fails too: its caller
// would read memory that never received its bytes).
bool after_reply(uint32_t call_id, int32_t status);

// Delivers every pending copy whose stream work is done. false: the session is lost.
GV_API bool deliver_finished();

// Waits for and delivers every pending copy whose host range overlaps [p, p + n) (a copy that
// failed is dropped: the failure is the program's to see through its own calls), and for the
// bytes of host-to-device copies lent from that range to be sent. false: the session is lost.
// For memory the caller is about to write (or give back).
GV_API bool wait_range(const void* p, size_t n);
// The same for memory the caller only reads (a copy's source): bytes lent from it need not be
// sent first, since two readers do not conflict (a second copy from one page-locked buffer
// returns at once, as natively).
GV_API bool wait_range_to_read(const void* p, size_t n);

// Drops the pending copies into [p, p + n) (the memory is being freed); their buffers are
// freed (the worker waits for their copies first). First waits for the bytes of host-to-device
// copies lent from that range to be sent.
GV_API void forget_range(const void* p, size_t n);

// Before a host callback runs (on the callback thread): delivers every pending copy that is
// done (a copy ahead of the callback on its stream is).
GV_API void before_callback();

// For the tests: pending deliveries, and buffers kept for reuse.
GV_API size_t pending();
GV_API size_t pooled();
// Forgets pending deliveries and pooled buffers without a word to the worker (a test's session
// ends).
GV_API void reset_for_testing();

}  // namespace gvirtus::client::deliveries
