// The NVML calls that take a count the caller passes in and NVML writes back, with an array of
// that many elements (running processes, supported clocks, retired pages, accounting pids,
// encoder and FBC sessions): their wire form, shared by the
// frontend (src/frontend/nvml/arrays.cc) and the worker (src/backend/nvml/arrays.cc).
//
// Request: u64 device id, the call's other by-value arguments (raw), u8 count present, u32
// capacity (if present), u8 array present. The client sends at most kNvmlArrayMaxBytes of
// capacity (a larger one is clamped: NVML then writes no more than that); the worker ends the
// session for a capacity over the bound with an array, before it allocates.
// Reply, when the count was present and the status is NVML_SUCCESS or
// NVML_ERROR_INSUFFICIENT_SIZE: u32 count as NVML wrote it; then, on NVML_SUCCESS with an array,
// min(count, capacity) elements.
#pragma once
#include <cstddef>

namespace gvirtus::nvml_wire {

constexpr size_t kNvmlArrayMaxBytes = size_t{1} << 20;

}  // namespace gvirtus::nvml_wire
