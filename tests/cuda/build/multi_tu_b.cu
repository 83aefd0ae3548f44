// Second translation unit of multi_tu_a.cu.
#include "../check.h"

namespace {
__device__ int tag = 200;
__global__ void mark(int* out) { out[threadIdx.x] = tag + static_cast<int>(threadIdx.x); }
}  // namespace

int run_unit_b(int* d) {
  mark<<<1, 32>>>(d);
  int v = 0;
  CHECK(cudaMemcpyFromSymbol(&v, tag, sizeof v));
  return v;
}
