// Streams with flags and priorities, events with flags, recording, queries, synchronisation,
// elapsed time, and cudaStreamWaitEvent ordering work across streams.
#include <vector>

#include "check.h"

// Spins for about `cycles` clock cycles, then writes v[i] = i + 1.
__global__ void slow_fill(int* v, int n, long long cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {
  }
  for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = i + 1;
}

__global__ void twice(const int* in, int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * 2;
}

int main() {
  int lo = 0, hi = 0;
  REPORT(cudaDeviceGetStreamPriorityRange(&lo, &hi));
  std::printf("priority range %d %d\n", lo, hi);
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  const long long quarter_second = static_cast<long long>(clock_khz) * 250;

  cudaStream_t plain, nonblocking, high, low_nb;
  CHECK(cudaStreamCreate(&plain));
  CHECK(cudaStreamCreateWithFlags(&nonblocking, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithPriority(&high, cudaStreamDefault, hi));
  CHECK(cudaStreamCreateWithPriority(&low_nb, cudaStreamNonBlocking, lo));
  cudaStream_t all[] = {plain, nonblocking, high, low_nb};
  for (cudaStream_t s : all) {
    unsigned flags = 99;
    int prio = 99;
    REPORT(cudaStreamGetFlags(s, &flags));
    REPORT(cudaStreamGetPriority(s, &prio));
    std::printf("stream flags %u priority %d\n", flags, prio);
  }

  const int n = 1 << 16;
  int *a, *b;
  CHECK(cudaMalloc(&a, n * sizeof(int)));
  CHECK(cudaMalloc(&b, n * sizeof(int)));
  CHECK(cudaMemset(a, 0, n * sizeof(int)));
  CHECK(cudaDeviceSynchronize());

  cudaEvent_t filled, start, stop, untimed, never;
  CHECK(cudaEventCreate(&filled));
  CHECK(cudaEventCreateWithFlags(&start, cudaEventDefault));
  CHECK(cudaEventCreateWithFlags(&stop, cudaEventBlockingSync));
  CHECK(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming));
  CHECK(cudaEventCreate(&never));
  REPORT(cudaEventQuery(never));  // never recorded: complete

  // nonblocking waits for the slow fill on plain before doubling.
  CHECK(cudaEventRecord(start, plain));
  slow_fill<<<1, 256, 0, plain>>>(a, n, quarter_second);
  CHECK(cudaEventRecord(filled, plain));
  CHECK(cudaEventRecord(stop, plain));
  REPORT(cudaStreamQuery(plain));   // still spinning
  REPORT(cudaEventQuery(filled));
  REPORT(cudaStreamWaitEvent(nonblocking, filled, 0));
  twice<<<n / 256, 256, 0, nonblocking>>>(a, b, n);
  CHECK(cudaGetLastError());
  REPORT(cudaStreamSynchronize(nonblocking));
  REPORT(cudaEventQuery(filled));
  REPORT(cudaStreamQuery(plain));
  std::vector<int> h(n);
  CHECK(cudaMemcpy(h.data(), b, n * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok = ok && h[i] == 2 * (i + 1);
  std::printf("wait event ordering %s\n", ok ? "ok" : "WRONG");

  REPORT(cudaEventSynchronize(stop));
  float ms = -1;
  REPORT(cudaEventElapsedTime(&ms, start, stop));
  std::printf("elapsed at least 100 ms: %d\n", ms >= 100.0f);
  CHECK(cudaEventRecord(untimed, high));
  REPORT(cudaEventSynchronize(untimed));
  REPORT(cudaEventElapsedTime(&ms, start, untimed));
  REPORT(cudaGetLastError());

  // Work on each stream, the legacy and the per-thread default stream.
  for (cudaStream_t s : all) {
    twice<<<n / 256, 256, 0, s>>>(b, a, n);
    REPORT(cudaStreamSynchronize(s));
  }
  twice<<<n / 256, 256, 0, cudaStreamLegacy>>>(a, b, n);
  REPORT(cudaStreamSynchronize(cudaStreamLegacy));
  twice<<<n / 256, 256, 0, cudaStreamPerThread>>>(b, a, n);
  REPORT(cudaStreamSynchronize(cudaStreamPerThread));
  twice<<<n / 256, 256>>>(a, b, n);
  REPORT(cudaStreamSynchronize(0));
  CHECK(cudaMemcpy(h.data(), b, n * sizeof(int), cudaMemcpyDeviceToHost));
  ok = true;
  for (int i = 0; i < n; ++i) ok = ok && h[i] == (i + 1) * 32;
  std::printf("stream chain %s\n", ok ? "ok" : "WRONG");

  for (cudaStream_t s : all) REPORT(cudaStreamDestroy(s));
  for (cudaEvent_t e : {filled, start, stop, untimed, never}) REPORT(cudaEventDestroy(e));
  REPORT(cudaDeviceSynchronize());
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  return 0;
}
