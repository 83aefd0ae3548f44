// __managed__ variables: host code and kernels use one variable. The initialiser is visible on
// the host before any kernel ran, host writes reach the next launch, kernel writes are visible
// after a synchronisation, and a pointer to the variable works on both sides.
#include <cstdio>

#include "check.h"

__managed__ int counter = 5;
__managed__ float table[1000];
__managed__ unsigned long long total = 0;

__global__ void bump(int times) {
  if (threadIdx.x < times) atomicAdd(&counter, 1);
}

__global__ void scale_table(float k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 1000) table[i] *= k;
}

__global__ void add_through(int* p, int v) { *p += v; }

__global__ void sum_table() {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 1000) atomicAdd(&total, static_cast<unsigned long long>(table[i]));
}

int main() {
  bool ok = true;
  std::printf("initial counter %d\n", counter);
  ok = ok && counter == 5;

  counter = 7;  // host write before a launch
  bump<<<1, 32>>>(32);
  CHECK(cudaDeviceSynchronize());
  std::printf("counter after bump %d\n", counter);
  ok = ok && counter == 39;

  for (int i = 0; i < 1000; ++i) table[i] = static_cast<float>(i);
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  scale_table<<<4, 256, 0, s>>>(2.0f);
  CHECK(cudaStreamSynchronize(s));
  std::printf("table[0] %.1f table[999] %.1f\n", table[0], table[999]);
  ok = ok && table[999] == 1998.0f;

  table[10] = 1.0f;  // one host change, then a kernel that reads every element
  total = 0;
  sum_table<<<4, 256, 0, s>>>();
  CHECK(cudaStreamSynchronize(s));
  std::printf("total %llu\n", total);
  ok = ok && total == 999ull * 1000 - 20 + 1;

  // A pointer to the variable, taken on the host, passed to a kernel.
  add_through<<<1, 1>>>(&counter, 100);
  CHECK(cudaDeviceSynchronize());
  std::printf("counter through a pointer %d\n", counter);
  ok = ok && counter == 139;

  CHECK(cudaStreamDestroy(s));
  return verdict(ok);
}
