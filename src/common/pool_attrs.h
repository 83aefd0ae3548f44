// Memory pool attributes (cudaMemPoolSetAttribute / GetAttribute): how many bytes each value
// has. Shared by the frontend, which refuses an attribute this build does not know, and the
// worker, which ends a session that sends one anyway.
#pragma once
#include <driver_types.h>

#include <cstddef>
#include <cstdint>

namespace gvirtus {

// sizeof(int) for the reuse flags, sizeof(cuuint64_t) for the sizes, 0 for anything else.
inline size_t pool_attr_bytes(int attr) {
  switch (attr) {
    case cudaMemPoolReuseFollowEventDependencies:
    case cudaMemPoolReuseAllowOpportunistic:
    case cudaMemPoolReuseAllowInternalDependencies:
      return sizeof(int);
    case cudaMemPoolAttrReleaseThreshold:
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemCurrent:
    case cudaMemPoolAttrUsedMemHigh:
      return sizeof(uint64_t);
    default:
      return 0;
  }
}

}  // namespace gvirtus
