// Helpers for the cuSOLVER plugin's handlers on the backend (build/gen/cusolver_server.cc, all
// generated from api/cusolver.api). The handle helpers (dn_in, params_in, sp_in, stream_in, ...)
// are generated into cusolver_handles.h; matdescr_in (matdescr.cc) rebuilds the cuSPARSE matrix
// descriptor a cusolverSp call takes.
#pragma once
#include <cusolverDn.h>
#include <cusolverRf.h>
#include <cusolverSp.h>
#include <cusolverSp_LOWLEVEL_PREVIEW.h>
#include <cusparse.h>

#include <cstdint>

#include "backend/dispatch.h"
#include "backend/plugins.h"
#include "common/cusolver_matdescr.h"

namespace gvirtus::backend::cusolver {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

// The `matdescr` ref: a cusparseMatDescr_t sent as its four fields (common/cusolver_matdescr.h).
// 0 is NULL. Otherwise *out is a descriptor of this thread with those fields, valid until the
// thread's next call that takes one (a handler uses it only during its call); a value no
// honest client sends (a field out of its enum's range) throws SessionFault. Returns false with
// ctx.status = CUSOLVER_STATUS_ALLOC_FAILED when cuSPARSE cannot create a descriptor.
bool matdescr_in(CallContext& ctx, uint64_t wire, cusparseMatDescr_t* out);

// What a cusolverSp *Host routine walks on the worker's CPU (annotation `server_check=`):
// throws SessionFault unless each of the rows + 1 row pointers lies within [base, nnz + base]
// and they do not decrease, and each of the nnz column indices lies within [base, cols + base);
// base is the descriptor's index base. With end_ptr (the four-array form of csrissym: rows
// start and end pointers, rows in any order) each row on its own: base <= start <= end <=
// nnz + base, and the column indices inside it. A NULL descriptor, a NULL row pointer array or
// a negative size is left to cuSOLVER, which refuses it; a NULL column array skips its check. Natively such a matrix makes cuSOLVER read and write past
// the application's own arrays; here they would be the worker's.
void check_csr(const char* fn, cusparseMatDescr_t d, int rows, int cols, int nnz,
               const int* row_ptr, const int* col_ind, const int* end_ptr = nullptr);
// cusolverRfSetupHost's matrices (zero-based, n x n: A, then its L and U factors) and its
// permutations P and Q, checked as check_csr and check_permutation do.
void check_rf_setup(const char* fn, int n, int nnz_a, const int* row_a, const int* col_a,
                    int nnz_l, const int* row_l, const int* col_l, int nnz_u, const int* row_u,
                    const int* col_u, const int* p, const int* q);
// The same for a permutation of n that cuSOLVER indexes with: every entry within [0, n).
void check_permutation(const char* fn, int n, const int* p);

}  // namespace gvirtus::backend::cusolver
