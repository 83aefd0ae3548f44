// Loads tests' libdlopen_kernels.so (next to this program) with dlopen, runs its kernel, unloads
// it, loads it again and runs it again: registration at dlopen, unregistration at dlclose.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../check.h"

using AxpbFn = int (*)(float*, int, float, float);

static std::string lib_path() {
  std::vector<char> buf(4096);
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  std::string exe(buf.data(), n > 0 ? n : 0);
  return exe.substr(0, exe.rfind('/') + 1) + "libdlopen_kernels.so";
}

int main() {
  const int n = 4096;
  float* d = nullptr;
  CHECK(cudaMalloc(&d, n * sizeof(float)));
  std::vector<float> h(n);
  for (int i = 0; i < n; ++i) h[i] = static_cast<float>(i);
  CHECK(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));

  bool ok = true;
  float a = 2.0f, b = 1.0f;
  for (int round = 0; round < 2; ++round) {
    void* lib = dlopen(lib_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      std::printf("dlopen failed: %s\n", dlerror());
      return 1;
    }
    auto fn = reinterpret_cast<AxpbFn>(dlsym(lib, "lib_axpb"));
    int e = fn(d, n, a, b);
    std::printf("round %d: lib_axpb: %s\n", round, cudaGetErrorName(static_cast<cudaError_t>(e)));
    CHECK(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
    std::printf("round %d: %.1f %.1f %.1f\n", round, h[0], h[1], h[n - 1]);
    dlclose(lib);
    b += 1.0f;
  }
  // x -> 2x+1 -> 2(2x+1)+2 = 4x+4
  for (int i = 0; i < n; ++i) ok = ok && h[i] == 4.0f * i + 4.0f;
  CHECK(cudaFree(d));
  return verdict(ok);
}
