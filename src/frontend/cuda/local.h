// Shared by the hand-written functions of libcuda.so.1 (not by generated code).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "common/log.h"
#include "common/wire.h"
#include "cuda_calls.h"  // generated: enum gvirtus::cuda::Call
#include "frontend/core/client.h"
#include "frontend/cuda/glue.h"

#define GV_EXPORT extern "C" __attribute__((visibility("default")))

namespace gvirtus::cuda {

inline uint32_t id(Call c) { return static_cast<uint32_t>(c); }

// Handles travel as their 64-bit ids; the client never interprets them.
inline uint64_t to_wire(const void* handle) { return reinterpret_cast<uintptr_t>(handle); }
template <typename H>
inline H from_wire(uint64_t id) {
  return reinterpret_cast<H>(static_cast<uintptr_t>(id));
}

// Sends c and waits; on success reads the reply's one value of type T into *out. A reply that
// holds anything else does not decode (guarded() then marks the session lost).
template <typename T>
CUresult invoke_for(client::Call& c, T* out) {
  if (!c.invoke()) return lost();
  const CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  const T v = c.result().get<T>();
  c.result().expect_end();
  *out = v;
  return CUDA_SUCCESS;
}

// Logs once that `what` is refused and returns CUDA_ERROR_NOT_SUPPORTED.
CUresult refuse(const char* fn, const std::string& what);

// Runs the body of an exported function: no exception reaches the application. A reply that
// does not decode means client and server disagree: the session is lost.
template <typename F>
CUresult guarded(const char* name, F&& body) noexcept {
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
    return CUDA_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    try {
      GV_ERROR(std::string("internal error in ") + name + ": " + e.what());
    } catch (...) {
    }
    return CUDA_ERROR_UNKNOWN;
  } catch (...) {
    return CUDA_ERROR_UNKNOWN;
  }
}

}  // namespace gvirtus::cuda
