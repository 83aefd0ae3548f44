// A client for the fault tests (faults.py). Prints one line at a time, unbuffered.
//   fault_client free          device memory free in MiB (or the error), natively as a probe
//   fault_client hold MIB      allocate MIB of device memory, print "ready", copy into it forever
//   fault_client calls         print "ready", repeat one call until its result changes, then
//                              print that result and three more calls' results; exit 3
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

static bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "free") == 0) {
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) {
      std::printf("error %s\n", cudaGetErrorName(e));
      return 0;
    }
    std::printf("free %zu\n", free_b >> 20);
    return 0;
  }
  const bool gpu = have_gpu();
  const size_t chunk = 64u << 20;
  std::vector<char> host(chunk, 1);
  if (std::strcmp(mode, "hold") == 0 && argc > 2) {
    size_t bytes = std::strtoull(argv[2], nullptr, 10) << 20;
    if (bytes < chunk) bytes = chunk;
    char* d = nullptr;
    if (gpu) {
      cudaError_t e = cudaMalloc(&d, bytes);
      if (e != cudaSuccess) {
        std::printf("cudaMalloc: %s\n", cudaGetErrorName(e));
        return 1;
      }
    }
    std::printf("ready\n");
    for (size_t off = 0;; off = (off + chunk) % (bytes - chunk + 1)) {
      int n;
      if (gpu)
        cudaMemcpy(d + off, host.data(), chunk, cudaMemcpyHostToDevice);
      else
        cudaGetDeviceCount(&n);
    }
  }
  if (std::strcmp(mode, "calls") == 0) {
    char* d = nullptr;
    if (gpu && cudaMalloc(&d, chunk) != cudaSuccess) return 1;
    auto call = [&]() {
      int n;
      return gpu ? cudaMemcpy(d, host.data(), chunk, cudaMemcpyHostToDevice) : cudaGetDeviceCount(&n);
    };
    const cudaError_t first = call();
    std::printf("ready\n");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      cudaError_t e = call();
      if (e == first) continue;
      std::printf("error %s\n", cudaGetErrorName(e));
      for (int i = 0; i < 3; ++i) std::printf("then %s\n", cudaGetErrorName(call()));
      return 3;
    }
    std::printf("no change in 120 s\n");
    return 1;
  }
  std::fprintf(stderr, "usage: fault_client free | hold MIB | calls\n");
  return 2;
}
