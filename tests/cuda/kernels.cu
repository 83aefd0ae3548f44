// Kernels with arguments of many kinds: pointers, scalars of every width, structs by value
// (padded, large), templates, overloads, a namespace, dynamic shared memory, 2D/3D grids, and
// cudaLaunchKernel called by hand.
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"

struct Padded {
  char c;
  double d;
  int a[3];
  short s;
};

struct Big {
  int v[300];  // 1200 bytes by value
};

__global__ void scalars(int8_t a, uint8_t b, int16_t c, int32_t d, int64_t e, float f, double g,
                        bool h, char i, unsigned long long j, long long* out) {
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
  out[4] = e;
  out[5] = static_cast<long long>(f * 1000.0f);
  out[6] = static_cast<long long>(g * 1000000.0);
  out[7] = h;
  out[8] = i;
  out[9] = static_cast<long long>(j >> 4);
}

__global__ void padded(Padded p, double* out) {
  out[0] = p.c;
  out[1] = p.d;
  out[2] = p.a[0] + 10 * p.a[1] + 100 * p.a[2];
  out[3] = p.s;
}

__global__ void big(Big b, int scale, int* out) {
  __shared__ int partial[256];
  int t = threadIdx.x;
  int s = 0;
  for (int k = t; k < 300; k += blockDim.x) s += b.v[k];
  partial[t] = s;
  __syncthreads();
  if (t == 0) {
    int total = 0;
    for (int k = 0; k < blockDim.x; ++k) total += partial[k];
    *out = total * scale;
  }
}

template <typename T, int N>
__global__ void scale(T* out, const T* in, T factor, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * factor + static_cast<T>(N);
}

__global__ void overloaded(int* out, int v) { *out = v + 1; }
__global__ void overloaded(int* out, double v) { *out = static_cast<int>(v * 2); }

namespace inner {
__global__ void named(int* out) { *out = 77; }
}  // namespace inner

__global__ void reverse_block(const int* in, int* out) {
  extern __shared__ int buf[];
  int t = threadIdx.x;
  int base = blockIdx.x * blockDim.x;
  buf[t] = in[base + t];
  __syncthreads();
  out[base + t] = buf[blockDim.x - 1 - t];
}

__global__ void grid3d(int* out, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  int z = blockIdx.z;
  out[(z * h + y) * w + x] = x + 100 * y + 10000 * z;
}

__global__ void many(int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9,
                     double d0, double d1, char c0, double d2, int* p, int* out) {
  *out = a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6 + 8 * a7 + 9 * a8 + 10 * a9 +
         static_cast<int>(d0 + d1 + d2) + c0 + *p;
}

__global__ void empty() {}

int main() {
  long long* d_ll;
  CHECK(cudaMalloc(&d_ll, 16 * sizeof(long long)));
  scalars<<<1, 1>>>(-5, 250, -30000, 123456789, -1234567890123LL, 3.25f, 2.718281828, true, 'z',
                    0xFEDCBA9876543210ULL, d_ll);
  CHECK(cudaGetLastError());
  long long ll[10];
  CHECK(cudaMemcpy(ll, d_ll, sizeof(ll), cudaMemcpyDeviceToHost));
  std::printf("scalars");
  for (long long v : ll) std::printf(" %lld", v);
  std::printf("\n");

  double* d_dbl;
  CHECK(cudaMalloc(&d_dbl, 4 * sizeof(double)));
  Padded p{'q', -1.5, {1, 2, 3}, -7};
  padded<<<1, 1>>>(p, d_dbl);
  double dbl[4];
  CHECK(cudaMemcpy(dbl, d_dbl, sizeof(dbl), cudaMemcpyDeviceToHost));
  std::printf("padded %.3f %.3f %.3f %.3f\n", dbl[0], dbl[1], dbl[2], dbl[3]);

  Big b;
  for (int k = 0; k < 300; ++k) b.v[k] = k * 7 - 100;
  int* d_int;
  CHECK(cudaMalloc(&d_int, 4096 * sizeof(int)));
  big<<<1, 128>>>(b, 3, d_int);
  int r = 0;
  CHECK(cudaMemcpy(&r, d_int, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("big %d\n", r);

  const int n = 1000;
  std::vector<float> hf(n), of(n);
  std::vector<double> hd(n), od(n);
  std::vector<int> hi(n), oi(n);
  for (int k = 0; k < n; ++k) {
    hf[k] = k * 0.5f;
    hd[k] = k * 0.25;
    hi[k] = k - 500;
  }
  float *d_fin, *d_fout;
  double *d_din, *d_dout;
  int *d_iin, *d_iout;
  CHECK(cudaMalloc(&d_fin, n * sizeof(float)));
  CHECK(cudaMalloc(&d_fout, n * sizeof(float)));
  CHECK(cudaMalloc(&d_din, n * sizeof(double)));
  CHECK(cudaMalloc(&d_dout, n * sizeof(double)));
  CHECK(cudaMalloc(&d_iin, n * sizeof(int)));
  CHECK(cudaMalloc(&d_iout, n * sizeof(int)));
  CHECK(cudaMemcpy(d_fin, hf.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_din, hd.data(), n * sizeof(double), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_iin, hi.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  scale<float, 4><<<(n + 255) / 256, 256>>>(d_fout, d_fin, 2.0f, n);
  scale<double, 2><<<(n + 127) / 128, 128>>>(d_dout, d_din, -3.0, n);
  scale<int, 1><<<(n + 63) / 64, 64>>>(d_iout, d_iin, 5, n);
  CHECK(cudaMemcpy(of.data(), d_fout, n * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(od.data(), d_dout, n * sizeof(double), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(oi.data(), d_iout, n * sizeof(int), cudaMemcpyDeviceToHost));
  double sf = 0, sd = 0;
  long long si = 0;
  bool ok = true;
  for (int k = 0; k < n; ++k) {
    sf += of[k];
    sd += od[k];
    si += oi[k];
    ok = ok && of[k] == hf[k] * 2.0f + 4 && od[k] == hd[k] * -3.0 + 2 && oi[k] == hi[k] * 5 + 1;
  }
  std::printf("templates %.2f %.2f %lld %s\n", sf, sd, si, ok ? "ok" : "WRONG");

  overloaded<<<1, 1>>>(d_int, 41);
  overloaded<<<1, 1>>>(d_int + 1, 10.5);
  inner::named<<<1, 1>>>(d_int + 2);
  int three[3];
  CHECK(cudaMemcpy(three, d_int, sizeof(three), cudaMemcpyDeviceToHost));
  std::printf("overloads %d %d namespace %d\n", three[0], three[1], three[2]);

  std::vector<int> in(1024), out(1024);
  for (int k = 0; k < 1024; ++k) in[k] = k;
  int* d_in;
  CHECK(cudaMalloc(&d_in, 1024 * sizeof(int)));
  CHECK(cudaMemcpy(d_in, in.data(), 1024 * sizeof(int), cudaMemcpyHostToDevice));
  reverse_block<<<4, 256, 256 * sizeof(int)>>>(d_in, d_int);
  CHECK(cudaMemcpy(out.data(), d_int, 1024 * sizeof(int), cudaMemcpyDeviceToHost));
  ok = true;
  for (int k = 0; k < 1024; ++k) ok = ok && out[k] == (k / 256) * 256 + 255 - k % 256;
  std::printf("dynamic shared memory %s\n", ok ? "ok" : "WRONG");

  const int w = 32, h = 16, depth = 3;
  grid3d<<<dim3(w / 8, h / 4, depth), dim3(8, 4, 1)>>>(d_int, w, h);
  std::vector<int> g(w * h * depth);
  CHECK(cudaMemcpy(g.data(), d_int, g.size() * sizeof(int), cudaMemcpyDeviceToHost));
  long long gs = 0;
  for (int v : g) gs += v;
  std::printf("grid3d sum %lld corner %d\n", gs, g[g.size() - 1]);

  // cudaLaunchKernel by hand, with the argument array a program builds itself.
  int a[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  double d0 = 0.5, d1 = 1.25, d2 = 100.25;
  char c0 = 3;
  int* p_arg = d_in + 10;  // in[10] == 10
  int* out_arg = d_int;
  void* args[] = {&a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9],
                  &d0,   &d1,   &c0,   &d2,   &p_arg, &out_arg};
  REPORT(cudaLaunchKernel(reinterpret_cast<const void*>(&many), dim3(1), dim3(1), args, 0, nullptr));
  CHECK(cudaMemcpy(&r, d_int, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("many arguments %d\n", r);

  void* no_args[] = {nullptr};
  REPORT(cudaLaunchKernel(reinterpret_cast<const void*>(&empty), dim3(2), dim3(32), no_args, 0, nullptr));
  for (int k = 0; k < 1000; ++k) empty<<<1, 1>>>();
  REPORT(cudaDeviceSynchronize());
  REPORT(cudaGetLastError());

  for (void* q : {static_cast<void*>(d_ll), static_cast<void*>(d_dbl), static_cast<void*>(d_int),
                  static_cast<void*>(d_fin), static_cast<void*>(d_fout), static_cast<void*>(d_din),
                  static_cast<void*>(d_dout), static_cast<void*>(d_iin), static_cast<void*>(d_iout),
                  static_cast<void*>(d_in)})
    CHECK(cudaFree(q));
  return 0;
}
