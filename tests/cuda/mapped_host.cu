// Zero-copy host memory: cudaHostRegister with cudaHostRegisterMapped, and cudaHostGetDevicePointer
// of memory from cudaMallocHost, cudaHostAlloc and cudaHostRegister. Kernels read and write the
// host memory through the device pointer; the host sees the kernels' writes after a
// synchronisation and the kernels see the host's writes made before a launch (the points where
// CUDA promises coherence to a program that does not poll memory a running kernel writes).
// Under GVirtuS the device pointer is an alias kept coherent at those points (docs/frontend.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"

__global__ void add_to_all(int n, int* v, int k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) v[i] += k;
}

__global__ void square_into(int n, const int* in, long long* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = static_cast<long long>(in[i]) * in[i];
}

__global__ void sum_into(int n, const int* in, unsigned long long* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(out, static_cast<unsigned long long>(in[i]));
}

static long long sum(const int* v, int n) {
  long long s = 0;
  for (int i = 0; i < n; ++i) s += v[i];
  return s;
}

int main() {
  bool ok = true;
  const int n = 300000;  // not a whole number of pages
  const int blocks = (n + 255) / 256;

  // 1. The program's own memory registered as mapped: host and kernel take turns.
  {
    std::vector<int> buf(n);
    for (int i = 0; i < n; ++i) buf[i] = i % 1000;
    CHECK(cudaHostRegister(buf.data(), n * sizeof(int), cudaHostRegisterMapped));
    int* d = nullptr;
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&d), buf.data(), 0));
    int* d_mid = nullptr;  // an address inside the range maps to the same offset
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&d_mid), buf.data() + 1234, 0));
    ok = ok && d_mid == d + 1234;
    std::printf("registered: interior pointer at the same offset %d\n", d_mid == d + 1234);
    cudaStream_t s;
    CHECK(cudaStreamCreate(&s));
    for (int round = 0; round < 4; ++round) {
      buf[round * 70000] += 1000;  // a host write before the launch
      add_to_all<<<blocks, 256, 0, s>>>(n, d, round + 1);
      CHECK(cudaStreamSynchronize(s));
      std::printf("registered round %d: buf[0] %d buf[70000] %d buf[n-1] %d sum %lld\n", round,
                  buf[0], buf[70000], buf[n - 1], sum(buf.data(), n));
    }
    ok = ok && buf[0] == 1010 && buf[70000] == 1010 && buf[n - 1] == (n - 1) % 1000 + 10;
    CHECK(cudaStreamDestroy(s));
    CHECK(cudaHostUnregister(buf.data()));
    // Plain memory again: device work and a synchronisation do not write over the host's value.
    buf[1] = 77;
    int* other = nullptr;
    CHECK(cudaMalloc(&other, 256 * sizeof(int)));
    add_to_all<<<1, 256>>>(256, other, 1);
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaFree(other));
    std::printf("after unregister buf[1] %d\n", buf[1]);
    ok = ok && buf[1] == 77;
  }

  // 2. cudaMallocHost memory as a kernel's output (zero copy), read after an event.
  {
    int* in = nullptr;
    long long* out = nullptr;
    CHECK(cudaMallocHost(&in, n * sizeof(int)));
    CHECK(cudaMallocHost(&out, n * sizeof(long long)));
    for (int i = 0; i < n; ++i) in[i] = i % 3001 - 1500;
    std::memset(out, 0, n * sizeof(long long));
    int* din = nullptr;
    long long* dout = nullptr;
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&din), in, 0));
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dout), out, 0));
    cudaEvent_t done;
    CHECK(cudaEventCreate(&done));
    square_into<<<blocks, 256>>>(n, din, dout);
    CHECK(cudaEventRecord(done));
    CHECK(cudaEventSynchronize(done));
    long long total = 0;
    for (int i = 0; i < n; ++i) total += out[i];
    std::printf("cudaMallocHost: out[7] %lld out[n-1] %lld total %lld\n", out[7], out[n - 1],
                total);
    ok = ok && out[7] == 1493LL * 1493 && total > 0;
    // The host changes the input; the next launch sees it.
    in[7] = 10;
    square_into<<<blocks, 256>>>(n, din, dout);
    CHECK(cudaDeviceSynchronize());
    std::printf("cudaMallocHost again: out[7] %lld\n", out[7]);
    ok = ok && out[7] == 100;
    CHECK(cudaEventDestroy(done));
    CHECK(cudaFreeHost(in));
    CHECK(cudaFreeHost(out));
  }

  // 3. cudaHostAlloc (portable, not mapped) read by a kernel through an interior pointer, and a
  //    synchronous copy into it followed by a kernel that reads what the copy wrote.
  {
    int* h = nullptr;
    CHECK(cudaHostAlloc(reinterpret_cast<void**>(&h), 2 * n * sizeof(int), cudaHostAllocPortable));
    for (int i = 0; i < 2 * n; ++i) h[i] = 1;
    int* dh = nullptr;
    CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dh), h + n, 0));
    unsigned long long* dsum = nullptr;
    CHECK(cudaMalloc(&dsum, sizeof *dsum));
    CHECK(cudaMemset(dsum, 0, sizeof *dsum));
    sum_into<<<blocks, 256>>>(n, dh, dsum);
    unsigned long long got = 0;
    CHECK(cudaMemcpy(&got, dsum, sizeof got, cudaMemcpyDeviceToHost));
    std::printf("cudaHostAlloc: sum of second half %llu\n", got);
    ok = ok && got == static_cast<unsigned long long>(n);

    // A device buffer copied into the pinned memory, then read by a kernel through the alias.
    int* dv = nullptr;
    CHECK(cudaMalloc(&dv, n * sizeof(int)));
    std::vector<int> twos(n, 2);
    CHECK(cudaMemcpy(dv, twos.data(), n * sizeof(int), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(h + n, dv, n * sizeof(int), cudaMemcpyDeviceToHost));
    CHECK(cudaMemset(dsum, 0, sizeof *dsum));
    sum_into<<<blocks, 256>>>(n, dh, dsum);
    CHECK(cudaMemcpy(&got, dsum, sizeof got, cudaMemcpyDeviceToHost));
    std::printf("cudaHostAlloc after a copy into it: sum %llu\n", got);
    ok = ok && got == 2ull * n;

    // A kernel writes through the alias; a synchronous copy of the same memory to the device
    // (after synchronising) carries the kernel's values.
    add_to_all<<<blocks, 256>>>(n, dh, 5);
    CHECK(cudaDeviceSynchronize());
    std::printf("cudaHostAlloc after a kernel: h[n] %d h[2n-1] %d h[0] %d\n", h[n], h[2 * n - 1],
                h[0]);
    ok = ok && h[n] == 7 && h[2 * n - 1] == 7 && h[0] == 1;
    CHECK(cudaMemcpy(dv, h + n, n * sizeof(int), cudaMemcpyHostToDevice));
    CHECK(cudaMemset(dsum, 0, sizeof *dsum));
    sum_into<<<blocks, 256>>>(n, dv, dsum);
    CHECK(cudaMemcpy(&got, dsum, sizeof got, cudaMemcpyDeviceToHost));
    std::printf("copied back: sum %llu\n", got);
    ok = ok && got == 7ull * n;
    CHECK(cudaFree(dv));
    CHECK(cudaFree(dsum));
    CHECK(cudaFreeHost(h));
  }

  // 4. Registering again after an unregister, and allocating again after a free, works.
  {
    std::vector<int> buf(4096, 3);
    for (int round = 0; round < 2; ++round) {
      CHECK(cudaHostRegister(buf.data(), buf.size() * sizeof(int), cudaHostRegisterMapped));
      int* d = nullptr;
      CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&d), buf.data(), 0));
      add_to_all<<<16, 256>>>(4096, d, 1);
      CHECK(cudaDeviceSynchronize());
      CHECK(cudaHostUnregister(buf.data()));
    }
    std::printf("re-registered: buf[0] %d buf[4095] %d\n", buf[0], buf[4095]);
    ok = ok && buf[0] == 5 && buf[4095] == 5;
  }

  // Errors, as CUDA reports them.
  {
    int* d = nullptr;
    int* h = nullptr;
    CHECK(cudaMallocHost(&h, 64));
    REPORT(cudaHostGetDevicePointer(reinterpret_cast<void**>(&d), h, 1));
    cudaGetLastError();
    CHECK(cudaFreeHost(h));
  }
  return verdict(ok);
}
