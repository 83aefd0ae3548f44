// Managed memory (cudaMallocManaged) and mapped host memory (cudaHostAlloc with
// cudaHostAllocMapped): the host and kernels use the same pointers, and each side sees the
// other's writes at the points CUDA promises (launch, synchronisation).
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "check.h"

__global__ void saxpy(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

__global__ void add_to_all(int n, int* v, int k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) v[i] += k;
}

__global__ void sum_bytes(const unsigned char* p, int n, unsigned long long* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(out, static_cast<unsigned long long>(p[i]));
}

int main() {
  const int n = 1 << 20;
  bool ok = true;

  // Host writes, kernel reads and writes, host reads after cudaDeviceSynchronize.
  float *x = nullptr, *y = nullptr;
  CHECK(cudaMallocManaged(&x, n * sizeof(float)));
  CHECK(cudaMallocManaged(&y, n * sizeof(float)));
  for (int i = 0; i < n; ++i) {
    x[i] = 1.0f + (i % 7);
    y[i] = 2.0f;
  }
  saxpy<<<(n + 255) / 256, 256>>>(n, 3.0f, x, y);
  CHECK(cudaDeviceSynchronize());
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += y[i];
  std::printf("saxpy sum %.1f y[5] %.1f\n", sum, y[5]);
  ok = ok && y[5] == 3.0f * 6.0f + 2.0f;

  // Alternating host and device updates, a few pages at a time, on a stream.
  int* v = nullptr;
  CHECK(cudaMallocManaged(&v, n * sizeof(int)));
  for (int i = 0; i < n; ++i) v[i] = i;
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  for (int round = 0; round < 5; ++round) {
    v[round * 100000] += 1000;  // one page changed on the host
    add_to_all<<<(n + 255) / 256, 256, 0, s>>>(n, v, 1);
    CHECK(cudaStreamSynchronize(s));
  }
  long long vs = 0;
  for (int i = 0; i < n; ++i) vs += v[i];
  std::printf("rounds: v[0] %d v[100000] %d v[n-1] %d sum %lld\n", v[0], v[100000], v[n - 1], vs);
  ok = ok && v[0] == 1005 && v[100000] == 101005 && v[n - 1] == n - 1 + 5;

  // Event synchronisation.
  cudaEvent_t ev;
  CHECK(cudaEventCreate(&ev));
  add_to_all<<<(n + 255) / 256, 256, 0, s>>>(n, v, 10);
  CHECK(cudaEventRecord(ev, s));
  CHECK(cudaEventSynchronize(ev));
  std::printf("after event: v[1] %d\n", v[1]);
  ok = ok && v[1] == 1 + 5 + 10;

  // Synchronous memset and copies in both directions.
  CHECK(cudaMemset(v, 0, 1024 * sizeof(int)));
  std::printf("memset: v[0] %d v[1023] %d v[1024] %d\n", v[0], v[1023], v[1024]);
  ok = ok && v[0] == 0 && v[1023] == 0 && v[1024] == 1024 + 15;
  int host_buf[256];
  for (int i = 0; i < 256; ++i) host_buf[i] = -i;
  CHECK(cudaMemcpy(v + 2048, host_buf, sizeof host_buf, cudaMemcpyHostToDevice));
  std::printf("copy in: v[2048+7] %d\n", v[2048 + 7]);
  ok = ok && v[2048 + 7] == -7;
  v[4096] = 4242;
  int back = 0;
  CHECK(cudaMemcpy(&back, v + 4096, sizeof back, cudaMemcpyDeviceToHost));
  std::printf("copy out of a host write: %d\n", back);
  ok = ok && back == 4242;
  CHECK(cudaMemcpy(&back, v + 4096, sizeof back, cudaMemcpyDefault));
  ok = ok && back == 4242;

  // Hints and prefetches are accepted.
  int dev = 0;
  CHECK(cudaGetDevice(&dev));
  cudaMemLocation on_dev{cudaMemLocationTypeDevice, dev};
  cudaMemLocation on_host{cudaMemLocationTypeHost, 0};
  REPORT(cudaMemAdvise(x, n * sizeof(float), cudaMemAdviseSetReadMostly, on_dev));
  int read_mostly = -1;
  REPORT(cudaMemRangeGetAttribute(&read_mostly, sizeof read_mostly,
                                  cudaMemRangeAttributeReadMostly, x, n * sizeof(float)));
  std::printf("read mostly: %d\n", read_mostly);
  REPORT(cudaMemPrefetchAsync(y, n * sizeof(float), on_dev, 0, s));
  REPORT(cudaMemPrefetchAsync(y, n * sizeof(float), on_host, 0, s));
  REPORT(cudaStreamAttachMemAsync(s, v, 0, cudaMemAttachSingle));
  CHECK(cudaStreamSynchronize(s));

  // A system call writes managed memory (no store instruction of the program's own).
  char path[] = "/tmp/gvirtus-managed-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  const int bytes = 100000;
  unsigned long long expect = 0;
  unsigned char* file_data = static_cast<unsigned char*>(std::malloc(bytes));
  for (int i = 0; i < bytes; ++i) {
    file_data[i] = static_cast<unsigned char>(i * 7);
    expect += file_data[i];
  }
  if (write(fd, file_data, bytes) != bytes) return 1;
  lseek(fd, 0, SEEK_SET);
  unsigned char* m = nullptr;
  unsigned long long* total = nullptr;
  CHECK(cudaMallocManaged(&m, bytes));
  CHECK(cudaMallocManaged(&total, sizeof *total));
  *total = 0;
  ssize_t got = read(fd, m, bytes);
  close(fd);
  unlink(path);
  sum_bytes<<<(bytes + 255) / 256, 256>>>(m, bytes, total);
  CHECK(cudaDeviceSynchronize());
  std::printf("read(2) into managed memory: %zd bytes, device sum %s\n", got,
              *total == expect ? "matches" : "DIFFERS");
  ok = ok && got == bytes && *total == expect;

  // Mapped host memory: a device pointer for host memory.
  int* h = nullptr;
  CHECK(cudaHostAlloc(&h, 4096 * sizeof(int), cudaHostAllocMapped));
  unsigned flags = 0;
  CHECK(cudaHostGetFlags(&flags, h));
  std::printf("mapped flags %u\n", flags);
  for (int i = 0; i < 4096; ++i) h[i] = 3 * i;
  int* hd = nullptr;
  CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&hd), h, 0));
  add_to_all<<<16, 256>>>(4096, hd, 1);
  CHECK(cudaDeviceSynchronize());
  std::printf("mapped: h[0] %d h[4095] %d\n", h[0], h[4095]);
  ok = ok && h[0] == 1 && h[4095] == 3 * 4095 + 1;
  // cudaFree of mapped host memory is refused, and leaves it usable.
  REPORT(cudaFree(h));
  (void)cudaGetLastError();
  REPORT(cudaFree(hd + 1));
  (void)cudaGetLastError();
  REPORT(cudaFreeAsync(h, 0));
  (void)cudaGetLastError();
  REPORT(cudaFree(reinterpret_cast<char*>(x) + 4));  // inside a managed allocation
  (void)cudaGetLastError();
  add_to_all<<<16, 256>>>(4096, hd, 1);
  CHECK(cudaDeviceSynchronize());
  std::printf("mapped after a refused cudaFree: h[0] %d\n", h[0]);
  ok = ok && h[0] == 2;
  CHECK(cudaFreeHost(h));

  // Bad flags, and frees.
  void* bad = nullptr;
  REPORT(cudaMallocManaged(&bad, 64, 0));
  (void)cudaGetLastError();
  CHECK(cudaFree(x));
  CHECK(cudaFree(y));
  CHECK(cudaFree(v));
  CHECK(cudaFree(m));
  CHECK(cudaFree(total));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaEventDestroy(ev));
  std::free(file_data);
  return verdict(ok);
}
