// What gvirtus-bench and gvirtus-bench-libs share: the clock, the CUDA error check (a failure
// stops the program: bench/run.sh then shows the figure as missing) and the output line
//   <metric> <value> <unit>
// that bench/run.sh reads.
#pragma once
#include <cuda_runtime.h>
#include <errno.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s failed: %s (%s)\n", program_invocation_short_name, what,
                 cudaGetErrorName(e), cudaGetErrorString(e));
    std::exit(1);
  }
}

inline void report(const char* metric, double value, const char* unit) {
  std::printf("%s %.4g %s\n", metric, value, unit);
  std::fflush(stdout);
}

}  // namespace bench
