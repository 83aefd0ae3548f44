// Tensor maps (cuTensorMapEncodeTiled & co., api/cuda.api): the worker's driver encodes them,
// because a descriptor is opaque and holds the worker's device address. The driver refuses a
// descriptor that is not 64-byte aligned; the copy the worker encodes into always is, so the
// application's is checked here, before anything is sent. A backend before protocol 3.9 has no
// tensor map calls (it would end the session on them): they are not supported there.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "frontend/core/client.h"

namespace gvirtus::cuda {

constexpr uint16_t kTensorMapsMinor = 9;

inline std::optional<CUresult> tensor_map_refused(const CUtensorMap* m) {
  if (m && reinterpret_cast<std::uintptr_t>(m) % 64 != 0) return CUDA_ERROR_INVALID_VALUE;
  if (client::connection() && client::server_minor() < kTensorMapsMinor) {
    client::unsupported("cuTensorMap* (backend before protocol 3.9)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return std::nullopt;
}

}  // namespace gvirtus::cuda
