// The `matdescr` ref of api/cusolver.api: cuSPARSE matrix descriptors given to cusolverSp,
// rebuilt on the worker from the four fields the client sent (common/cusolver_matdescr.h).
#include <string>

#include "backend/cusolver/support.h"

namespace gvirtus::backend::cusolver {
namespace {

static_assert(CUSPARSE_MATRIX_TYPE_TRIANGULAR == cusolver_wire::kMaxMatrixType);
static_assert(CUSPARSE_FILL_MODE_UPPER == cusolver_wire::kMaxFillMode);
static_assert(CUSPARSE_DIAG_TYPE_UNIT == cusolver_wire::kMaxDiagType);
static_assert(CUSPARSE_INDEX_BASE_ONE == cusolver_wire::kMaxIndexBase);

// A handler's call takes at most one descriptor (cusolverSp's functions that take two, the
// low-level LU extraction, are refused); two slots all the same, used in turn.
struct ThreadDescriptors {
  cusparseMatDescr_t slot[2] = {nullptr, nullptr};
  unsigned next = 0;
  ~ThreadDescriptors() {
    for (cusparseMatDescr_t d : slot)
      if (d != nullptr) cusparseDestroyMatDescr(d);
  }
};

}  // namespace

bool matdescr_in(CallContext& ctx, uint64_t wire, cusparseMatDescr_t* out) {
  *out = nullptr;
  if (wire == 0) return true;
  cusolver_wire::MatDescrFields f;
  if (!cusolver_wire::decode_matdescr(wire, &f))
    throw SessionFault("cusolverSp: a matrix descriptor no client sends (" +
                       std::to_string(wire) + ")");
  thread_local ThreadDescriptors descriptors;
  cusparseMatDescr_t& d = descriptors.slot[descriptors.next++ % 2];
  if (d == nullptr && cusparseCreateMatDescr(&d) != CUSPARSE_STATUS_SUCCESS) {
    d = nullptr;
    ctx.status = CUSOLVER_STATUS_ALLOC_FAILED;
    return false;
  }
  if (cusparseSetMatType(d, static_cast<cusparseMatrixType_t>(f.type)) !=
          CUSPARSE_STATUS_SUCCESS ||
      cusparseSetMatFillMode(d, static_cast<cusparseFillMode_t>(f.fill)) !=
          CUSPARSE_STATUS_SUCCESS ||
      cusparseSetMatDiagType(d, static_cast<cusparseDiagType_t>(f.diag)) !=
          CUSPARSE_STATUS_SUCCESS ||
      cusparseSetMatIndexBase(d, static_cast<cusparseIndexBase_t>(f.base)) !=
          CUSPARSE_STATUS_SUCCESS) {
    ctx.status = CUSOLVER_STATUS_INVALID_VALUE;
    return false;
  }
  *out = d;
  return true;
}

}  // namespace gvirtus::backend::cusolver
