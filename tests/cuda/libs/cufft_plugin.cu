// cuFFT natively and through GVirtuS, on every machine: what a cuFFT program sees must be the
// same (the worker loads the cuFFT plugin and NVIDIA's libcufft.so.12 on the first call; without
// a GPU cuFFT answers plan creation as it does natively). Plan numbers are plain ints judged by
// the worker's cuFFT: unknown ones answer as natively. On a GPU machine the plans are made and an
// 8-point C2C transform runs. Run by tests/cuda_plugins.cmake.
#include <cuda_runtime.h>
#include <cufft.h>
#include <cufftXt.h>

#include <cmath>
#include <cstdio>

namespace {

void status(const char* what, cufftResult s) { std::printf("%s: %d\n", what, static_cast<int>(s)); }

// A small C2C transform on plan p (8 points, forward): prints the rounded output.
void run_c2c(cufftHandle p) {
  cufftComplex host[8];
  for (int i = 0; i < 8; ++i) host[i] = make_cuComplex(static_cast<float>(i), 0.0f);
  cufftComplex* d = nullptr;
  if (cudaMalloc(&d, sizeof host) != cudaSuccess) {
    std::printf("cudaMalloc failed\n");
    return;
  }
  cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice);
  status("cufftExecC2C(forward)", cufftExecC2C(p, d, d, CUFFT_FORWARD));
  cudaMemcpy(host, d, sizeof host, cudaMemcpyDeviceToHost);
  for (int i = 0; i < 8; ++i)
    std::printf("  X[%d] = %.3f %.3f\n", i, std::round(host[i].x * 1000) / 1000,
                std::round(host[i].y * 1000) / 1000);
  cudaFree(d);
}

}  // namespace

int main() {
  int version = 0;
  status("cufftGetVersion", cufftGetVersion(&version));
  std::printf("  version: %d\n", version);
  int major = -1, minor = -1;
  status("cufftGetProperty(MAJOR_VERSION)", cufftGetProperty(MAJOR_VERSION, &major));
  status("cufftGetProperty(MINOR_VERSION)", cufftGetProperty(MINOR_VERSION, &minor));
  std::printf("  %d.%d\n", major, minor);
  int devices = 0;
  std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorName(cudaGetDeviceCount(&devices)));

  // Plan numbers nobody handed out: cuFFT's own answer.
  status("cufftDestroy(unknown)", cufftDestroy(4242));
  status("cufftSetAutoAllocation(unknown)", cufftSetAutoAllocation(4242, 0));
  status("cufftSetStream(unknown)", cufftSetStream(4242, nullptr));
  size_t ws[1] = {0};
  status("cufftGetSize(unknown)", cufftGetSize(4242, ws));

  // Estimates need no plan.
  ws[0] = 0;
  status("cufftEstimate1d(1024, C2C)", cufftEstimate1d(1024, CUFFT_C2C, 1, ws));
  int n2[2] = {64, 64};
  ws[0] = 0;
  status("cufftEstimateMany(rank 2)",
         cufftEstimateMany(2, n2, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 1, ws));

  // Plans: created and made, or refused as natively.
  cufftHandle plan = -1;
  cufftResult s = cufftCreate(&plan);
  status("cufftCreate", s);
  if (s == CUFFT_SUCCESS) {
    ws[0] = 0;
    s = cufftMakePlan1d(plan, 8, CUFFT_C2C, 1, ws);
    status("cufftMakePlan1d(8, C2C)", s);
    if (s == CUFFT_SUCCESS) run_c2c(plan);
    status("cufftDestroy", cufftDestroy(plan));
  }
  cufftHandle p1 = -1;
  s = cufftPlan1d(&p1, 8, CUFFT_C2C, 1);
  status("cufftPlan1d(8, C2C)", s);
  if (s == CUFFT_SUCCESS) {
    run_c2c(p1);
    status("cufftDestroy", cufftDestroy(p1));
  }
  int n4[4] = {8, 8, 8, 8};
  cufftHandle pm = -1;
  status("cufftPlanMany(rank 4)",
         cufftPlanMany(&pm, 4, n4, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 1));
  cufftHandle px = -1;
  s = cufftCreate(&px);
  if (s == CUFFT_SUCCESS) {
    long long n64[1] = {16};
    ws[0] = 0;
    status("cufftXtMakePlanMany(16, C32F)",
           cufftXtMakePlanMany(px, 1, n64, nullptr, 1, 0, CUDA_C_32F, nullptr, 1, 0, CUDA_C_32F,
                               1, ws, CUDA_C_32F));
    status("cufftDestroy", cufftDestroy(px));
  }
  return 0;
}
