// Kernels for the driver-API tests, built into cubin, fatbin and PTX images at build time
// (tests/cuda_driver.cmake) and loaded at run time with cuModuleLoad* / cuLibraryLoad*.
#include <cooperative_groups.h>

struct Pair {
  int a;
  double b;
};

__device__ int g_counter;
__constant__ float g_scale = 2.0f;

extern "C" __global__ void axpy(float a, const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

// Mixed sizes and alignment: char, double, a struct, a pointer.
extern "C" __global__ void mixed(char c, double d, Pair p, long long* out) {
  out[0] = c;
  out[1] = static_cast<long long>(d * 10);
  out[2] = p.a;
  out[3] = static_cast<long long>(p.b * 100);
  atomicAdd(&g_counter, 1);
}

extern "C" __global__ void scale(float* v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) v[i] *= g_scale;
}

extern "C" __global__ void no_args() { atomicAdd(&g_counter, 1); }

// Every block adds, a grid-wide barrier, then block 0 reads the total.
extern "C" __global__ void grid_sum(int* acc, int* result) {
  namespace cg = cooperative_groups;
  cg::grid_group g = cg::this_grid();
  if (threadIdx.x == 0) atomicAdd(acc, 1);
  g.sync();
  if (g.thread_rank() == 0) *result = *acc;
}

extern "C" __global__ void fault(int* p) { *reinterpret_cast<int*>(0x10) = *p; }
