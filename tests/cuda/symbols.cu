// __device__ and __constant__ variables from the host: cudaMemcpyToSymbol / FromSymbol (with
// offsets, async on a stream), cudaGetSymbolAddress / cudaGetSymbolSize, a variable in a
// namespace, and the errors for a bad size, direction or symbol.
#include <vector>

#include "check.h"

__constant__ float coeff[4];
__device__ int counter;
__device__ double table[100];
namespace ns {
__device__ long long tagged;
}

__global__ void poly(const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = coeff[0] + x[i] * (coeff[1] + x[i] * (coeff[2] + x[i] * coeff[3]));
  if (i < n) atomicAdd(&counter, 1);
}

__global__ void tag() { ns::tagged = ns::tagged * 10 + 7; }

int main() {
  const float c[4] = {1.0f, -2.0f, 0.5f, 0.25f};
  REPORT(cudaMemcpyToSymbol(coeff, c, sizeof(c)));
  int zero = 0;
  REPORT(cudaMemcpyToSymbol(counter, &zero, sizeof(int), 0, cudaMemcpyHostToDevice));
  const int n = 1000;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = i * 0.01f;
  float *dx, *dy;
  CHECK(cudaMalloc(&dx, n * sizeof(float)));
  CHECK(cudaMalloc(&dy, n * sizeof(float)));
  CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  poly<<<(n + 255) / 256, 256>>>(dx, dy, n);
  CHECK(cudaMemcpy(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  double checksum = 0;
  for (float v : y) checksum += v;
  int count = -1;
  REPORT(cudaMemcpyFromSymbol(&count, counter, sizeof(int)));
  std::printf("poly checksum %.3f, counter %d\n", checksum, count);

  std::vector<double> t(100), back(100, -1);
  for (int i = 0; i < 100; ++i) t[i] = i * 1.5;
  REPORT(cudaMemcpyToSymbol(table, t.data(), sizeof(double) * 100));
  std::vector<double> patch = {-1, -2, -3};
  REPORT(cudaMemcpyToSymbol(table, patch.data(), sizeof(double) * 3, sizeof(double) * 50));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  // A pageable cudaMemcpyToSymbol may return before its DMA lands; a non-blocking stream is not
  // ordered after it (a race in the program itself, natively too): wait for it.
  CHECK(cudaDeviceSynchronize());
  REPORT(cudaMemcpyFromSymbolAsync(back.data(), table, sizeof(double) * 100, 0,
                                   cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("table %.1f %.1f %.1f %.1f %.1f\n", back[0], back[49], back[50], back[52], back[99]);

  void* addr = nullptr;
  size_t size = 0;
  REPORT(cudaGetSymbolAddress(&addr, table));
  REPORT(cudaGetSymbolSize(&size, table));
  std::printf("table size %zu, address %s\n", size, addr ? "set" : "null");
  double one = 0;
  CHECK(cudaMemcpy(&one, static_cast<double*>(addr) + 51, sizeof(double), cudaMemcpyDeviceToHost));
  std::printf("through the address: %.1f\n", one);
  double* dd;
  CHECK(cudaMalloc(&dd, 100 * sizeof(double)));
  REPORT(cudaMemcpyFromSymbol(dd, table, 100 * sizeof(double), 0, cudaMemcpyDeviceToDevice));
  // A device-to-device cudaMemcpy does not wait for the copy on the host, and the non-blocking
  // stream s below is not ordered after the legacy stream: without this the next copy races
  // with it (natively too; through GVirtuS it lost the race under load).
  CHECK(cudaDeviceSynchronize());
  REPORT(cudaMemcpyToSymbolAsync(table, dd, 10 * sizeof(double), 90 * sizeof(double),
                                 cudaMemcpyDefault, s));
  CHECK(cudaStreamSynchronize(s));
  REPORT(cudaMemcpyFromSymbol(back.data(), table, 100 * sizeof(double)));
  std::printf("after device copies %.1f %.1f\n", back[90], back[99]);

  long long v = 4;
  REPORT(cudaMemcpyToSymbol(ns::tagged, &v, sizeof(v)));
  tag<<<1, 1>>>();
  REPORT(cudaMemcpyFromSymbol(&v, ns::tagged, sizeof(v)));
  std::printf("namespaced %lld\n", v);

  // Errors: past the end, a wrong direction, something that is no symbol.
  REPORT(cudaMemcpyToSymbol(table, t.data(), sizeof(double) * 101));
  REPORT(cudaMemcpyToSymbol(table, t.data(), sizeof(double), sizeof(double) * 100));
  REPORT(cudaMemcpyToSymbol(table, t.data(), sizeof(double), 0, cudaMemcpyDeviceToHost));
  REPORT(cudaMemcpyFromSymbol(t.data(), table, sizeof(double), 0, cudaMemcpyHostToDevice));
  int not_a_symbol = 0;
  REPORT(cudaMemcpyToSymbol(not_a_symbol, &zero, sizeof(int)));
  REPORT(cudaGetSymbolSize(&size, &not_a_symbol));
  REPORT(cudaGetLastError());
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(dx));
  CHECK(cudaFree(dy));
  CHECK(cudaFree(dd));
  return 0;
}
