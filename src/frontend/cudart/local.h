// Shared by the hand-written cudart functions of this folder (not by generated code).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "common/log.h"
#include "common/wire.h"
#include "cudart_calls.h"  // generated: enum gvirtus::cudart::Call
#include "frontend/core/client.h"
#include "frontend/cudart/glue.h"
#include "frontend/core/ranges.h"

#define GV_EXPORT extern "C" __attribute__((visibility("default")))

namespace gvirtus::cudart {

inline uint32_t id(Call c) { return static_cast<uint32_t>(c); }

// What the CUDA 13 runtime answers when a `const void* func` argument is no kernel it knows
// (seen on the GPU machine for cudaFuncSetAttribute and cudaOccupancy*): it takes the pointer
// for a kernel handle.
constexpr cudaError_t kUnknownFunction = cudaErrorInvalidResourceHandle;

// Records e as the thread's last error (if it is an error) and returns it.
inline cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess) set_last_error(e);
  return e;
}
cudaError_t peek_last_error();
cudaError_t take_last_error();
// Grows whenever any thread records an error (see the sticky check in glue.cc).
uint64_t error_generation();
// No error was recorded since the worker last said its runtime had no sticky error.
bool no_error_recorded();
// cudaGetLastError (reset) / cudaPeekAtLastError: the worker's sticky error if it has one (asked
// only when an error was recorded since the last clean check, or replies are outstanding),
// else this thread's last error.
cudaError_t last_error(bool reset);

// A bad argument found here, before anything is sent. The real runtime checks its context
// before the arguments, so a context error (sticky fault, failed initialisation, a context that
// cannot be created) wins over the argument error, as natively: this asks the worker
// (gvContextCheck, one round trip, only on this error path). Records and returns the result.
cudaError_t argument_error(cudaError_t e);

// Device allocations handed out through this library (cudaMalloc, cudaMallocPitch).
using client::RangeMap;
// client::device_ranges(), shared with libcuda.so.1.
RangeMap& device_ranges();
inline bool is_device(const void* p) { return device_ranges().contains(p); }

// Whether p lies in page-locked host memory of this library (cudaMallocHost & co.,
// cudaHostRegister); host_memory.cc.
bool is_page_locked_host(const void* p);
// Whether p lies in a block cudaMallocHost / cudaHostAlloc (or cuMemHostAlloc) allocated.
bool is_host_allocation(const void* p);
// The page-locked range containing p (its start and size); false if none.
bool page_locked_range(const void* p, void** base, size_t* size);

// Runs the body of an exported function: no exception reaches the application. A reply that
// does not decode means client and server disagree: the session is lost.
template <typename F>
cudaError_t guarded(const char* name, F&& body) noexcept {
  try {
    return body();
  } catch (const wire::DecodeError& e) {
    try {
      client::mark_session_lost(std::string("protocol error: malformed reply to ") + name + ": " +
                                e.what());
    } catch (...) {
    }
    return lost();
  } catch (const std::bad_alloc&) {
    return fail(cudaErrorMemoryAllocation);
  } catch (const std::exception& e) {
    try {
      GV_ERROR(std::string("internal error in ") + name + ": " + e.what());
    } catch (...) {
    }
    return fail(cudaErrorUnknown);
  } catch (...) {
    return fail(cudaErrorUnknown);
  }
}

}  // namespace gvirtus::cudart
