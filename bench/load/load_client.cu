// One client of the load test (bench/load/load_test.py): THREADS threads, each making a random
// mix of CUDA calls for SECONDS, checking every result.
//
//   gvirtus-load-client gpu|cpu THREADS SECONDS [SEED]
//
// gpu: per thread a stream, device buffers and pinned host memory; the mix is small queries,
//      malloc/free, copies (sync and async, checked byte for byte), kernel launches (checked),
//      events, cuBLAS SGEMM (checked against the host), cuFFT forward+inverse (checked) and
//      cuRAND uniform numbers (checked to lie in (0, 1]).
// cpu: calls that mean something on a backend without a GPU: cudaDriverGetVersion,
//      cudaGetDeviceCount, cudaMalloc and cublasCreate must each give, every time, the answer
//      they gave the first time (a backend without a GPU refuses alike every time).
//
// Prints "progress CALLS ERRORS" about every second and "done CALLS ERRORS" at the end, on stdout,
// line-buffered (the driver keeps the last figure of a client it kills). The first errors go to
// stderr. Exit status 0 when there was no error, 1 otherwise, 2 on bad arguments.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <curand.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

std::atomic<unsigned long long> g_calls{0};
std::atomic<unsigned long long> g_errors{0};

void fail(const char* fmt, ...) {
  // Only the first few: a broken session would otherwise flood the driver's log.
  if (g_errors.fetch_add(1) >= 5) return;
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "load-client %d: ", static_cast<int>(getpid()));
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

// Counts the call; true if it succeeded, else records the error with its name.
bool ok(cudaError_t e, const char* what) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  if (e == cudaSuccess) return true;
  fail("%s: %s", what, cudaGetErrorName(e));
  return false;
}
bool ok_lib(int status, const char* what) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  if (status == 0) return true;
  fail("%s: status %d", what, status);
  return false;
}

__global__ void axpb(const float* x, float* y, float a, float b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}

constexpr size_t kBufBytes = 4u << 20;  // per thread: two device buffers and pinned memory
constexpr int kGemm = 64;               // SGEMM size (n x n)
constexpr int kFft = 256;               // FFT length

struct GpuThread {
  std::mt19937 rng;
  cudaStream_t stream = nullptr;
  float *d_x = nullptr, *d_y = nullptr;
  float* pinned = nullptr;
  std::vector<float> host, back;
  cublasHandle_t blas = nullptr;
  cufftHandle fft = 0;
  bool have_fft = false;
  curandGenerator_t gen = nullptr;

  explicit GpuThread(unsigned seed) : rng(seed), host(kBufBytes / 4), back(kBufBytes / 4) {}

  bool setup() {
    return ok(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate") &&
           ok(cudaMalloc(&d_x, kBufBytes), "cudaMalloc") &&
           ok(cudaMalloc(&d_y, kBufBytes), "cudaMalloc") &&
           ok(cudaMallocHost(&pinned, kBufBytes), "cudaMallocHost") &&
           ok_lib(cublasCreate(&blas), "cublasCreate") &&
           ok_lib(cublasSetStream(blas, stream), "cublasSetStream") &&
           (have_fft = ok_lib(cufftPlan1d(&fft, kFft, CUFFT_C2C, 1), "cufftPlan1d")) &&
           ok_lib(cufftSetStream(fft, stream), "cufftSetStream") &&
           ok_lib(curandCreateGenerator(&gen, CURAND_RNG_PSEUDO_DEFAULT), "curandCreateGenerator") &&
           ok_lib(curandSetStream(gen, stream), "curandSetStream") &&
           ok_lib(curandSetPseudoRandomGeneratorSeed(gen, rng()), "curandSetSeed");
  }

  void teardown() {
    if (gen) ok_lib(curandDestroyGenerator(gen), "curandDestroyGenerator");
    if (have_fft) ok_lib(cufftDestroy(fft), "cufftDestroy");
    if (blas) ok_lib(cublasDestroy(blas), "cublasDestroy");
    if (pinned) ok(cudaFreeHost(pinned), "cudaFreeHost");
    if (d_y) ok(cudaFree(d_y), "cudaFree");
    if (d_x) ok(cudaFree(d_x), "cudaFree");
    if (stream) ok(cudaStreamDestroy(stream), "cudaStreamDestroy");
  }

  // A count of floats from 1 to kBufBytes/4 - 1, evenly spread over the powers of two.
  size_t random_count() {
    static_assert(kBufBytes / 4 == size_t(1) << 20, "2^20 floats per buffer");
    size_t n = size_t(1) << (rng() % 20);  // 1 .. 2^19
    return n + rng() % n;                  // < 2^20
  }

  void queries() {
    int dev = -1, v = 0;
    size_t free_b = 0, total_b = 0;
    ok(cudaGetDevice(&dev), "cudaGetDevice");
    ok(cudaDriverGetVersion(&v), "cudaDriverGetVersion");
    ok(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    if (free_b > total_b) fail("cudaMemGetInfo: free %zu > total %zu", free_b, total_b);
    cudaError_t e = cudaStreamQuery(stream);
    g_calls.fetch_add(1, std::memory_order_relaxed);
    if (e != cudaSuccess && e != cudaErrorNotReady) fail("cudaStreamQuery: %s", cudaGetErrorName(e));
  }

  void malloc_free() {
    void* p = nullptr;
    size_t bytes = 1 + rng() % (2u << 20);
    if (!ok(cudaMalloc(&p, bytes), "cudaMalloc (cycle)")) return;
    ok(cudaMemsetAsync(p, 0x5a, bytes, stream), "cudaMemsetAsync");
    unsigned char c = 0;
    ok(cudaMemcpyAsync(&c, static_cast<char*>(p) + bytes - 1, 1, cudaMemcpyDeviceToHost, stream),
       "cudaMemcpyAsync (byte)");
    ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    if (c != 0x5a) fail("memset byte reads back %#x", c);
    ok(cudaFree(p), "cudaFree (cycle)");
  }

  void copies_sync() {
    size_t n = random_count();
    float base = static_cast<float>(rng() % 1000);
    for (size_t i = 0; i < n; ++i) host[i] = base + static_cast<float>(i % 4096);
    if (!ok(cudaMemcpy(d_x, host.data(), n * 4, cudaMemcpyHostToDevice), "cudaMemcpy H2D")) return;
    if (!ok(cudaMemcpy(back.data(), d_x, n * 4, cudaMemcpyDeviceToHost), "cudaMemcpy D2H")) return;
    if (std::memcmp(host.data(), back.data(), n * 4) != 0) fail("sync copy of %zu floats differs", n);
  }

  void copies_async() {
    size_t n = random_count();
    unsigned char seed = static_cast<unsigned char>(rng());
    auto* bytes = reinterpret_cast<unsigned char*>(pinned);
    for (size_t i = 0; i < n * 4; ++i) bytes[i] = static_cast<unsigned char>(seed + i * 7);
    ok(cudaMemcpyAsync(d_y, pinned, n * 4, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync H2D");
    std::memset(back.data(), 0, n * 4);
    ok(cudaMemcpyAsync(back.data(), d_y, n * 4, cudaMemcpyDeviceToHost, stream),
       "cudaMemcpyAsync D2H");
    if (!ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) return;
    auto* got = reinterpret_cast<unsigned char*>(back.data());
    for (size_t i = 0; i < n * 4; ++i)
      if (got[i] != static_cast<unsigned char>(seed + i * 7)) {
        fail("async copy of %zu bytes differs at byte %zu", n * 4, i);
        return;
      }
  }

  void launch() {
    int n = static_cast<int>(random_count());
    float a = static_cast<float>(rng() % 7 + 1), b = static_cast<float>(rng() % 5);
    for (int i = 0; i < n; ++i) host[i] = static_cast<float>(i % 1024);
    ok(cudaMemcpyAsync(d_x, host.data(), size_t(n) * 4, cudaMemcpyHostToDevice, stream),
       "cudaMemcpyAsync H2D");
    axpb<<<(n + 255) / 256, 256, 0, stream>>>(d_x, d_y, a, b, n);
    ok(cudaGetLastError(), "launch");
    cudaEvent_t ev;
    if (ok(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreate")) {
      ok(cudaEventRecord(ev, stream), "cudaEventRecord");
      ok(cudaEventSynchronize(ev), "cudaEventSynchronize");
      ok(cudaEventDestroy(ev), "cudaEventDestroy");
    }
    if (!ok(cudaMemcpyAsync(back.data(), d_y, size_t(n) * 4, cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync D2H") ||
        !ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize"))
      return;
    for (int i = 0; i < n; ++i)
      if (back[i] != a * static_cast<float>(i % 1024) + b) {
        fail("kernel result %d of %d: %g, expected %g", i, n, back[i],
             a * static_cast<float>(i % 1024) + b);
        return;
      }
  }

  void gemm() {
    const int n = kGemm;
    // Small integers: every product and sum is exact in float.
    std::vector<float> A(n * n), B(n * n), C(n * n), ref(n * n, 0.f);
    for (auto& v : A) v = static_cast<float>(rng() % 5);
    for (auto& v : B) v = static_cast<float>(rng() % 5);
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k)
        for (int i = 0; i < n; ++i) ref[j * n + i] += A[k * n + i] * B[j * n + k];
    float* dA = d_x;
    float* dB = d_x + n * n;
    float* dC = d_y;
    const float one = 1.f, zero = 0.f;
    ok_lib(cublasSetMatrixAsync(n, n, 4, A.data(), n, dA, n, stream), "cublasSetMatrixAsync");
    ok_lib(cublasSetMatrixAsync(n, n, 4, B.data(), n, dB, n, stream), "cublasSetMatrixAsync");
    ok_lib(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, dA, n, dB, n, &zero, dC, n),
           "cublasSgemm");
    ok_lib(cublasGetMatrixAsync(n, n, 4, dC, n, C.data(), n, stream), "cublasGetMatrixAsync");
    if (!ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) return;
    for (int i = 0; i < n * n; ++i)
      if (C[i] != ref[i]) {
        fail("SGEMM element %d: %g, expected %g", i, C[i], ref[i]);
        return;
      }
  }

  void fft_roundtrip() {
    if (!have_fft) return;
    std::vector<float2> in(kFft), out(kFft);
    for (auto& v : in) v = make_float2(static_cast<float>(rng() % 9), static_cast<float>(rng() % 9));
    auto* d = reinterpret_cast<cufftComplex*>(d_x);
    ok(cudaMemcpyAsync(d, in.data(), kFft * sizeof(float2), cudaMemcpyHostToDevice, stream),
       "cudaMemcpyAsync H2D");
    ok_lib(cufftExecC2C(fft, d, d, CUFFT_FORWARD), "cufftExecC2C forward");
    ok_lib(cufftExecC2C(fft, d, d, CUFFT_INVERSE), "cufftExecC2C inverse");
    ok(cudaMemcpyAsync(out.data(), d, kFft * sizeof(float2), cudaMemcpyDeviceToHost, stream),
       "cudaMemcpyAsync D2H");
    if (!ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) return;
    for (int i = 0; i < kFft; ++i) {
      float re = out[i].x / kFft, im = out[i].y / kFft;
      if (std::fabs(re - in[i].x) > 1e-3f || std::fabs(im - in[i].y) > 1e-3f) {
        fail("FFT round trip element %d: (%g, %g), expected (%g, %g)", i, re, im, in[i].x, in[i].y);
        return;
      }
    }
  }

  void random_numbers() {
    const size_t n = 4096;
    if (!ok_lib(curandGenerateUniform(gen, d_y, n), "curandGenerateUniform")) return;
    if (!ok(cudaMemcpyAsync(back.data(), d_y, n * 4, cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync D2H") ||
        !ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize"))
      return;
    for (size_t i = 0; i < n; ++i)
      if (!(back[i] > 0.f && back[i] <= 1.f)) {
        fail("curand uniform value %zu is %g", i, back[i]);
        return;
      }
  }

  void step() {
    switch (rng() % 8) {
      case 0: queries(); break;
      case 1: malloc_free(); break;
      case 2: copies_sync(); break;
      case 3: copies_async(); break;
      case 4: launch(); break;
      case 5: gemm(); break;
      case 6: fft_roundtrip(); break;
      default: random_numbers(); break;
    }
  }
};

// Without a GPU: every call must answer what it answered first.
struct CpuThread {
  std::mt19937 rng;
  explicit CpuThread(unsigned seed) : rng(seed) {}
  struct Expect {
    bool set = false;
    int status = 0, value = 0;
  };
  Expect e_ver, e_count, e_malloc, e_blas;

  void check(Expect& e, int status, int value, const char* what) {
    g_calls.fetch_add(1, std::memory_order_relaxed);
    if (!e.set) {
      e = {true, status, value};
      return;
    }
    if (status != e.status || value != e.value)
      fail("%s: status %d value %d, first time status %d value %d", what, status, value, e.status,
           e.value);
  }

  void step() {
    switch (rng() % 4) {
      case 0: {
        int v = -1;
        int s = cudaDriverGetVersion(&v);
        check(e_ver, s, v, "cudaDriverGetVersion");
        break;
      }
      case 1: {
        int n = -1;
        int s = cudaGetDeviceCount(&n);
        check(e_count, s, s == cudaSuccess ? n : 0, "cudaGetDeviceCount");
        break;
      }
      case 2: {
        void* p = nullptr;
        int s = cudaMalloc(&p, 1 << 20);
        check(e_malloc, s, 0, "cudaMalloc");
        if (s == cudaSuccess) cudaFree(p);
        cudaGetLastError();  // a failed malloc may leave the error behind
        break;
      }
      default: {
        cublasHandle_t h = nullptr;
        int s = cublasCreate(&h);
        check(e_blas, s, 0, "cublasCreate");
        if (s == CUBLAS_STATUS_SUCCESS) cublasDestroy(h);
        break;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 4 || (std::strcmp(argv[1], "gpu") != 0 && std::strcmp(argv[1], "cpu") != 0)) {
    std::fprintf(stderr, "usage: gvirtus-load-client gpu|cpu THREADS SECONDS [SEED]\n");
    return 2;
  }
  const bool gpu = std::strcmp(argv[1], "gpu") == 0;
  const int threads = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const unsigned seed = argc > 4 ? static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10))
                                 : static_cast<unsigned>(getpid());
  if (threads < 1 || threads > 256 || !(seconds > 0)) {
    std::fprintf(stderr, "gvirtus-load-client: THREADS 1-256, SECONDS > 0\n");
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  std::atomic<int> running{threads};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t]() {
      const unsigned s = seed * 131u + static_cast<unsigned>(t);
      if (gpu) {
        GpuThread w(s);
        if (w.setup())
          while (std::chrono::steady_clock::now() < deadline) w.step();
        w.teardown();
      } else {
        CpuThread w(s);
        while (std::chrono::steady_clock::now() < deadline) w.step();
      }
      running.fetch_sub(1);
    });
  }
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    static int ticks = 0;
    if (++ticks % 5 == 0)
      std::printf("progress %llu %llu\n", g_calls.load(), g_errors.load());
  }
  for (auto& t : pool) t.join();
  std::printf("done %llu %llu\n", g_calls.load(), g_errors.load());
  return g_errors.load() == 0 ? 0 : 1;
}
