#include "frontend/cudart/copy_plan.h"

namespace gvirtus::cudart {

namespace {

bool span_ok(uint64_t width, uint64_t height, uint64_t pitch) {
  if (height <= 1) return true;
  if (pitch < width) return false;
  uint64_t rows = height - 1;
  if (pitch != 0 && rows > (UINT64_MAX - width) / pitch) return false;
  return true;
}

void split_row(uint64_t dev_off, uint64_t host_off, uint64_t width, uint64_t chunk,
               std::vector<CopyPiece>* out) {
  for (uint64_t done = 0; done < width; done += chunk) {
    uint64_t n = width - done < chunk ? width - done : chunk;
    out->push_back({dev_off + done, host_off + done, n, 1});
  }
}

}  // namespace

bool shape_ok(const CopyShape& s) {
  if (s.width == 0 || s.height == 0) return false;
  if (s.height > 1 && s.width > UINT64_MAX / s.height) return false;
  return span_ok(s.width, s.height, s.dpitch) && span_ok(s.width, s.height, s.hpitch);
}

std::vector<CopyPiece> plan_copy(const CopyShape& s, uint64_t chunk) {
  std::vector<CopyPiece> out;
  if (s.height == 1 || (s.dpitch == s.width && s.hpitch == s.width)) {
    // Contiguous on both sides: one long row.
    split_row(0, 0, s.width * s.height, chunk, &out);
    return out;
  }
  if (s.width > chunk) {
    for (uint64_t r = 0; r < s.height; ++r)
      split_row(r * s.dpitch, r * s.hpitch, s.width, chunk, &out);
    return out;
  }
  uint64_t per = chunk / s.width;
  for (uint64_t r = 0; r < s.height; r += per) {
    uint64_t rows = s.height - r < per ? s.height - r : per;
    out.push_back({r * s.dpitch, r * s.hpitch, s.width, rows});
  }
  return out;
}

}  // namespace gvirtus::cudart
