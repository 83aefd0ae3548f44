// cudaLaunchCooperativeKernel: a grid-wide barrier (cooperative groups) between a phase where
// every block writes and one where block 0 reads what all of them wrote.
#include <cooperative_groups.h>

#include "check.h"

namespace cg = cooperative_groups;

__global__ void two_phase(int* slots, int* total, int scale) {
  cg::grid_group grid = cg::this_grid();
  if (threadIdx.x == 0) slots[blockIdx.x] = (blockIdx.x + 1) * scale;
  grid.sync();
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    int sum = 0;
    for (unsigned b = 0; b < gridDim.x; ++b) sum += slots[b];
    *total = sum;
  }
}

int main() {
  int supported = 0;
  CHECK(cudaDeviceGetAttribute(&supported, cudaDevAttrCooperativeLaunch, 0));
  std::printf("cooperative launch supported: %d\n", supported);
  const int blocks = 8;
  int *slots, *total;
  CHECK(cudaMalloc(&slots, blocks * sizeof(int)));
  CHECK(cudaMalloc(&total, sizeof(int)));
  int scale = 3;
  void* args[] = {&slots, &total, &scale};
  REPORT(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(two_phase), dim3(blocks),
                                     dim3(64), args, 0, nullptr));
  int sum = 0;
  CHECK(cudaMemcpy(&sum, total, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("sum over %d blocks: %d\n", blocks, sum);
  // More blocks than can be resident at once: the runtime refuses a cooperative launch.
  REPORT(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(two_phase), dim3(1 << 20),
                                     dim3(1024), args, 0, nullptr));
  REPORT(cudaGetLastError());
  CHECK(cudaFree(slots));
  CHECK(cudaFree(total));
  return 0;
}
