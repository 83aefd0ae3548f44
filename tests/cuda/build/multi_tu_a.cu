// Several translation units without -rdc: each registers its own fatbinary; both define a
// kernel with the same name in an anonymous namespace and a __device__ variable of the same name
// (static), which must stay distinct.
#include <cstdio>

#include "../check.h"

namespace {
__device__ int tag = 100;
__global__ void mark(int* out) { out[threadIdx.x] = tag + static_cast<int>(threadIdx.x); }
}  // namespace

int run_unit_b(int* d);  // multi_tu_b.cu

int main() {
  int* d = nullptr;
  CHECK(cudaMalloc(&d, 64 * sizeof(int)));
  mark<<<1, 32>>>(d);
  CHECK(cudaGetLastError());
  int ha[32];
  CHECK(cudaMemcpy(ha, d, sizeof ha, cudaMemcpyDeviceToHost));
  int set = 111;
  CHECK(cudaMemcpyToSymbol(tag, &set, sizeof set));
  int rb = run_unit_b(d + 32);
  mark<<<1, 32>>>(d);
  int hb[32];
  CHECK(cudaMemcpy(hb, d, sizeof hb, cudaMemcpyDeviceToHost));
  int hc[32];
  CHECK(cudaMemcpy(hc, d + 32, sizeof hc, cudaMemcpyDeviceToHost));
  std::printf("unit a: %d %d, after set: %d %d\n", ha[0], ha[31], hb[0], hb[31]);
  std::printf("unit b: %d %d (returned %d)\n", hc[0], hc[31], rb);
  CHECK(cudaFree(d));
  return verdict(ha[0] == 100 && hb[0] == 111 && hc[0] == 200 && hc[31] == 231);
}
