// gvirtus-bench-libs: the math libraries' figures (cuBLAS and, where the build found it, cuDNN),
// printed one per line as
//   <metric> <value> <unit>
// like gvirtus-bench; bench/run.sh runs both natively and through `gvirtus run` and prints the
// ratio table. Built with -cudart shared and linked with the shared cuBLAS and cuDNN, so that
// `gvirtus run` can give it the GVirtuS libraries in their place.
//   gvirtus-bench-libs [SECONDS_PER_METRIC [turn]]
// `turn` measures sgemm_64_per_s and, with cuDNN, cudnn_conv_fwd_us only (bench/run.sh runs
// that natively and through each transport in turn, with the launch rates).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#ifdef GVIRTUS_BENCH_CUDNN
#include <cudnn.h>
#endif

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_common.h"

namespace {

using bench::Clock;
using bench::check;
using bench::pattern;
using bench::report;
using bench::seconds_since;

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench-libs: %s failed: %s (%s)\n", what, cublasGetStatusName(s),
                 cublasGetStatusString(s));
    std::exit(1);
  }
}

#ifdef GVIRTUS_BENCH_CUDNN
void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench-libs: %s failed: %s\n", what, cudnnGetErrorString(s));
    std::exit(1);
  }
}
#endif

__global__ void fill_f32(float* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    p[i] = pattern(i, seed);
}

__global__ void fill_bf16(__nv_bfloat16* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    p[i] = __float2bfloat16(pattern(i, seed));
}

// Repeats f() (asynchronous work) until `budget` seconds have gone, at least `min_reps` times,
// then synchronises; returns seconds per call. One call first, synchronised, as warm-up.
template <typename F>
double per_call_async(F f, double budget, int min_reps, int chunk) {
  f();
  check(cudaDeviceSynchronize(), "warm-up");
  int reps = 0;
  auto t0 = Clock::now();
  do {
    for (int i = 0; i < chunk; ++i) f();
    reps += chunk;
  } while (reps < min_reps || seconds_since(t0) < budget);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return seconds_since(t0) / reps;
}

void small_sgemm(cublasHandle_t h, double budget) {
  const int n = 64;
  std::vector<float> ha(n * n), hb(n * n), hc(n * n);
  for (int i = 0; i < n * n; ++i) {
    ha[i] = pattern(i, 1);
    hb[i] = pattern(i, 2);
  }
  float *a, *b, *c;
  check(cudaMalloc(&a, n * n * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&b, n * n * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&c, n * n * sizeof(float)), "cudaMalloc");
  check(cudaMemcpy(a, ha.data(), n * n * sizeof(float), cudaMemcpyHostToDevice), "h2d");
  check(cudaMemcpy(b, hb.data(), n * n * sizeof(float), cudaMemcpyHostToDevice), "h2d");
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&] {
    check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n),
          "cublasSgemm 64");
  };
  double s = per_call_async(gemm, budget, 1000, 500);
  // The figure counts only if the product is right: it is printed after the check.
  check(cudaMemcpy(hc.data(), c, n * n * sizeof(float), cudaMemcpyDeviceToHost), "d2h");
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      double want = 0;
      for (int k = 0; k < n; ++k) want += double(ha[k * n + i]) * hb[j * n + k];
      if (std::fabs(want - hc[j * n + i]) > 1e-3) {
        std::fprintf(stderr, "bench-libs: sgemm 64 wrong at (%d,%d): %g, want %g\n", i, j,
                     hc[j * n + i], want);
        std::exit(1);
      }
    }
  report("sgemm_64_per_s", 1.0 / s, "1/s");
  check(cudaFree(a), "cudaFree");
  check(cudaFree(b), "cudaFree");
  check(cudaFree(c), "cudaFree");
}

// C = A B for n x n matrices in `type` (computing in fp32): TFLOP/s over `reps` calls.
void large_gemm(cublasHandle_t h, const char* metric, int n, cudaDataType type, int reps) {
  const size_t count = size_t(n) * n;
  const size_t elem = type == CUDA_R_32F ? 4 : 2;
  void *a, *b, *c;
  check(cudaMalloc(&a, count * elem), "cudaMalloc");
  check(cudaMalloc(&b, count * elem), "cudaMalloc");
  check(cudaMalloc(&c, count * elem), "cudaMalloc");
  if (type == CUDA_R_32F) {
    fill_f32<<<1024, 256>>>(static_cast<float*>(a), count, 1);
    fill_f32<<<1024, 256>>>(static_cast<float*>(b), count, 2);
  } else {
    fill_bf16<<<1024, 256>>>(static_cast<__nv_bfloat16*>(a), count, 1);
    fill_bf16<<<1024, 256>>>(static_cast<__nv_bfloat16*>(b), count, 2);
  }
  check(cudaGetLastError(), "fill");
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&] {
    if (type == CUDA_R_32F)
      check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, static_cast<float*>(a), n,
                        static_cast<float*>(b), n, &zero, static_cast<float*>(c), n),
            metric);
    else
      check(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, type, n, b, type, n,
                         &zero, c, type, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            metric);
  };
  gemm();
  check(cudaDeviceSynchronize(), "warm-up gemm");
  auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) gemm();
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  double s = seconds_since(t0) / reps;
  report(metric, 2.0 * n * double(n) * n / s / 1e12, "TFLOP/s");
  check(cudaFree(a), "cudaFree");
  check(cudaFree(b), "cudaFree");
  check(cudaFree(c), "cudaFree");
}

#ifdef GVIRTUS_BENCH_CUDNN
// One 3x3 convolution, N=32 C=64 H=W=56 K=64, padding 1, fp32 NCHW, implicit precomputed GEMM.
void conv_forward(double budget, bool create_figure) {
  auto t0 = Clock::now();
  cudnnHandle_t h;
  check(cudnnCreate(&h), "cudnnCreate");
  if (create_figure) report("cudnn_create_ms", 1e3 * seconds_since(t0), "ms");
  const int N = 32, C = 64, H = 56, W = 56, K = 64, R = 3, S = 3;
  cudnnTensorDescriptor_t x_desc, y_desc;
  cudnnFilterDescriptor_t w_desc;
  cudnnConvolutionDescriptor_t conv;
  check(cudnnCreateTensorDescriptor(&x_desc), "cudnnCreateTensorDescriptor");
  check(cudnnCreateTensorDescriptor(&y_desc), "cudnnCreateTensorDescriptor");
  check(cudnnCreateFilterDescriptor(&w_desc), "cudnnCreateFilterDescriptor");
  check(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
  check(cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, C, H, W),
        "cudnnSetTensor4dDescriptor x");
  check(cudnnSetFilter4dDescriptor(w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, K, C, R, S),
        "cudnnSetFilter4dDescriptor");
  check(cudnnSetConvolution2dDescriptor(conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                        CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  int n, k, p, q;
  check(cudnnGetConvolution2dForwardOutputDim(conv, x_desc, w_desc, &n, &k, &p, &q),
        "cudnnGetConvolution2dForwardOutputDim");
  check(cudnnSetTensor4dDescriptor(y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, p, q),
        "cudnnSetTensor4dDescriptor y");
  const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  size_t ws_bytes = 0;
  check(cudnnGetConvolutionForwardWorkspaceSize(h, x_desc, w_desc, conv, y_desc, algo, &ws_bytes),
        "cudnnGetConvolutionForwardWorkspaceSize");
  const size_t xs = size_t(N) * C * H * W, ws = size_t(K) * C * R * S,
               ys = size_t(n) * k * p * q;
  float *x, *w, *y;
  void* workspace = nullptr;
  check(cudaMalloc(&x, xs * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&w, ws * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&y, ys * sizeof(float)), "cudaMalloc");
  if (ws_bytes) check(cudaMalloc(&workspace, ws_bytes), "cudaMalloc workspace");
  fill_f32<<<1024, 256>>>(x, xs, 3);
  fill_f32<<<1024, 256>>>(w, ws, 4);
  check(cudaGetLastError(), "fill");
  const float one = 1.0f, zero = 0.0f;
  auto fwd = [&] {
    check(cudnnConvolutionForward(h, &one, x_desc, x, w_desc, w, conv, algo, workspace, ws_bytes,
                                  &zero, y_desc, y),
          "cudnnConvolutionForward");
  };
  const double per_call = per_call_async(fwd, budget, 20, 10);
  // One output element checked against the host: the figure counts only if the work was done,
  // and is printed after the check.
  const int cn = 1, ck = 5, cp = 7, cq = 0;
  double want = 0;
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r)
      for (int s = 0; s < S; ++s) {
        int hh = cp + r - 1, ww = cq + s - 1;
        if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
        want += double(pattern(((size_t(cn) * C + c) * H + hh) * W + ww, 3)) *
                pattern(((size_t(ck) * C + c) * R + r) * S + s, 4);
      }
  float have = 0;
  check(cudaMemcpy(&have, y + ((size_t(cn) * k + ck) * p + cp) * q + cq, sizeof(float),
                   cudaMemcpyDeviceToHost),
        "d2h");
  if (std::fabs(have - want) > 1e-2 * (1 + std::fabs(want))) {  // TF32 may be allowed
    std::fprintf(stderr, "bench-libs: convolution output %g, want %g\n", have, want);
    std::exit(1);
  }
  report("cudnn_conv_fwd_us", 1e6 * per_call, "us");
  check(cudaFree(x), "cudaFree");
  check(cudaFree(w), "cudaFree");
  check(cudaFree(y), "cudaFree");
  if (workspace) check(cudaFree(workspace), "cudaFree");
  check(cudnnDestroyConvolutionDescriptor(conv), "cudnnDestroyConvolutionDescriptor");
  check(cudnnDestroyFilterDescriptor(w_desc), "cudnnDestroyFilterDescriptor");
  check(cudnnDestroyTensorDescriptor(x_desc), "cudnnDestroyTensorDescriptor");
  check(cudnnDestroyTensorDescriptor(y_desc), "cudnnDestroyTensorDescriptor");
  check(cudnnDestroy(h), "cudnnDestroy");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  double budget = argc > 1 ? std::atof(argv[1]) : 1.0;  // seconds per small-call metric
  const bool turn = argc > 2 && std::strcmp(argv[2], "turn") == 0;
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "context creation");

  auto t0 = Clock::now();
  cublasHandle_t h;
  check(cublasCreate(&h), "cublasCreate");
  if (!turn) report("cublas_create_ms", 1e3 * seconds_since(t0), "ms");

  small_sgemm(h, budget);
  if (!turn) {
    large_gemm(h, "sgemm_8192_tflops", 8192, CUDA_R_32F, 5);
    large_gemm(h, "gemmex_bf16_8192_tflops", 8192, CUDA_R_16BF, 20);
  }
  check(cublasDestroy(h), "cublasDestroy");
#ifdef GVIRTUS_BENCH_CUDNN
  conv_forward(budget, !turn);
#endif
  return 0;
}
