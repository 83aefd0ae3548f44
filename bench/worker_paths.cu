// gvirtus-bench-worker-paths: native figures for the ways a worker can carry out a request, to
// choose between them on the GPU machine (docs/profiling.md). Native only: run it without
// GVirtuS. One line per figure, `<metric> <value> <unit>`, like gvirtus-bench.
//
//   copy_<dir>_<how>_us   a 4-byte synchronous copy, per call, done the way named:
//                         memcpy_pageable / memcpy_pinned: cudaMemcpy from or to ordinary or
//                         page-locked host memory (what the application does natively);
//                         async_pageable_sync / async_pinned_sync: cudaMemcpyAsync on the legacy
//                         stream then cudaStreamSynchronize (the worker's way: its small request
//                         buffer is ordinary memory, its device-to-host buffer page-locked).
//   launches_per_s_<n>_threads_<how>   empty launches per second, all threads together, each
//                         thread on its own non-blocking stream, counted after every thread has
//                         started (so thread start-up is not in it): chevrons (<<<>>>, the
//                         application's way) or kernel_t (cudaLaunchKernel of the cudaKernel_t
//                         from cudaGetKernel, as the worker launches).
#include <cuda_runtime.h>

#include <atomic>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace bench;

namespace {

__global__ void empty_kernel() {}

// Seconds per call of f over `reps` calls, after 100 untimed ones.
template <typename F>
double per_call(F f, int reps) {
  for (int i = 0; i < 100; ++i) f();
  auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) f();
  return seconds_since(t0) / reps;
}

void copies() {
  const int reps = 20000;
  int* dev = nullptr;
  int* pinned = nullptr;
  int pageable = 7;
  check(cudaMalloc(&dev, sizeof(int)), "cudaMalloc");
  check(cudaMallocHost(&pinned, sizeof(int)), "cudaMallocHost");
  *pinned = 7;
  struct Way {
    const char* name;
    int* host;
    bool async;
  };
  const Way ways[] = {{"memcpy_pageable", &pageable, false},
                      {"memcpy_pinned", pinned, false},
                      {"async_pageable_sync", &pageable, true},
                      {"async_pinned_sync", pinned, true}};
  for (bool to_device : {true, false}) {
    for (const Way& w : ways) {
      void* dst = to_device ? static_cast<void*>(dev) : static_cast<void*>(w.host);
      const void* src = to_device ? static_cast<const void*>(w.host) : dev;
      const cudaMemcpyKind kind = to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
      const double s = per_call(
          [&] {
            if (w.async) {
              check(cudaMemcpyAsync(dst, src, sizeof(int), kind, 0), "cudaMemcpyAsync");
              check(cudaStreamSynchronize(0), "cudaStreamSynchronize");
            } else {
              check(cudaMemcpy(dst, src, sizeof(int), kind), "cudaMemcpy");
            }
          },
          reps);
      char metric[96];
      std::snprintf(metric, sizeof metric, "copy_%s_%s_us", to_device ? "h2d" : "d2h", w.name);
      report(metric, 1e6 * s, "us");
    }
  }
  if (pageable != 7 || *pinned != 7) {
    std::fprintf(stderr, "worker-paths: the copies changed the value (%d, %d)\n", pageable,
                 *pinned);
    std::exit(1);
  }
  check(cudaFreeHost(pinned), "cudaFreeHost");
  check(cudaFree(dev), "cudaFree");
}

void launches(int threads, bool kernel_t) {
  const int n = 50000;
  cudaKernel_t k = nullptr;
  if (kernel_t) check(cudaGetKernel(&k, empty_kernel), "cudaGetKernel");
  std::vector<cudaStream_t> streams(threads);
  for (auto& st : streams) check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "stream");
  for (auto& st : streams) empty_kernel<<<1, 1, 0, st>>>();
  check(cudaDeviceSynchronize(), "warm-up launch");
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      check(cudaSetDevice(0), "cudaSetDevice");
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < n; ++i) {
        if (kernel_t) {
          check(cudaLaunchKernel(reinterpret_cast<const void*>(k), dim3(1), dim3(1), nullptr, 0,
                                 streams[t]),
                "cudaLaunchKernel");
        } else {
          empty_kernel<<<1, 1, 0, streams[t]>>>();
        }
      }
      check(cudaStreamSynchronize(streams[t]), "cudaStreamSynchronize");
    });
  while (ready.load() < threads) std::this_thread::yield();
  auto t0 = Clock::now();
  go = true;
  for (auto& th : pool) th.join();
  const double s = seconds_since(t0);
  check(cudaGetLastError(), "launch");
  char metric[96];
  std::snprintf(metric, sizeof metric, "launches_per_s_%d_threads_%s", threads,
                kernel_t ? "kernel_t" : "chevrons");
  report(metric, threads * n / s, "1/s");
  for (auto& st : streams) check(cudaStreamDestroy(st), "stream destroy");
}

}  // namespace

int main() {
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "context");
  copies();
  for (int threads : {1, 4})
    for (bool kernel_t : {false, true}) launches(threads, kernel_t);
  return 0;
}
