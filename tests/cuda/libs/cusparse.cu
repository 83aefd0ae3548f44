// cuSPARSE (libcusparse.so.12) on a GPU, every call on a non-default stream set with
// cusparseSetStream: CSR SpMV and SpMM in fp32 and fp64 with host and device pointer-mode
// scalars, COO SpMV, SpGEMM (C = alpha A B, sizes read and written through the host), SpSV
// (lower triangular solve), SDDMM, dense -> sparse and sparse -> dense, csr2csc through
// cusparseCsr2cscEx2, and from the legacy API matrix descriptors, bsrmv (fp32 host scalars, fp64
// device scalars) and csrgeam2 (its non-zero count written into host memory).
//
// Every input is a small integer (and alpha, beta are 2 and -1 or 0.5), so every result is an
// exact integer or half-integer whatever order the GPU sums in: results are checked against a CPU
// reference for equality (PASS/FAIL, exit 1 if any fails) and printed as an FNV-1a hash of their
// bytes, identical natively and through GVirtuS even for algorithms that do not fix the order.
// Every status is printed; a call that fails stops the program.
#include <cusparse.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "check.h"

namespace {

bool g_ok = true;
cudaStream_t g_stream = nullptr;

void scheck(const std::string& what, cusparseStatus_t s, int line) {
  std::printf("%s: %s\n", what.c_str(), cusparseGetErrorName(s));
  if (s == CUSPARSE_STATUS_SUCCESS) return;
  std::printf("FAILED line %d: %s: %s\n", line, what.c_str(), cusparseGetErrorString(s));
  std::exit(1);
}
#define SP(what, call) scheck((what), (call), __LINE__)

struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  int small() { return static_cast<int>(next() % 9) - 4; }  // -4..4
};

// Compares got with want exactly (both hold small integers or halves) and prints the hash.
template <class T>
void result(const std::string& what, const std::vector<T>& got, const std::vector<double>& want) {
  double err = got.size() == want.size() ? 0.0 : 1e300;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i)
    err = std::fmax(err, std::fabs(static_cast<double>(got[i]) - want[i]));
  const bool pass = err == 0.0;
  if (!pass) g_ok = false;
  std::printf("%s: %zu values, fnv %016llx %s", what.c_str(), got.size(),
              static_cast<unsigned long long>(fnv(got.data(), got.size() * sizeof(T))),
              pass ? "PASS\n" : "FAIL");
  if (!pass) std::printf(" (max error %g)\n", err);
}

void ints(const std::string& what, const std::vector<int>& got, const std::vector<int>& want) {
  const bool pass = got == want;
  if (!pass) g_ok = false;
  std::printf("%s: %zu ints, fnv %016llx %s\n", what.c_str(), got.size(),
              static_cast<unsigned long long>(fnv(got.data(), got.size() * sizeof(int))),
              pass ? "PASS" : "FAIL");
}

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, (h.empty() ? 1 : h.size()) * sizeof(T)));
  if (!h.empty()) CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  CHECK(cudaStreamSynchronize(g_stream));
  std::vector<T> h(n);
  if (n) CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}
void* alloc(size_t bytes) {
  void* d = nullptr;
  CHECK(cudaMalloc(&d, bytes ? bytes : 1));
  return d;
}

// A sparse matrix on the host, CSR with sorted columns, small integer values.
struct Csr {
  int rows = 0, cols = 0;
  std::vector<int> ptr, col;
  std::vector<double> val;
  int nnz() const { return static_cast<int>(col.size()); }
  std::vector<double> dense_row_major() const {
    std::vector<double> d(static_cast<size_t>(rows) * cols, 0.0);
    for (int i = 0; i < rows; ++i)
      for (int p = ptr[i]; p < ptr[i + 1]; ++p) d[static_cast<size_t>(i) * cols + col[p]] = val[p];
    return d;
  }
};

// Entries with probability 1/`sparsity`; `lower`: lower triangular with a diagonal of 1, 2 or 4.
Csr random_csr(int rows, int cols, int sparsity, uint64_t seed, bool lower = false) {
  Lcg r{seed};
  Csr a;
  a.rows = rows;
  a.cols = cols;
  a.ptr.push_back(0);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      if (lower && j > i) break;
      if (lower && j == i) {
        a.col.push_back(j);
        a.val.push_back(static_cast<double>(1 << (r.next() % 3)));
        continue;
      }
      if (r.next() % sparsity != 0) continue;
      int v = r.small();
      if (v == 0) v = 3;
      a.col.push_back(j);
      a.val.push_back(v);
    }
    a.ptr.push_back(a.nnz());
  }
  return a;
}

std::vector<double> random_dense(size_t n, uint64_t seed) {
  Lcg r{seed};
  std::vector<double> v(n);
  for (auto& x : v) x = r.small();
  return v;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
constexpr cudaDataType type_of() {
  return sizeof(T) == 4 ? CUDA_R_32F : CUDA_R_64F;
}
template <class T>
const char* name_of() {
  return sizeof(T) == 4 ? "fp32" : "fp64";
}

// Scalars alpha and beta where the pointer mode says: host variables, or device memory.
template <class T>
struct Scalars {
  T host[2];
  T* dev = nullptr;
  bool device;
  Scalars(double alpha, double beta, bool on_device) : device(on_device) {
    host[0] = static_cast<T>(alpha);
    host[1] = static_cast<T>(beta);
    if (device) dev = to_device(std::vector<T>{host[0], host[1]});
  }
  ~Scalars() { cudaFree(dev); }
  const T* alpha() const { return device ? dev : &host[0]; }
  const T* beta() const { return device ? dev + 1 : &host[1]; }
};

void set_mode(cusparseHandle_t h, bool device) {
  SP(device ? "SetPointerMode(DEVICE)" : "SetPointerMode(HOST)",
     cusparseSetPointerMode(h, device ? CUSPARSE_POINTER_MODE_DEVICE : CUSPARSE_POINTER_MODE_HOST));
}

// Device copies of a CSR matrix (and its COO row indices).
template <class T>
struct DevCsr {
  int* ptr;
  int* col;
  int* row;  // COO row index per entry
  T* val;
  explicit DevCsr(const Csr& a) {
    ptr = to_device(a.ptr);
    col = to_device(a.col);
    std::vector<int> rows;
    for (int i = 0; i < a.rows; ++i)
      for (int p = a.ptr[i]; p < a.ptr[i + 1]; ++p) rows.push_back(i);
    row = to_device(rows);
    val = to_device(as<T>(a.val));
  }
  ~DevCsr() {
    cudaFree(ptr);
    cudaFree(col);
    cudaFree(row);
    cudaFree(val);
  }
  cusparseSpMatDescr_t csr(const Csr& a) const {
    cusparseSpMatDescr_t d = nullptr;
    SP("CreateCsr",
       cusparseCreateCsr(&d, a.rows, a.cols, a.nnz(), ptr, col, val, CUSPARSE_INDEX_32I,
                         CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, type_of<T>()));
    return d;
  }
  cusparseSpMatDescr_t coo(const Csr& a) const {
    cusparseSpMatDescr_t d = nullptr;
    SP("CreateCoo", cusparseCreateCoo(&d, a.rows, a.cols, a.nnz(), row, col, val,
                                      CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, type_of<T>()));
    return d;
  }
};

// y = alpha A x + beta y, CSR (or COO) A.
template <class T>
void spmv(cusparseHandle_t h, const Csr& a, bool coo, bool device_scalars) {
  const std::string tag = std::string("SpMV ") + (coo ? "COO " : "CSR ") + name_of<T>() +
                          (device_scalars ? " device scalars" : " host scalars");
  std::printf("-- %s\n", tag.c_str());
  const std::vector<double> x = random_dense(a.cols, 11), y0 = random_dense(a.rows, 12);
  const double alpha = 2.0, beta = -1.0;
  std::vector<double> want(a.rows);
  for (int i = 0; i < a.rows; ++i) {
    double s = 0;
    for (int p = a.ptr[i]; p < a.ptr[i + 1]; ++p) s += a.val[p] * x[a.col[p]];
    want[i] = alpha * s + beta * y0[i];
  }
  DevCsr<T> d(a);
  T* dx = to_device(as<T>(x));
  T* dy = to_device(as<T>(y0));
  cusparseSpMatDescr_t mat = coo ? d.coo(a) : d.csr(a);
  cusparseDnVecDescr_t vx = nullptr, vy = nullptr;
  SP("CreateDnVec(x)", cusparseCreateDnVec(&vx, a.cols, dx, type_of<T>()));
  SP("CreateDnVec(y)", cusparseCreateDnVec(&vy, a.rows, dy, type_of<T>()));
  Scalars<T> sc(alpha, beta, device_scalars);
  set_mode(h, device_scalars);
  const cusparseSpMVAlg_t alg = coo ? CUSPARSE_SPMV_COO_ALG1 : CUSPARSE_SPMV_CSR_ALG1;
  size_t size = 0;
  SP("SpMV_bufferSize", cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, sc.alpha(),
                                                mat, vx, sc.beta(), vy, type_of<T>(), alg, &size));
  void* buf = alloc(size);
  SP("SpMV", cusparseSpMV(h, CUSPARSE_OPERATION_NON_TRANSPOSE, sc.alpha(), mat, vx, sc.beta(), vy,
                          type_of<T>(), alg, buf));
  set_mode(h, false);
  result(tag, to_host(dy, a.rows), want);
  SP("DestroySpMat", cusparseDestroySpMat(mat));
  SP("DestroyDnVec(x)", cusparseDestroyDnVec(vx));
  SP("DestroyDnVec(y)", cusparseDestroyDnVec(vy));
  cudaFree(buf);
  cudaFree(dx);
  cudaFree(dy);
}

// C = alpha A B + beta C, CSR A (m x k), dense column-major B (k x n) and C (m x n).
template <class T>
void spmm(cusparseHandle_t h, const Csr& a, int n, bool device_scalars) {
  const std::string tag = std::string("SpMM CSR ") + name_of<T>() +
                          (device_scalars ? " device scalars" : " host scalars");
  std::printf("-- %s\n", tag.c_str());
  const int m = a.rows, k = a.cols;
  const std::vector<double> b = random_dense(static_cast<size_t>(k) * n, 21);
  const std::vector<double> c0 = random_dense(static_cast<size_t>(m) * n, 22);
  const double alpha = 2.0, beta = 0.5;
  std::vector<double> want(static_cast<size_t>(m) * n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = a.ptr[i]; p < a.ptr[i + 1]; ++p)
        s += a.val[p] * b[a.col[p] + static_cast<size_t>(j) * k];
      want[i + static_cast<size_t>(j) * m] = alpha * s + beta * c0[i + static_cast<size_t>(j) * m];
    }
  DevCsr<T> d(a);
  T* db = to_device(as<T>(b));
  T* dc = to_device(as<T>(c0));
  cusparseSpMatDescr_t mat = d.csr(a);
  cusparseDnMatDescr_t mb = nullptr, mc = nullptr;
  SP("CreateDnMat(B)", cusparseCreateDnMat(&mb, k, n, k, db, type_of<T>(), CUSPARSE_ORDER_COL));
  SP("CreateDnMat(C)", cusparseCreateDnMat(&mc, m, n, m, dc, type_of<T>(), CUSPARSE_ORDER_COL));
  Scalars<T> sc(alpha, beta, device_scalars);
  set_mode(h, device_scalars);
  size_t size = 0;
  SP("SpMM_bufferSize",
     cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                             sc.alpha(), mat, mb, sc.beta(), mc, type_of<T>(),
                             CUSPARSE_SPMM_ALG_DEFAULT, &size));
  void* buf = alloc(size);
  SP("SpMM",
     cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, sc.alpha(),
                  mat, mb, sc.beta(), mc, type_of<T>(), CUSPARSE_SPMM_ALG_DEFAULT, buf));
  set_mode(h, false);
  result(tag, to_host(dc, static_cast<size_t>(m) * n), want);
  SP("DestroySpMat", cusparseDestroySpMat(mat));
  SP("DestroyDnMat(B)", cusparseDestroyDnMat(mb));
  SP("DestroyDnMat(C)", cusparseDestroyDnMat(mc));
  cudaFree(buf);
  cudaFree(db);
  cudaFree(dc);
}

// C = alpha A B, all CSR (fp32): work estimation and compute asked for their sizes first.
void spgemm(cusparseHandle_t h, const Csr& a, const Csr& b) {
  std::printf("-- SpGEMM CSR fp32\n");
  const int m = a.rows, n = b.cols;
  const float alpha = 2.0f, beta = 0.0f;
  const std::vector<double> da = a.dense_row_major(), db = b.dense_row_major();
  std::vector<double> want(static_cast<size_t>(m) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int l = 0; l < a.cols; ++l)
        s += da[static_cast<size_t>(i) * a.cols + l] * db[static_cast<size_t>(l) * n + j];
      want[static_cast<size_t>(i) * n + j] = alpha * s;
    }
  DevCsr<float> d_a(a), d_b(b);
  cusparseSpMatDescr_t ma = d_a.csr(a), mb = d_b.csr(b), mc = nullptr;
  int* c_ptr = static_cast<int*>(alloc((m + 1) * sizeof(int)));
  SP("CreateCsr(C, empty)",
     cusparseCreateCsr(&mc, m, n, 0, c_ptr, nullptr, nullptr, CUSPARSE_INDEX_32I,
                       CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  cusparseSpGEMMDescr_t desc = nullptr;
  SP("SpGEMM_createDescr", cusparseSpGEMM_createDescr(&desc));
  const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t size1 = 0, size2 = 0;
  SP("SpGEMM_workEstimation(size)",
     cusparseSpGEMM_workEstimation(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                   CUSPARSE_SPGEMM_DEFAULT, desc, &size1, nullptr));
  std::printf("  bufferSize1 > 0: %d\n", size1 > 0 ? 1 : 0);
  void* buf1 = alloc(size1);
  SP("SpGEMM_workEstimation",
     cusparseSpGEMM_workEstimation(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                   CUSPARSE_SPGEMM_DEFAULT, desc, &size1, buf1));
  SP("SpGEMM_compute(size)",
     cusparseSpGEMM_compute(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                            CUSPARSE_SPGEMM_DEFAULT, desc, &size2, nullptr));
  std::printf("  bufferSize2 > 0: %d\n", size2 > 0 ? 1 : 0);
  void* buf2 = alloc(size2);
  SP("SpGEMM_compute", cusparseSpGEMM_compute(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                              CUSPARSE_SPGEMM_DEFAULT, desc, &size2, buf2));
  int64_t rows = 0, cols = 0, nnz = 0;
  SP("SpMatGetSize(C)", cusparseSpMatGetSize(mc, &rows, &cols, &nnz));
  int want_nnz = 0;
  for (double v : want) want_nnz += v != 0.0;
  // a product can cancel to zero and still be a stored entry: nnz is at least the non-zeros
  std::printf("  C: %lld x %lld, nnz %lld (non-zero values %d)\n", static_cast<long long>(rows),
              static_cast<long long>(cols), static_cast<long long>(nnz), want_nnz);
  int* c_col = static_cast<int*>(alloc(nnz * sizeof(int)));
  float* c_val = static_cast<float*>(alloc(nnz * sizeof(float)));
  SP("CsrSetPointers(C)", cusparseCsrSetPointers(mc, c_ptr, c_col, c_val));
  SP("SpGEMM_copy", cusparseSpGEMM_copy(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                        CUSPARSE_SPGEMM_DEFAULT, desc));
  const std::vector<int> hp = to_host(c_ptr, m + 1), hc = to_host(c_col, nnz);
  const std::vector<float> hv = to_host(c_val, nnz);
  std::vector<float> got(static_cast<size_t>(m) * n, 0.0f);
  bool shape_ok = hp[0] == 0 && hp[m] == nnz;
  for (int i = 0; i < m && shape_ok; ++i)
    for (int p = hp[i]; p < hp[i + 1]; ++p) {
      if (hc[p] < 0 || hc[p] >= n) {
        shape_ok = false;
        break;
      }
      got[static_cast<size_t>(i) * n + hc[p]] += hv[p];
    }
  if (!shape_ok) g_ok = false;
  std::printf("  C's row pointers and columns are consistent: %s\n", shape_ok ? "PASS" : "FAIL");
  result("SpGEMM C (dense)", got, want);
  SP("SpGEMM_destroyDescr", cusparseSpGEMM_destroyDescr(desc));
  SP("DestroySpMat(A)", cusparseDestroySpMat(ma));
  SP("DestroySpMat(B)", cusparseDestroySpMat(mb));
  SP("DestroySpMat(C)", cusparseDestroySpMat(mc));
  cudaFree(buf1);
  cudaFree(buf2);
  cudaFree(c_ptr);
  cudaFree(c_col);
  cudaFree(c_val);
}

// Solves L y = alpha x for lower triangular L (diagonal 1, 2 or 4): x = L z for an integer z,
// so y = alpha z exactly.
template <class T>
void spsv(cusparseHandle_t h, int n, bool device_scalars) {
  const std::string tag = std::string("SpSV lower ") + name_of<T>() +
                          (device_scalars ? " device alpha" : " host alpha");
  std::printf("-- %s\n", tag.c_str());
  const Csr l = random_csr(n, n, 6, 31, true);
  const std::vector<double> z = random_dense(n, 32);
  std::vector<double> x(n, 0.0), want(n);
  for (int i = 0; i < n; ++i)
    for (int p = l.ptr[i]; p < l.ptr[i + 1]; ++p) x[i] += l.val[p] * z[l.col[p]];
  const double alpha = 2.0;
  for (int i = 0; i < n; ++i) want[i] = alpha * z[i];
  DevCsr<T> d(l);
  T* dx = to_device(as<T>(x));
  T* dy = to_device(std::vector<T>(n, T(0)));
  cusparseSpMatDescr_t mat = d.csr(l);
  cusparseFillMode_t fill = CUSPARSE_FILL_MODE_LOWER;
  cusparseDiagType_t diag = CUSPARSE_DIAG_TYPE_NON_UNIT;
  SP("SpMatSetAttribute(FILL_MODE)",
     cusparseSpMatSetAttribute(mat, CUSPARSE_SPMAT_FILL_MODE, &fill, sizeof fill));
  SP("SpMatSetAttribute(DIAG_TYPE)",
     cusparseSpMatSetAttribute(mat, CUSPARSE_SPMAT_DIAG_TYPE, &diag, sizeof diag));
  cusparseDnVecDescr_t vx = nullptr, vy = nullptr;
  SP("CreateDnVec(x)", cusparseCreateDnVec(&vx, n, dx, type_of<T>()));
  SP("CreateDnVec(y)", cusparseCreateDnVec(&vy, n, dy, type_of<T>()));
  cusparseSpSVDescr_t desc = nullptr;
  SP("SpSV_createDescr", cusparseSpSV_createDescr(&desc));
  Scalars<T> sc(alpha, 0.0, device_scalars);
  set_mode(h, device_scalars);
  const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t size = 0;
  SP("SpSV_bufferSize", cusparseSpSV_bufferSize(h, op, sc.alpha(), mat, vx, vy, type_of<T>(),
                                                CUSPARSE_SPSV_ALG_DEFAULT, desc, &size));
  void* buf = alloc(size);
  SP("SpSV_analysis", cusparseSpSV_analysis(h, op, sc.alpha(), mat, vx, vy, type_of<T>(),
                                            CUSPARSE_SPSV_ALG_DEFAULT, desc, buf));
  SP("SpSV_solve", cusparseSpSV_solve(h, op, sc.alpha(), mat, vx, vy, type_of<T>(),
                                      CUSPARSE_SPSV_ALG_DEFAULT, desc));
  set_mode(h, false);
  result(tag, to_host(dy, n), want);
  SP("SpSV_destroyDescr", cusparseSpSV_destroyDescr(desc));
  SP("DestroySpMat", cusparseDestroySpMat(mat));
  SP("DestroyDnVec(x)", cusparseDestroyDnVec(vx));
  SP("DestroyDnVec(y)", cusparseDestroyDnVec(vy));
  cudaFree(buf);
  cudaFree(dx);
  cudaFree(dy);
}

// C = alpha (A B) .* spy(C) + beta C: dense row-major A (m x k), B (k x n), CSR C (fp32).
void sddmm(cusparseHandle_t h, int m, int k, int n) {
  std::printf("-- SDDMM CSR fp32\n");
  const Csr c = random_csr(m, n, 4, 41);
  const std::vector<double> a = random_dense(static_cast<size_t>(m) * k, 42);
  const std::vector<double> b = random_dense(static_cast<size_t>(k) * n, 43);
  const float alpha = 2.0f, beta = 0.5f;
  std::vector<double> want(c.nnz());
  for (int i = 0; i < m; ++i)
    for (int p = c.ptr[i]; p < c.ptr[i + 1]; ++p) {
      double s = 0;
      for (int l = 0; l < k; ++l)
        s += a[static_cast<size_t>(i) * k + l] * b[static_cast<size_t>(l) * n + c.col[p]];
      want[p] = alpha * s + beta * c.val[p];
    }
  DevCsr<float> dc(c);
  float* da = to_device(as<float>(a));
  float* db = to_device(as<float>(b));
  cusparseDnMatDescr_t ma = nullptr, mb = nullptr;
  SP("CreateDnMat(A)", cusparseCreateDnMat(&ma, m, k, k, da, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  SP("CreateDnMat(B)", cusparseCreateDnMat(&mb, k, n, n, db, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  cusparseSpMatDescr_t mc = dc.csr(c);
  const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t size = 0;
  SP("SDDMM_bufferSize", cusparseSDDMM_bufferSize(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                                  CUSPARSE_SDDMM_ALG_DEFAULT, &size));
  void* buf = alloc(size);
  SP("SDDMM_preprocess", cusparseSDDMM_preprocess(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                                                  CUSPARSE_SDDMM_ALG_DEFAULT, buf));
  SP("SDDMM", cusparseSDDMM(h, op, op, &alpha, ma, mb, &beta, mc, CUDA_R_32F,
                            CUSPARSE_SDDMM_ALG_DEFAULT, buf));
  result("SDDMM values", to_host(dc.val, c.nnz()), want);
  SP("DestroyDnMat(A)", cusparseDestroyDnMat(ma));
  SP("DestroyDnMat(B)", cusparseDestroyDnMat(mb));
  SP("DestroySpMat(C)", cusparseDestroySpMat(mc));
  cudaFree(buf);
  cudaFree(da);
  cudaFree(db);
}

// Dense (column-major) -> CSR, and CSR -> dense, fp32.
void conversions(cusparseHandle_t h, const Csr& a) {
  std::printf("-- DenseToSparse / SparseToDense fp32\n");
  const int m = a.rows, n = a.cols;
  const std::vector<double> rm = a.dense_row_major();
  std::vector<double> cm(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      cm[i + static_cast<size_t>(j) * m] = rm[static_cast<size_t>(i) * n + j];
  float* dd = to_device(as<float>(cm));
  cusparseDnMatDescr_t dense = nullptr;
  SP("CreateDnMat", cusparseCreateDnMat(&dense, m, n, m, dd, CUDA_R_32F, CUSPARSE_ORDER_COL));
  int* s_ptr = static_cast<int*>(alloc((m + 1) * sizeof(int)));
  cusparseSpMatDescr_t sparse = nullptr;
  SP("CreateCsr(empty)",
     cusparseCreateCsr(&sparse, m, n, 0, s_ptr, nullptr, nullptr, CUSPARSE_INDEX_32I,
                       CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  size_t size = 0;
  SP("DenseToSparse_bufferSize",
     cusparseDenseToSparse_bufferSize(h, dense, sparse, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, &size));
  void* buf = alloc(size);
  SP("DenseToSparse_analysis",
     cusparseDenseToSparse_analysis(h, dense, sparse, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, buf));
  int64_t rows = 0, cols = 0, nnz = 0;
  SP("SpMatGetSize", cusparseSpMatGetSize(sparse, &rows, &cols, &nnz));
  std::printf("  %lld x %lld, nnz %lld (want %d)\n", static_cast<long long>(rows),
              static_cast<long long>(cols), static_cast<long long>(nnz), a.nnz());
  int* s_col = static_cast<int*>(alloc(nnz * sizeof(int)));
  float* s_val = static_cast<float*>(alloc(nnz * sizeof(float)));
  SP("CsrSetPointers", cusparseCsrSetPointers(sparse, s_ptr, s_col, s_val));
  SP("DenseToSparse_convert",
     cusparseDenseToSparse_convert(h, dense, sparse, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, buf));
  // The order of the entries within a row is cuSPARSE's choice: compare each row sorted by
  // column, on both sides.
  const std::vector<int> got_ptr = to_host(s_ptr, m + 1);
  auto by_column = [&](std::vector<int> col, std::vector<double> val, std::vector<int>* col_out,
                       std::vector<double>* val_out) {
    col_out->clear();
    val_out->clear();
    for (int i = 0; i < m && got_ptr[i + 1] <= static_cast<int>(col.size()); ++i) {
      std::vector<std::pair<int, double>> row;
      for (int q = got_ptr[i]; q < got_ptr[i + 1]; ++q) row.emplace_back(col[q], val[q]);
      std::sort(row.begin(), row.end());
      for (const auto& e : row) {
        col_out->push_back(e.first);
        val_out->push_back(e.second);
      }
    }
  };
  const std::vector<float> got_val_f = to_host(s_val, nnz);
  std::vector<int> got_col, want_col;
  std::vector<double> got_val, want_val;
  by_column(to_host(s_col, nnz), std::vector<double>(got_val_f.begin(), got_val_f.end()), &got_col,
            &got_val);
  by_column(a.col, a.val, &want_col, &want_val);
  ints("DenseToSparse row pointers", got_ptr, a.ptr);
  ints("DenseToSparse columns", got_col, want_col);
  result("DenseToSparse values", std::vector<float>(got_val.begin(), got_val.end()), want_val);
  cudaFree(buf);

  // back: the CSR just made, into a cleared dense matrix
  CHECK(cudaMemset(dd, 0, static_cast<size_t>(m) * n * sizeof(float)));
  size = 0;
  SP("SparseToDense_bufferSize",
     cusparseSparseToDense_bufferSize(h, sparse, dense, CUSPARSE_SPARSETODENSE_ALG_DEFAULT, &size));
  buf = alloc(size);
  SP("SparseToDense",
     cusparseSparseToDense(h, sparse, dense, CUSPARSE_SPARSETODENSE_ALG_DEFAULT, buf));
  result("SparseToDense", to_host(dd, static_cast<size_t>(m) * n), cm);
  SP("DestroySpMat", cusparseDestroySpMat(sparse));
  SP("DestroyDnMat", cusparseDestroyDnMat(dense));
  cudaFree(buf);
  cudaFree(dd);
  cudaFree(s_ptr);
  cudaFree(s_col);
  cudaFree(s_val);
}

// CSR -> CSC with cusparseCsr2cscEx2 (values and structure), fp32.
void csr2csc(cusparseHandle_t h, const Csr& a) {
  std::printf("-- Csr2cscEx2 fp32\n");
  const int m = a.rows, n = a.cols, nnz = a.nnz();
  std::vector<int> cptr(n + 1, 0), crow(nnz);
  std::vector<double> cval(nnz);
  for (int c : a.col) ++cptr[c + 1];
  for (int j = 0; j < n; ++j) cptr[j + 1] += cptr[j];
  std::vector<int> next(cptr.begin(), cptr.end() - 1);
  for (int i = 0; i < m; ++i)
    for (int p = a.ptr[i]; p < a.ptr[i + 1]; ++p) {
      const int q = next[a.col[p]]++;
      crow[q] = i;
      cval[q] = a.val[p];
    }
  DevCsr<float> d(a);
  int* d_cptr = static_cast<int*>(alloc((n + 1) * sizeof(int)));
  int* d_crow = static_cast<int*>(alloc(nnz * sizeof(int)));
  float* d_cval = static_cast<float*>(alloc(nnz * sizeof(float)));
  size_t size = 0;
  SP("Csr2cscEx2_bufferSize",
     cusparseCsr2cscEx2_bufferSize(h, m, n, nnz, d.val, d.ptr, d.col, d_cval, d_cptr, d_crow,
                                   CUDA_R_32F, CUSPARSE_ACTION_NUMERIC, CUSPARSE_INDEX_BASE_ZERO,
                                   CUSPARSE_CSR2CSC_ALG1, &size));
  void* buf = alloc(size);
  SP("Csr2cscEx2", cusparseCsr2cscEx2(h, m, n, nnz, d.val, d.ptr, d.col, d_cval, d_cptr, d_crow,
                                      CUDA_R_32F, CUSPARSE_ACTION_NUMERIC, CUSPARSE_INDEX_BASE_ZERO,
                                      CUSPARSE_CSR2CSC_ALG1, buf));
  // rows within a column in ascending order (the reference's), whatever order the GPU wrote
  const std::vector<int> got_ptr = to_host(d_cptr, n + 1);
  std::vector<int> got_row = to_host(d_crow, nnz);
  std::vector<float> got_val = to_host(d_cval, nnz);
  bool ptr_ok = got_ptr == cptr;
  for (int j = 0; j < n && ptr_ok; ++j) {
    std::vector<std::pair<int, float>> col;
    for (int q = got_ptr[j]; q < got_ptr[j + 1]; ++q) col.emplace_back(got_row[q], got_val[q]);
    std::sort(col.begin(), col.end());
    for (size_t t = 0; t < col.size(); ++t) {
      got_row[got_ptr[j] + t] = col[t].first;
      got_val[got_ptr[j] + t] = col[t].second;
    }
  }
  ints("CSC column pointers", got_ptr, cptr);
  ints("CSC row indices", got_row, crow);
  result("CSC values", got_val, cval);
  cudaFree(buf);
  cudaFree(d_cptr);
  cudaFree(d_crow);
  cudaFree(d_cval);
}

// Legacy API: y = alpha A x + beta y with A in BSR (2x2 blocks stored row by row, a general
// matrix descriptor), fp32 with host scalars and fp64 with device scalars.
template <class T>
void bsrmv(cusparseHandle_t h, bool device_scalars) {
  const std::string tag =
      std::string("bsrmv ") + name_of<T>() + (device_scalars ? " device scalars" : " host scalars");
  std::printf("-- %s\n", tag.c_str());
  const int mb = 8, nb = 6, dim = 2;
  const Csr blocks = random_csr(mb, nb, 3, 51);
  const int nnzb = blocks.nnz();
  const std::vector<double> vals = random_dense(static_cast<size_t>(nnzb) * dim * dim, 52);
  const std::vector<double> x = random_dense(nb * dim, 53), y0 = random_dense(mb * dim, 54);
  const double alpha = 2.0, beta = -1.0;
  std::vector<double> want(mb * dim);
  for (int bi = 0; bi < mb; ++bi)
    for (int r = 0; r < dim; ++r) {
      double s = 0;
      for (int p = blocks.ptr[bi]; p < blocks.ptr[bi + 1]; ++p)
        for (int c = 0; c < dim; ++c)
          s += vals[static_cast<size_t>(p) * dim * dim + r * dim + c] * x[blocks.col[p] * dim + c];
      want[bi * dim + r] = alpha * s + beta * y0[bi * dim + r];
    }
  int* d_ptr = to_device(blocks.ptr);
  int* d_col = to_device(blocks.col);
  T* d_val = to_device(as<T>(vals));
  T* dx = to_device(as<T>(x));
  T* dy = to_device(as<T>(y0));
  cusparseMatDescr_t descr = nullptr;
  SP("CreateMatDescr", cusparseCreateMatDescr(&descr));
  Scalars<T> sc(alpha, beta, device_scalars);
  set_mode(h, device_scalars);
  if constexpr (sizeof(T) == 4) {
    SP("Sbsrmv",
       cusparseSbsrmv(h, CUSPARSE_DIRECTION_ROW, CUSPARSE_OPERATION_NON_TRANSPOSE, mb, nb, nnzb,
                      sc.alpha(), descr, d_val, d_ptr, d_col, dim, dx, sc.beta(), dy));
  } else {
    SP("Dbsrmv",
       cusparseDbsrmv(h, CUSPARSE_DIRECTION_ROW, CUSPARSE_OPERATION_NON_TRANSPOSE, mb, nb, nnzb,
                      sc.alpha(), descr, d_val, d_ptr, d_col, dim, dx, sc.beta(), dy));
  }
  set_mode(h, false);
  result(tag, to_host(dy, mb * dim), want);
  SP("DestroyMatDescr", cusparseDestroyMatDescr(descr));
  cudaFree(d_ptr);
  cudaFree(d_col);
  cudaFree(d_val);
  cudaFree(dx);
  cudaFree(dy);
}

// Legacy API: C = alpha A + beta B (csrgeam2, fp32), C's non-zero count into host memory.
void csrgeam2(cusparseHandle_t h, const Csr& a, const Csr& b) {
  std::printf("-- csrgeam2 fp32\n");
  const int m = a.rows, n = a.cols;
  const float alpha = 2.0f, beta = -1.0f;
  const std::vector<double> da = a.dense_row_major(), db = b.dense_row_major();
  std::vector<double> want(da.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = alpha * da[i] + beta * db[i];
  DevCsr<float> d_a(a), d_b(b);
  cusparseMatDescr_t descr = nullptr;
  SP("CreateMatDescr", cusparseCreateMatDescr(&descr));
  int* c_ptr = static_cast<int*>(alloc((m + 1) * sizeof(int)));
  size_t size = 0;
  SP("Scsrgeam2_bufferSizeExt",
     cusparseScsrgeam2_bufferSizeExt(h, m, n, &alpha, descr, a.nnz(), d_a.val, d_a.ptr, d_a.col,
                                     &beta, descr, b.nnz(), d_b.val, d_b.ptr, d_b.col, descr,
                                     nullptr, c_ptr, nullptr, &size));
  void* buf = alloc(size);
  int nnz = -1;
  SP("Xcsrgeam2Nnz", cusparseXcsrgeam2Nnz(h, m, n, descr, a.nnz(), d_a.ptr, d_a.col, descr, b.nnz(),
                                          d_b.ptr, d_b.col, descr, c_ptr, &nnz, buf));
  int union_nnz = 0;
  for (size_t i = 0; i < da.size(); ++i) union_nnz += da[i] != 0.0 || db[i] != 0.0;
  std::printf("  nnz of C %d (union of the patterns %d): %s\n", nnz, union_nnz,
              nnz == union_nnz ? "PASS" : "FAIL");
  if (nnz != union_nnz) g_ok = false;
  const int c_nnz = nnz > 0 ? nnz : 0;
  int* c_col = static_cast<int*>(alloc(c_nnz * sizeof(int)));
  float* c_val = static_cast<float*>(alloc(c_nnz * sizeof(float)));
  SP("Scsrgeam2",
     cusparseScsrgeam2(h, m, n, &alpha, descr, a.nnz(), d_a.val, d_a.ptr, d_a.col, &beta, descr,
                       b.nnz(), d_b.val, d_b.ptr, d_b.col, descr, c_val, c_ptr, c_col, buf));
  const std::vector<int> hp = to_host(c_ptr, m + 1), hc = to_host(c_col, c_nnz);
  const std::vector<float> hv = to_host(c_val, c_nnz);
  std::vector<float> got(static_cast<size_t>(m) * n, 0.0f);
  for (int i = 0; i < m; ++i)
    for (int p = hp[i]; p < hp[i + 1] && p < c_nnz; ++p)
      if (hc[p] >= 0 && hc[p] < n) got[static_cast<size_t>(i) * n + hc[p]] += hv[p];
  result("csrgeam2 C (dense)", got, want);
  SP("DestroyMatDescr", cusparseDestroyMatDescr(descr));
  cudaFree(buf);
  cudaFree(c_ptr);
  cudaFree(c_col);
  cudaFree(c_val);
}

void legacy_descriptor() {
  std::printf("-- legacy matrix descriptor\n");
  cusparseMatDescr_t d = nullptr;
  SP("CreateMatDescr", cusparseCreateMatDescr(&d));
  SP("SetMatType(TRIANGULAR)", cusparseSetMatType(d, CUSPARSE_MATRIX_TYPE_TRIANGULAR));
  SP("SetMatFillMode(UPPER)", cusparseSetMatFillMode(d, CUSPARSE_FILL_MODE_UPPER));
  SP("SetMatDiagType(UNIT)", cusparseSetMatDiagType(d, CUSPARSE_DIAG_TYPE_UNIT));
  SP("SetMatIndexBase(ONE)", cusparseSetMatIndexBase(d, CUSPARSE_INDEX_BASE_ONE));
  std::printf("  type %d fill %d diag %d base %d\n", cusparseGetMatType(d),
              cusparseGetMatFillMode(d), cusparseGetMatDiagType(d), cusparseGetMatIndexBase(d));
  SP("DestroyMatDescr", cusparseDestroyMatDescr(d));
}

}  // namespace

int main() {
  int version = 0;
  cusparseHandle_t h = nullptr;
  SP("cusparseCreate", cusparseCreate(&h));
  SP("cusparseGetVersion", cusparseGetVersion(h, &version));
  std::printf("  version %d\n", version);
  CHECK(cudaStreamCreate(&g_stream));
  SP("cusparseSetStream", cusparseSetStream(h, g_stream));
  cudaStream_t got = nullptr;
  SP("cusparseGetStream", cusparseGetStream(h, &got));
  std::printf("  the stream set: %s\n", got == g_stream ? "yes" : "no");
  if (got != g_stream) g_ok = false;

  const Csr a = random_csr(64, 48, 5, 1);
  std::printf("A: %d x %d, nnz %d\n", a.rows, a.cols, a.nnz());
  spmv<float>(h, a, false, false);
  spmv<float>(h, a, false, true);
  spmv<double>(h, a, false, false);
  spmv<double>(h, a, false, true);
  spmv<float>(h, a, true, false);
  spmv<double>(h, a, true, true);
  spmm<float>(h, a, 7, false);
  spmm<float>(h, a, 7, true);
  spmm<double>(h, a, 7, false);
  spmm<double>(h, a, 7, true);
  const Csr b = random_csr(48, 40, 4, 2);
  spgemm(h, a, b);
  spsv<float>(h, 50, false);
  spsv<double>(h, 50, true);
  sddmm(h, 24, 16, 20);
  conversions(h, a);
  csr2csc(h, a);
  legacy_descriptor();
  bsrmv<float>(h, false);
  bsrmv<double>(h, true);
  csrgeam2(h, a, random_csr(64, 48, 4, 3));

  CHECK(cudaStreamSynchronize(g_stream));
  SP("cusparseDestroy", cusparseDestroy(h));
  CHECK(cudaStreamDestroy(g_stream));
  return verdict(g_ok);
}
