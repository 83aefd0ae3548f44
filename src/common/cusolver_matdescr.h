// Wire form of a cuSPARSE matrix descriptor (cusparseMatDescr_t) given to cusolverSp: the client
// reads the descriptor's four fields through cuSPARSE's getters and sends them as one u64; the
// worker rebuilds an equal descriptor. Both sides use this file.
//   0: a NULL descriptor
//   otherwise bit 63 set, bits 0-7 the matrix type, 8-15 the fill mode, 16-23 the diagonal type,
//   24-31 the index base; every other bit zero.
#pragma once
#include <cstdint>

namespace gvirtus::cusolver_wire {

struct MatDescrFields {
  uint32_t type = 0;  // cusparseMatrixType_t: GENERAL 0 .. TRIANGULAR 3
  uint32_t fill = 0;  // cusparseFillMode_t: LOWER 0, UPPER 1
  uint32_t diag = 0;  // cusparseDiagType_t: NON_UNIT 0, UNIT 1
  uint32_t base = 0;  // cusparseIndexBase_t: ZERO 0, ONE 1
};

constexpr uint64_t kMatDescrTag = uint64_t{1} << 63;
constexpr uint32_t kMaxMatrixType = 3, kMaxFillMode = 1, kMaxDiagType = 1, kMaxIndexBase = 1;

// False for a field out of its range (nothing cuSPARSE hands out).
inline bool encode_matdescr(const MatDescrFields& f, uint64_t* wire) {
  if (f.type > kMaxMatrixType || f.fill > kMaxFillMode || f.diag > kMaxDiagType ||
      f.base > kMaxIndexBase)
    return false;
  *wire = kMatDescrTag | f.type | (uint64_t{f.fill} << 8) | (uint64_t{f.diag} << 16) |
          (uint64_t{f.base} << 24);
  return true;
}

// False for a nonzero value that encode_matdescr never writes.
inline bool decode_matdescr(uint64_t wire, MatDescrFields* f) {
  if ((wire & kMatDescrTag) == 0 || (wire & ~(kMatDescrTag | 0xffffffffull)) != 0) return false;
  f->type = static_cast<uint32_t>(wire & 0xff);
  f->fill = static_cast<uint32_t>((wire >> 8) & 0xff);
  f->diag = static_cast<uint32_t>((wire >> 16) & 0xff);
  f->base = static_cast<uint32_t>((wire >> 24) & 0xff);
  return f->type <= kMaxMatrixType && f->fill <= kMaxFillMode && f->diag <= kMaxDiagType &&
         f->base <= kMaxIndexBase;
}

}  // namespace gvirtus::cusolver_wire
