// Cutting a host<->device copy into pieces that fit one frame each. A copy is `height` rows of
// `width` bytes; device rows are `dpitch` bytes apart, host rows `hpitch` apart (a 1D copy is
// one row). Each piece is a run of whole rows, or part of one row when a row is longer than a
// chunk.
#pragma once
#include <cstdint>
#include <vector>

namespace gvirtus::cudart {

struct CopyPiece {
  uint64_t dev_off = 0;   // from the device base
  uint64_t host_off = 0;  // from the host base
  uint64_t width = 0;     // bytes per row in this piece
  uint64_t rows = 0;
};

struct CopyShape {
  uint64_t width = 0;
  uint64_t height = 1;
  uint64_t dpitch = 0;
  uint64_t hpitch = 0;
};

// REQUIRES: width > 0, height > 0, chunk > 0; if height > 1, dpitch >= width and
// hpitch >= width, and (height-1)*pitch + width does not overflow.
std::vector<CopyPiece> plan_copy(const CopyShape& s, uint64_t chunk);

// Whether a copy shape is valid by the rules above (so plan_copy may be called).
bool shape_ok(const CopyShape& s);

}  // namespace gvirtus::cudart
