// Large host memcpy spread over a few helper threads, for the pageable copies that go through
// the shared staging area (shared_host.h): one thread's memcpy is what limits that pipeline,
// and a host's memory bandwidth is several times one core's.
//
// The helpers start on first use of a large copy (GVIRTUS_COPY_THREADS threads in all, the
// caller included; default 4; 1 turns the helpers off), block every signal, and wait on a
// condition variable while idle (no CPU). One copy uses them at a time; a copy that finds them
// busy, or runs in a child after fork(), copies alone.
#pragma once
#include <cstddef>

#include "frontend/core/client.h"

namespace gvirtus::client {

// memcpy(dst, src, n) (regions must not overlap), split across the helpers when n is large.
GV_API void parallel_memcpy(void* dst, const void* src, size_t n);

}  // namespace gvirtus::client
