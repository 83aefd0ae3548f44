// What gvirtus-bench, gvirtus-bench-libs and gvirtus-bench-math share: the clock, the CUDA
// error check (a failure stops the program: bench/run.sh then shows the figure as missing) and
// the output line
//   <metric> <value> <unit>
// that bench/run.sh reads, and the input values they check results against.
#pragma once
#include <cuda_runtime.h>
#include <errno.h>

#include <chrono>
#include <cstdint>
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

// The same pseudo-random values in [-0.5, 0.5) on the device and on the host, so that a
// benchmark can check its result against a host computation.
inline __host__ __device__ float pattern(uint64_t i, uint32_t seed) {
  uint32_t x = static_cast<uint32_t>(i * 2654435761u) ^ (seed * 0x9e3779b9u);
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  return static_cast<float>(x & 0xffff) / 65536.0f - 0.5f;
}

inline void report(const char* metric, double value, const char* unit) {
  std::printf("%s %.4g %s\n", metric, value, unit);
  std::fflush(stdout);
}

}  // namespace bench
