// gvirtus-bench-math: one call of each math library that is not cuBLAS or cuDNN, printed as
//   <metric> <value> <unit>
// like gvirtus-bench; bench/run.sh runs it natively and through `gvirtus run` and prints the
// ratio. Each figure is the time of one call, repeated asynchronously for the time budget, and
// counts only if the last result is right (checked against the host):
//   cufft_c2c_1024x1024_us      a 1024x1024 single-precision complex FFT (out of place)
//   curand_uniform_64Mi_us      64 Mi uniform floats from a Philox generator
//   cusparse_spmv_us            one CSR SpMV, 262144 rows, 16 non-zeros a row, fp32
//   cusolver_potrf_potrs_512_us a 512x512 Cholesky factorisation and a solve, fp64 (with the
//                               copy of the matrix that each factorisation overwrites)
// Built with -cudart shared and linked with the shared libraries, so that `gvirtus run` can give
// it the GVirtuS libraries in their place.
//   gvirtus-bench-math [SECONDS_PER_METRIC]
#include <cuComplex.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <curand.h>
#include <cusolverDn.h>
#include <cusparse.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_common.h"

namespace {

using bench::Clock;
using bench::check;
using bench::pattern;
using bench::report;
using bench::seconds_since;

[[noreturn]] void fail(const char* what, int status) {
  std::fprintf(stderr, "bench-math: %s failed: status %d\n", what, status);
  std::exit(1);
}
void check(cufftResult s, const char* what) {
  if (s != CUFFT_SUCCESS) fail(what, s);
}
void check(curandStatus_t s, const char* what) {
  if (s != CURAND_STATUS_SUCCESS) fail(what, s);
}
void check(cusparseStatus_t s, const char* what) {
  if (s != CUSPARSE_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench-math: %s failed: %s\n", what, cusparseGetErrorString(s));
    std::exit(1);
  }
}
void check(cusolverStatus_t s, const char* what) {
  if (s != CUSOLVER_STATUS_SUCCESS) fail(what, s);
}
[[noreturn]] void wrong(const char* what, double have, double want) {
  std::fprintf(stderr, "bench-math: %s: %.9g, want %.9g\n", what, have, want);
  std::exit(1);
}

// Repeats f() (asynchronous work) for `budget` seconds and at least `min_reps` times, then
// synchronises; returns seconds per call. One synchronised call first, as warm-up.
template <typename F>
double per_call(F f, double budget, int min_reps) {
  f();
  check(cudaDeviceSynchronize(), "warm-up");
  int reps = 0;
  auto t0 = Clock::now();
  do {
    f();
    ++reps;
  } while (reps < min_reps || seconds_since(t0) < budget);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return seconds_since(t0) / reps;
}

template <typename T>
T* device_copy(const std::vector<T>& host) {
  T* p;
  check(cudaMalloc(&p, host.size() * sizeof(T)), "cudaMalloc");
  check(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "h2d");
  return p;
}

template <typename T>
std::vector<T> host_copy(const T* p, size_t n) {
  std::vector<T> host(n);
  check(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), "d2h");
  return host;
}

void fft(double budget) {
  const int n = 1024;
  std::vector<cufftComplex> in(size_t(n) * n);
  for (size_t i = 0; i < in.size(); ++i) in[i] = make_cuComplex(pattern(i, 1), pattern(i, 2));
  cufftComplex* d_in = device_copy(in);
  cufftComplex* d_out;
  check(cudaMalloc(&d_out, in.size() * sizeof(cufftComplex)), "cudaMalloc");
  cufftHandle plan;
  check(cufftPlan2d(&plan, n, n, CUFFT_C2C), "cufftPlan2d");
  auto run = [&] { check(cufftExecC2C(plan, d_in, d_out, CUFFT_FORWARD), "cufftExecC2C"); };
  report("cufft_c2c_1024x1024_us", 1e6 * per_call(run, budget, 20), "us");
  // Output (0, 1) of a 2-D forward FFT: sum over rows r and columns c of x * e^(-2 pi i c / n).
  double re = 0, im = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      const cufftComplex x = in[size_t(r) * n + c];
      const double a = -2 * M_PI * c / n;
      re += x.x * std::cos(a) - x.y * std::sin(a);
      im += x.x * std::sin(a) + x.y * std::cos(a);
    }
  const cufftComplex have = host_copy(d_out + 1, 1)[0];
  if (std::fabs(have.x - re) > 1e-2 || std::fabs(have.y - im) > 1e-2)
    wrong("FFT output (0,1) real part", have.x, re);
  check(cufftDestroy(plan), "cufftDestroy");
  check(cudaFree(d_in), "cudaFree");
  check(cudaFree(d_out), "cudaFree");
}

void uniform(double budget) {
  const size_t n = size_t(64) << 20;
  float* d;
  check(cudaMalloc(&d, n * sizeof(float)), "cudaMalloc");
  curandGenerator_t gen;
  check(curandCreateGenerator(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10), "curandCreateGenerator");
  check(curandSetPseudoRandomGeneratorSeed(gen, 1234), "curandSetPseudoRandomGeneratorSeed");
  auto run = [&] { check(curandGenerateUniform(gen, d, n), "curandGenerateUniform"); };
  report("curand_uniform_64Mi_us", 1e6 * per_call(run, budget, 10), "us");
  // The mean of the first million values is 1/2 within a few standard errors (0.29 / 1000).
  const std::vector<float> h = host_copy(d, size_t(1) << 20);
  double sum = 0;
  for (float v : h) {
    if (!(v > 0.0f && v <= 1.0f)) wrong("uniform value out of (0, 1]", v, 0.5);
    sum += v;
  }
  if (std::fabs(sum / h.size() - 0.5) > 0.002) wrong("uniform mean", sum / h.size(), 0.5);
  check(curandDestroyGenerator(gen), "curandDestroyGenerator");
  check(cudaFree(d), "cudaFree");
}

void spmv(double budget) {
  const int rows = 262144, per_row = 16;
  const int nnz = rows * per_row;
  std::vector<int> offsets(rows + 1), columns(nnz);
  std::vector<float> values(nnz), x(rows);
  for (int r = 0; r <= rows; ++r) offsets[r] = r * per_row;
  for (int i = 0; i < nnz; ++i) {
    const int r = i / per_row, k = i % per_row;
    columns[i] = (r + k * 4099) % rows;  // distinct and ascending within a row for k < 64
    values[i] = pattern(i, 3);
  }
  for (int r = 0; r < rows; ++r) {  // keep each row's columns sorted, as CSR requires
    int* c = &columns[size_t(r) * per_row];
    std::sort(c, c + per_row);
  }
  for (int r = 0; r < rows; ++r) x[r] = pattern(r, 4);
  int* d_offsets = device_copy(offsets);
  int* d_columns = device_copy(columns);
  float* d_values = device_copy(values);
  float* d_x = device_copy(x);
  float* d_y;
  check(cudaMalloc(&d_y, rows * sizeof(float)), "cudaMalloc");
  cusparseHandle_t h;
  check(cusparseCreate(&h), "cusparseCreate");
  cusparseSpMatDescr_t a;
  cusparseDnVecDescr_t vx, vy;
  check(cusparseCreateCsr(&a, rows, rows, nnz, d_offsets, d_columns, d_values, CUSPARSE_INDEX_32I,
                          CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
        "cusparseCreateCsr");
  check(cusparseCreateDnVec(&vx, rows, d_x, CUDA_R_32F), "cusparseCreateDnVec");
  check(cusparseCreateDnVec(&vy, rows, d_y, CUDA_R_32F), "cusparseCreateDnVec");
  const float one = 1.0f, zero = 0.0f;
  size_t bytes = 0;
  check(cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, vx, &zero, vy,
                                CUDA_R_32F, CUSPARSE_SPMV_CSR_ALG1, &bytes),
        "cusparseSpMV_bufferSize");
  void* buffer = nullptr;
  if (bytes) check(cudaMalloc(&buffer, bytes), "cudaMalloc");
  auto run = [&] {
    check(cusparseSpMV(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, vx, &zero, vy, CUDA_R_32F,
                       CUSPARSE_SPMV_CSR_ALG1, buffer),
          "cusparseSpMV");
  };
  report("cusparse_spmv_us", 1e6 * per_call(run, budget, 50), "us");
  const std::vector<float> y = host_copy(d_y, rows);
  for (int r : {0, 1, rows / 2, rows - 1}) {
    double want = 0;
    for (int i = offsets[r]; i < offsets[r + 1]; ++i) want += double(values[i]) * x[columns[i]];
    if (std::fabs(y[r] - want) > 1e-4) wrong("SpMV row", y[r], want);
  }
  check(cusparseDestroySpMat(a), "cusparseDestroySpMat");
  check(cusparseDestroyDnVec(vx), "cusparseDestroyDnVec");
  check(cusparseDestroyDnVec(vy), "cusparseDestroyDnVec");
  check(cusparseDestroy(h), "cusparseDestroy");
  for (void* p : {static_cast<void*>(d_offsets), static_cast<void*>(d_columns),
                  static_cast<void*>(d_values), static_cast<void*>(d_x), static_cast<void*>(d_y),
                  buffer})
    if (p) check(cudaFree(p), "cudaFree");
}

void cholesky(double budget) {
  const int n = 512;
  // A = M M^T + n I: symmetric positive definite; b = A * ones, so the solution is all ones.
  std::vector<double> m(size_t(n) * n), a(size_t(n) * n), b(n, 0.0);
  for (size_t i = 0; i < m.size(); ++i) m[i] = pattern(i, 5);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      double s = i == j ? n : 0.0;
      for (int k = 0; k < n; ++k) s += m[size_t(k) * n + i] * m[size_t(k) * n + j];
      a[size_t(j) * n + i] = s;
    }
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) b[i] += a[size_t(j) * n + i];
  double* d_a0 = device_copy(a);
  double* d_b0 = device_copy(b);
  double *d_a, *d_b;
  int* d_info;
  check(cudaMalloc(&d_a, a.size() * sizeof(double)), "cudaMalloc");
  check(cudaMalloc(&d_b, b.size() * sizeof(double)), "cudaMalloc");
  check(cudaMalloc(&d_info, sizeof(int)), "cudaMalloc");
  cusolverDnHandle_t h;
  check(cusolverDnCreate(&h), "cusolverDnCreate");
  int lwork = 0;
  check(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, d_a, n, &lwork),
        "cusolverDnDpotrf_bufferSize");
  double* work;
  check(cudaMalloc(&work, size_t(lwork) * sizeof(double)), "cudaMalloc");
  auto run = [&] {
    check(cudaMemcpyAsync(d_a, d_a0, a.size() * sizeof(double), cudaMemcpyDeviceToDevice),
          "copy A");
    check(cudaMemcpyAsync(d_b, d_b0, b.size() * sizeof(double), cudaMemcpyDeviceToDevice),
          "copy b");
    check(cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, d_a, n, work, lwork, d_info),
          "cusolverDnDpotrf");
    check(cusolverDnDpotrs(h, CUBLAS_FILL_MODE_LOWER, n, 1, d_a, n, d_b, n, d_info),
          "cusolverDnDpotrs");
  };
  report("cusolver_potrf_potrs_512_us", 1e6 * per_call(run, budget, 20), "us");
  const int info = host_copy(d_info, 1)[0];
  if (info != 0) wrong("potrf/potrs devInfo", info, 0);
  const std::vector<double> x = host_copy(d_b, n);
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i] - 1.0) > 1e-9) wrong("Cholesky solution element", x[i], 1.0);
  check(cusolverDnDestroy(h), "cusolverDnDestroy");
  for (void* p : {static_cast<void*>(d_a0), static_cast<void*>(d_b0), static_cast<void*>(d_a),
                  static_cast<void*>(d_b), static_cast<void*>(d_info), static_cast<void*>(work)})
    check(cudaFree(p), "cudaFree");
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 1.0;  // seconds per metric
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "context creation");
  fft(budget);
  uniform(budget);
  spmv(budget);
  cholesky(budget);
  return 0;
}
