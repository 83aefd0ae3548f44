// Asynchronous copies with pageable, cudaMallocHost, cudaHostAlloc and cudaHostRegister memory,
// larger than one transfer chunk, synchronised by stream, event and device; memsets, device-to-
// device copies and cudaMemcpyDefault; small pageable copies in stream order.
#include <cstdlib>
#include <cstring>
#include <string>

#include "check.h"

__global__ void add(int* v, size_t n, int k) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    v[i] += k;
}

// Spins for about `cycles` clock ticks, then writes v: work still running when the next call comes.
__global__ void write_late(int* p, int v, long long cycles) {
  const long long t0 = clock64();
  while (clock64() - t0 < cycles) {
  }
  *p = v;
}

static unsigned long long checksum(const int* v, size_t n) {
  unsigned long long s = 0;
  for (size_t i = 0; i < n; ++i) s = s * 1000003 + static_cast<unsigned>(v[i]);
  return s;
}

int main() {
  const size_t n = 6u << 20;  // 24 MiB of ints: several transfer chunks
  const size_t bytes = n * sizeof(int);
  int* dev;
  CHECK(cudaMalloc(&dev, bytes));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t done;
  CHECK(cudaEventCreate(&done));

  const char* kinds[] = {"pageable", "cudaMallocHost", "cudaHostAlloc default",
                         "cudaHostAlloc portable", "cudaHostRegister"};
  for (int kind = 0; kind < 5; ++kind) {
    int *src = nullptr, *dst = nullptr;
    switch (kind) {
      case 0:
        src = static_cast<int*>(std::malloc(bytes));
        dst = static_cast<int*>(std::malloc(bytes));
        break;
      case 1:
        CHECK(cudaMallocHost(&src, bytes));
        CHECK(cudaMallocHost(&dst, bytes));
        break;
      case 2:
        CHECK(cudaHostAlloc(&src, bytes, cudaHostAllocDefault));
        CHECK(cudaHostAlloc(&dst, bytes, cudaHostAllocDefault));
        break;
      case 3:
        CHECK(cudaHostAlloc(&src, bytes, cudaHostAllocPortable));
        CHECK(cudaHostAlloc(&dst, bytes, cudaHostAllocPortable));
        break;
      case 4:
        src = static_cast<int*>(std::malloc(bytes));
        dst = static_cast<int*>(std::malloc(bytes));
        CHECK(cudaHostRegister(src, bytes, cudaHostRegisterDefault));
        CHECK(cudaHostRegister(dst, bytes, cudaHostRegisterDefault));
        break;
    }
    for (size_t i = 0; i < n; ++i) src[i] = static_cast<int>(i * 2654435761u) ^ kind;
    std::memset(dst, 0xEE, bytes);
    CHECK(cudaMemcpyAsync(dev, src, bytes, cudaMemcpyHostToDevice, s));
    add<<<256, 256, 0, s>>>(dev, n, kind + 1);
    CHECK(cudaMemcpyAsync(dst, dev, bytes, cudaMemcpyDeviceToHost, s));
    // Each kind synchronises another way; the bytes must be there after it.
    const char* how = kind % 3 == 0 ? "stream" : kind % 3 == 1 ? "event" : "device";
    if (kind % 3 == 0) {
      CHECK(cudaStreamSynchronize(s));
    } else if (kind % 3 == 1) {
      CHECK(cudaEventRecord(done, s));
      CHECK(cudaEventSynchronize(done));
    } else {
      CHECK(cudaDeviceSynchronize());
    }
    bool ok = true;
    for (size_t i = 0; i < n; ++i) ok = ok && dst[i] == src[i] + kind + 1;
    std::printf("%s, synchronised by %s: %s, checksum %llx\n", kinds[kind], how,
                ok ? "ok" : "WRONG", checksum(dst, n));

    // A small odd-sized copy into the middle of the buffer, and a memset.
    CHECK(cudaMemsetAsync(dev, 0x01, 4001, s));
    CHECK(cudaMemcpyAsync(reinterpret_cast<char*>(dst) + 3, dev, 4001, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    const unsigned char* c = reinterpret_cast<const unsigned char*>(dst);
    ok = c[2] != 0x01 && c[3] == 0x01 && c[4003] == 0x01 && c[4004] != 0x01;
    std::printf("  memset and odd copy: %s\n", ok ? "ok" : "WRONG");

    switch (kind) {
      case 0:
        std::free(src);
        std::free(dst);
        break;
      case 1:
      case 2:
      case 3:
        CHECK(cudaFreeHost(src));
        CHECK(cudaFreeHost(dst));
        break;
      case 4:
        CHECK(cudaHostUnregister(src));
        CHECK(cudaHostUnregister(dst));
        std::free(src);
        std::free(dst);
        break;
    }
  }

  // Device to device, and cudaMemcpyDefault in every direction.
  int* dev2;
  CHECK(cudaMalloc(&dev2, bytes));
  CHECK(cudaMemcpyAsync(dev2, dev, bytes, cudaMemcpyDeviceToDevice, s));
  CHECK(cudaStreamSynchronize(s));
  int* host = static_cast<int*>(std::malloc(bytes));
  int* back = static_cast<int*>(std::malloc(bytes));
  for (size_t i = 0; i < n; ++i) host[i] = static_cast<int>(n - i);
  CHECK(cudaMemcpy(dev, host, bytes, cudaMemcpyDefault));
  CHECK(cudaMemcpy(dev2, dev, bytes, cudaMemcpyDefault));
  CHECK(cudaMemcpy(back, dev2, bytes, cudaMemcpyDefault));
  std::printf("cudaMemcpyDefault round trip: %s\n", std::memcmp(host, back, bytes) == 0 ? "ok" : "WRONG");
  CHECK(cudaMemcpyAsync(back, dev2 + 5, 40, cudaMemcpyDefault, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("offset pointer: %d %d\n", back[0], back[9]);
  CHECK(cudaMemcpy(back, host, 64, cudaMemcpyHostToHost));
  std::printf("host to host: %d\n", back[15]);

  // Small synchronous copies from pageable memory (which the worker may answer once the bytes
  // are staged, as natively): each lands after the kernel a blocking stream still runs and
  // before the kernel launched after it on the legacy stream.
  cudaStream_t blocking;
  CHECK(cudaStreamCreate(&blocking));
  int in_order = 0;
  for (int round = 0; round < 100; ++round) {
    write_late<<<1, 1, 0, blocking>>>(dev, -1, 1000000);  // about 0.5 ms: still running
    int v = round;  // on the stack: pageable
    CHECK(cudaMemcpy(dev, &v, sizeof v, cudaMemcpyHostToDevice));
    add<<<1, 1>>>(dev, 1, 1);
    int got = 0;
    CHECK(cudaMemcpy(&got, dev, sizeof got, cudaMemcpyDeviceToHost));
    in_order += got == round + 1;
  }
  std::printf("small pageable copies in stream order: %d of 100\n", in_order);
  CHECK(cudaStreamDestroy(blocking));

  std::free(host);
  std::free(back);
  CHECK(cudaFree(dev));
  CHECK(cudaFree(dev2));
  CHECK(cudaEventDestroy(done));
  CHECK(cudaStreamDestroy(s));
  return 0;
}
