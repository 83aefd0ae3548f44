// Host callbacks that read managed memory written by the kernel just before them on their
// stream, and write managed memory that the kernel just after them reads: cudaLaunchHostFunc,
// cudaStreamAddCallback, a host node of a captured graph launched several times, a
// __managed__ variable, and mapped page-locked memory. No synchronisation between the kernel and
// the callback: the stream order alone promises the callback sees the kernel's writes.
#include <cstdio>
#include <vector>

#include "check.h"

namespace {

constexpr int kN = 4096;

__managed__ int g_flag;

__global__ void fill(int* p, int n, int base) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = base + i;
  if (i == 0) g_flag = base;
}

__global__ void bump(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}

// out[0] = what the callback left in p[0], out[1] = its sum as the kernel sees it.
__global__ void after(const int* p, int n, long long* out) {
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    long long s = 0;
    for (int i = 0; i < n; ++i) s += p[i];
    out[0] = p[0];
    out[1] = s;
  }
}

struct Seen {
  int* data = nullptr;
  int n = 0;
  std::vector<long long> sums;
  std::vector<int> flags;
  int write = 0;  // written to data[0] by the callback when not 0
};

long long sum(const int* p, int n) {
  long long s = 0;
  for (int i = 0; i < n; ++i) s += p[i];
  return s;
}

void CUDART_CB host_fn(void* user) {
  auto* seen = static_cast<Seen*>(user);
  seen->sums.push_back(sum(seen->data, seen->n));
  seen->flags.push_back(g_flag);
  if (seen->write) seen->data[0] = seen->write;
}

void CUDART_CB stream_cb(cudaStream_t, cudaError_t status, void* user) {
  auto* seen = static_cast<Seen*>(user);
  seen->sums.push_back(status == cudaSuccess ? sum(seen->data, seen->n) : -1);
}

void print(const char* what, const Seen& s) {
  std::printf("%s:", what);
  for (long long v : s.sums) std::printf(" %lld", v);
  std::printf(" | flags:");
  for (int v : s.flags) std::printf(" %d", v);
  std::printf("\n");
}

}  // namespace

int main() {
  // Line by line: were a section to hang, the lines before it would show which one.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int* m = nullptr;
  CHECK(cudaMallocManaged(&m, kN * sizeof(int)));
  long long* out = nullptr;
  CHECK(cudaMallocManaged(&out, 2 * sizeof(long long)));
  const int blocks = (kN + 255) / 256;

  // cudaLaunchHostFunc between two kernels; the callback's write reaches the kernel after it.
  Seen a;
  a.data = m;
  a.n = kN;
  a.write = -5;
  fill<<<blocks, 256, 0, s>>>(m, kN, 10);
  CHECK(cudaLaunchHostFunc(s, host_fn, &a));
  after<<<1, 1, 0, s>>>(m, kN, out);
  CHECK(cudaStreamSynchronize(s));
  print("launch host func", a);
  std::printf("kernel after the callback: first %lld sum %lld\n", out[0], out[1]);

  // cudaStreamAddCallback on the same memory, written again.
  Seen b;
  b.data = m;
  b.n = kN;
  fill<<<blocks, 256, 0, s>>>(m, kN, 1000);
  CHECK(cudaStreamAddCallback(s, stream_cb, &b, 0));
  bump<<<blocks, 256, 0, s>>>(m, kN);
  CHECK(cudaStreamAddCallback(s, stream_cb, &b, 0));
  CHECK(cudaStreamSynchronize(s));
  print("stream callbacks", b);

  // A captured graph: kernel, host node, kernel; launched three times, each launch bumps first.
  Seen g;
  g.data = m;
  g.n = kN;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  bump<<<blocks, 256, 0, s>>>(m, kN);
  CHECK(cudaLaunchHostFunc(s, host_fn, &g));
  bump<<<blocks, 256, 0, s>>>(m, kN);
  CHECK(cudaStreamEndCapture(s, &graph));
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 3; ++i) CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  print("graph host node", g);
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));

  // Mapped page-locked memory written through its device pointer.
  int* mapped = nullptr;
  CHECK(cudaHostAlloc(&mapped, kN * sizeof(int), cudaHostAllocMapped));
  int* mapped_dev = nullptr;
  CHECK(cudaHostGetDevicePointer(&mapped_dev, mapped, 0));
  Seen h;
  h.data = mapped;
  h.n = kN;
  fill<<<blocks, 256, 0, s>>>(mapped_dev, kN, 7);
  CHECK(cudaLaunchHostFunc(s, host_fn, &h));
  CHECK(cudaStreamSynchronize(s));
  print("mapped memory", h);

  // What the results must be.
  const long long tri = static_cast<long long>(kN) * (kN - 1) / 2;
  bool ok = a.sums.size() == 1 && a.sums[0] == 10LL * kN + tri && a.flags[0] == 10 &&
            out[0] == -5 && out[1] == 10LL * kN + tri - 10 - 5;
  ok &= b.sums.size() == 2 && b.sums[0] == 1000LL * kN + tri && b.sums[1] == b.sums[0] + kN;
  ok &= g.sums.size() == 3;
  for (size_t i = 0; ok && i < g.sums.size(); ++i)
    ok &= g.sums[i] == 1000LL * kN + tri + static_cast<long long>(2 * i + 2) * kN;
  ok &= h.sums.size() == 1 && h.sums[0] == 7LL * kN + tri && h.flags[0] == 7;

  CHECK(cudaFreeHost(mapped));
  CHECK(cudaFree(m));
  CHECK(cudaFree(out));
  CHECK(cudaStreamDestroy(s));
  return verdict(ok);
}
