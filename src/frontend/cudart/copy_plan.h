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
  // The device side is an array: its rows are never merged into one long row, whatever the
  // pitches (an array has no byte pitch). Plan with dpitch = width and read a piece's device
  // row and column back as dev_off / width and dev_off % width.
  bool dev_is_array = false;
};

// REQUIRES: width > 0, height > 0, chunk > 0; if height > 1, dpitch >= width and
// hpitch >= width, and (height-1)*pitch + width does not overflow.
std::vector<CopyPiece> plan_copy(const CopyShape& s, uint64_t chunk);

// Whether a copy shape is valid by the rules above (so plan_copy may be called).
bool shape_ok(const CopyShape& s);

// One end of a 3D copy (cudaMemcpy3D, and the array copies, which are 3D copies of depth 1).
// A pointer end is a pitched pointer (host or device): rows `pitch` bytes apart, slices
// pitch * ysize apart. An array end names an array by its id. x is in bytes for both.
struct CopyEnd {
  enum class Kind : uint8_t { kHost, kDevice, kArray };
  Kind kind = Kind::kHost;
  uint64_t base = 0;   // pointer value, or array id
  uint64_t pitch = 0;  // pointer ends
  uint64_t ysize = 0;  // pointer ends: rows per slice
  uint64_t xsize = 0;  // pointer ends: passed on as given (cudaPitchedPtr::xsize)
  uint64_t x = 0, y = 0, z = 0;
};

struct Copy3D {
  CopyEnd src, dst;
  uint64_t width = 0;  // bytes
  uint64_t height = 0, depth = 0;
};

// The address of row `row` of slice `slice` (counted from the end's position) of a pointer end,
// or false if it does not fit in 64 bits.
bool row_address(const CopyEnd& e, uint64_t slice, uint64_t row, uint64_t* addr);

// Checks the pointer ends of a non-empty copy before anything is sent: a pitch at least the
// width when more than one row or slice is copied (else kInvalidPitch), and every address the
// copy touches inside 64 bits (else kInvalidValue).
enum class CopyCheck { kOk, kInvalidValue, kInvalidPitch };
CopyCheck check_copy(const Copy3D& c);

// Whether the slices of a pointer-to-pointer copy follow each other on both sides, so the copy
// can go as one 2D copy of height * depth rows.
bool slices_merge(const Copy3D& c);

}  // namespace gvirtus::cudart
