// Asynchronous copies between the device and page-locked memory (over TCP and unix: delivered
// at synchronisations, docs/async-copies.md): the bytes of a device-to-host cudaMemcpyAsync are
// there after every kind of synchronisation that covers it, a host callback behind the copy on
// its stream sees them, a host-to-device copy of the same buffer behind it on the stream reads
// them, 2D and multi-piece copies land whole, and the calls return before the copy completes
// (a long kernel ahead of them on the stream: only yes/no is printed, which the native run must
// print too).
#include <chrono>
#include <cstring>
#include <vector>

#include "check.h"

__global__ void fill(unsigned* v, size_t n, unsigned k) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    v[i] = static_cast<unsigned>(i) * 2654435761u + k;
}

// Runs for `ns` nanoseconds of the GPU's global timer.
__global__ void spin(unsigned long long ns) {
  unsigned long long start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

static bool holds(const unsigned* h, size_t n, unsigned k) {
  for (size_t i = 0; i < n; ++i)
    if (h[i] != static_cast<unsigned>(i) * 2654435761u + k) return false;
  return true;
}

struct Seen {
  const unsigned* host;
  size_t n;
  unsigned k;
  int ok = -1;
};
static void CUDART_CB check_in_callback(void* p) {
  auto* s = static_cast<Seen*>(p);
  s->ok = holds(s->host, s->n, s->k) ? 1 : 0;
}
static void CUDART_CB check_in_stream_callback(cudaStream_t, cudaError_t status, void* p) {
  auto* s = static_cast<Seen*>(p);
  s->ok = status == cudaSuccess && holds(s->host, s->n, s->k) ? 1 : 0;
}

static double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int main() {
  const size_t n = 1u << 20;  // 4 MiB of unsigned
  const size_t bytes = n * sizeof(unsigned);
  unsigned *dev, *dev2, *host, *back;
  CHECK(cudaMalloc(&dev, bytes));
  CHECK(cudaMalloc(&dev2, bytes));
  CHECK(cudaMallocHost(&host, bytes));
  CHECK(cudaHostAlloc(&back, bytes, cudaHostAllocDefault));
  cudaStream_t s, other, blocking;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking));
  CHECK(cudaStreamCreate(&blocking));
  cudaEvent_t ev;
  CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));

  // Every kind of synchronisation, each after a fresh fill and copy.
  const char* kinds[] = {"cudaStreamSynchronize", "cudaEventSynchronize", "cudaDeviceSynchronize",
                         "cudaStreamQuery until done", "cudaEventQuery until done",
                         "cudaStreamWaitEvent + another stream's synchronisation",
                         "a synchronous cudaMemcpy (blocking stream)"};
  for (unsigned k = 0; k < 7; ++k) {
    cudaStream_t on = k == 6 ? blocking : s;
    std::memset(host, 0, bytes);
    fill<<<128, 256, 0, on>>>(dev, n, k + 1);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, on));
    switch (k) {
      case 0:
        CHECK(cudaStreamSynchronize(on));
        break;
      case 1:
        CHECK(cudaEventRecord(ev, on));
        CHECK(cudaEventSynchronize(ev));
        break;
      case 2:
        CHECK(cudaDeviceSynchronize());
        break;
      case 3: {
        cudaError_t q;
        while ((q = cudaStreamQuery(on)) == cudaErrorNotReady) {
        }
        CHECK(q);
        break;
      }
      case 4: {
        CHECK(cudaEventRecord(ev, on));
        cudaError_t q;
        while ((q = cudaEventQuery(ev)) == cudaErrorNotReady) {
        }
        CHECK(q);
        break;
      }
      case 5:
        CHECK(cudaEventRecord(ev, on));
        CHECK(cudaStreamWaitEvent(other, ev, 0));
        CHECK(cudaStreamSynchronize(other));
        break;
      case 6: {
        unsigned word = 0;
        CHECK(cudaMemcpy(&word, dev2, sizeof word, cudaMemcpyDeviceToHost));
        break;
      }
    }
    std::printf("after %s: %s\n", kinds[k], holds(host, n, k + 1) ? "ok" : "WRONG");
  }

  // A host callback behind the copy on its stream sees the bytes (both callback forms).
  for (int form = 0; form < 2; ++form) {
    std::memset(host, 0, bytes);
    Seen seen{host, n, 20u + form};
    fill<<<128, 256, 0, s>>>(dev, n, seen.k);
    CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s));
    if (form == 0)
      CHECK(cudaLaunchHostFunc(s, check_in_callback, &seen));
    else
      CHECK(cudaStreamAddCallback(s, check_in_stream_callback, &seen, 0));
    CHECK(cudaStreamSynchronize(s));
    std::printf("%s behind the copy saw the bytes: %s\n",
                form == 0 ? "cudaLaunchHostFunc" : "cudaStreamAddCallback",
                seen.ok == 1 ? "yes" : "no");
  }

  // Device -> host, then host -> device from the same buffer on the same stream: the second
  // copy reads what the first delivered.
  std::memset(host, 0, bytes);
  CHECK(cudaMemset(dev2, 0, bytes));
  fill<<<128, 256, 0, s>>>(dev, n, 31);
  CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s));
  CHECK(cudaMemcpyAsync(dev2, host, bytes, cudaMemcpyHostToDevice, s));
  CHECK(cudaMemcpyAsync(back, dev2, bytes, cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("host-to-device of a just-delivered buffer: %s\n", holds(back, n, 31) ? "ok" : "WRONG");

  // 2D: 300 rows of 1000 bytes, device rows 1024 apart, host rows 1200 apart.
  {
    const size_t w = 1000, h = 300, dp = 1024, hp = 1200;
    std::vector<unsigned char> want(hp * h, 0x5A);
    unsigned char* h2;
    CHECK(cudaMallocHost(&h2, hp * h));
    std::memset(h2, 0x5A, hp * h);
    fill<<<128, 256, 0, s>>>(dev, n, 40);
    CHECK(cudaMemcpy2DAsync(h2, hp, dev, dp, w, h, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    std::vector<unsigned> all(n);
    CHECK(cudaMemcpy(all.data(), dev, bytes, cudaMemcpyDeviceToHost));
    const auto* src = reinterpret_cast<const unsigned char*>(all.data());
    for (size_t r = 0; r < h; ++r) std::memcpy(&want[r * hp], src + r * dp, w);
    std::printf("2D device-to-host into page-locked rows: %s\n",
                std::memcmp(want.data(), h2, hp * h) == 0 ? "ok" : "WRONG");
    CHECK(cudaFreeHost(h2));
  }

  // Larger than one staging piece, both ways: 160 MiB through registered memory.
  {
    const size_t big = (160u << 20) / sizeof(unsigned);
    std::vector<unsigned> a(big), b(big, 0);
    for (size_t i = 0; i < big; ++i) a[i] = static_cast<unsigned>(i * 40503u) ^ 0xA5A5A5A5u;
    CHECK(cudaHostRegister(a.data(), big * sizeof(unsigned), cudaHostRegisterDefault));
    CHECK(cudaHostRegister(b.data(), big * sizeof(unsigned), cudaHostRegisterDefault));
    unsigned* d;
    CHECK(cudaMalloc(&d, big * sizeof(unsigned)));
    CHECK(cudaMemcpyAsync(d, a.data(), big * sizeof(unsigned), cudaMemcpyHostToDevice, s));
    CHECK(cudaMemcpyAsync(b.data(), d, big * sizeof(unsigned), cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    std::printf("160 MiB round trip through registered memory: %s\n",
                a == b ? "ok" : "WRONG");
    CHECK(cudaHostUnregister(a.data()));
    CHECK(cudaHostUnregister(b.data()));
    CHECK(cudaFree(d));
  }

  // The calls return before the copy completes: a 1.5 s kernel ahead of each on the stream.
  // (Warmed up first: the same sizes were copied above.)
  const unsigned long long kSpinNs = 1500000000ull;
  for (int dir = 0; dir < 2; ++dir) {
    spin<<<1, 1, 0, s>>>(kSpinNs);
    CHECK(cudaGetLastError());
    auto t0 = std::chrono::steady_clock::now();
    if (dir == 0)
      CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s));
    else
      CHECK(cudaMemcpyAsync(dev2, back, bytes, cudaMemcpyHostToDevice, s));
    const double call_ms = ms_since(t0);
    CHECK(cudaStreamSynchronize(s));
    const double total_ms = ms_since(t0);
    // The call took less than a third of the kernel; the synchronisation waited for it.
    const bool early = call_ms < kSpinNs / 3e6 && total_ms > kSpinNs / 2e6;
    std::printf("%s cudaMemcpyAsync with page-locked memory returned before the copy completed: "
                "%s\n",
                dir == 0 ? "device-to-host" : "host-to-device", early ? "yes" : "no");
    if (!early)
      std::fprintf(stderr, "call %.1f ms, until synchronised %.1f ms\n", call_ms, total_ms);
  }
  std::printf("device-to-host after the long kernel: %s\n", holds(host, n, 40) ? "ok" : "WRONG");

  CHECK(cudaEventDestroy(ev));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaStreamDestroy(other));
  CHECK(cudaStreamDestroy(blocking));
  CHECK(cudaFreeHost(host));
  CHECK(cudaFreeHost(back));
  CHECK(cudaFree(dev));
  CHECK(cudaFree(dev2));
  return 0;
}
