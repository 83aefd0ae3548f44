// The wire contract of host memory shared over shm: (docs/protocol.md, "Shared host memory"),
// for the client (src/frontend/core/shared_host.cc) and the worker
// (src/backend/cudart/shared_host.cc). The call ids are defined in api/cudart.api; the runtime
// frontend checks these copies against the generated ones at compile time.
#pragma once
#include <cstdint>

namespace gvirtus::shared_host_wire {

constexpr uint32_t kCallRegister = 2980;    // gvShmHostRegister
constexpr uint32_t kCallUnregister = 2981;  // gvShmHostUnregister
constexpr uint32_t kCallCopy = 2982;        // gvMemcpyShared

// gvMemcpyShared flags.
constexpr uint32_t kCopyToHost = 1;  // device -> host (else host -> device)
constexpr uint32_t kCopyWait = 2;    // wait for the stream before replying (synchronous copy)
constexpr uint32_t kCopyFlags = kCopyToHost | kCopyWait;

}  // namespace gvirtus::shared_host_wire
