// Tensor maps (cuTensorMapEncodeTiled & co., api/cuda.api): the worker's driver encodes them,
// because a descriptor is opaque and holds the worker's device address. The driver encodes into
// a descriptor at any alignment (4, 8, 16 and 32 bytes off 64 were measured), so the
// application's is not checked. A backend before protocol 3.9 has no tensor map calls (it would
// end the session on them): they are not supported there.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "frontend/core/client.h"

namespace gvirtus::cuda {

constexpr uint16_t kTensorMapsMinor = 9;

inline std::optional<CUresult> tensor_map_refused(const CUtensorMap*) {
  if (client::connection() && client::server_minor() < kTensorMapsMinor) {
    client::unsupported("cuTensorMap* (backend before protocol 3.9)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return std::nullopt;
}

}  // namespace gvirtus::cuda
