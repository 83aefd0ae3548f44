// Launch attributes (cudaLaunchConfig_t::attrs) that can travel as plain bytes: their values
// hold no handle and no host pointer. Shared by the frontend, which refuses the others with
// cudaErrorNotSupported, and the worker, which ends a session that sends one anyway.
#pragma once
#include <driver_types.h>

namespace gvirtus {

constexpr unsigned kMaxLaunchAttributes = 64;

inline bool plain_launch_attribute(cudaLaunchAttributeID id) {
  switch (id) {
    case cudaLaunchAttributeIgnore:
    case cudaLaunchAttributeAccessPolicyWindow:  // base_ptr is a device address
    case cudaLaunchAttributeCooperative:
    case cudaLaunchAttributeSynchronizationPolicy:
    case cudaLaunchAttributeClusterDimension:
    case cudaLaunchAttributeClusterSchedulingPolicyPreference:
    case cudaLaunchAttributeProgrammaticStreamSerialization:
    case cudaLaunchAttributePriority:
    case cudaLaunchAttributeMemSyncDomainMap:
    case cudaLaunchAttributeMemSyncDomain:
    case cudaLaunchAttributePreferredClusterDimension:
    case cudaLaunchAttributePreferredSharedMemoryCarveout:
    case cudaLaunchAttributeNvlinkUtilCentricScheduling:
      return true;
    default:  // events (ProgrammaticEvent, LaunchCompletionEvent), graph nodes, unknown ids
      return false;
  }
}

// Launch attributes whose value starts with a cudaEvent_t (then plain ints). The client sends
// them as bytes with its event handle in that field; the worker puts its own event there.
inline bool event_launch_attribute(cudaLaunchAttributeID id) {
  return id == cudaLaunchAttributeProgrammaticEvent ||
         id == cudaLaunchAttributeLaunchCompletionEvent;
}

}  // namespace gvirtus
