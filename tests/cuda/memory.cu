// Device memory: cudaMalloc/cudaFree, cudaMemset, cudaMemGetInfo, cudaMallocPitch with
// cudaMemcpy2D in all directions, allocation failure.
#include <cstring>
#include <vector>

#include <cuda_profiler_api.h>

#include "check.h"

int main() {
  size_t free_b = 0, total_b = 0;
  REPORT(cudaMemGetInfo(&free_b, &total_b));
  std::printf("free <= total: %d\n", free_b <= total_b);

  for (size_t size : {size_t{1}, size_t{1000}, size_t{1} << 20, size_t{3} << 24}) {
    unsigned char* d;
    CHECK(cudaMalloc(&d, size));
    CHECK(cudaMemset(d, 0xAB, size));
    if (size > 10) CHECK(cudaMemset(d + 3, 0x11, size / 2));
    std::vector<unsigned char> h(size);
    CHECK(cudaMemcpy(h.data(), d, size, cudaMemcpyDeviceToHost));
    size_t ab = 0, ones = 0;
    for (unsigned char c : h) {
      ab += c == 0xAB;
      ones += c == 0x11;
    }
    std::printf("size %zu: 0xab %zu, 0x11 %zu\n", size, ab, ones);
    CHECK(cudaFree(d));
  }

  // A pitched 2D area: width 1000 bytes, 37 rows.
  const size_t width = 1000, height = 37, host_pitch = 1003;
  char *p1, *p2;
  size_t pitch1 = 0, pitch2 = 0;
  REPORT(cudaMallocPitch(reinterpret_cast<void**>(&p1), &pitch1, width, height));
  REPORT(cudaMallocPitch(reinterpret_cast<void**>(&p2), &pitch2, width / 2, height * 2));
  std::printf("pitches %zu %zu\n", pitch1, pitch2);
  std::vector<char> host(host_pitch * height), back(host_pitch * height, 0);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<char>(i * 7 + i / 13);
  REPORT(cudaMemcpy2D(p1, pitch1, host.data(), host_pitch, width, height, cudaMemcpyHostToDevice));
  // Copy a sub-rectangle device to device: columns 100..599 of rows 5..29.
  REPORT(cudaMemcpy2D(p2, pitch2, p1 + 5 * pitch1 + 100, pitch1, 500, 25, cudaMemcpyDeviceToDevice));
  REPORT(cudaMemcpy2D(back.data(), host_pitch, p2, pitch2, 500, 25, cudaMemcpyDeviceToHost));
  bool ok = true;
  for (size_t r = 0; r < 25; ++r)
    for (size_t c = 0; c < 500; ++c) ok = ok && back[r * host_pitch + c] == host[(r + 5) * host_pitch + 100 + c];
  std::printf("2D sub-rectangle: %s\n", ok ? "ok" : "WRONG");
  REPORT(cudaMemcpy2D(back.data(), host_pitch, p1, pitch1, width, height, cudaMemcpyDefault));
  ok = true;
  for (size_t r = 0; r < height; ++r) ok = ok && std::memcmp(&back[r * host_pitch], &host[r * host_pitch], width) == 0;
  std::printf("2D round trip: %s\n", ok ? "ok" : "WRONG");
  REPORT(cudaMemcpy2D(p1, pitch1, host.data(), host_pitch, pitch1 + 1, 2, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2D(p1, 10, host.data(), host_pitch, 20, 2, cudaMemcpyHostToDevice));
  REPORT(cudaGetLastError());
  CHECK(cudaFree(p1));
  CHECK(cudaFree(p2));

  void* huge = nullptr;
  REPORT(cudaMalloc(&huge, size_t{1} << 52));
  REPORT(cudaGetLastError());
  REPORT(cudaMalloc(&huge, 0));
  REPORT(cudaFree(nullptr));

  // Peer copies within one device, and the small device and stream queries beside them.
  int *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, 4096));
  CHECK(cudaMalloc(&b, 4096));
  std::vector<int> src(1024), dst(1024, 0);
  for (int i = 0; i < 1024; ++i) src[i] = i * 3 - 7;
  CHECK(cudaMemcpy(a, src.data(), 4096, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpyPeer(b, 0, a, 0, 4096));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  REPORT(cudaMemcpyPeerAsync(b + 512, 0, a, 0, 2048, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(dst.data(), b, 4096, cudaMemcpyDeviceToHost));
  ok = true;
  for (int i = 0; i < 512; ++i) ok = ok && dst[i] == src[i] && dst[512 + i] == src[i];
  std::printf("peer copies: %s\n", ok ? "ok" : "WRONG");
  int dev = -1;
  REPORT(cudaStreamGetDevice(s, &dev));
  std::printf("stream device %d\n", dev);
  REPORT(cudaMemcpyPeer(b, 0, a, 7, 16));  // no device 7
  REPORT(cudaGetLastError());
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  REPORT(cudaProfilerStart());
  REPORT(cudaProfilerStop());
  cudaChannelFormatDesc cd = cudaCreateChannelDesc(8, 16, 0, 0, cudaChannelFormatKindUnsigned);
  std::printf("channel %d %d %d %d %d\n", cd.x, cd.y, cd.z, cd.w, static_cast<int>(cd.f));
  return 0;
}
