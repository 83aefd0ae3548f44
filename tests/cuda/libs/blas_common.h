// Helpers for the math-library test programs: deterministic inputs, a CPU reference gemm, and
// the checks that print a result (sum, first and last elements, FNV-1a hash of its bytes) with
// PASS or FAIL. g_ok is false once any check failed.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cublas_api.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

using cd = std::complex<double>;

inline bool g_ok = true;

// Deterministic inputs: a 64-bit LCG, values in [-1, 1).
struct Lcg {
  uint64_t s;
  explicit Lcg(uint64_t seed) : s(seed) {}
  double next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  }
};

inline std::string fmt(cd v, bool cplx, int prec) {
  char buf[128];
  if (cplx)
    std::snprintf(buf, sizeof buf, "(%.*e,%.*e)", prec, v.real(), prec, v.imag());
  else
    std::snprintf(buf, sizeof buf, "%.*e", prec, v.real());
  return buf;
}

// Compares got with ref: max |got - ref| / max(1, max |ref|) <= tol; prints the sum of the
// output, its first and last elements, the hash of its bytes and PASS or FAIL.
inline void verify(const std::string& what, const void* raw, size_t bytes, const std::vector<cd>& got,
            const std::vector<cd>& ref, double tol, bool cplx, int prec) {
  double diff = 0, mag = 1;
  bool nan = got.size() != ref.size();
  cd sum = 0;
  for (size_t i = 0; i < got.size() && i < ref.size(); ++i) {
    sum += got[i];
    double d = std::abs(got[i] - ref[i]);
    if (std::isnan(d)) nan = true;
    diff = std::max(diff, d);
    mag = std::max(mag, std::abs(ref[i]));
  }
  double err = diff / mag;
  bool pass = !nan && err <= tol;
  std::printf("%s: sum %s first %s last %s fnv %016llx %s\n", what.c_str(),
              fmt(sum, cplx, prec).c_str(), fmt(got.empty() ? cd(0) : got.front(), cplx, prec).c_str(),
              fmt(got.empty() ? cd(0) : got.back(), cplx, prec).c_str(),
              static_cast<unsigned long long>(fnv(raw, bytes)), pass ? "PASS" : "FAIL");
  if (!pass) std::printf("  %s: relative error %.3e, tolerance %.1e\n", what.c_str(), err, tol);
  g_ok = g_ok && pass;
}

inline void verify_scalar(const std::string& what, cd got, cd ref, double tol, bool cplx, int prec) {
  double err = std::abs(got - ref) / std::max(1.0, std::abs(ref));
  bool pass = !std::isnan(err) && err <= tol;
  std::printf("%s: %s %s\n", what.c_str(), fmt(got, cplx, prec).c_str(), pass ? "PASS" : "FAIL");
  if (!pass)
    std::printf("  %s: expected %s, relative error %.3e\n", what.c_str(),
                fmt(ref, cplx, prec).c_str(), err);
  g_ok = g_ok && pass;
}

inline void verify_bool(const std::string& what, bool pass) {
  std::printf("%s: %s\n", what.c_str(), pass ? "PASS" : "FAIL");
  g_ok = g_ok && pass;
}

// op(A)(i, j) of a column-major matrix with leading dimension ld.
inline cd opget(const std::vector<cd>& a, int ld, cublasOperation_t op, int i, int j) {
  if (op == CUBLAS_OP_N) return a[i + static_cast<size_t>(j) * ld];
  cd v = a[j + static_cast<size_t>(i) * ld];
  return op == CUBLAS_OP_C ? std::conj(v) : v;
}

// C = alpha op(A) op(B) + beta C on m x n (the rest of C, its padding, is left alone).
inline void ref_gemm(int m, int n, int k, cd alpha, const std::vector<cd>& a, int lda, cublasOperation_t ta,
              const std::vector<cd>& b, int ldb, cublasOperation_t tb, cd beta, std::vector<cd>& c,
              int ldc, size_t a_off = 0, size_t b_off = 0, size_t c_off = 0) {
  std::vector<cd> as(a.begin() + a_off, a.end()), bs(b.begin() + b_off, b.end());
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      cd s = 0;
      for (int l = 0; l < k; ++l) s += opget(as, lda, ta, i, l) * opget(bs, ldb, tb, l, j);
      cd& out = c[c_off + i + static_cast<size_t>(j) * ldc];
      out = alpha * s + beta * out;
    }
}

// Host values of one storage type, their exact values as cd, and a device copy.
template <class E> struct Mat {
  std::vector<E> h;
  std::vector<cd> w;
  E* d = nullptr;
  Mat(Lcg& rng, size_t n) : h(n), w(n) {
    for (size_t i = 0; i < n; ++i) {
      h[i] = E(static_cast<float>(rng.next()));
      w[i] = static_cast<double>(static_cast<float>(h[i]));
    }
    CHECK(cudaMalloc(&d, n * sizeof(E)));
    CHECK(cudaMemcpy(d, h.data(), n * sizeof(E), cudaMemcpyHostToDevice));
  }
  ~Mat() { CHECK(cudaFree(d)); }
  Mat(const Mat&) = delete;
  Mat& operator=(const Mat&) = delete;
  void verify_out(const std::string& what, const std::vector<cd>& ref, double tol) const {
    std::vector<E> out(h.size());
    CHECK(cudaMemcpy(out.data(), d, out.size() * sizeof(E), cudaMemcpyDeviceToHost));
    std::vector<cd> got(out.size());
    for (size_t i = 0; i < out.size(); ++i) got[i] = static_cast<double>(static_cast<float>(out[i]));
    verify(what, out.data(), out.size() * sizeof(E), got, ref, tol, false, 6);
  }
};
