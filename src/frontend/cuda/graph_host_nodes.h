// cuGraphAddMemcpyNode with a host side becomes the runtime's staged memcpy node
// (frontend/cudart/graph_host.h), as libcudart.so.13's cudaGraphAddMemcpyNode makes it: a worker
// staging buffer stands for the host memory, filled at every cuGraphLaunch and delivered into
// the application's memory at the synchronisation after it (docs/callbacks.md, "Graphs with
// host memory"). A statically linked runtime's cudaGraphAddMemcpyNode(1D) arrives there. This
// is the translation of the driver's copy description (no I/O: tested on its own).
#pragma once
#include <cuda.h>

#include "frontend/cudart/graph_host.h"

namespace gvirtus::cuda {

struct StagedEnds {
  bool staged = false;        // the copy has a host side: it becomes a staged node
  const char* refusal = nullptr;  // a host side GVirtuS cannot stage (CUDA_ERROR_NOT_SUPPORTED)
  cudart::graph_host::HostEnd host;  // its host side (host, shape; staging left 0)
  cudart::graph_host::DeviceEnd dev;
};

// `p` with its CU_MEMORYTYPE_UNIFIED sides already resolved to HOST or DEVICE. No host side:
// CUDA_SUCCESS with out->staged false (the node goes as usual). Host-to-host or host beside an
// array: out->refusal. A malformed description (zero extent, pitches below the width, rows per
// slice below the height, NULL pointers, reserved fields set, offsets that overflow):
// CUDA_ERROR_INVALID_VALUE. Pitches and rows per slice of 0 mean packed.
CUresult staged_ends(const CUDA_MEMCPY3D& p, StagedEnds* out);

}  // namespace gvirtus::cuda
