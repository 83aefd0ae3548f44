// Graphs whose memcpy nodes read or write host memory: host<->device copies captured from a
// stream (cudaMemcpyAsync, cudaMemcpy2DAsync; pageable and page-locked memory) and explicit
// memcpy nodes with host pointers (cudaGraphAddMemcpyNode1D, cudaGraphAddMemcpyNode with a
// pitched host box). Each graph is launched several times with the host input changed between
// launches; results are read after a stream synchronisation, an event synchronisation or a
// query loop. Also: the graph as a child of another, a clone, cudaGraphExecUpdate onto a graph
// with other host buffers, and a host node that reads the device-to-host result of its graph.
#include <cstring>
#include <vector>

#include "check.h"

namespace {

constexpr int kN = 5000;

__global__ void scale(const int* in, int* out, int n, int k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * k + 1;
}

int blocks(int n) { return (n + 255) / 256; }

bool check_out(const char* what, const std::vector<int>& in, const int* out, int k) {
  bool ok = true;
  for (int i = 0; i < kN; ++i) ok &= out[i] == in[i] * k + 1;
  std::printf("%s: %s (first %d last %d)\n", what, ok ? "ok" : "WRONG", out[0], out[kN - 1]);
  return ok;
}

// Captures in -> d_in, kernel, d_out -> out on s (pageable host memory).
cudaGraph_t capture(cudaStream_t s, const int* in, int* out, int* d_in, int* d_out, int k) {
  cudaGraph_t g;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemcpyAsync(d_in, in, kN * sizeof(int), cudaMemcpyHostToDevice, s));
  scale<<<blocks(kN), 256, 0, s>>>(d_in, d_out, kN, k);
  CHECK(cudaMemcpyAsync(out, d_out, kN * sizeof(int), cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamEndCapture(s, &g));
  return g;
}

bool captured(cudaStream_t s, int* d_in, int* d_out) {
  bool ok = true;
  std::vector<int> in(kN), out(kN, 0);
  cudaGraph_t g = capture(s, in.data(), out.data(), d_in, d_out, 3);
  cudaGraphExec_t x;
  CHECK(cudaGraphInstantiate(&x, g, 0));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kN; ++i) in[i] = i * (round + 1) - 7;
    CHECK(cudaGraphLaunch(x, s));
    CHECK(cudaStreamSynchronize(s));
    ok &= check_out("captured, launch", in, out.data(), 3);
  }
  // Two launches back to back, input changed in between, one synchronisation.
  for (int i = 0; i < kN; ++i) in[i] = 11;
  CHECK(cudaGraphLaunch(x, s));
  std::vector<int> first_in = in;
  for (int i = 0; i < kN; ++i) in[i] = 100 + i;
  CHECK(cudaGraphLaunch(x, s));
  cudaEvent_t done;
  CHECK(cudaEventCreate(&done));
  CHECK(cudaEventRecord(done, s));
  CHECK(cudaEventSynchronize(done));
  ok &= check_out("captured, two launches then event sync", in, out.data(), 3);

  // As a child graph, and as a clone.
  cudaGraph_t parent, clone;
  CHECK(cudaGraphCreate(&parent, 0));
  cudaGraphNode_t child;
  CHECK(cudaGraphAddChildGraphNode(&child, parent, nullptr, 0, g));
  cudaGraphExec_t px;
  CHECK(cudaGraphInstantiate(&px, parent, 0));
  for (int i = 0; i < kN; ++i) in[i] = -i;
  CHECK(cudaGraphLaunch(px, s));
  while (cudaStreamQuery(s) == cudaErrorNotReady) {
  }
  ok &= check_out("child graph, query loop", in, out.data(), 3);
  CHECK(cudaGraphClone(&clone, g));
  cudaGraphExec_t cx;
  CHECK(cudaGraphInstantiate(&cx, clone, 0));
  for (int i = 0; i < kN; ++i) in[i] = 2 * i;
  CHECK(cudaGraphLaunch(cx, s));
  CHECK(cudaDeviceSynchronize());
  ok &= check_out("clone, device sync", in, out.data(), 3);

  // The executable graph updated to a graph of the same shape with other host buffers.
  std::vector<int> in2(kN), out2(kN, 0);
  cudaGraph_t g2 = capture(s, in2.data(), out2.data(), d_in, d_out, 3);
  cudaGraphExecUpdateResultInfo info;
  REPORT(cudaGraphExecUpdate(x, g2, &info));
  for (int i = 0; i < kN; ++i) in2[i] = 5 * i;
  std::vector<int> before = out;
  CHECK(cudaGraphLaunch(x, s));
  CHECK(cudaStreamSynchronize(s));
  ok &= check_out("updated executable graph", in2, out2.data(), 3);
  bool untouched = before == out;
  std::printf("old host buffer untouched by the updated graph: %s\n", untouched ? "yes" : "NO");
  ok &= untouched;

  CHECK(cudaEventDestroy(done));
  CHECK(cudaGraphExecDestroy(cx));
  CHECK(cudaGraphExecDestroy(px));
  CHECK(cudaGraphExecDestroy(x));
  CHECK(cudaGraphDestroy(clone));
  CHECK(cudaGraphDestroy(parent));
  CHECK(cudaGraphDestroy(g2));
  CHECK(cudaGraphDestroy(g));
  return ok;
}

// A host node behind the device-to-host copy of the same graph reads its result.
struct Sum {
  const int* out = nullptr;
  std::vector<long long> seen;
};
void CUDART_CB sum_out(void* user) {
  auto* s = static_cast<Sum*>(user);
  long long t = 0;
  for (int i = 0; i < kN; ++i) t += s->out[i];
  s->seen.push_back(t);
}

bool host_node_reads_result(cudaStream_t s, int* d_in, int* d_out) {
  std::vector<int> in(kN), out(kN, 0);
  Sum sum;
  sum.out = out.data();
  cudaGraph_t g;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemcpyAsync(d_in, in.data(), kN * sizeof(int), cudaMemcpyHostToDevice, s));
  scale<<<blocks(kN), 256, 0, s>>>(d_in, d_out, kN, 4);
  CHECK(cudaMemcpyAsync(out.data(), d_out, kN * sizeof(int), cudaMemcpyDeviceToHost, s));
  CHECK(cudaLaunchHostFunc(s, sum_out, &sum));
  CHECK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t x;
  CHECK(cudaGraphInstantiate(&x, g, 0));
  std::vector<long long> want;
  for (int round = 0; round < 2; ++round) {
    long long t = 0;
    for (int i = 0; i < kN; ++i) {
      in[i] = i + round * 3;
      t += in[i] * 4 + 1;
    }
    want.push_back(t);
    CHECK(cudaGraphLaunch(x, s));
    CHECK(cudaStreamSynchronize(s));
  }
  bool ok = sum.seen == want;
  std::printf("host node after the device-to-host copy:");
  for (long long v : sum.seen) std::printf(" %lld", v);
  std::printf(" %s\n", ok ? "ok" : "WRONG");
  CHECK(cudaGraphExecDestroy(x));
  CHECK(cudaGraphDestroy(g));
  return ok;
}

// Page-locked memory, and a 2D copy of a padded host matrix.
bool captured_pinned_2d(cudaStream_t s, int* d_in, int* d_out) {
  const int w = 50, h = kN / 50, hpitch = 64;  // ints
  int* in = nullptr;
  int* out = nullptr;
  CHECK(cudaMallocHost(&in, hpitch * h * sizeof(int)));
  CHECK(cudaMallocHost(&out, kN * sizeof(int)));
  std::memset(out, 0, kN * sizeof(int));
  cudaGraph_t g;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemcpy2DAsync(d_in, w * sizeof(int), in, hpitch * sizeof(int), w * sizeof(int), h,
                          cudaMemcpyHostToDevice, s));
  scale<<<blocks(kN), 256, 0, s>>>(d_in, d_out, kN, 2);
  CHECK(cudaMemcpyAsync(out, d_out, kN * sizeof(int), cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t x;
  CHECK(cudaGraphInstantiate(&x, g, 0));
  bool ok = true;
  for (int round = 0; round < 2; ++round) {
    std::vector<int> flat(kN);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < hpitch; ++c) {
        in[r * hpitch + c] = c < w ? r * 1000 + c + round : -99;
        if (c < w) flat[r * w + c] = in[r * hpitch + c];
      }
    CHECK(cudaGraphLaunch(x, s));
    CHECK(cudaStreamSynchronize(s));
    ok &= check_out("captured pinned 2D", flat, out, 2);
  }
  CHECK(cudaGraphExecDestroy(x));
  CHECK(cudaGraphDestroy(g));
  CHECK(cudaFreeHost(in));
  CHECK(cudaFreeHost(out));
  return ok;
}

// Explicit nodes: 1D host-to-device, a kernel, a 3D device-to-host into a padded host box.
bool explicit_nodes(cudaStream_t s, int* d_in, int* d_out) {
  const int w = 100, h = kN / 100;
  const int hp = 128, hy = h + 3;  // host box: ints per row, rows per slice
  std::vector<int> in(kN), box(hp * hy, -1);
  cudaGraph_t g;
  CHECK(cudaGraphCreate(&g, 0));
  cudaGraphNode_t up, k, down;
  CHECK(cudaGraphAddMemcpyNode1D(&up, g, nullptr, 0, d_in, in.data(), kN * sizeof(int),
                                 cudaMemcpyDefault));
  int n = kN, factor = 5;
  void* args[] = {&d_in, &d_out, &n, &factor};
  cudaKernelNodeParams kp = {};
  kp.func = reinterpret_cast<void*>(scale);
  kp.gridDim = dim3(blocks(kN));
  kp.blockDim = dim3(256);
  kp.kernelParams = args;
  CHECK(cudaGraphAddKernelNode(&k, g, &up, 1, &kp));
  cudaMemcpy3DParms p = {};
  p.srcPtr = make_cudaPitchedPtr(d_out, w * sizeof(int), w * sizeof(int), h);
  p.dstPtr = make_cudaPitchedPtr(box.data(), hp * sizeof(int), w * sizeof(int), hy);
  p.dstPos = make_cudaPos(2 * sizeof(int), 1, 0);
  p.extent = make_cudaExtent(w * sizeof(int), h, 1);
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaGraphAddMemcpyNode(&down, g, &k, 1, &p));
  cudaGraphExec_t x;
  CHECK(cudaGraphInstantiate(&x, g, 0));
  bool ok = true;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kN; ++i) in[i] = i % 97 + round * 10;
    CHECK(cudaGraphLaunch(x, s));
    CHECK(cudaStreamSynchronize(s));
    std::vector<int> got(kN);
    bool pad = true;
    for (int r = 0; r < hy; ++r)
      for (int c = 0; c < hp; ++c) {
        const bool inside = r >= 1 && r < 1 + h && c >= 2 && c < 2 + w;
        if (inside) got[(r - 1) * w + (c - 2)] = box[r * hp + c];
        else pad &= box[r * hp + c] == -1;
      }
    ok &= check_out("explicit memcpy nodes", in, got.data(), 5);
    std::printf("host box outside the copy untouched: %s\n", pad ? "yes" : "NO");
    ok &= pad;
  }
  CHECK(cudaGraphExecDestroy(x));
  CHECK(cudaGraphDestroy(g));
  return ok;
}

}  // namespace

int main() {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int *d_in, *d_out;
  CHECK(cudaMalloc(&d_in, kN * sizeof(int)));
  CHECK(cudaMalloc(&d_out, kN * sizeof(int)));
  bool ok = captured(s, d_in, d_out);
  ok &= captured_pinned_2d(s, d_in, d_out);
  ok &= host_node_reads_result(s, d_in, d_out);
  ok &= explicit_nodes(s, d_in, d_out);
  CHECK(cudaFree(d_in));
  CHECK(cudaFree(d_out));
  CHECK(cudaStreamDestroy(s));
  return verdict(ok);
}
