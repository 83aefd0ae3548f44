// The other translation unit of rdc_main.cu.
__device__ int scale = 1;

__device__ int twice_plus_scale(int x) { return 2 * x + scale; }

__global__ void child(int* out, int base, int count) {
  int i = threadIdx.x;
  if (i < count) out[base + i] = 3 * (base + i) + 1;
}

__global__ void fill_parent(int* out, int n) {
  int base = threadIdx.x * 100;
  if (base < n) child<<<1, 100>>>(out, base, n - base < 100 ? n - base : 100);
}
