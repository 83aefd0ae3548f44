// Every device the program sees, used at once: from one thread (cudaSetDevice back and forth, a
// stream and memory on each) and from one thread per device; peer access between every pair
// (queries, enabling, cudaMemcpyPeer/Async, a kernel reading the peer's memory); results
// gathered on device 0. Runs with any number of devices (with one, the peer part is a copy on
// the same device), so the same program checks one GPU machine and several.
#include <cstdio>
#include <thread>
#include <vector>

#include "check.h"

__global__ void fill(int* p, int n, int base) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = base + i;
}

__global__ void add_remote(int* dst, const int* remote, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] += remote[i];
}

int main() {
  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  std::printf("devices: %d\n", count);
  const int n = 1 << 20;
  bool ok = true;

  // One thread, every device in turn.
  std::vector<int*> mem(count);
  std::vector<cudaStream_t> streams(count);
  for (int d = 0; d < count; ++d) {
    CHECK(cudaSetDevice(d));
    CHECK(cudaStreamCreate(&streams[d]));
    CHECK(cudaMalloc(&mem[d], n * sizeof(int)));
    fill<<<n / 256, 256, 0, streams[d]>>>(mem[d], n, 1000 * d);
  }
  for (int d = 0; d < count; ++d) {
    CHECK(cudaSetDevice(d));
    int last = 0, where = -1;
    CHECK(cudaMemcpyAsync(&last, mem[d] + n - 1, sizeof last, cudaMemcpyDeviceToHost, streams[d]));
    CHECK(cudaStreamSynchronize(streams[d]));
    CHECK(cudaGetDevice(&where));
    std::printf("device %d: last %d (current device %d)\n", d, last, where);
    ok = ok && last == 1000 * d + n - 1 && where == d;
  }

  // One thread per device.
  std::vector<long long> sums(count, 0);
  std::vector<std::thread> threads;
  for (int d = 0; d < count; ++d)
    threads.emplace_back([&, d] {
      CHECK(cudaSetDevice(d));
      std::vector<int> h(n);
      fill<<<n / 256, 256, 0, streams[d]>>>(mem[d], n, 7 * d);
      CHECK(cudaMemcpyAsync(h.data(), mem[d], n * sizeof(int), cudaMemcpyDeviceToHost, streams[d]));
      CHECK(cudaStreamSynchronize(streams[d]));
      for (int v : h) sums[d] += v;
    });
  for (auto& t : threads) t.join();
  for (int d = 0; d < count; ++d) {
    long long want = 7LL * d * n + static_cast<long long>(n) * (n - 1) / 2;
    std::printf("thread for device %d: sum %lld\n", d, sums[d]);
    ok = ok && sums[d] == want;
  }

  // Peer access between every pair; data moved to device 0 and added there.
  for (int a = 0; a < count; ++a)
    for (int b = 0; b < count; ++b) {
      if (a == b) continue;
      int can = -1;
      CHECK(cudaDeviceCanAccessPeer(&can, a, b));
      std::printf("peer %d -> %d: %d\n", a, b, can);
      if (can) {
        CHECK(cudaSetDevice(a));
        REPORT(cudaDeviceEnablePeerAccess(b, 0));
        REPORT(cudaDeviceEnablePeerAccess(b, 0));  // twice: already enabled
        (void)cudaGetLastError();
      }
    }
  CHECK(cudaSetDevice(0));
  int* gather = nullptr;
  CHECK(cudaMalloc(&gather, n * sizeof(int)));
  CHECK(cudaMemset(gather, 0, n * sizeof(int)));
  int* staging = nullptr;
  CHECK(cudaMalloc(&staging, n * sizeof(int)));
  for (int d = 0; d < count; ++d) {
    if (d % 2)
      CHECK(cudaMemcpyPeerAsync(staging, 0, mem[d], d, n * sizeof(int), streams[0]));
    else
      CHECK(cudaMemcpyPeer(staging, 0, mem[d], d, n * sizeof(int)));
    add_remote<<<n / 256, 256, 0, streams[0]>>>(gather, staging, n);
    CHECK(cudaStreamSynchronize(streams[0]));
  }
  // A kernel on device 0 reading device 1's memory directly, where peer access allows it.
  int can01 = 0;
  if (count > 1) CHECK(cudaDeviceCanAccessPeer(&can01, 0, 1));
  if (can01) {
    add_remote<<<n / 256, 256, 0, streams[0]>>>(gather, mem[1], n);
    CHECK(cudaStreamSynchronize(streams[0]));
  }
  std::vector<int> h(n);
  CHECK(cudaMemcpy(h.data(), gather, n * sizeof(int), cudaMemcpyDeviceToHost));
  long long total = 0;
  for (int v : h) total += v;
  long long want = 0;
  for (int d = 0; d < count; ++d) want += 7LL * d * n + static_cast<long long>(n) * (n - 1) / 2;
  if (can01) want += 7LL * n + static_cast<long long>(n) * (n - 1) / 2;
  std::printf("gathered on device 0: %lld\n", total);
  ok = ok && total == want;

  for (int d = 0; d < count; ++d) {
    CHECK(cudaSetDevice(d));
    CHECK(cudaFree(mem[d]));
    CHECK(cudaStreamDestroy(streams[d]));
  }
  CHECK(cudaSetDevice(0));
  CHECK(cudaFree(gather));
  CHECK(cudaFree(staging));
  return verdict(ok);
}
