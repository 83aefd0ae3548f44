// Several host threads at once, each with its own stream, memory and kernels; a thread's last
// error is its own.
#include <pthread.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "check.h"

__global__ void fill(int* v, int n, int value) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) v[i] = value + i;
}

static pthread_barrier_t barrier;

static void worker(int id, std::string* out) {
  char line[256];
  CHECK(cudaSetDevice(0));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const int n = 1 << 18;
  int* d;
  CHECK(cudaMalloc(&d, n * sizeof(int)));
  std::vector<int> h(n);
  bool ok = true;
  for (int round = 0; round < 20; ++round) {
    fill<<<n / 256, 256, 0, s>>>(d, n, id * 1000000 + round);
    CHECK(cudaMemcpyAsync(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    for (int i = 0; i < n; i += 997) ok = ok && h[i] == id * 1000000 + round + i;
  }
  std::snprintf(line, sizeof(line), "thread %d: 20 rounds %s\n", id, ok ? "ok" : "WRONG");
  *out += line;

  // Thread 1 makes a bad launch; the others must not see its error.
  pthread_barrier_wait(&barrier);
  if (id == 1) fill<<<1, 4096, 0, s>>>(d, n, 0);
  pthread_barrier_wait(&barrier);
  std::snprintf(line, sizeof(line), "thread %d: last error %s\n", id, cudaGetErrorName(cudaGetLastError()));
  *out += line;
  int dev = -1;
  CHECK(cudaGetDevice(&dev));
  std::snprintf(line, sizeof(line), "thread %d: device %d\n", id, dev);
  *out += line;
  CHECK(cudaFree(d));
  CHECK(cudaStreamDestroy(s));
}

int main() {
  const int kThreads = 4;
  pthread_barrier_init(&barrier, nullptr, kThreads);
  std::vector<std::string> out(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i, &out[i]);
  for (auto& t : threads) t.join();
  for (const auto& o : out) std::printf("%s", o.c_str());
  REPORT(cudaDeviceSynchronize());
  return 0;
}
