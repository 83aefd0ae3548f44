// Device memory clearing (docs/security.md, "Isolation and quotas"), run through a backend by
// tests/gpu/clear_memory.py.
//   clear_memory check   fills allocations with a pattern, frees them, allocates again (same
//                        size, so the allocator hands the same memory back) and counts the
//                        bytes that are not zero: cudaMalloc and cudaMallocAsync. Prints
//                        "nonzero_sync N reused_sync 0|1" and "nonzero_async N"; exit 0 if the
//                        calls succeeded (the script judges the counts).
//   clear_memory time    prints "alloc_us SIZE_MIB MICROSECONDS" for cudaMalloc+cudaFree
//                        of 1, 64 and 1024 MiB (median of 5).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#define CHECK(x)                                                                     \
  do {                                                                               \
    cudaError_t e_ = (x);                                                            \
    if (e_ != cudaSuccess) {                                                         \
      std::printf("FAIL %s: %s (line %d)\n", #x, cudaGetErrorName(e_), __LINE__);    \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

static size_t nonzero(const std::vector<unsigned char>& v) {
  return static_cast<size_t>(std::count_if(v.begin(), v.end(), [](unsigned char c) { return c; }));
}

static int check() {
  const size_t n = 64u << 20;
  std::vector<unsigned char> host(n);
  void* a = nullptr;
  CHECK(cudaMalloc(&a, n));
  CHECK(cudaMemset(a, 0xAB, n));
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaFree(a));
  void* b = nullptr;
  CHECK(cudaMalloc(&b, n));
  CHECK(cudaMemcpy(host.data(), b, n, cudaMemcpyDeviceToHost));
  std::printf("nonzero_sync %zu reused_sync %d\n", nonzero(host), a == b ? 1 : 0);
  CHECK(cudaFree(b));

  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  void* c = nullptr;
  CHECK(cudaMallocAsync(&c, n, s));
  CHECK(cudaMemsetAsync(c, 0xCD, n, s));
  CHECK(cudaFreeAsync(c, s));
  void* d = nullptr;
  CHECK(cudaMallocAsync(&d, n, s));
  std::fill(host.begin(), host.end(), 0xEE);
  CHECK(cudaMemcpyAsync(host.data(), d, n, cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("nonzero_async %zu reused_async %d\n", nonzero(host), c == d ? 1 : 0);
  CHECK(cudaFreeAsync(d, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaStreamDestroy(s));
  return 0;
}

static int timing() {
  void* warm = nullptr;
  CHECK(cudaMalloc(&warm, 1 << 20));  // context creation outside the figures
  CHECK(cudaFree(warm));
  for (size_t mib : {1, 64, 1024}) {
    std::vector<double> us;
    for (int i = 0; i < 5; ++i) {
      void* p = nullptr;
      auto t0 = std::chrono::steady_clock::now();
      CHECK(cudaMalloc(&p, mib << 20));
      auto t1 = std::chrono::steady_clock::now();
      CHECK(cudaFree(p));
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("alloc_us %zu %.0f\n", mib, us[2]);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "check") == 0) return check();
  if (argc == 2 && std::strcmp(argv[1], "time") == 0) return timing();
  std::fprintf(stderr, "usage: clear_memory check|time\n");
  return 2;
}
