// Only the images a GPU can use travel (issue 10, part 7): a fatbinary holds one entry per
// target (a cubin per SM architecture, PTX per virtual one), and a worker's GPUs can load only
// some. The layout of an entry, as nvcc 13 writes it (checked with nvcc's own output):
//   +0 u16 kind (1 PTX, 2 cubin)   +4 u32 entry header size   +8 u64 payload size
//   +28 u32 architecture (major*10 + minor)   +40 u64 flags (bit 20: arch-specific, "sm_90a")
// The payload follows the entry header; the next entry follows the payload.
#pragma once
#include <cstdint>
#include <vector>

#include "common/fatbin.h"

namespace gvirtus::cudart {

struct ComputeCapability {
  int major = 0;
  int minor = 0;
};

// Copies into *out the fatbinary `in` without the entries none of `devices` can load:
//   a cubin loads on the same major version with a minor at least its own (an arch-specific
//   one only on exactly its version); PTX JIT-compiles on any version at least its own (an
//   arch-specific one only on exactly its version); entries of any other kind are kept.
// Returns false, leaving *out alone, when nothing would be dropped, when the entries do not
// parse (the original is sent, and the driver judges it), or when nothing would remain (the
// original is sent, so the program gets the native "no kernel image" error).
bool select_images(const FatbinImage& in, const std::vector<ComputeCapability>& devices,
                   std::vector<uint8_t>* out);

}  // namespace gvirtus::cudart
