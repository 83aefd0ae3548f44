// Page-locked host memory as the copies' own buffers (over shm: shared with the worker, one DMA
// per copy; docs/zero-copy.md): async copies on one stream beside a long kernel on another,
// offsets inside a block, 2D copies, every cudaHostAlloc flavour, cudaHostRegister'd memory
// and large pageable copies (the staged pipeline), mapped pointers, and blocks freed and
// allocated again. Results only (checksums, no timings), so native and remote runs compare.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"

// Runs for about `ns` nanoseconds of GPU time, then sets *flag.
__global__ void busy(unsigned long long ns, int* flag) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
  *flag = 1;
}

__global__ void scale(float* v, size_t n, float k) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x)
    v[i] *= k;
}

__global__ void write_index(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = i * 3 + 1;
}

static void fill(float* v, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 2654435761u + seed) % 4093) * 0.25f;
}

static bool scaled(const float* got, const float* src, size_t n, float k) {
  for (size_t i = 0; i < n; ++i)
    if (got[i] != src[i] * k) {
      std::printf("mismatch at %zu\n", i);
      return false;
    }
  return true;
}

// Up, scale on the device, down: on stream s (async API) or synchronously.
static bool round_trip(const char* what, float* src, float* dst, float* dev, size_t n,
                       cudaStream_t s, bool async) {
  const size_t bytes = n * sizeof(float);
  std::memset(dst, 0, bytes);
  if (async) {
    CHECK(cudaMemcpyAsync(dev, src, bytes, cudaMemcpyHostToDevice, s));
    scale<<<256, 256, 0, s>>>(dev, n, 3.0f);
    CHECK(cudaMemcpyAsync(dst, dev, bytes, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
  } else {
    CHECK(cudaMemcpy(dev, src, bytes, cudaMemcpyHostToDevice));
    scale<<<256, 256>>>(dev, n, 3.0f);
    CHECK(cudaMemcpy(dst, dev, bytes, cudaMemcpyDeviceToHost));
  }
  bool ok = scaled(dst, src, n, 3.0f);
  std::printf("%s %s: %s %016llx\n", what, async ? "async" : "sync", ok ? "ok" : "WRONG",
              static_cast<unsigned long long>(fnv(dst, bytes)));
  return ok;
}

int main() {
  const size_t n = 16u << 20;  // 64 MiB of floats: many staging slots, one shared block
  const size_t bytes = n * sizeof(float);
  bool ok = true;
  float* dev;
  CHECK(cudaMalloc(&dev, bytes));
  int* flag;
  CHECK(cudaMalloc(&flag, sizeof(int)));
  cudaStream_t ks, cs;
  CHECK(cudaStreamCreateWithFlags(&ks, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking));

  // cudaMallocHost: async copies beside a 200 ms kernel on another stream. The copy stream's
  // results must be right whether or not the copies overlapped the kernel.
  float *a = nullptr, *b = nullptr;
  CHECK(cudaMallocHost(&a, bytes));
  CHECK(cudaMallocHost(&b, bytes));
  fill(a, n, 1);
  CHECK(cudaMemsetAsync(flag, 0, sizeof(int), ks));
  busy<<<1, 1, 0, ks>>>(200000000ull, flag);
  ok &= round_trip("cudaMallocHost beside a kernel", a, b, dev, n, cs, true);
  CHECK(cudaStreamSynchronize(ks));
  int f = 0;
  CHECK(cudaMemcpy(&f, flag, sizeof f, cudaMemcpyDeviceToHost));
  std::printf("kernel done: %d\n", f);
  ok &= f == 1;
  ok &= round_trip("cudaMallocHost", a, b, dev, n, cs, false);

  // A device-to-host async copy lands in the buffer by the event that follows it.
  {
    cudaEvent_t ev;
    CHECK(cudaEventCreate(&ev));
    CHECK(cudaMemsetAsync(dev, 0x41, bytes, cs));
    CHECK(cudaMemcpyAsync(b, dev, bytes, cudaMemcpyDeviceToHost, cs));
    CHECK(cudaEventRecord(ev, cs));
    CHECK(cudaEventSynchronize(ev));
    bool good = true;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(b);
    for (size_t i = 0; i < bytes; ++i) good &= p[i] == 0x41;
    std::printf("async d2h by event: %s\n", good ? "ok" : "WRONG");
    ok &= good;
    CHECK(cudaEventDestroy(ev));
  }

  // Ranges inside a block, at odd offsets, and a 2D copy with pitches on both sides.
  {
    const size_t off = 1001, cnt = 123457;
    CHECK(cudaMemcpyAsync(dev + 7, a + off, cnt * sizeof(float), cudaMemcpyHostToDevice, cs));
    std::memset(b, 0, bytes);
    CHECK(cudaMemcpyAsync(b + off + 3, dev + 7, cnt * sizeof(float), cudaMemcpyDeviceToHost, cs));
    CHECK(cudaStreamSynchronize(cs));
    bool good = std::memcmp(b + off + 3, a + off, cnt * sizeof(float)) == 0 && b[off + 2] == 0.0f &&
                b[off + 3 + cnt] == 0.0f;
    std::printf("offsets: %s\n", good ? "ok" : "WRONG");
    ok &= good;

    const size_t w = 1000 * sizeof(float), h = 777, hpitch = 1200 * sizeof(float);
    float* d2;
    size_t dpitch = 0;
    CHECK(cudaMallocPitch(&d2, &dpitch, w, h));
    CHECK(cudaMemcpy2DAsync(d2, dpitch, a, hpitch, w, h, cudaMemcpyHostToDevice, cs));
    std::memset(b, 0, bytes);
    CHECK(cudaMemcpy2DAsync(b, hpitch, d2, dpitch, w, h, cudaMemcpyDeviceToHost, cs));
    CHECK(cudaStreamSynchronize(cs));
    good = true;
    for (size_t r = 0; r < h; ++r)
      good &= std::memcmp(b + r * 1200, a + r * 1200, w) == 0 && b[r * 1200 + 1000] == 0.0f;
    std::printf("2D: %s\n", good ? "ok" : "WRONG");
    ok &= good;
    CHECK(cudaFree(d2));
  }

  // Every cudaHostAlloc flavour that is ordinary page-locked memory (4 MiB: write-combined
  // memory is slow for the host to read back).
  const unsigned flavours[] = {cudaHostAllocDefault, cudaHostAllocPortable,
                               cudaHostAllocWriteCombined};
  for (unsigned fl : flavours) {
    const size_t k = 1u << 20;
    float* h = nullptr;
    CHECK(cudaHostAlloc(&h, k * sizeof(float), fl));
    fill(h, k, fl + 5);
    std::printf("cudaHostAlloc flags %u\n", fl);
    ok &= round_trip("  cudaHostAlloc", h, b, dev, k, cs, true);
    ok &= round_trip("  cudaHostAlloc", h, b, dev, k, cs, false);
    CHECK(cudaFreeHost(h));
  }

  // cudaHostRegister'd memory and plain pageable memory (the staged pipeline), both ways.
  {
    std::vector<float> src(n), dst(n);
    fill(src.data(), n, 9);
    CHECK(cudaHostRegister(src.data(), bytes, cudaHostRegisterDefault));
    CHECK(cudaHostRegister(dst.data(), bytes, cudaHostRegisterDefault));
    ok &= round_trip("cudaHostRegister", src.data(), dst.data(), dev, n, cs, true);
    ok &= round_trip("cudaHostRegister", src.data(), dst.data(), dev, n, cs, false);
    CHECK(cudaHostUnregister(src.data()));
    CHECK(cudaHostUnregister(dst.data()));
    ok &= round_trip("pageable", src.data(), dst.data(), dev, n, cs, true);
    ok &= round_trip("pageable", src.data(), dst.data(), dev, n, cs, false);
    // Pinned to pageable and back.
    ok &= round_trip("pinned to pageable", a, dst.data(), dev, n, cs, true);
    ok &= round_trip("pageable to pinned", src.data(), b, dev, n, cs, false);
    // Odd sizes: not a whole slot, not a whole page.
    const size_t odd = 3 * 1048576 + 12345;
    ok &= round_trip("pageable odd size", src.data() + 1, dst.data() + 3, dev, odd, cs, false);
  }

  // Mapped pointers: cudaHostAllocMapped, and cudaHostGetDevicePointer of cudaMallocHost memory.
  {
    const int m = 1 << 16;
    int* hm = nullptr;
    int* dm = nullptr;
    CHECK(cudaHostAlloc(&hm, m * sizeof(int), cudaHostAllocMapped));
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dm), hm, 0));
    write_index<<<(m + 255) / 256, 256>>>(dm, m);
    CHECK(cudaDeviceSynchronize());
    bool good = true;
    for (int i = 0; i < m; ++i) good &= hm[i] == i * 3 + 1;
    std::printf("cudaHostAllocMapped: %s\n", good ? "ok" : "WRONG");
    ok &= good;
    CHECK(cudaFreeHost(hm));

    int* hp = nullptr;
    CHECK(cudaMallocHost(&hp, m * sizeof(int)));
    std::memset(hp, 0, m * sizeof(int));
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dm), hp, 0));
    write_index<<<(m + 255) / 256, 256>>>(dm, m);
    CHECK(cudaDeviceSynchronize());
    good = true;
    for (int i = 0; i < m; ++i) good &= hp[i] == i * 3 + 1;
    std::printf("cudaMallocHost mapped: %s\n", good ? "ok" : "WRONG");
    ok &= good;
    CHECK(cudaFreeHost(hp));
  }

  // Blocks freed and allocated again: every new block carries its own data.
  for (int i = 0; i < 16; ++i) {
    const size_t k = (1u << 20) + i * 4096;
    float *x = nullptr, *y = nullptr;
    CHECK(cudaMallocHost(&x, k * sizeof(float)));
    CHECK(cudaMallocHost(&y, k * sizeof(float)));
    fill(x, k, 100 + i);
    bool good = round_trip("realloc", x, y, dev, k, cs, (i & 1) != 0);
    ok &= good;
    CHECK(cudaFreeHost(x));
    CHECK(cudaFreeHost(y));
  }

  CHECK(cudaFreeHost(a));
  CHECK(cudaFreeHost(b));
  CHECK(cudaStreamDestroy(ks));
  CHECK(cudaStreamDestroy(cs));
  CHECK(cudaFree(dev));
  CHECK(cudaFree(flag));
  return verdict(ok);
}
