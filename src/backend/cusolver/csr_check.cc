// The CSR checks of the cusolverSp host routines (support.h, check_csr).
#include <string>

#include "backend/cusolver/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cusolver {
namespace {

[[noreturn]] void refuse(const char* fn, const std::string& what) {
  throw SessionFault(std::string(fn) + ": " + what);
}

}  // namespace

namespace {

void check_column(const char* fn, int k, int c, long long base, int cols) {
  if (static_cast<long long>(c) - base < 0 || static_cast<long long>(c) - base >= cols)
    refuse(fn, "column index " + std::to_string(k) + " is " + std::to_string(c) +
                   ", outside a matrix of " + std::to_string(cols) + " columns");
}

}  // namespace

void check_csr(const char* fn, cusparseMatDescr_t d, int rows, int cols, int nnz,
               const int* row_ptr, const int* col_ind, const int* end_ptr) {
  if (!d || !row_ptr || rows < 0 || cols < 0 || nnz < 0) return;
  const long long base = cusparseGetMatIndexBase(d) == CUSPARSE_INDEX_BASE_ONE ? 1 : 0;
  const long long last = static_cast<long long>(nnz) + base;
  auto in_range = [&](const char* what, int i, long long p, long long lo) {
    if (p < lo || p > last)
      refuse(fn, std::string(what) + " " + std::to_string(i) + " is " + std::to_string(p) +
                     ", outside [" + std::to_string(lo) + ", " + std::to_string(last) + "]");
  };
  if (end_ptr) {
    // Four arrays: each row on its own (rows may come in any order, with gaps between them);
    // only the columns inside a row are read.
    for (int i = 0; i < rows; ++i) {
      in_range("row pointer", i, row_ptr[i], base);
      in_range("end pointer", i, end_ptr[i], row_ptr[i]);
      if (col_ind)
        for (long long k = row_ptr[i]; k < end_ptr[i]; ++k)
          check_column(fn, static_cast<int>(k - base), col_ind[k - base], base, cols);
    }
    return;
  }
  for (int i = 0; i <= rows; ++i) {
    in_range("row pointer", i, row_ptr[i], base);
    if (i > 0 && row_ptr[i] < row_ptr[i - 1])
      refuse(fn, "row pointer " + std::to_string(i) + " is below the one before it");
  }
  if (col_ind)
    for (int k = 0; k < nnz; ++k) check_column(fn, k, col_ind[k], base, cols);
}

void check_rf_setup(const char* fn, int n, int nnz_a, const int* row_a, const int* col_a,
                    int nnz_l, const int* row_l, const int* col_l, int nnz_u, const int* row_u,
                    const int* col_u, const int* p, const int* q) {
  cusparseMatDescr_t zero_based = nullptr;  // the default descriptor: general, base 0
  if (cusparseCreateMatDescr(&zero_based) != CUSPARSE_STATUS_SUCCESS)
    refuse(fn, "no descriptor to check the matrices with");
  struct Free {
    cusparseMatDescr_t d;
    ~Free() { cusparseDestroyMatDescr(d); }
  } free_it{zero_based};
  check_csr(fn, zero_based, n, n, nnz_a, row_a, col_a);
  check_csr(fn, zero_based, n, n, nnz_l, row_l, col_l);
  check_csr(fn, zero_based, n, n, nnz_u, row_u, col_u);
  check_permutation(fn, n, p);
  check_permutation(fn, n, q);
}

void check_permutation(const char* fn, int n, const int* p) {
  if (!p || n < 0) return;
  for (int i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= n)
      refuse(fn, "permutation entry " + std::to_string(i) + " is " + std::to_string(p[i]) +
                     ", outside [0, " + std::to_string(n) + ")");
}

}  // namespace gvirtus::backend::cusolver
