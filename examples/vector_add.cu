// vector_add: c = a + b on the GPU, checked on the host. Prints PASS or FAIL.
//   gvirtus run -- ./vector_add [N]
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

__global__ void add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

#define CHECK(call)                                                                       \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                              \
      std::printf("%s failed: %s: %s\nFAIL\n", #call, cudaGetErrorName(e_), cudaGetErrorString(e_)); \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1 << 20;
  if (n <= 0) {
    std::printf("usage: vector_add [N > 0]\n");
    return 2;
  }
  const size_t bytes = size_t(n) * sizeof(float);
  std::vector<float> a(n), b(n), c(n);
  for (int i = 0; i < n; ++i) {
    a[i] = std::sin(float(i)) * 0.5f;
    b[i] = float(i % 1000) * 0.001f;
  }
  float *da, *db, *dc;
  CHECK(cudaMalloc(&da, bytes));
  CHECK(cudaMalloc(&db, bytes));
  CHECK(cudaMalloc(&dc, bytes));
  CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  const int threads = 256;
  add<<<(n + threads - 1) / threads, threads>>>(da, db, dc, n);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));
  int wrong = 0;
  for (int i = 0; i < n; ++i)
    if (c[i] != a[i] + b[i]) ++wrong;
  std::printf("vector_add of %d elements: %d wrong\n%s\n", n, wrong, wrong ? "FAIL" : "PASS");
  return wrong ? 1 : 0;
}
