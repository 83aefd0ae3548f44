// Several host threads (OpenMP) at once, each with its own stream, memory and kernels, plus
// work on the default stream; built twice: with the legacy default stream and with
// --default-stream per-thread (the _ptsz/_ptds entry points).
#include <omp.h>

#include <cstdio>
#include <vector>

#include "../check.h"

__global__ void iota_scaled(int* out, int n, int scale) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i * scale;
}

__global__ void add_one(int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] += 1;
}

int main() {
  const int threads = 4, n = 1 << 16, rounds = 20;
  int device_count = 0;
  CHECK(cudaGetDeviceCount(&device_count));
  std::vector<long> sums(threads, 0);
  std::vector<int> bad(threads, 0);

#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    CHECK(cudaSetDevice(t % device_count));
    cudaStream_t s;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    int* d = nullptr;
    CHECK(cudaMalloc(&d, n * sizeof(int)));
    std::vector<int> h(n);
    for (int r = 0; r < rounds; ++r) {
      iota_scaled<<<n / 256, 256, 0, s>>>(d, n, t + r);
      add_one<<<n / 256, 256, 0, s>>>(d, n);
      CHECK(cudaMemcpyAsync(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
      CHECK(cudaStreamSynchronize(s));
      for (int i = 0; i < n; i += 997) bad[t] += h[i] != i * (t + r) + 1;
      sums[t] += h[n - 1];
    }
    // The default stream (legacy or per-thread, as built) too.
    iota_scaled<<<n / 256, 256>>>(d, n, 3);
    CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
    bad[t] += h[n - 1] != (n - 1) * 3;
    CHECK(cudaFree(d));
    CHECK(cudaStreamDestroy(s));
  }
  bool ok = true;
  for (int t = 0; t < threads; ++t) {
    std::printf("thread %d: sum %ld, mismatches %d\n", t, sums[t], bad[t]);
    ok = ok && bad[t] == 0;
  }
  return verdict(ok);
}
