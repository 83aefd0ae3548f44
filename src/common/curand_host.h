// cuRAND host generators through GVirtuS (api/curand.api): the worker generates into a host
// buffer of its own and the bytes come back with the reply. Shared by the client
// (src/frontend/curand) and the worker (src/backend/curand).
#pragma once
#include <cstddef>

namespace gvirtus::curand_host {

// The most one generation call of a host generator brings back, in bytes. The client refuses
// more with CURAND_STATUS_ALLOCATION_FAILED before sending; a request for more ends the session.
// Not split into several calls: a quasi-random generator's output is dimension-major and the
// normal distributions generate pairs, so a split call would not give the same numbers.
constexpr size_t kMaxOutputBytes = size_t{32} << 20;

// Wire form of every curandGenerate* request: u64 generator id, u8 host (1: a host generator,
// the output comes back; 0: device memory), u64 output pointer (device generators; 0 for host
// ones), u64 num, then the call's own parameters in declaration order (float/double mean and
// stddev, double lambda, i32 method). Reply of a host generator's success: num elements.

}  // namespace gvirtus::curand_host
