// cuRAND on a GPU, natively and through GVirtuS: every generator type with every ordering it
// takes, fixed seeds, offsets and dimensions, into device memory and with host generators. The
// outputs' FNV hashes are printed (same GPU and library: bitwise identical) and sanity-checked
// (means within tolerance). Exits non-zero on any failure. Registered in tests/cuda_libs.cmake.
#include <cuda_runtime.h>
#include <curand.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "check.h"

namespace {

bool ok = true;

void fail(const char* what) {
  std::printf("FAILED: %s\n", what);
  ok = false;
}

bool good(const char* what, curandStatus_t s) {
  if (s == CURAND_STATUS_SUCCESS) return true;
  std::printf("FAILED: %s: %d\n", what, static_cast<int>(s));
  ok = false;
  return false;
}

template <typename T>
double mean(const std::vector<T>& v) {
  double s = 0;
  for (T x : v) s += static_cast<double>(x);
  return s / static_cast<double>(v.size());
}

void expect_mean(const char* what, double got, double want, double tol) {
  std::printf("    %s mean ok: %s\n", what, std::fabs(got - want) <= tol ? "yes" : "no");
  if (!(std::fabs(got - want) <= tol)) {
    std::printf("    (mean %.6f, expected %.6f +- %.3f)\n", got, want, tol);
    fail(what);
  }
}

constexpr size_t kN = size_t{1} << 16;  // a multiple of every dimension count used

struct Type {
  curandRngType_t type;
  const char* name;
  bool quasi;
  bool wide;  // 64-bit quasi-random: GenerateLongLong, no 32-bit Generate
};

const Type kTypes[] = {
    {CURAND_RNG_PSEUDO_XORWOW, "XORWOW", false, false},
    {CURAND_RNG_PSEUDO_MRG32K3A, "MRG32K3A", false, false},
    {CURAND_RNG_PSEUDO_MTGP32, "MTGP32", false, false},
    {CURAND_RNG_PSEUDO_PHILOX4_32_10, "PHILOX4_32_10", false, false},
    {CURAND_RNG_PSEUDO_MT19937, "MT19937", false, false},
    {CURAND_RNG_QUASI_SOBOL32, "SOBOL32", true, false},
    {CURAND_RNG_QUASI_SCRAMBLED_SOBOL32, "SCRAMBLED_SOBOL32", true, false},
    {CURAND_RNG_QUASI_SOBOL64, "SOBOL64", true, true},
    {CURAND_RNG_QUASI_SCRAMBLED_SOBOL64, "SCRAMBLED_SOBOL64", true, true},
};

struct Order {
  curandOrdering_t order;
  const char* name;
};

const Order kPseudoOrders[] = {
    {CURAND_ORDERING_PSEUDO_DEFAULT, "DEFAULT"}, {CURAND_ORDERING_PSEUDO_BEST, "BEST"},
    {CURAND_ORDERING_PSEUDO_SEEDED, "SEEDED"},   {CURAND_ORDERING_PSEUDO_LEGACY, "LEGACY"},
    {CURAND_ORDERING_PSEUDO_DYNAMIC, "DYNAMIC"},
};
const Order kQuasiOrders[] = {{CURAND_ORDERING_QUASI_DEFAULT, "QUASI_DEFAULT"}};

// Generates n values of T with `gen` into device memory (host == false) or host memory, returns
// them in *out.
template <typename T, typename Gen>
bool run(bool host, std::vector<T>* out, Gen gen, const char* what) {
  out->assign(kN, T{});
  if (host) return good(what, gen(out->data()));
  T* d = nullptr;
  CHECK(cudaMalloc(&d, kN * sizeof(T)));
  const bool g = good(what, gen(d));
  CHECK(cudaMemcpy(out->data(), d, kN * sizeof(T), cudaMemcpyDeviceToHost));
  CHECK(cudaFree(d));
  return g;
}

template <typename T>
void print(const char* what, const std::vector<T>& v) {
  std::printf("    %s: %016llx\n", what,
              static_cast<unsigned long long>(fnv(v.data(), v.size() * sizeof(T))));
}

void exercise(const Type& t, const Order& o, bool host) {
  curandGenerator_t g = nullptr;
  const curandStatus_t cs =
      host ? curandCreateGeneratorHost(&g, t.type) : curandCreateGenerator(&g, t.type);
  if (!good(t.name, cs)) return;
  const curandStatus_t os = curandSetGeneratorOrdering(g, o.order);
  std::printf("  %s %s %s: ordering %d\n", host ? "host" : "device", t.name, o.name,
              static_cast<int>(os));
  if (os == CURAND_STATUS_OUT_OF_RANGE) {  // an ordering this generator does not take
    good("DestroyGenerator", curandDestroyGenerator(g));
    return;
  }
  good("SetGeneratorOrdering", os);
  if (t.quasi) {
    good("SetQuasiRandomGeneratorDimensions", curandSetQuasiRandomGeneratorDimensions(g, 4));
  } else {
    good("SetPseudoRandomGeneratorSeed", curandSetPseudoRandomGeneratorSeed(g, 20250101ull));
  }
  if (t.type != CURAND_RNG_PSEUDO_MTGP32 && t.type != CURAND_RNG_PSEUDO_MT19937)
    good("SetGeneratorOffset", curandSetGeneratorOffset(g, 1000));
  else  // MTGP32 and MT19937 have no offset: cuRAND's own answer
    std::printf("    SetGeneratorOffset: %d\n",
                static_cast<int>(curandSetGeneratorOffset(g, 1000)));
  if (!host)  // cuRAND's own answer (quasi-random generators have no seeds to make)
    std::printf("    GenerateSeeds: %d\n", static_cast<int>(curandGenerateSeeds(g)));

  if (t.wide) {
    std::vector<unsigned long long> ll;
    if (run(host, &ll, [&](unsigned long long* p) { return curandGenerateLongLong(g, p, kN); },
            "GenerateLongLong")) {
      print("GenerateLongLong", ll);
      double m = 0;
      for (auto x : ll) m += static_cast<double>(x) / 18446744073709551616.0;
      expect_mean("GenerateLongLong", m / kN, 0.5, 0.02);
    }
  } else {
    std::vector<unsigned int> u;
    if (run(host, &u, [&](unsigned int* p) { return curandGenerate(g, p, kN); }, "Generate")) {
      print("Generate", u);
      expect_mean("Generate", mean(u) / 4294967296.0, 0.5, 0.02);
    }
    std::vector<float> f;
    if (run(host, &f, [&](float* p) { return curandGenerateUniform(g, p, kN); },
            "GenerateUniform")) {
      print("GenerateUniform", f);
      expect_mean("GenerateUniform", mean(f), 0.5, 0.02);
    }
    if (run(host, &f, [&](float* p) { return curandGenerateNormal(g, p, kN, 2.f, 0.5f); },
            "GenerateNormal")) {
      print("GenerateNormal", f);
      expect_mean("GenerateNormal", mean(f), 2.0, 0.05);
    }
    if (run(host, &f, [&](float* p) { return curandGenerateLogNormal(g, p, kN, 0.f, 0.25f); },
            "GenerateLogNormal")) {
      print("GenerateLogNormal", f);
      expect_mean("GenerateLogNormal", mean(f), std::exp(0.25 * 0.25 / 2), 0.05);
    }
    if (run(host, &u, [&](unsigned int* p) { return curandGeneratePoisson(g, p, kN, 6.5); },
            "GeneratePoisson")) {
      print("GeneratePoisson", u);
      expect_mean("GeneratePoisson", mean(u), 6.5, 0.2);
    }
  }
  std::vector<double> d;
  if (run(host, &d, [&](double* p) { return curandGenerateUniformDouble(g, p, kN); },
          "GenerateUniformDouble")) {
    print("GenerateUniformDouble", d);
    expect_mean("GenerateUniformDouble", mean(d), 0.5, 0.02);
  }
  if (run(host, &d, [&](double* p) { return curandGenerateNormalDouble(g, p, kN, -1.0, 2.0); },
          "GenerateNormalDouble")) {
    print("GenerateNormalDouble", d);
    expect_mean("GenerateNormalDouble", mean(d), -1.0, 0.1);
  }
  if (run(host, &d,
          [&](double* p) { return curandGenerateLogNormalDouble(g, p, kN, 0.0, 0.25); },
          "GenerateLogNormalDouble")) {
    print("GenerateLogNormalDouble", d);
    expect_mean("GenerateLogNormalDouble", mean(d), std::exp(0.25 * 0.25 / 2), 0.05);
  }
  good("DestroyGenerator", curandDestroyGenerator(g));
}

}  // namespace

int main() {
  int version = 0;
  good("GetVersion", curandGetVersion(&version));
  std::printf("curandGetVersion: %d\n", version);
  for (bool host : {false, true}) {
    for (const Type& t : kTypes) {
      if (t.quasi) {
        for (const Order& o : kQuasiOrders) exercise(t, o, host);
      } else {
        for (const Order& o : kPseudoOrders) exercise(t, o, host);
      }
    }
  }
  // A stream for a device generator, and a discrete distribution.
  curandGenerator_t g = nullptr;
  if (good("CreateGenerator", curandCreateGenerator(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10))) {
    cudaStream_t s = nullptr;
    CHECK(cudaStreamCreate(&s));
    good("SetStream", curandSetStream(g, s));
    float* d = nullptr;
    CHECK(cudaMalloc(&d, kN * sizeof(float)));
    good("GenerateUniform on a stream", curandGenerateUniform(g, d, kN));
    CHECK(cudaStreamSynchronize(s));
    std::vector<float> h(kN);
    CHECK(cudaMemcpy(h.data(), d, kN * sizeof(float), cudaMemcpyDeviceToHost));
    print("stream GenerateUniform", h);
    expect_mean("stream GenerateUniform", mean(h), 0.5, 0.02);
    CHECK(cudaFree(d));
    good("DestroyGenerator", curandDestroyGenerator(g));
    CHECK(cudaStreamDestroy(s));
  }
  curandDiscreteDistribution_t dist = nullptr;
  if (good("CreatePoissonDistribution", curandCreatePoissonDistribution(5.0, &dist)))
    good("DestroyDistribution", curandDestroyDistribution(dist));
  return verdict(ok);
}
