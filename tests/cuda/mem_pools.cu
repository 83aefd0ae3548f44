// Stream-ordered memory: cudaMallocAsync / cudaFreeAsync on streams ordered by events, the
// default and a created pool, pool attributes of both value sizes, trimming, access, the
// device's current pool, and cudaMemcpyDefault on stream-ordered allocations.
#include <cstdio>
#include <vector>

#include "check.h"

__global__ void fill(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v + i;
}
__global__ void add_from(int* dst, const int* src, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] += src[i];
}

static unsigned long long u64_attr(cudaMemPool_t pool, cudaMemPoolAttr a) {
  unsigned long long v = 0;
  CHECK(cudaMemPoolGetAttribute(pool, a, &v));
  return v;
}
static int int_attr(cudaMemPool_t pool, cudaMemPoolAttr a) {
  int v = -1;
  CHECK(cudaMemPoolGetAttribute(pool, a, &v));
  return v;
}

int main() {
  const int n = 1 << 18;
  const size_t bytes = n * sizeof(int);
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t ev;
  CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));

  // 1. The default pool and its attributes.
  cudaMemPool_t def = nullptr, cur = nullptr;
  CHECK(cudaDeviceGetDefaultMemPool(&def, 0));
  CHECK(cudaDeviceGetMemPool(&cur, 0));
  std::printf("current pool is the default: %s\n", cur == def ? "yes" : "no");
  std::printf("release threshold %llu\n", u64_attr(def, cudaMemPoolAttrReleaseThreshold));
  unsigned long long threshold = 64ull << 20;
  CHECK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReleaseThreshold, &threshold));
  std::printf("release threshold %llu\n", u64_attr(def, cudaMemPoolAttrReleaseThreshold));
  std::printf("opportunistic reuse %d\n", int_attr(def, cudaMemPoolReuseAllowOpportunistic));
  int off = 0;
  CHECK(cudaMemPoolSetAttribute(def, cudaMemPoolReuseAllowOpportunistic, &off));
  std::printf("opportunistic reuse %d\n", int_attr(def, cudaMemPoolReuseAllowOpportunistic));
  int on = 1;
  CHECK(cudaMemPoolSetAttribute(def, cudaMemPoolReuseAllowOpportunistic, &on));
  std::printf("follow event dependencies %d\n",
              int_attr(def, cudaMemPoolReuseFollowEventDependencies));

  // 2. Allocate on s1, fill there, use on s2 after an event, free on s2.
  int *a = nullptr, *b = nullptr;
  CHECK(cudaMallocAsync(&a, bytes, s1));
  CHECK(cudaMallocAsync(reinterpret_cast<void**>(&b), bytes, s1));
  fill<<<n / 256, 256, 0, s1>>>(a, n, 1);
  fill<<<n / 256, 256, 0, s1>>>(b, n, 100);
  CHECK(cudaEventRecord(ev, s1));
  CHECK(cudaStreamWaitEvent(s2, ev, 0));
  add_from<<<n / 256, 256, 0, s2>>>(b, a, n);
  std::printf("used at least 2 MiB: %s\n",
              u64_attr(def, cudaMemPoolAttrUsedMemCurrent) >= 2 * bytes ? "yes" : "no");
  std::vector<int> h(n);
  CHECK(cudaStreamSynchronize(s2));
  // cudaMemcpyDefault must know stream-ordered allocations are device memory.
  CHECK(cudaMemcpy(h.data(), b, bytes, cudaMemcpyDefault));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok &= h[i] == 101 + 2 * i;
  std::printf("results: %s\n", ok ? "ok" : "WRONG");
  CHECK(cudaFreeAsync(a, s2));
  CHECK(cudaFreeAsync(b, s2));
  CHECK(cudaStreamSynchronize(s2));
  std::printf("used after free: %llu\n", u64_attr(def, cudaMemPoolAttrUsedMemCurrent));
  std::printf("reserved kept under the threshold: %s\n",
              u64_attr(def, cudaMemPoolAttrReservedMemCurrent) > 0 ? "yes" : "no");
  CHECK(cudaMemPoolTrimTo(def, 0));
  std::printf("reserved after trim: %llu\n", u64_attr(def, cudaMemPoolAttrReservedMemCurrent));
  std::printf("used high at least 2 MiB: %s\n",
              u64_attr(def, cudaMemPoolAttrUsedMemHigh) >= 2 * bytes ? "yes" : "no");

  // 3. Many allocations in stream order.
  for (int r = 0; r < 20; ++r) {
    int* p = nullptr;
    cudaStream_t s = r % 2 ? s1 : s2;
    CHECK(cudaMallocAsync(&p, bytes, s));
    fill<<<n / 256, 256, 0, s>>>(p, n, r);
    CHECK(cudaMemcpyAsync(h.data(), p, sizeof(int) * 4, cudaMemcpyDeviceToHost, s));
    CHECK(cudaFreeAsync(p, s));
    CHECK(cudaStreamSynchronize(s));
    ok &= h[0] == r && h[3] == r + 3;
  }
  std::printf("20 rounds: %s\n", ok ? "ok" : "WRONG");

  // 4. A pool of our own.
  cudaMemPoolProps props = {};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = 0;
  cudaMemPool_t pool = nullptr;
  CHECK(cudaMemPoolCreate(&pool, &props));
  std::printf("own pool differs from the default: %s\n", pool != def ? "yes" : "no");
  cudaMemAccessDesc desc = {};
  desc.location.type = cudaMemLocationTypeDevice;
  desc.location.id = 0;
  desc.flags = cudaMemAccessFlagsProtReadWrite;
  REPORT(cudaMemPoolSetAccess(pool, &desc, 1));
  cudaMemAccessFlags flags = cudaMemAccessFlagsProtNone;
  cudaMemLocation loc = desc.location;
  REPORT(cudaMemPoolGetAccess(&flags, pool, &loc));
  std::printf("access flags %d\n", static_cast<int>(flags));
  int* c = nullptr;
  CHECK(cudaMallocFromPoolAsync(reinterpret_cast<void**>(&c), bytes, pool, s1));
  fill<<<n / 256, 256, 0, s1>>>(c, n, 5);
  std::printf("own pool used: %llu\n", u64_attr(pool, cudaMemPoolAttrUsedMemCurrent));
  CHECK(cudaMemcpyAsync(h.data(), c, bytes, cudaMemcpyDeviceToHost, s1));
  CHECK(cudaFreeAsync(c, s1));
  CHECK(cudaStreamSynchronize(s1));
  std::printf("own pool data: %d %d\n", h[0], h[n - 1]);
  // As the device's current pool, cudaMallocAsync takes from it.
  CHECK(cudaDeviceSetMemPool(0, pool));
  CHECK(cudaDeviceGetMemPool(&cur, 0));
  std::printf("current pool is ours: %s\n", cur == pool ? "yes" : "no");
  CHECK(cudaMallocAsync(&c, bytes, s1));
  std::printf("own pool used: %llu\n", u64_attr(pool, cudaMemPoolAttrUsedMemCurrent));
  CHECK(cudaFreeAsync(c, s1));
  CHECK(cudaStreamSynchronize(s1));
  CHECK(cudaDeviceSetMemPool(0, def));
  CHECK(cudaMemPoolDestroy(pool));

  // 5. Errors.
  REPORT(cudaMallocAsync(nullptr, bytes, s1));
  REPORT(cudaMemPoolGetAttribute(def, static_cast<cudaMemPoolAttr>(0x7777), &threshold));
  REPORT(cudaGetLastError());

  CHECK(cudaEventDestroy(ev));
  CHECK(cudaStreamDestroy(s1));
  CHECK(cudaStreamDestroy(s2));
  return verdict(ok);
}
