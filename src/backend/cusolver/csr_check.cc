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

void check_csr(const char* fn, cusparseMatDescr_t d, int rows, int cols, int nnz,
               const int* row_ptr, const int* col_ind, const int* end_ptr) {
  if (!d || !row_ptr || !col_ind || rows < 0 || cols < 0 || nnz < 0) return;
  const long long base = cusparseGetMatIndexBase(d) == CUSPARSE_INDEX_BASE_ONE ? 1 : 0;
  const long long last = static_cast<long long>(nnz) + base;
  for (int i = 0; i <= rows; ++i) {
    const long long p = row_ptr[i];
    if (p < base || p > last)
      refuse(fn, "row pointer " + std::to_string(i) + " is " + std::to_string(p) +
                     ", outside [" + std::to_string(base) + ", " + std::to_string(last) + "]");
    if (i > 0 && p < row_ptr[i - 1])
      refuse(fn, "row pointer " + std::to_string(i) + " is below the one before it");
    if (end_ptr && i < rows) {
      const long long e = end_ptr[i];
      if (e < p || e > last)
        refuse(fn, "end pointer " + std::to_string(i) + " is " + std::to_string(e) +
                       ", outside [" + std::to_string(p) + ", " + std::to_string(last) + "]");
    }
  }
  for (int k = 0; k < nnz; ++k) {
    const long long c = static_cast<long long>(col_ind[k]) - base;
    if (c < 0 || c >= cols)
      refuse(fn, "column index " + std::to_string(k) + " is " + std::to_string(col_ind[k]) +
                     ", outside a matrix of " + std::to_string(cols) + " columns");
  }
}

void check_permutation(const char* fn, int n, const int* p) {
  if (!p || n < 0) return;
  for (int i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= n)
      refuse(fn, "permutation entry " + std::to_string(i) + " is " + std::to_string(p[i]) +
                     ", outside [0, " + std::to_string(n) + ")");
}

}  // namespace gvirtus::backend::cusolver
