// gvirtus-bench-worker-paths: native figures for the ways a worker can carry out a request, to
// choose between them on the GPU machine (docs/profiling.md). Native only: run it without
// GVirtuS. One line per figure, `<metric> <value> <unit>`, like gvirtus-bench.
//
//   copy_<dir>_<how>_us   a 4-byte synchronous copy, per call, done the way named:
//                         memcpy_pageable / memcpy_pinned: cudaMemcpy from or to ordinary or
//                         page-locked host memory (what the application does natively);
//                         async_pageable_sync / async_pinned_sync: cudaMemcpyAsync on the legacy
//                         stream then cudaStreamSynchronize (the worker's way, but for a small
//                         host-to-device copy from pageable memory, which is memcpy_pageable: its
//                         small request buffer is ordinary memory, its device-to-host buffer
//                         page-locked);
//                         query_memcpy_pageable: cudaStreamQuery of the legacy stream, then
//                         cudaMemcpy from ordinary memory (a worker that copies directly only
//                         when nothing is queued ahead).
//   launches_per_s_<n>_threads_<how>   empty launches per second, all threads together, each
//                         thread on its own non-blocking stream, counted after every thread has
//                         started (so thread start-up is not in it), the best of 3 rounds taken
//                         in turn with the other ways: chevrons (<<<>>>, the application's way),
//                         kernel_t (cudaLaunchKernel of the cudaKernel_t from cudaGetKernel, as
//                         the worker launches), cu_kernel (the driver's cuLaunchKernel of that
//                         kernel as a CUkernel) or cu_function (cuLaunchKernel of the CUfunction
//                         from cudaGetFuncBySymbol).
#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
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
    bool query;  // cudaStreamQuery of the legacy stream first
  };
  const Way ways[] = {{"memcpy_pageable", &pageable, false, false},
                      {"memcpy_pinned", pinned, false, false},
                      {"async_pageable_sync", &pageable, true, false},
                      {"async_pinned_sync", pinned, true, false},
                      {"query_memcpy_pageable", &pageable, false, true}};
  for (bool to_device : {true, false}) {
    for (const Way& w : ways) {
      void* dst = to_device ? static_cast<void*>(dev) : static_cast<void*>(w.host);
      const void* src = to_device ? static_cast<const void*>(w.host) : dev;
      const cudaMemcpyKind kind = to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
      const double s = per_call(
          [&] {
            if (w.query) {
              // Not ready is an answer too (the last copy's DMA may still run).
              const cudaError_t q = cudaStreamQuery(cudaStreamLegacy);
              if (q != cudaErrorNotReady) check(q, "cudaStreamQuery");
            }
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

enum class How { kChevrons, kKernelT, kCuKernel, kCuFunction };
const char* how_name(How h) {
  switch (h) {
    case How::kChevrons: return "chevrons";
    case How::kKernelT: return "kernel_t";
    case How::kCuKernel: return "cu_kernel";
    case How::kCuFunction: return "cu_function";
  }
  return "?";
}

using LaunchFn = CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                              unsigned, unsigned, CUstream, void**, void**);

// The driver's cuLaunchKernel, through the runtime (no link with libcuda).
LaunchFn driver_launch() {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found{};
  check(cudaGetDriverEntryPointByVersion("cuLaunchKernel", &fn, 12000, cudaEnableDefault, &found),
        "cudaGetDriverEntryPointByVersion(cuLaunchKernel)");
  if (!fn || found != cudaDriverEntryPointSuccess) {
    std::fprintf(stderr, "worker-paths: no cuLaunchKernel\n");
    std::exit(1);
  }
  return reinterpret_cast<LaunchFn>(fn);
}

// Launches per second, all threads together, one round.
double launches(int threads, How how) {
  const int n = 50000;
  cudaKernel_t k = nullptr;
  check(cudaGetKernel(&k, empty_kernel), "cudaGetKernel");
  cudaFunction_t f = nullptr;
  check(cudaGetFuncBySymbol(&f, reinterpret_cast<const void*>(empty_kernel)),
        "cudaGetFuncBySymbol");
  const LaunchFn cu_launch = driver_launch();
  const CUfunction target = how == How::kCuKernel ? reinterpret_cast<CUfunction>(k)
                                                   : reinterpret_cast<CUfunction>(f);
  std::vector<cudaStream_t> streams(threads);
  for (auto& st : streams) check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "stream");
  for (auto& st : streams) empty_kernel<<<1, 1, 0, st>>>();
  check(cudaDeviceSynchronize(), "warm-up launch");
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<int> failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      check(cudaSetDevice(0), "cudaSetDevice");
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < n; ++i) {
        switch (how) {
          case How::kChevrons:
            empty_kernel<<<1, 1, 0, streams[t]>>>();
            break;
          case How::kKernelT:
            check(cudaLaunchKernel(reinterpret_cast<const void*>(k), dim3(1), dim3(1), nullptr,
                                   0, streams[t]),
                  "cudaLaunchKernel");
            break;
          case How::kCuKernel:
          case How::kCuFunction:
            if (cu_launch(target, 1, 1, 1, 1, 1, 1, 0, reinterpret_cast<CUstream>(streams[t]),
                          nullptr, nullptr) != CUDA_SUCCESS)
              failed.store(1);
            break;
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
  if (failed.load()) {
    std::fprintf(stderr, "worker-paths: cuLaunchKernel (%s) failed\n", how_name(how));
    std::exit(1);
  }
  for (auto& st : streams) check(cudaStreamDestroy(st), "stream destroy");
  return threads * n / s;
}

}  // namespace

int main() {
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "context");
  copies();
  const How hows[] = {How::kChevrons, How::kKernelT, How::kCuKernel, How::kCuFunction};
  for (int threads : {1, 4}) {
    // Rounds in turn, so that each way sees the machine's fast and slow moments alike.
    double best[4] = {};
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 4; ++i) best[i] = std::max(best[i], launches(threads, hows[i]));
    for (int i = 0; i < 4; ++i) {
      char metric[96];
      std::snprintf(metric, sizeof metric, "launches_per_s_%d_threads_%s", threads,
                    how_name(hows[i]));
      report(metric, best[i], "1/s");
    }
  }
  return 0;
}
