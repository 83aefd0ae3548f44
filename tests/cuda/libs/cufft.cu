// cuFFT (libcufft.so.12) on a GPU: 1d/2d/3d and PlanMany plans, C2C forward and inverse, R2C/C2R,
// Z2Z/D2Z/Z2D, a 64-bit-size plan (cufftMakePlanMany64), cufftXtMakePlanMany + cufftXtExec in
// fp32 and fp16, a user work area with auto allocation off, a stream, a 1024x1024 C2C, and calls
// that must fail with the same status as natively (a destroyed plan).
//
// Every status is printed. Outputs are checked on the CPU: forward transforms of small 1d inputs
// against a naive DFT (in double), and every round trip (forward then inverse, unnormalised)
// against N times the input, within a tolerance (PASS/FAIL, exit 1 if any fails). Each output's
// raw bytes are printed as an FNV-1a hash: the same GPU and library give the same bits natively
// and through GVirtuS, so the printed lines must match exactly.
#include <cuda_fp16.h>
#include <cufft.h>
#include <cufftXt.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"

namespace {

bool g_ok = true;

void fcheck(const std::string& what, cufftResult s, int line) {
  std::printf("%s: %d\n", what.c_str(), static_cast<int>(s));
  if (s == CUFFT_SUCCESS) return;
  std::printf("FAILED line %d: %s: %d\n", line, what.c_str(), static_cast<int>(s));
  std::exit(1);
}
#define CUFFT(what, call) fcheck((what), (call), __LINE__)

// Deterministic inputs in [-1, 1).
struct Lcg {
  uint64_t s;
  double next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) / static_cast<double>(1ull << 53) * 2.0 - 1.0;
  }
};

template <class T>
std::vector<T> random_vec(size_t n, uint64_t seed) {
  Lcg r{seed};
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(r.next());
  return v;
}

void verdict_line(const std::string& what, const void* raw, size_t bytes, double err, double tol) {
  const bool pass = err <= tol;
  if (!pass) g_ok = false;
  std::printf("%s: fnv %016llx %s (err %s)\n", what.c_str(),
              static_cast<unsigned long long>(fnv(raw, bytes)), pass ? "PASS" : "FAIL",
              err <= tol ? "within tolerance" : std::to_string(err).c_str());
}

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, h.size() * sizeof(T) + 16));
  CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// Naive forward DFT of `batch` contiguous complex signals of length n (interleaved re, im).
std::vector<std::complex<double>> dft(const std::vector<double>& ri, int n, int batch) {
  std::vector<std::complex<double>> out(static_cast<size_t>(n) * batch);
  for (int b = 0; b < batch; ++b)
    for (int k = 0; k < n; ++k) {
      std::complex<double> acc = 0;
      for (int j = 0; j < n; ++j) {
        const size_t i = static_cast<size_t>(b) * n + j;
        const double a = -2.0 * M_PI * static_cast<double>(k) * j / n;
        acc += std::complex<double>(ri[2 * i], ri[2 * i + 1]) * std::polar(1.0, a);
      }
      out[static_cast<size_t>(b) * n + k] = acc;
    }
  return out;
}

// Max |got - N*in| over interleaved complex or real values, relative to N.
template <class A, class B>
double round_trip_err(const std::vector<A>& in, const std::vector<B>& got, double N) {
  double e = 0;
  for (size_t i = 0; i < in.size(); ++i)
    e = std::max(e, std::fabs(static_cast<double>(got[i]) - N * static_cast<double>(in[i])) / N);
  return e;
}

// C2C (fp32) forward then inverse on plan p over `total` complex values (N points each):
// prints the forward output's hash and checks the round trip.
void c2c_round_trip(const std::string& what, cufftHandle p, size_t total, double N,
                    uint64_t seed, cudaStream_t stream = nullptr) {
  auto in = random_vec<float>(2 * total, seed);
  auto* d = reinterpret_cast<cufftComplex*>(to_device(in));
  cufftComplex* o = nullptr;
  CHECK(cudaMalloc(&o, total * sizeof(cufftComplex)));
  CUFFT(what + " ExecC2C(forward)", cufftExecC2C(p, d, o, CUFFT_FORWARD));
  if (stream) CHECK(cudaStreamSynchronize(stream));
  auto fwd = to_host(reinterpret_cast<float*>(o), 2 * total);
  CUFFT(what + " ExecC2C(inverse)", cufftExecC2C(p, o, o, CUFFT_INVERSE));
  if (stream) CHECK(cudaStreamSynchronize(stream));
  auto back = to_host(reinterpret_cast<float*>(o), 2 * total);
  std::printf("%s forward fnv %016llx\n", what.c_str(),
              static_cast<unsigned long long>(fnv(fwd.data(), fwd.size() * sizeof(float))));
  verdict_line(what + " round trip", back.data(), back.size() * sizeof(float),
               round_trip_err(in, back, N), 1e-4 * std::log2(N) + 1e-5);
  CHECK(cudaFree(d));
  CHECK(cudaFree(o));
}

void c2c_1d_vs_dft() {
  const int n = 64, batch = 2;
  cufftHandle p;
  CUFFT("Plan1d(64, C2C, 2)", cufftPlan1d(&p, n, CUFFT_C2C, batch));
  auto in = random_vec<float>(2 * n * batch, 1);
  auto* d = reinterpret_cast<cufftComplex*>(to_device(in));
  CUFFT("ExecC2C(forward, in place)", cufftExecC2C(p, d, d, CUFFT_FORWARD));
  auto got = to_host(reinterpret_cast<float*>(d), in.size());
  auto ref = dft(std::vector<double>(in.begin(), in.end()), n, batch);
  double e = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    e = std::max(e, std::abs(std::complex<double>(got[2 * i], got[2 * i + 1]) - ref[i]));
  verdict_line("C2C 1d 64x2 vs DFT", got.data(), got.size() * sizeof(float), e, 1e-4 * n);
  CUFFT("Destroy", cufftDestroy(p));
  CHECK(cudaFree(d));
  // a destroyed plan: cuFFT's own answer, natively and through GVirtuS
  std::printf("ExecC2C(destroyed plan): %d\n",
              static_cast<int>(cufftExecC2C(p, nullptr, nullptr, CUFFT_FORWARD)));
}

void c2c_nd() {
  cufftHandle p;
  CUFFT("Plan2d(16, 32, C2C)", cufftPlan2d(&p, 16, 32, CUFFT_C2C));
  c2c_round_trip("C2C 2d 16x32", p, 16 * 32, 16 * 32, 2);
  CUFFT("Destroy", cufftDestroy(p));
  CUFFT("Plan3d(8, 8, 8, C2C)", cufftPlan3d(&p, 8, 8, 8, CUFFT_C2C));
  c2c_round_trip("C2C 3d 8x8x8", p, 512, 512, 3);
  CUFFT("Destroy", cufftDestroy(p));
  int n[2] = {16, 16};
  CUFFT("PlanMany(rank 2, 16x16, batch 3)",
        cufftPlanMany(&p, 2, n, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 3));
  c2c_round_trip("C2C many 16x16x3", p, 256 * 3, 256, 4);
  CUFFT("Destroy", cufftDestroy(p));
  // explicit embeds (the same layout, spelled out)
  int emb[2] = {16, 16};
  CUFFT("PlanMany(rank 2, embeds, batch 2)",
        cufftPlanMany(&p, 2, n, emb, 1, 256, emb, 1, 256, CUFFT_C2C, 2));
  c2c_round_trip("C2C many embeds", p, 512, 256, 5);
  CUFFT("Destroy", cufftDestroy(p));
}

void r2c_c2r() {
  const int n = 128, batch = 2, nc = n / 2 + 1;
  cufftHandle f, b;
  CUFFT("Plan1d(128, R2C, 2)", cufftPlan1d(&f, n, CUFFT_R2C, batch));
  CUFFT("Plan1d(128, C2R, 2)", cufftPlan1d(&b, n, CUFFT_C2R, batch));
  auto in = random_vec<float>(static_cast<size_t>(n) * batch, 6);
  float* d = to_device(in);
  cufftComplex* c = nullptr;
  CHECK(cudaMalloc(&c, sizeof(cufftComplex) * nc * batch));
  CUFFT("ExecR2C", cufftExecR2C(f, d, c));
  auto got = to_host(reinterpret_cast<float*>(c), 2 * nc * batch);
  std::vector<double> ri(2 * n * batch, 0.0);
  for (size_t i = 0; i < in.size(); ++i) ri[2 * i] = in[i];
  auto ref = dft(ri, n, batch);
  double e = 0;
  for (int bb = 0; bb < batch; ++bb)
    for (int k = 0; k < nc; ++k) {
      const size_t g = static_cast<size_t>(bb) * nc + k;
      e = std::max(e, std::abs(std::complex<double>(got[2 * g], got[2 * g + 1]) -
                               ref[static_cast<size_t>(bb) * n + k]));
    }
  verdict_line("R2C 1d 128x2 vs DFT", got.data(), got.size() * sizeof(float), e, 1e-4 * n);
  CUFFT("ExecC2R", cufftExecC2R(b, c, d));
  auto back = to_host(d, in.size());
  verdict_line("R2C/C2R round trip", back.data(), back.size() * sizeof(float),
               round_trip_err(in, back, n), 1e-4 * 7);
  CUFFT("Destroy", cufftDestroy(f));
  CUFFT("Destroy", cufftDestroy(b));
  CHECK(cudaFree(d));
  CHECK(cudaFree(c));
}

void double_precision() {
  const int n = 256;
  cufftHandle p;
  CUFFT("Plan1d(256, Z2Z, 1)", cufftPlan1d(&p, n, CUFFT_Z2Z, 1));
  auto in = random_vec<double>(2 * n, 7);
  auto* d = reinterpret_cast<cufftDoubleComplex*>(to_device(in));
  CUFFT("ExecZ2Z(forward)", cufftExecZ2Z(p, d, d, CUFFT_FORWARD));
  auto got = to_host(reinterpret_cast<double*>(d), in.size());
  auto ref = dft(in, n, 1);
  double e = 0;
  for (int i = 0; i < n; ++i)
    e = std::max(e, std::abs(std::complex<double>(got[2 * i], got[2 * i + 1]) - ref[i]));
  verdict_line("Z2Z 1d 256 vs DFT", got.data(), got.size() * sizeof(double), e, 1e-9 * n);
  CUFFT("ExecZ2Z(inverse)", cufftExecZ2Z(p, d, d, CUFFT_INVERSE));
  auto back = to_host(reinterpret_cast<double*>(d), in.size());
  verdict_line("Z2Z round trip", back.data(), back.size() * sizeof(double),
               round_trip_err(in, back, n), 1e-12);
  CUFFT("Destroy", cufftDestroy(p));
  CHECK(cudaFree(d));

  const int nx = 32, ny = 32, nyc = ny / 2 + 1;
  cufftHandle f, b;
  CUFFT("Plan2d(32, 32, D2Z)", cufftPlan2d(&f, nx, ny, CUFFT_D2Z));
  CUFFT("Plan2d(32, 32, Z2D)", cufftPlan2d(&b, nx, ny, CUFFT_Z2D));
  auto rin = random_vec<double>(nx * ny, 8);
  double* dr = to_device(rin);
  cufftDoubleComplex* c = nullptr;
  CHECK(cudaMalloc(&c, sizeof(cufftDoubleComplex) * nx * nyc));
  CUFFT("ExecD2Z", cufftExecD2Z(f, dr, c));
  auto fwd = to_host(reinterpret_cast<double*>(c), 2 * nx * nyc);
  // the DC term is the sum of the input
  double sum = 0;
  for (double v : rin) sum += v;
  verdict_line("D2Z 2d 32x32 DC term", fwd.data(), fwd.size() * sizeof(double),
               std::fabs(fwd[0] - sum) + std::fabs(fwd[1]), 1e-9);
  CUFFT("ExecZ2D", cufftExecZ2D(b, c, dr));
  auto rback = to_host(dr, rin.size());
  verdict_line("D2Z/Z2D round trip", rback.data(), rback.size() * sizeof(double),
               round_trip_err(rin, rback, nx * ny), 1e-12);
  CUFFT("Destroy", cufftDestroy(f));
  CUFFT("Destroy", cufftDestroy(b));
  CHECK(cudaFree(dr));
  CHECK(cudaFree(c));
}

void plan_many64() {
  cufftHandle p;
  CUFFT("Create", cufftCreate(&p));
  long long n[1] = {1000};
  size_t ws[1] = {0};
  CUFFT("GetSizeMany64(1000, C2C, 4)",
        cufftGetSizeMany64(p, 1, n, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 4, ws));
  std::printf("  estimated work size %s\n", ws[0] > 0 ? "nonzero" : "zero");
  CUFFT("MakePlanMany64(1000, C2C, 4)",
        cufftMakePlanMany64(p, 1, n, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 4, ws));
  std::printf("  work size %zu\n", ws[0]);
  c2c_round_trip("C2C many64 1000x4", p, 4000, 1000, 9);
  CUFFT("Destroy", cufftDestroy(p));
}

void xt() {
  cufftHandle p;
  CUFFT("Create", cufftCreate(&p));
  long long n[1] = {512};
  size_t ws[1] = {0};
  CUFFT("XtMakePlanMany(512, C32F)",
        cufftXtMakePlanMany(p, 1, n, nullptr, 1, 0, CUDA_C_32F, nullptr, 1, 0, CUDA_C_32F, 2, ws,
                            CUDA_C_32F));
  std::printf("  work size %zu\n", ws[0]);
  auto in = random_vec<float>(2 * 512 * 2, 10);
  float* d = to_device(in);
  float* o = nullptr;
  CHECK(cudaMalloc(&o, in.size() * sizeof(float)));
  CUFFT("XtExec(forward)", cufftXtExec(p, d, o, CUFFT_FORWARD));
  auto fwd = to_host(o, in.size());
  std::printf("Xt C32F forward fnv %016llx\n",
              static_cast<unsigned long long>(fnv(fwd.data(), fwd.size() * sizeof(float))));
  CUFFT("XtExec(inverse)", cufftXtExec(p, o, o, CUFFT_INVERSE));
  auto back = to_host(o, in.size());
  verdict_line("Xt C32F round trip", back.data(), back.size() * sizeof(float),
               round_trip_err(in, back, 512), 1e-4 * 9);
  CUFFT("Destroy", cufftDestroy(p));
  CHECK(cudaFree(d));
  CHECK(cudaFree(o));

  // half precision (power-of-two sizes only)
  CUFFT("Create", cufftCreate(&p));
  n[0] = 256;
  CUFFT("XtMakePlanMany(256, C16F)",
        cufftXtMakePlanMany(p, 1, n, nullptr, 1, 0, CUDA_C_16F, nullptr, 1, 0, CUDA_C_16F, 1, ws,
                            CUDA_C_16F));
  auto fin = random_vec<float>(2 * 256, 11);
  std::vector<__half> hin(fin.size());
  for (size_t i = 0; i < fin.size(); ++i) {
    hin[i] = __float2half(fin[i]);
    fin[i] = __half2float(hin[i]);  // the input as half holds it
  }
  __half* dh = to_device(hin);
  CUFFT("XtExec(C16F forward)", cufftXtExec(p, dh, dh, CUFFT_FORWARD));
  auto hf = to_host(dh, hin.size());
  std::printf("Xt C16F forward fnv %016llx\n",
              static_cast<unsigned long long>(fnv(hf.data(), hf.size() * sizeof(__half))));
  CUFFT("XtExec(C16F inverse)", cufftXtExec(p, dh, dh, CUFFT_INVERSE));
  auto hb = to_host(dh, hin.size());
  std::vector<float> back16(hb.size());
  for (size_t i = 0; i < hb.size(); ++i) back16[i] = __half2float(hb[i]);
  verdict_line("Xt C16F round trip", hb.data(), hb.size() * sizeof(__half),
               round_trip_err(fin, back16, 256), 2e-2);
  CUFFT("Destroy", cufftDestroy(p));
  CHECK(cudaFree(dh));
}

void work_area_and_stream() {
  cufftHandle p;
  CUFFT("Create", cufftCreate(&p));
  CUFFT("SetAutoAllocation(0)", cufftSetAutoAllocation(p, 0));
  size_t ws[1] = {0};
  CUFFT("MakePlan1d(4096, C2C, 4)", cufftMakePlan1d(p, 4096, CUFFT_C2C, 4, ws));
  size_t got = 0;
  CUFFT("GetSize", cufftGetSize(p, &got));
  std::printf("  work size %zu, GetSize %s\n", ws[0], got == ws[0] ? "agrees" : "differs");
  if (got != ws[0]) g_ok = false;
  void* work = nullptr;
  CHECK(cudaMalloc(&work, ws[0] > 0 ? ws[0] : 1));
  CUFFT("SetWorkArea", cufftSetWorkArea(p, work));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CUFFT("SetStream", cufftSetStream(p, s));
  c2c_round_trip("C2C user work area on a stream", p, 4096 * 4, 4096, 12, s);
  CUFFT("Destroy", cufftDestroy(p));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(work));
}

void big() {
  cufftHandle p;
  size_t est = 0;
  CUFFT("Estimate2d(1024, 1024, C2C)", cufftEstimate2d(1024, 1024, CUFFT_C2C, &est));
  CUFFT("Plan2d(1024, 1024, C2C)", cufftPlan2d(&p, 1024, 1024, CUFFT_C2C));
  c2c_round_trip("C2C 2d 1024x1024", p, 1024 * 1024, 1024.0 * 1024.0, 13);
  CUFFT("Destroy", cufftDestroy(p));
}

}  // namespace

int main() {
  int version = 0;
  CUFFT("GetVersion", cufftGetVersion(&version));
  std::printf("  version %d\n", version);
  c2c_1d_vs_dft();
  c2c_nd();
  r2c_c2r();
  double_precision();
  plan_many64();
  xt();
  work_area_and_stream();
  big();
  return verdict(g_ok);
}
