// Managed memory (cudaMallocManaged) and mapped host memory (cudaHostAlloc with
// cudaHostAllocMapped) by mirroring: the worker allocates managed memory, and the frontend maps
// host memory at the very same address, so one pointer value works in kernels (the worker's
// memory) and on the host (the client's copy). The two copies are made coherent where CUDA
// promises coherence to a program on a device without concurrent managed access:
//   - before any call that can start device work (launch, copy, memset, graph, driver call other
//     than a wait or query), the host pages that changed since the last exchange are sent (found
//     by comparing with a shadow copy, so writes by system calls such as read(2) count too); while
//     a host callback runs, with the callbacks' own gvManagedPoke, which waits for no stream;
//   - before a host callback runs, every mirrored range is read back (the work ahead of it on its
//     stream is complete), and what the callback wrote is sent after it;
//   - after a synchronisation (cudaDeviceSynchronize, cudaStreamSynchronize,
//     cudaEventSynchronize, a query that reports completion, synchronous copies and memsets,
//     cudaFree), if device work was started since the last exchange, the worker synchronises the
//     whole device and every mirrored allocation is read back.
// The host must not rely on seeing device writes before such a synchronisation, nor write a page
// that a running kernel writes too. docs/frontend.md has the details.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace gvirtus::cudart::managed {

enum class Kind : uint8_t { kManaged = 0, kMapped = 1, kModuleVar = 2 };

// Allocates `size` bytes mirrored on both sides; *ptr is valid on the host and on the device.
// Records the error (fail()) and returns it.
cudaError_t allocate(void** ptr, size_t size, unsigned flags, Kind kind);
// True if p is the start of a mirrored allocation of this kind. release() frees one (both sides;
// for an adopted variable only the host mirror ends).
bool owns(const void* p, Kind kind);
cudaError_t release(void* p);
// True if [p, p+1) lies in a mirrored allocation (any kind).
bool contains(const void* p);
// The flags given at allocation of the mirrored allocation containing p (false if none).
bool flags_of(const void* p, unsigned* flags);
// Whether a device free (cudaFree, cudaFreeAsync, cuMemFree, cuMemFreeAsync) of p must answer
// invalid value here: p lies inside managed memory but not at its start, or in mapped host
// memory, at its host address or at the device address of an alias (natively all are refused;
// sent on, the worker would free the mirror's backing under it). A module's managed variable is not
// counted: its mirror outlives an unload, and a later allocation may get those addresses.
bool refuses_free(const void* p);
// A reset of `device` (cudaDeviceReset, cuDevicePrimaryCtxReset) freed the worker's copies of
// the mirrored allocations made while it was the current device: their regions go, without a
// word to the worker, and the host copies of managed memory are unmapped (mapped host memory
// stays the program's). Nothing goes once the process made a context of its own (whose
// allocations outlive the reset), nor what was made with no known device, nor a module's
// managed variable (nvcc's host pointer to it stays in use).
void drop_after_reset(int device);

// Mirrors managed memory the worker already has at addr (a __managed__ variable of a loaded
// module): host pages are mapped at addr and filled with the device's bytes. release() ends
// only the mirror (the module owns the variable).
// Adopting an address already mirrored succeeds. Records the error (fail()) and returns it.
cudaError_t adopt(uint64_t addr, size_t size);

// Aliases (cudaHostRegisterMapped, cudaHostGetDevicePointer of page-locked memory): the
// program's own memory [host, host+size) gets a device copy at an address of the worker's
// (*device), exchanged at the same points as the mirrored allocations. The device address is
// device memory only (contains() is false there); the host address stays host memory. Aliasing
// a range already aliased from the same start returns the existing device address.
cudaError_t alias(void* host, size_t size, void** device);
// The device address for host address p inside an alias (false if none).
bool alias_device(const void* p, void** device);
// The host start of the alias containing p (0 if none).
uintptr_t alias_base(const void* p);
// Ends the alias that starts at host, freeing its device copy (success if there is none).
cudaError_t release_alias(void* host);

// Explicit exchange points for paths that do not go through client::Call hooks (the copy
// engine's pipelined chunks): push host writes before a copy, pull after a synchronous one.
void before_device_work();
void after_synchronisation();
// Whether a call with this reply status lets the program read what the device wrote (stream,
// event and device synchronisations, successful queries, frees; the runtime's and the driver's
// ids): frontend/core/deliveries.h delivers asynchronous copies after them.
bool is_synchronisation(uint32_t call_id, int32_t status);
// Whether host writes to mirrored memory are sent before this call (it may start device work;
// not the waits and queries of either API).
bool pushes_before(uint32_t call_id);
// Makes the exchange points above run from now on (graph_host.h delivers graph results there).
void ensure_hooks();

// Host callbacks (cudaLaunchHostFunc, cudaStreamAddCallback, graph host nodes), on the callback
// thread around the application's function. The work ahead of a callback on its stream has
// finished when the worker asks for it, so the callback may read what those kernels wrote:
// before_callback() sends host writes not sent yet, then reads every mirrored range back
// (gvManagedPeek); after_callback() sends what the callback wrote (gvManagedPoke), before the
// worker lets the work behind it run. Both go through a worker stream that waits for no other
// (the callback holds its own stream). They skip the exchange, with a warning logged once, if
// another thread holds the exchange for long (it may itself be waiting for this callback).
void before_callback();
void after_callback();

}  // namespace gvirtus::cudart::managed
