// cuSOLVER (libcusolver.so.12) on a GPU, every call on a non-blocking stream set with
// cusolverDnSetStream / cusolverSpSetStream:
//   Cholesky 512x512 (potrf, potrs, potri) in fp32 and fp64; LU + solve (getrf, getrs) in fp32
//   and fp64; QR (geqrf, orgqr, ormqr); SVD (gesvd, gesvdj with a gesvdjInfo_t, gesvdjBatched);
//   syevd and syevjBatched (a syevjInfo_t); potrfBatched + potrsBatched; the 64-bit API with a
//   params object (Xpotrf/Xpotrs, Xgetrf/Xgetrs, Xsyevd, Xgesvd, XsyevBatched) and its host
//   workspaces; cusolverSp on the host (DcsrlsvqrHost) and on the device (Dcsrlsvqr,
//   Dcsrlsvchol); devInfo of a matrix that is not positive definite; a refused argument.
//
// Every status and devInfo is printed. Results are checked on the CPU in double (residuals
// relative to the norms involved, PASS/FAIL against a tolerance, exit 1 if any fails); each line
// prints only statuses, info values, verdicts and sums rounded to a few digits, so the native
// run and the run through GVirtuS print the same lines.
#define DISABLE_CUSOLVER_DEPRECATED
#include <cusolverDn.h>
#include <cusolverSp.h>
#include <cusparse.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"

namespace {

bool g_ok = true;
cudaStream_t g_stream = nullptr;

void scheck(const std::string& what, cusolverStatus_t s, int line) {
  std::printf("%s: %d\n", what.c_str(), static_cast<int>(s));
  if (s == CUSOLVER_STATUS_SUCCESS) return;
  std::printf("FAILED line %d: %s: %d\n", line, what.c_str(), static_cast<int>(s));
  std::exit(1);
}
#define SOLVER(what, call) scheck((what), (call), __LINE__)

// Deterministic inputs in [-1, 1).
struct Lcg {
  uint64_t s;
  double next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  }
};

// Column-major n x n symmetric, diagonally dominant (so positive definite).
std::vector<double> spd(int n, uint64_t seed) {
  Lcg r{seed};
  std::vector<double> a(static_cast<size_t>(n) * n);
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i) {
      const double v = r.next();
      a[i + static_cast<size_t>(j) * n] = v;
      a[j + static_cast<size_t>(i) * n] = v;
    }
  for (int i = 0; i < n; ++i) a[i + static_cast<size_t>(i) * n] = n + 1.0 + std::fabs(r.next());
  return a;
}

// Column-major m x n, entries in [-1, 1), plus `diag` on the diagonal.
std::vector<double> general(int m, int n, uint64_t seed, double diag) {
  Lcg r{seed};
  std::vector<double> a(static_cast<size_t>(m) * n);
  for (auto& x : a) x = r.next();
  for (int i = 0; i < std::min(m, n); ++i) a[i + static_cast<size_t>(i) * m] += diag;
  return a;
}

// C (m x n) = A (m x k) * B (k x n), column-major, with leading dimensions m, k.
std::vector<double> matmul(const std::vector<double>& a, const std::vector<double>& b, int m,
                           int k, int n) {
  std::vector<double> c(static_cast<size_t>(m) * n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int p = 0; p < k; ++p) {
      const double bv = b[p + static_cast<size_t>(j) * k];
      if (bv == 0) continue;
      const double* ac = &a[static_cast<size_t>(p) * m];
      double* cc = &c[static_cast<size_t>(j) * m];
      for (int i = 0; i < m; ++i) cc[i] += ac[i] * bv;
    }
  return c;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// max |x - y| / max(1, max |y|)
double rel_diff(const std::vector<double>& x, const std::vector<double>& y) {
  double d = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) d = std::max(d, std::fabs(x[i] - y[i]));
  if (x.size() != y.size() || std::isnan(d)) return INFINITY;
  return d / std::max(1.0, max_abs(y));
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// A verdict line: `digits` significant digits of `checksum` (stable between runs of one GPU and
// library) and PASS/FAIL of err <= tol.
void verdict_line(const std::string& what, double checksum, int digits, double err, double tol) {
  const bool pass = err <= tol;
  if (!pass) g_ok = false;
  std::printf("%s: checksum %.*e %s\n", what.c_str(), digits - 1, checksum, pass ? "PASS" : "FAIL");
  if (!pass) std::printf("  error %.3e over tolerance %.1e\n", err, tol);
}

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, std::max<size_t>(1, h.size()) * sizeof(T)));
  if (!h.empty())
    CHECK(cudaMemcpyAsync(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice, g_stream));
  return d;
}
template <class T>
T* device_zeros(size_t n) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, std::max<size_t>(1, n) * sizeof(T)));
  CHECK(cudaMemsetAsync(d, 0, std::max<size_t>(1, n) * sizeof(T), g_stream));
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  CHECK(cudaMemcpyAsync(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost, g_stream));
  CHECK(cudaStreamSynchronize(g_stream));
  return h;
}
int dev_info(const int* d) { return to_host(d, 1)[0]; }

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}
template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

void print_info(const char* what, int info, int expected) {
  std::printf("  %s devInfo %d\n", what, info);
  if (info != expected) {
    std::printf("  expected devInfo %d\n", expected);
    g_ok = false;
  }
}

// ---- typed dense API, fp32 and fp64 ----
template <class T>
struct Dense;
template <>
struct Dense<float> {
  static constexpr const char* name = "S";
  static constexpr double tol = 2e-4;
  static constexpr int digits = 4;
  static cusolverStatus_t potrf_bs(cusolverDnHandle_t h, int n, float* a, int* lw) {
    return cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, a, n, lw);
  }
  static cusolverStatus_t potrf(cusolverDnHandle_t h, int n, float* a, float* w, int lw, int* i) {
    return cusolverDnSpotrf(h, CUBLAS_FILL_MODE_LOWER, n, a, n, w, lw, i);
  }
  static cusolverStatus_t potrs(cusolverDnHandle_t h, int n, int r, float* a, float* b, int* i) {
    return cusolverDnSpotrs(h, CUBLAS_FILL_MODE_LOWER, n, r, a, n, b, n, i);
  }
  static cusolverStatus_t getrf_bs(cusolverDnHandle_t h, int n, float* a, int* lw) {
    return cusolverDnSgetrf_bufferSize(h, n, n, a, n, lw);
  }
  static cusolverStatus_t getrf(cusolverDnHandle_t h, int n, float* a, float* w, int* p, int* i) {
    return cusolverDnSgetrf(h, n, n, a, n, w, p, i);
  }
  static cusolverStatus_t getrs(cusolverDnHandle_t h, int n, int r, float* a, int* p, float* b,
                                int* i) {
    return cusolverDnSgetrs(h, CUBLAS_OP_N, n, r, a, n, p, b, n, i);
  }
};
template <>
struct Dense<double> {
  static constexpr const char* name = "D";
  static constexpr double tol = 1e-11;
  static constexpr int digits = 8;
  static cusolverStatus_t potrf_bs(cusolverDnHandle_t h, int n, double* a, int* lw) {
    return cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, a, n, lw);
  }
  static cusolverStatus_t potrf(cusolverDnHandle_t h, int n, double* a, double* w, int lw,
                                int* i) {
    return cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, a, n, w, lw, i);
  }
  static cusolverStatus_t potrs(cusolverDnHandle_t h, int n, int r, double* a, double* b,
                                int* i) {
    return cusolverDnDpotrs(h, CUBLAS_FILL_MODE_LOWER, n, r, a, n, b, n, i);
  }
  static cusolverStatus_t getrf_bs(cusolverDnHandle_t h, int n, double* a, int* lw) {
    return cusolverDnDgetrf_bufferSize(h, n, n, a, n, lw);
  }
  static cusolverStatus_t getrf(cusolverDnHandle_t h, int n, double* a, double* w, int* p,
                                int* i) {
    return cusolverDnDgetrf(h, n, n, a, n, w, p, i);
  }
  static cusolverStatus_t getrs(cusolverDnHandle_t h, int n, int r, double* a, int* p, double* b,
                                int* i) {
    return cusolverDnDgetrs(h, CUBLAS_OP_N, n, r, a, n, p, b, n, i);
  }
};

constexpr int kN = 512;
constexpr int kRhs = 4;

// Cholesky factorisation and solve of a 512x512 SPD system: ||A X - B|| / (||A|| ||X||).
template <class T>
void cholesky(cusolverDnHandle_t h) {
  using D = Dense<T>;
  const std::string p = std::string(D::name);
  const std::vector<double> a = spd(kN, 11);
  const std::vector<double> b = general(kN, kRhs, 12, 0);
  T* da = to_device(cast<T>(a));
  T* db = to_device(cast<T>(b));
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER(p + "potrf_bufferSize", D::potrf_bs(h, kN, da, &lwork));
  T* work = device_zeros<T>(lwork);
  SOLVER(p + "potrf", D::potrf(h, kN, da, work, lwork, info));
  print_info("potrf", dev_info(info), 0);
  SOLVER(p + "potrs", D::potrs(h, kN, kRhs, da, db, info));
  print_info("potrs", dev_info(info), 0);
  const std::vector<double> x = widen(to_host(db, b.size()));
  const double err = rel_diff(matmul(a, x, kN, kN, kRhs), b) / (max_abs(a) * std::max(1e-30, max_abs(x)));
  verdict_line(p + "potrf+potrs 512x512", sum(x), D::digits, err, D::tol);
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(work));
  CHECK(cudaFree(info));
}

// LU factorisation with partial pivoting and solve of a 512x512 system.
template <class T>
void lu(cusolverDnHandle_t h) {
  using D = Dense<T>;
  const std::string p = std::string(D::name);
  const std::vector<double> a = general(kN, kN, 21, 32.0);
  const std::vector<double> b = general(kN, kRhs, 22, 0);
  T* da = to_device(cast<T>(a));
  T* db = to_device(cast<T>(b));
  int* ipiv = device_zeros<int>(kN);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER(p + "getrf_bufferSize", D::getrf_bs(h, kN, da, &lwork));
  T* work = device_zeros<T>(lwork);
  SOLVER(p + "getrf", D::getrf(h, kN, da, work, ipiv, info));
  print_info("getrf", dev_info(info), 0);
  SOLVER(p + "getrs", D::getrs(h, kN, kRhs, da, ipiv, db, info));
  print_info("getrs", dev_info(info), 0);
  const std::vector<double> x = widen(to_host(db, b.size()));
  const double err = rel_diff(matmul(a, x, kN, kN, kRhs), b) / (max_abs(a) * std::max(1e-30, max_abs(x)));
  verdict_line(p + "getrf+getrs 512x512", sum(x), D::digits, err, D::tol * 10);
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(work));
  CHECK(cudaFree(ipiv));
  CHECK(cudaFree(info));
}

// potri: the inverse of the SPD matrix from its Cholesky factor (lower triangle): A * inv(A) = I.
void inverse(cusolverDnHandle_t h) {
  const int n = 256;
  const std::vector<double> a = spd(n, 31);
  double* da = to_device(a);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER("Dpotrf_bufferSize", cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, n, &lwork));
  double* work = device_zeros<double>(lwork);
  SOLVER("Dpotrf", cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, da, n, work, lwork, info));
  print_info("potrf", dev_info(info), 0);
  int lwork2 = 0;
  SOLVER("Dpotri_bufferSize", cusolverDnDpotri_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, n, &lwork2));
  double* work2 = device_zeros<double>(lwork2);
  SOLVER("Dpotri", cusolverDnDpotri(h, CUBLAS_FILL_MODE_LOWER, n, da, n, work2, lwork2, info));
  print_info("potri", dev_info(info), 0);
  std::vector<double> inv = to_host(da, a.size());
  for (int j = 0; j < n; ++j)  // the upper triangle from the lower one
    for (int i = 0; i < j; ++i) inv[i + static_cast<size_t>(j) * n] = inv[j + static_cast<size_t>(i) * n];
  std::vector<double> eye(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) eye[i + static_cast<size_t>(i) * n] = 1;
  verdict_line("Dpotri 256x256", sum(inv), 8, rel_diff(matmul(a, inv, n, n, n), eye), 1e-12);
  CHECK(cudaFree(da));
  CHECK(cudaFree(work));
  CHECK(cudaFree(work2));
  CHECK(cudaFree(info));
}

// QR of a 512x256 matrix: geqrf, Q formed by orgqr (Q R = A, Q^T Q = I), and Q^T B by ormqr.
void qr(cusolverDnHandle_t h) {
  const int m = 512, n = 256;
  const std::vector<double> a = general(m, n, 41, 0);
  const std::vector<double> b = general(m, kRhs, 42, 0);
  double* da = to_device(a);
  double* db = to_device(b);
  double* tau = device_zeros<double>(n);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER("Dgeqrf_bufferSize", cusolverDnDgeqrf_bufferSize(h, m, n, da, m, &lwork));
  double* work = device_zeros<double>(lwork);
  SOLVER("Dgeqrf", cusolverDnDgeqrf(h, m, n, da, m, tau, work, lwork, info));
  print_info("geqrf", dev_info(info), 0);
  const std::vector<double> fact = to_host(da, a.size());
  std::vector<double> r(static_cast<size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) r[i + static_cast<size_t>(j) * n] = fact[i + static_cast<size_t>(j) * m];
  // Q^T B with the factored form
  int lwork_q = 0;
  SOLVER("Dormqr_bufferSize", cusolverDnDormqr_bufferSize(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, kRhs, n, da, m, tau, db, m, &lwork_q));
  double* work_q = device_zeros<double>(lwork_q);
  SOLVER("Dormqr", cusolverDnDormqr(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, kRhs, n, da, m, tau, db, m, work_q, lwork_q, info));
  print_info("ormqr", dev_info(info), 0);
  const std::vector<double> qtb = to_host(db, b.size());
  // Q explicitly
  int lwork_o = 0;
  SOLVER("Dorgqr_bufferSize", cusolverDnDorgqr_bufferSize(h, m, n, n, da, m, tau, &lwork_o));
  double* work_o = device_zeros<double>(lwork_o);
  SOLVER("Dorgqr", cusolverDnDorgqr(h, m, n, n, da, m, tau, work_o, lwork_o, info));
  print_info("orgqr", dev_info(info), 0);
  const std::vector<double> q = to_host(da, a.size());
  std::vector<double> qt(static_cast<size_t>(n) * m);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) qt[j + static_cast<size_t>(i) * n] = q[i + static_cast<size_t>(j) * m];
  std::vector<double> eye(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) eye[i + static_cast<size_t>(i) * n] = 1;
  verdict_line("Dgeqrf+orgqr Q R = A", sum(r), 8, rel_diff(matmul(q, r, m, n, n), a), 1e-12);
  verdict_line("Dorgqr Q^T Q = I", sum(q), 8, rel_diff(matmul(qt, q, n, m, n), eye), 1e-12);
  std::vector<double> qtb_ref = matmul(qt, b, n, m, kRhs);
  std::vector<double> qtb_top(static_cast<size_t>(n) * kRhs);
  for (int j = 0; j < kRhs; ++j)
    for (int i = 0; i < n; ++i) qtb_top[i + static_cast<size_t>(j) * n] = qtb[i + static_cast<size_t>(j) * m];
  verdict_line("Dormqr Q^T B", sum(qtb_top), 8, rel_diff(qtb_top, qtb_ref), 1e-12);
  for (void* p : {static_cast<void*>(da), static_cast<void*>(db), static_cast<void*>(tau),
                  static_cast<void*>(info), static_cast<void*>(work), static_cast<void*>(work_q),
                  static_cast<void*>(work_o)})
    CHECK(cudaFree(p));
}

// U diag(S) V^T of column-major U (m x k), S (k), VT (k x n).
std::vector<double> reconstruct(const std::vector<double>& u, const std::vector<double>& s,
                                const std::vector<double>& vt, int m, int k, int n) {
  std::vector<double> us = u;
  for (int j = 0; j < k; ++j)
    for (int i = 0; i < m; ++i) us[i + static_cast<size_t>(j) * m] *= s[j];
  return matmul(us, vt, m, k, n);
}
std::vector<double> transpose(const std::vector<double>& a, int rows, int cols) {
  std::vector<double> t(a.size());
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) t[j + static_cast<size_t>(i) * cols] = a[i + static_cast<size_t>(j) * rows];
  return t;
}

// gesvd (QR iteration) and gesvdj (Jacobi, with a gesvdjInfo_t) of a 256x128 matrix, and
// gesvdjBatched of 8 matrices 16x16.
void svd(cusolverDnHandle_t h) {
  const int m = 256, n = 128;
  const std::vector<double> a = general(m, n, 51, 0);
  double* da = to_device(a);
  double* s = device_zeros<double>(n);
  double* u = device_zeros<double>(static_cast<size_t>(m) * n);
  double* vt = device_zeros<double>(static_cast<size_t>(n) * n);
  double* rwork = device_zeros<double>(n);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER("Dgesvd_bufferSize", cusolverDnDgesvd_bufferSize(h, m, n, &lwork));
  double* work = device_zeros<double>(lwork);
  SOLVER("Dgesvd(S, S)", cusolverDnDgesvd(h, 'S', 'S', m, n, da, m, s, u, m, vt, n, work, lwork, rwork, info));
  print_info("gesvd", dev_info(info), 0);
  const std::vector<double> hs = to_host(s, n);
  verdict_line("Dgesvd U S VT = A", sum(hs), 8,
               rel_diff(reconstruct(to_host(u, static_cast<size_t>(m) * n), hs, to_host(vt, static_cast<size_t>(n) * n), m, n, n), a), 1e-12);
  CHECK(cudaFree(work));

  // gesvdj: V (not V^T), econ
  CHECK(cudaMemcpyAsync(da, a.data(), a.size() * sizeof(double), cudaMemcpyHostToDevice, g_stream));
  gesvdjInfo_t params = nullptr;
  SOLVER("CreateGesvdjInfo", cusolverDnCreateGesvdjInfo(&params));
  SOLVER("XgesvdjSetTolerance", cusolverDnXgesvdjSetTolerance(params, 1e-12));
  SOLVER("XgesvdjSetMaxSweeps", cusolverDnXgesvdjSetMaxSweeps(params, 100));
  SOLVER("XgesvdjSetSortEig", cusolverDnXgesvdjSetSortEig(params, 1));
  double* v = device_zeros<double>(static_cast<size_t>(n) * n);
  lwork = 0;
  SOLVER("Dgesvdj_bufferSize", cusolverDnDgesvdj_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, da, m, s, u, m, v, n, &lwork, params));
  work = device_zeros<double>(lwork);
  SOLVER("Dgesvdj", cusolverDnDgesvdj(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, da, m, s, u, m, v, n, work, lwork, info, params));
  print_info("gesvdj", dev_info(info), 0);
  int sweeps = -1;
  double residual = -1;
  SOLVER("XgesvdjGetSweeps", cusolverDnXgesvdjGetSweeps(h, params, &sweeps));
  SOLVER("XgesvdjGetResidual", cusolverDnXgesvdjGetResidual(h, params, &residual));
  std::printf("  sweeps in 1..100: %d, residual finite: %d\n", sweeps >= 1 && sweeps <= 100, std::isfinite(residual) ? 1 : 0);
  const std::vector<double> hsj = to_host(s, n);
  verdict_line("Dgesvdj U S V^T = A", sum(hsj), 8,
               rel_diff(reconstruct(to_host(u, static_cast<size_t>(m) * n), hsj, transpose(to_host(v, static_cast<size_t>(n) * n), n, n), m, n, n), a), 1e-11);
  verdict_line("Dgesvdj singular values = Dgesvd's", sum(hsj), 8, rel_diff(hsj, hs), 1e-12);
  CHECK(cudaFree(work));

  // gesvdjBatched: 8 matrices of 16x16
  const int bm = 16, batch = 8;
  const std::vector<double> ab = general(bm, bm * batch, 52, 0);
  double* dab = to_device(ab);
  double* sb = device_zeros<double>(static_cast<size_t>(bm) * batch);
  double* ub = device_zeros<double>(static_cast<size_t>(bm) * bm * batch);
  double* vb = device_zeros<double>(static_cast<size_t>(bm) * bm * batch);
  int* infob = device_zeros<int>(batch);
  lwork = 0;
  SOLVER("DgesvdjBatched_bufferSize", cusolverDnDgesvdjBatched_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, bm, bm, dab, bm, sb, ub, bm, vb, bm, &lwork, params, batch));
  work = device_zeros<double>(lwork);
  SOLVER("DgesvdjBatched(8 x 16x16)", cusolverDnDgesvdjBatched(h, CUSOLVER_EIG_MODE_VECTOR, bm, bm, dab, bm, sb, ub, bm, vb, bm, work, lwork, infob, params, batch));
  const std::vector<int> infos = to_host(infob, batch);
  int bad = 0;
  for (int x : infos) bad += x != 0;
  std::printf("  gesvdjBatched nonzero infos: %d\n", bad);
  if (bad) g_ok = false;
  const std::vector<double> hsb = to_host(sb, static_cast<size_t>(bm) * batch);
  const std::vector<double> hub = to_host(ub, static_cast<size_t>(bm) * bm * batch);
  const std::vector<double> hvb = to_host(vb, static_cast<size_t>(bm) * bm * batch);
  double err = 0;
  for (int k = 0; k < batch; ++k) {
    const size_t off = static_cast<size_t>(k) * bm * bm;
    std::vector<double> ak(ab.begin() + off, ab.begin() + off + bm * bm);
    std::vector<double> uk(hub.begin() + off, hub.begin() + off + bm * bm);
    std::vector<double> vk(hvb.begin() + off, hvb.begin() + off + bm * bm);
    std::vector<double> sk(hsb.begin() + static_cast<size_t>(k) * bm, hsb.begin() + static_cast<size_t>(k + 1) * bm);
    err = std::max(err, rel_diff(reconstruct(uk, sk, transpose(vk, bm, bm), bm, bm, bm), ak));
  }
  verdict_line("DgesvdjBatched U S V^T = A", sum(hsb), 8, err, 1e-11);
  SOLVER("DestroyGesvdjInfo", cusolverDnDestroyGesvdjInfo(params));
  for (void* p : {static_cast<void*>(da), static_cast<void*>(s), static_cast<void*>(u),
                  static_cast<void*>(vt), static_cast<void*>(rwork), static_cast<void*>(info),
                  static_cast<void*>(work), static_cast<void*>(v), static_cast<void*>(dab),
                  static_cast<void*>(sb), static_cast<void*>(ub), static_cast<void*>(vb),
                  static_cast<void*>(infob)})
    CHECK(cudaFree(p));
}

// A V = V diag(W) for eigenvectors V (columns) of the symmetric A (n x n).
double eig_residual(const std::vector<double>& a, const std::vector<double>& v,
                    const std::vector<double>& w, int n) {
  std::vector<double> av = matmul(a, v, n, n, n);
  std::vector<double> vw = v;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) vw[i + static_cast<size_t>(j) * n] *= w[j];
  return rel_diff(av, vw) / std::max(1.0, max_abs(w));
}

// syevd of a 512x512 symmetric matrix; syevjBatched (with a syevjInfo_t) of 8 matrices 32x32.
void eigen(cusolverDnHandle_t h) {
  const std::vector<double> a = spd(kN, 61);
  double* da = to_device(a);
  double* w = device_zeros<double>(kN);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER("Dsyevd_bufferSize", cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, kN, da, kN, w, &lwork));
  double* work = device_zeros<double>(lwork);
  SOLVER("Dsyevd", cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, kN, da, kN, w, work, lwork, info));
  print_info("syevd", dev_info(info), 0);
  const std::vector<double> hw = to_host(w, kN);
  double trace = 0;
  for (int i = 0; i < kN; ++i) trace += a[i + static_cast<size_t>(i) * kN];
  verdict_line("Dsyevd A V = V W", sum(hw), 8, eig_residual(a, to_host(da, a.size()), hw, kN), 1e-12);
  verdict_line("Dsyevd sum W = trace A", trace, 8, std::fabs(sum(hw) - trace) / trace, 1e-12);

  const int n = 32, batch = 8;
  std::vector<double> ab;
  for (int k = 0; k < batch; ++k) {
    std::vector<double> ak = spd(n, 70 + k);
    ab.insert(ab.end(), ak.begin(), ak.end());
  }
  double* dab = to_device(ab);
  double* wb = device_zeros<double>(static_cast<size_t>(n) * batch);
  int* infob = device_zeros<int>(batch);
  syevjInfo_t params = nullptr;
  SOLVER("CreateSyevjInfo", cusolverDnCreateSyevjInfo(&params));
  SOLVER("XsyevjSetTolerance", cusolverDnXsyevjSetTolerance(params, 1e-12));
  SOLVER("XsyevjSetMaxSweeps", cusolverDnXsyevjSetMaxSweeps(params, 100));
  SOLVER("XsyevjSetSortEig", cusolverDnXsyevjSetSortEig(params, 1));
  int lw = 0;
  SOLVER("DsyevjBatched_bufferSize", cusolverDnDsyevjBatched_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, dab, n, wb, &lw, params, batch));
  double* workb = device_zeros<double>(lw);
  SOLVER("DsyevjBatched(8 x 32x32)", cusolverDnDsyevjBatched(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, dab, n, wb, workb, lw, infob, params, batch));
  const std::vector<int> infos = to_host(infob, batch);
  int bad = 0;
  for (int x : infos) bad += x != 0;
  std::printf("  syevjBatched nonzero infos: %d\n", bad);
  if (bad) g_ok = false;
  const std::vector<double> hwb = to_host(wb, static_cast<size_t>(n) * batch);
  const std::vector<double> hvb = to_host(dab, ab.size());
  double err = 0;
  for (int k = 0; k < batch; ++k) {
    const size_t off = static_cast<size_t>(k) * n * n;
    std::vector<double> ak(ab.begin() + off, ab.begin() + off + n * n);
    std::vector<double> vk(hvb.begin() + off, hvb.begin() + off + n * n);
    std::vector<double> wk(hwb.begin() + static_cast<size_t>(k) * n, hwb.begin() + static_cast<size_t>(k + 1) * n);
    err = std::max(err, eig_residual(ak, vk, wk, n));
  }
  verdict_line("DsyevjBatched A V = V W", sum(hwb), 8, err, 1e-11);
  SOLVER("DestroySyevjInfo", cusolverDnDestroySyevjInfo(params));
  for (void* p : {static_cast<void*>(da), static_cast<void*>(w), static_cast<void*>(info),
                  static_cast<void*>(work), static_cast<void*>(dab), static_cast<void*>(wb),
                  static_cast<void*>(infob), static_cast<void*>(workb)})
    CHECK(cudaFree(p));
}

// potrfBatched + potrsBatched: 6 SPD systems of 64x64 through arrays of device pointers.
void batched_cholesky(cusolverDnHandle_t h) {
  const int n = 64, batch = 6;
  std::vector<std::vector<double>> as, bs;
  std::vector<double*> da(batch), db(batch);
  for (int k = 0; k < batch; ++k) {
    as.push_back(spd(n, 80 + k));
    bs.push_back(general(n, 1, 90 + k, 0));
    da[k] = to_device(as[k]);
    db[k] = to_device(bs[k]);
  }
  double** dda = to_device(da);
  double** ddb = to_device(db);
  int* infos = device_zeros<int>(batch);
  int* info = device_zeros<int>(1);
  SOLVER("DpotrfBatched(6 x 64x64)", cusolverDnDpotrfBatched(h, CUBLAS_FILL_MODE_LOWER, n, dda, n, infos, batch));
  const std::vector<int> hinfos = to_host(infos, batch);
  int bad = 0;
  for (int x : hinfos) bad += x != 0;
  std::printf("  potrfBatched nonzero infos: %d\n", bad);
  if (bad) g_ok = false;
  SOLVER("DpotrsBatched(nrhs 1)", cusolverDnDpotrsBatched(h, CUBLAS_FILL_MODE_LOWER, n, 1, dda, n, ddb, n, info, batch));
  print_info("potrsBatched", dev_info(info), 0);
  double err = 0, checksum = 0;
  for (int k = 0; k < batch; ++k) {
    const std::vector<double> x = to_host(db[k], n);
    err = std::max(err, rel_diff(matmul(as[k], x, n, n, 1), bs[k]));
    checksum += sum(x);
    CHECK(cudaFree(da[k]));
    CHECK(cudaFree(db[k]));
  }
  verdict_line("DpotrfBatched+DpotrsBatched", checksum, 8, err, 1e-12);
  CHECK(cudaFree(dda));
  CHECK(cudaFree(ddb));
  CHECK(cudaFree(infos));
  CHECK(cudaFree(info));
}

// The 64-bit API with a params object: host workspaces are allocated at the size asked for and
// given to cuSOLVER (they travel both ways through GVirtuS).
struct Workspaces {
  void* device = nullptr;
  std::vector<char> host;
  size_t device_bytes = 0;
  void reserve(size_t dev, size_t host_bytes) {
    if (device) CHECK(cudaFree(device));
    device_bytes = dev;
    CHECK(cudaMalloc(&device, std::max<size_t>(1, dev)));
    host.assign(std::max<size_t>(1, host_bytes), 0);
  }
  ~Workspaces() {
    if (device) cudaFree(device);
  }
};

void x_api(cusolverDnHandle_t h) {
  cusolverDnParams_t params = nullptr;
  SOLVER("CreateParams", cusolverDnCreateParams(&params));
  SOLVER("SetAdvOptions(GETRF, ALG_0)", cusolverDnSetAdvOptions(params, CUSOLVERDN_GETRF, CUSOLVER_ALG_0));
  int* info = device_zeros<int>(1);
  Workspaces ws;
  size_t dev = 0, host = 0;

  // Xpotrf + Xpotrs
  {
    const std::vector<double> a = spd(kN, 101);
    const std::vector<double> b = general(kN, kRhs, 102, 0);
    double* da = to_device(a);
    double* db = to_device(b);
    SOLVER("Xpotrf_bufferSize", cusolverDnXpotrf_bufferSize(h, params, CUBLAS_FILL_MODE_LOWER, kN, CUDA_R_64F, da, kN, CUDA_R_64F, &dev, &host));
    ws.reserve(dev, host);
    SOLVER("Xpotrf", cusolverDnXpotrf(h, params, CUBLAS_FILL_MODE_LOWER, kN, CUDA_R_64F, da, kN, CUDA_R_64F, ws.device, dev, ws.host.data(), host, info));
    print_info("Xpotrf", dev_info(info), 0);
    SOLVER("Xpotrs", cusolverDnXpotrs(h, params, CUBLAS_FILL_MODE_LOWER, kN, kRhs, CUDA_R_64F, da, kN, CUDA_R_64F, db, kN, info));
    print_info("Xpotrs", dev_info(info), 0);
    const std::vector<double> x = to_host(db, b.size());
    verdict_line("Xpotrf+Xpotrs 512x512", sum(x), 8, rel_diff(matmul(a, x, kN, kN, kRhs), b) / max_abs(a), 1e-12);
    CHECK(cudaFree(da));
    CHECK(cudaFree(db));
  }
  // Xgetrf + Xgetrs (64-bit pivots)
  {
    const std::vector<double> a = general(kN, kN, 111, 32.0);
    const std::vector<double> b = general(kN, kRhs, 112, 0);
    double* da = to_device(a);
    double* db = to_device(b);
    int64_t* ipiv = device_zeros<int64_t>(kN);
    SOLVER("Xgetrf_bufferSize", cusolverDnXgetrf_bufferSize(h, params, kN, kN, CUDA_R_64F, da, kN, CUDA_R_64F, &dev, &host));
    ws.reserve(dev, host);
    SOLVER("Xgetrf", cusolverDnXgetrf(h, params, kN, kN, CUDA_R_64F, da, kN, ipiv, CUDA_R_64F, ws.device, dev, ws.host.data(), host, info));
    print_info("Xgetrf", dev_info(info), 0);
    SOLVER("Xgetrs", cusolverDnXgetrs(h, params, CUBLAS_OP_N, kN, kRhs, CUDA_R_64F, da, kN, ipiv, CUDA_R_64F, db, kN, info));
    print_info("Xgetrs", dev_info(info), 0);
    const std::vector<double> x = to_host(db, b.size());
    verdict_line("Xgetrf+Xgetrs 512x512", sum(x), 8, rel_diff(matmul(a, x, kN, kN, kRhs), b) / max_abs(a), 1e-11);
    CHECK(cudaFree(da));
    CHECK(cudaFree(db));
    CHECK(cudaFree(ipiv));
  }
  // Xsyevd
  {
    const int n = 256;
    const std::vector<double> a = spd(n, 121);
    double* da = to_device(a);
    double* w = device_zeros<double>(n);
    SOLVER("Xsyevd_bufferSize", cusolverDnXsyevd_bufferSize(h, params, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, CUDA_R_64F, da, n, CUDA_R_64F, w, CUDA_R_64F, &dev, &host));
    ws.reserve(dev, host);
    SOLVER("Xsyevd", cusolverDnXsyevd(h, params, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, CUDA_R_64F, da, n, CUDA_R_64F, w, CUDA_R_64F, ws.device, dev, ws.host.data(), host, info));
    print_info("Xsyevd", dev_info(info), 0);
    const std::vector<double> hw = to_host(w, n);
    verdict_line("Xsyevd A V = V W", sum(hw), 8, eig_residual(a, to_host(da, a.size()), hw, n), 1e-12);
    CHECK(cudaFree(da));
    CHECK(cudaFree(w));
  }
  // Xgesvd
  {
    const int m = 192, n = 96;
    const std::vector<double> a = general(m, n, 131, 0);
    double* da = to_device(a);
    double* s = device_zeros<double>(n);
    double* u = device_zeros<double>(static_cast<size_t>(m) * n);
    double* vt = device_zeros<double>(static_cast<size_t>(n) * n);
    SOLVER("Xgesvd_bufferSize", cusolverDnXgesvd_bufferSize(h, params, 'S', 'S', m, n, CUDA_R_64F, da, m, CUDA_R_64F, s, CUDA_R_64F, u, m, CUDA_R_64F, vt, n, CUDA_R_64F, &dev, &host));
    ws.reserve(dev, host);
    SOLVER("Xgesvd", cusolverDnXgesvd(h, params, 'S', 'S', m, n, CUDA_R_64F, da, m, CUDA_R_64F, s, CUDA_R_64F, u, m, CUDA_R_64F, vt, n, CUDA_R_64F, ws.device, dev, ws.host.data(), host, info));
    print_info("Xgesvd", dev_info(info), 0);
    const std::vector<double> hs = to_host(s, n);
    verdict_line("Xgesvd U S VT = A", sum(hs), 8,
                 rel_diff(reconstruct(to_host(u, static_cast<size_t>(m) * n), hs, to_host(vt, static_cast<size_t>(n) * n), m, n, n), a), 1e-12);
    for (void* p : {static_cast<void*>(da), static_cast<void*>(s), static_cast<void*>(u), static_cast<void*>(vt)})
      CHECK(cudaFree(p));
  }
  // XsyevBatched: 4 matrices of 48x48
  {
    const int n = 48, batch = 4;
    std::vector<double> ab;
    for (int k = 0; k < batch; ++k) {
      std::vector<double> ak = spd(n, 140 + k);
      ab.insert(ab.end(), ak.begin(), ak.end());
    }
    double* dab = to_device(ab);
    double* wb = device_zeros<double>(static_cast<size_t>(n) * batch);
    int* infob = device_zeros<int>(batch);
    SOLVER("XsyevBatched_bufferSize", cusolverDnXsyevBatched_bufferSize(h, params, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, CUDA_R_64F, dab, n, CUDA_R_64F, wb, CUDA_R_64F, &dev, &host, batch));
    ws.reserve(dev, host);
    SOLVER("XsyevBatched(4 x 48x48)", cusolverDnXsyevBatched(h, params, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, CUDA_R_64F, dab, n, CUDA_R_64F, wb, CUDA_R_64F, ws.device, dev, ws.host.data(), host, infob, batch));
    const std::vector<int> infos = to_host(infob, batch);
    int bad = 0;
    for (int x : infos) bad += x != 0;
    std::printf("  XsyevBatched nonzero infos: %d\n", bad);
    if (bad) g_ok = false;
    const std::vector<double> hwb = to_host(wb, static_cast<size_t>(n) * batch);
    const std::vector<double> hvb = to_host(dab, ab.size());
    double err = 0;
    for (int k = 0; k < batch; ++k) {
      const size_t off = static_cast<size_t>(k) * n * n;
      std::vector<double> ak(ab.begin() + off, ab.begin() + off + n * n);
      std::vector<double> vk(hvb.begin() + off, hvb.begin() + off + n * n);
      std::vector<double> wk(hwb.begin() + static_cast<size_t>(k) * n, hwb.begin() + static_cast<size_t>(k + 1) * n);
      err = std::max(err, eig_residual(ak, vk, wk, n));
    }
    verdict_line("XsyevBatched A V = V W", sum(hwb), 8, err, 1e-11);
    CHECK(cudaFree(dab));
    CHECK(cudaFree(wb));
    CHECK(cudaFree(infob));
  }
  SOLVER("DestroyParams", cusolverDnDestroyParams(params));
  CHECK(cudaFree(info));
}

// devInfo of a matrix that is not positive definite (a negative pivot at row 5: devInfo 6), and
// an argument cuSOLVER refuses (n = -1).
void failures(cusolverDnHandle_t h) {
  const int n = 16;
  std::vector<double> a = spd(n, 151);
  a[5 + 5 * n] = -1000;
  double* da = to_device(a);
  int* info = device_zeros<int>(1);
  int lwork = 0;
  SOLVER("Dpotrf_bufferSize", cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, n, &lwork));
  double* work = device_zeros<double>(lwork);
  SOLVER("Dpotrf(not positive definite)", cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, da, n, work, lwork, info));
  print_info("potrf of an indefinite matrix", dev_info(info), 6);
  const cusolverStatus_t s = cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, -1, da, n, work, lwork, info);
  std::printf("Dpotrf(n = -1): %d\n", static_cast<int>(s));
  if (s != CUSOLVER_STATUS_INVALID_VALUE) g_ok = false;
  CHECK(cudaFree(da));
  CHECK(cudaFree(work));
  CHECK(cudaFree(info));
}

// The 1D Laplacian (tridiagonal 2, -1) of size n in CSR, and b = A * (1, 2, ..., n) / n.
struct Csr {
  int n = 0, nnz = 0;
  std::vector<double> val;
  std::vector<int> row, col;
};
Csr laplacian(int n) {
  Csr c;
  c.n = n;
  c.row.push_back(0);
  for (int i = 0; i < n; ++i) {
    for (int j = std::max(0, i - 1); j <= std::min(n - 1, i + 1); ++j) {
      c.col.push_back(j);
      c.val.push_back(i == j ? 2.0 : -1.0);
    }
    c.row.push_back(static_cast<int>(c.col.size()));
  }
  c.nnz = static_cast<int>(c.val.size());
  return c;
}
std::vector<double> csr_mul(const Csr& c, const std::vector<double>& x) {
  std::vector<double> y(c.n, 0.0);
  for (int i = 0; i < c.n; ++i)
    for (int k = c.row[i]; k < c.row[i + 1]; ++k) y[i] += c.val[k] * x[c.col[k]];
  return y;
}

void sparse(cusolverSpHandle_t sp) {
  const Csr c = laplacian(1000);
  std::vector<double> truth(c.n);
  for (int i = 0; i < c.n; ++i) truth[i] = (i + 1.0) / c.n;
  const std::vector<double> b = csr_mul(c, truth);
  cusparseMatDescr_t descr = nullptr;
  if (cusparseCreateMatDescr(&descr) != CUSPARSE_STATUS_SUCCESS) {
    std::printf("FAILED: cusparseCreateMatDescr\n");
    std::exit(1);
  }
  cusparseSetMatType(descr, CUSPARSE_MATRIX_TYPE_GENERAL);
  cusparseSetMatIndexBase(descr, CUSPARSE_INDEX_BASE_ZERO);

  std::vector<double> x(c.n, 0.0);
  int singularity = -2;
  SOLVER("SpDcsrlsvqrHost(1000, Laplacian)", cusolverSpDcsrlsvqrHost(sp, c.n, c.nnz, descr, c.val.data(), c.row.data(), c.col.data(), b.data(), 1e-12, 0, x.data(), &singularity));
  std::printf("  singularity %d\n", singularity);
  if (singularity != -1) g_ok = false;
  verdict_line("SpDcsrlsvqrHost", sum(x), 8, rel_diff(x, truth), 1e-8);

  double* dval = to_device(c.val);
  int* drow = to_device(c.row);
  int* dcol = to_device(c.col);
  double* db = to_device(b);
  double* dx = device_zeros<double>(c.n);
  singularity = -2;
  SOLVER("SpDcsrlsvqr(1000, Laplacian)", cusolverSpDcsrlsvqr(sp, c.n, c.nnz, descr, dval, drow, dcol, db, 1e-12, 0, dx, &singularity));
  std::printf("  singularity %d\n", singularity);
  if (singularity != -1) g_ok = false;
  std::vector<double> hx = to_host(dx, c.n);
  verdict_line("SpDcsrlsvqr", sum(hx), 8, rel_diff(hx, truth), 1e-8);
  CHECK(cudaMemsetAsync(dx, 0, sizeof(double) * c.n, g_stream));
  singularity = -2;
  SOLVER("SpDcsrlsvchol(1000, Laplacian)", cusolverSpDcsrlsvchol(sp, c.n, c.nnz, descr, dval, drow, dcol, db, 1e-12, 0, dx, &singularity));
  std::printf("  singularity %d\n", singularity);
  if (singularity != -1) g_ok = false;
  hx = to_host(dx, c.n);
  verdict_line("SpDcsrlsvchol", sum(hx), 8, rel_diff(hx, truth), 1e-8);
  cusparseDestroyMatDescr(descr);
  for (void* p : {static_cast<void*>(dval), static_cast<void*>(drow), static_cast<void*>(dcol),
                  static_cast<void*>(db), static_cast<void*>(dx)})
    CHECK(cudaFree(p));
}

}  // namespace

int main() {
  int version = 0;
  SOLVER("GetVersion", cusolverGetVersion(&version));
  std::printf("  version %d\n", version);
  CHECK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
  cusolverDnHandle_t h = nullptr;
  SOLVER("DnCreate", cusolverDnCreate(&h));
  SOLVER("DnSetStream", cusolverDnSetStream(h, g_stream));
  cudaStream_t got = nullptr;
  SOLVER("DnGetStream", cusolverDnGetStream(h, &got));
  std::printf("  the stream set: %d\n", got == g_stream);
  if (got != g_stream) g_ok = false;
  cholesky<float>(h);
  cholesky<double>(h);
  lu<float>(h);
  lu<double>(h);
  inverse(h);
  qr(h);
  svd(h);
  eigen(h);
  batched_cholesky(h);
  x_api(h);
  failures(h);
  SOLVER("DnDestroy", cusolverDnDestroy(h));

  cusolverSpHandle_t sp = nullptr;
  SOLVER("SpCreate", cusolverSpCreate(&sp));
  SOLVER("SpSetStream", cusolverSpSetStream(sp, g_stream));
  sparse(sp);
  SOLVER("SpDestroy", cusolverSpDestroy(sp));
  CHECK(cudaStreamDestroy(g_stream));
  return verdict(g_ok);
}
