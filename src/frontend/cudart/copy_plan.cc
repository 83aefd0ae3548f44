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
  if (s.height == 1 || (!s.dev_is_array && s.dpitch == s.width && s.hpitch == s.width)) {
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

namespace {

bool mul_add(uint64_t a, uint64_t b, uint64_t c, uint64_t* out) {  // a * b + c
  if (b != 0 && a > UINT64_MAX / b) return false;
  if (a * b > UINT64_MAX - c) return false;
  *out = a * b + c;
  return true;
}

bool end_ok(const CopyEnd& e, const Copy3D& c, CopyCheck* why) {
  if (e.kind == CopyEnd::Kind::kArray) return true;
  if ((c.height > 1 || c.depth > 1) && e.pitch < c.width) {
    *why = CopyCheck::kInvalidPitch;
    return false;
  }
  uint64_t last = 0;
  if (!row_address(e, c.depth - 1, c.height - 1, &last) || last > UINT64_MAX - c.width) {
    *why = CopyCheck::kInvalidValue;
    return false;
  }
  return true;
}

}  // namespace

bool row_address(const CopyEnd& e, uint64_t slice, uint64_t row, uint64_t* addr) {
  uint64_t z = e.z + slice, y = e.y + row, plane = 0, off = 0;
  if (z < e.z || y < e.y) return false;
  if (!mul_add(e.pitch, e.ysize, 0, &plane)) return false;
  if (!mul_add(y, e.pitch, e.x, &off)) return false;
  if (!mul_add(z, plane, off, &off)) return false;
  if (off > UINT64_MAX - e.base) return false;
  *addr = e.base + off;
  return true;
}

CopyCheck check_copy(const Copy3D& c) {
  CopyCheck why = CopyCheck::kOk;
  if (c.width == 0 || c.height == 0 || c.depth == 0) return CopyCheck::kInvalidValue;
  if (!end_ok(c.src, c, &why) || !end_ok(c.dst, c, &why)) return why;
  return CopyCheck::kOk;
}

bool slices_merge(const Copy3D& c) {
  if (c.src.kind == CopyEnd::Kind::kArray || c.dst.kind == CopyEnd::Kind::kArray) return false;
  if (c.depth == 1) return true;
  return c.src.ysize == c.height && c.dst.ysize == c.height;
}

}  // namespace gvirtus::cudart
