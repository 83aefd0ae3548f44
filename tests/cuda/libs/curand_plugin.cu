// The cuRAND plugin natively and through GVirtuS: versions and properties are the backend's
// library, generator creation and its argument checks answer as natively, host generators
// (which need no GPU) generate the same numbers, discrete distributions and a stale generator
// answer the same; on a GPU machine also device generation. Run by tests/cuda_plugins.cmake on
// every machine.
#include <cuda_runtime.h>
#include <curand.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "../check.h"  // fnv

namespace {

void status(const char* what, curandStatus_t s) { std::printf("%s: %d\n", what, static_cast<int>(s)); }

// Generates with a host generator of `type`: uniform floats, 32-bit words and normals.
void host_generator(curandRngType_t type, const char* name) {
  curandGenerator_t g = nullptr;
  curandStatus_t s = curandCreateGeneratorHost(&g, type);
  std::printf("curandCreateGeneratorHost(%s): %d\n", name, static_cast<int>(s));
  if (s != CURAND_STATUS_SUCCESS) return;
  if (type == CURAND_RNG_QUASI_SOBOL32)
    status("  SetQuasiRandomGeneratorDimensions(3)", curandSetQuasiRandomGeneratorDimensions(g, 3));
  else
    status("  SetPseudoRandomGeneratorSeed", curandSetPseudoRandomGeneratorSeed(g, 1234));
  status("  SetGeneratorOffset", curandSetGeneratorOffset(g, 7));
  std::vector<float> f(999);
  s = curandGenerateUniform(g, f.data(), f.size());
  std::printf("  GenerateUniform(999): %d %016llx\n", static_cast<int>(s),
              static_cast<unsigned long long>(s == 0 ? fnv(f.data(), f.size() * 4) : 0));
  std::vector<unsigned int> u(300);
  s = curandGenerate(g, u.data(), u.size());
  std::printf("  Generate(300): %d %016llx\n", static_cast<int>(s),
              static_cast<unsigned long long>(s == 0 ? fnv(u.data(), u.size() * 4) : 0));
  std::vector<double> d(600);
  s = curandGenerateNormalDouble(g, d.data(), d.size(), 1.0, 2.0);
  std::printf("  GenerateNormalDouble(600): %d %016llx\n", static_cast<int>(s),
              static_cast<unsigned long long>(s == 0 ? fnv(d.data(), d.size() * 8) : 0));
  s = curandGenerateNormal(g, f.data(), 3, 0.f, 1.f);  // odd count: cuRAND's own answer
  std::printf("  GenerateNormal(3): %d\n", static_cast<int>(s));
  s = curandGeneratePoisson(g, u.data(), u.size(), 4.0);
  std::printf("  GeneratePoisson(300): %d %016llx\n", static_cast<int>(s),
              static_cast<unsigned long long>(s == 0 ? fnv(u.data(), u.size() * 4) : 0));
  std::vector<unsigned long long> ll(8);
  status("  GenerateLongLong (32-bit generator)", curandGenerateLongLong(g, ll.data(), ll.size()));
  status("  DestroyGenerator", curandDestroyGenerator(g));
}

// Device generation (a GPU machine): uniform floats into device memory, hashed.
void device_generator(curandRngType_t type, const char* name) {
  curandGenerator_t g = nullptr;
  curandStatus_t s = curandCreateGenerator(&g, type);
  std::printf("curandCreateGenerator(%s): %d\n", name, static_cast<int>(s));
  if (s != CURAND_STATUS_SUCCESS) return;
  if (type != CURAND_RNG_QUASI_SOBOL32)
    status("  SetPseudoRandomGeneratorSeed", curandSetPseudoRandomGeneratorSeed(g, 42));
  float* d = nullptr;
  cudaMalloc(&d, 4096 * sizeof(float));
  s = curandGenerateUniform(g, d, 4096);
  std::vector<float> h(4096);
  cudaMemcpy(h.data(), d, h.size() * sizeof(float), cudaMemcpyDeviceToHost);
  std::printf("  GenerateUniform(4096): %d %016llx\n", static_cast<int>(s),
              static_cast<unsigned long long>(s == 0 ? fnv(h.data(), h.size() * 4) : 0));
  cudaFree(d);
  status("  DestroyGenerator", curandDestroyGenerator(g));
}

}  // namespace

int main() {
  int version = -1;
  curandStatus_t s = curandGetVersion(&version);
  std::printf("curandGetVersion: %d %d\n", static_cast<int>(s), version);
  int major = -1, minor = -1, patch = -1;
  curandGetProperty(MAJOR_VERSION, &major);
  curandGetProperty(MINOR_VERSION, &minor);
  s = curandGetProperty(PATCH_LEVEL, &patch);
  std::printf("curandGetProperty: %d %d.%d.%d\n", static_cast<int>(s), major, minor, patch);
  s = curandGetProperty(static_cast<libraryPropertyType>(99), &major);
  std::printf("curandGetProperty(99): %d\n", static_cast<int>(s));

  curandGenerator_t g = nullptr;
  s = curandCreateGenerator(&g, static_cast<curandRngType_t>(12345));
  std::printf("curandCreateGenerator(bad type): %d\n", static_cast<int>(s));
  s = curandCreateGeneratorHost(&g, static_cast<curandRngType_t>(12345));
  std::printf("curandCreateGeneratorHost(bad type): %d\n", static_cast<int>(s));

  int devices = 0;
  const bool gpu = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
  std::printf("GPU: %s\n", gpu ? "yes" : "no");

  host_generator(CURAND_RNG_PSEUDO_XORWOW, "XORWOW");
  host_generator(CURAND_RNG_PSEUDO_PHILOX4_32_10, "PHILOX");
  host_generator(CURAND_RNG_QUASI_SOBOL32, "SOBOL32");

  if (gpu) {
    device_generator(CURAND_RNG_PSEUDO_XORWOW, "XORWOW");
    device_generator(CURAND_RNG_PSEUDO_MRG32K3A, "MRG32K3A");
    device_generator(CURAND_RNG_QUASI_SOBOL32, "SOBOL32");
    curandDiscreteDistribution_t dist = nullptr;
    s = curandCreatePoissonDistribution(3.5, &dist);
    std::printf("curandCreatePoissonDistribution: %d\n", static_cast<int>(s));
    if (s == CURAND_STATUS_SUCCESS)
      status("curandDestroyDistribution", curandDestroyDistribution(dist));
  } else {
    s = curandCreateGenerator(&g, CURAND_RNG_PSEUDO_XORWOW);
    std::printf("curandCreateGenerator(XORWOW): %d\n", static_cast<int>(s));
  }
  return 0;
}
