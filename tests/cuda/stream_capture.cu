// Stream capture: a multi-kernel workload with a memset, a device-to-device copy, a fork/join
// across two streams and a host function, captured once and replayed with new input data;
// capture state queries; the capture mode per thread; what capture refuses.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "check.h"

__global__ void scale(int* out, const int* in, int n, int k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * k;
}
__global__ void add_const(int* p, int n, int c) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += c;
}
__global__ void sum2(int* out, const int* a, const int* b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] += a[i] + b[i];
}

static int g_runs = 0;
static void CUDART_CB count_run(void* p) { *static_cast<int*>(p) += 1; }

static const char* status_name(cudaStreamCaptureStatus s) {
  switch (s) {
    case cudaStreamCaptureStatusNone: return "None";
    case cudaStreamCaptureStatusActive: return "Active";
    case cudaStreamCaptureStatusInvalidated: return "Invalidated";
  }
  return "?";
}

static void print_capturing(const char* when, cudaStream_t s) {
  cudaStreamCaptureStatus st;
  cudaError_t e = cudaStreamIsCapturing(s, &st);
  std::printf("capturing %s: %s %s\n", when, cudaGetErrorName(e), status_name(st));
}

int main() {
  const int n = 4096, threads = 256, blocks = n / threads;
  const size_t bytes = n * sizeof(int);
  int *in, *tmp, *tmp2, *out;
  CHECK(cudaMalloc(&in, bytes));
  CHECK(cudaMalloc(&tmp, bytes));
  CHECK(cudaMalloc(&tmp2, bytes));
  CHECK(cudaMalloc(&out, bytes));
  CHECK(cudaMemset(out, 0xff, bytes));
  cudaStream_t s, s2;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t fork, join;
  CHECK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
  CHECK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));

  // 1. Capture.
  print_capturing("before", s);
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  print_capturing("during", s);
  CHECK(cudaMemsetAsync(out, 0, bytes, s));
  scale<<<blocks, threads, 0, s>>>(tmp, in, n, 2);
  cudaStreamCaptureStatus st;
  unsigned long long cap_id = 0;
  cudaGraph_t info_graph = nullptr;
  const cudaGraphNode_t* deps = nullptr;
  size_t ndeps = 0;
  CHECK(cudaStreamGetCaptureInfo(s, &st, &cap_id, &info_graph, &deps, nullptr, &ndeps));
  cudaGraphNodeType type = cudaGraphNodeTypeEmpty;
  if (ndeps == 1) CHECK(cudaGraphNodeGetType(deps[0], &type));
  std::printf("capture info: %s, id %s, graph %s, %zu dependency of type %d\n", status_name(st),
              cap_id ? "set" : "0", info_graph ? "set" : "NULL", ndeps, static_cast<int>(type));
  // Walking back from the capture's frontier while it is under way (PyTorch's allocator does,
  // to find which freed blocks every later node comes after): kernel <- memset <- nothing.
  size_t back = 0, root_deps = 7;
  cudaGraphNode_t memset_node = nullptr;
  cudaGraphNodeType back_type = cudaGraphNodeTypeEmpty;
  if (ndeps == 1) {
    CHECK(cudaGraphNodeGetDependencies(deps[0], nullptr, nullptr, &back));
    if (back == 1) {
      CHECK(cudaGraphNodeGetDependencies(deps[0], &memset_node, nullptr, &back));
      CHECK(cudaGraphNodeGetType(memset_node, &back_type));
      CHECK(cudaGraphNodeGetDependencies(memset_node, nullptr, nullptr, &root_deps));
    }
  }
  std::printf("during capture: the kernel has %zu dependency of type %d, which has %zu\n", back,
              static_cast<int>(back_type), root_deps);
  CHECK(cudaEventRecord(fork, s));
  CHECK(cudaStreamWaitEvent(s2, fork, 0));
  print_capturing("s2 joined", s2);
  CHECK(cudaMemcpyAsync(tmp2, tmp, bytes, cudaMemcpyDeviceToDevice, s2));
  add_const<<<blocks, threads, 0, s2>>>(tmp2, n, 1);
  CHECK(cudaEventRecord(join, s2));
  CHECK(cudaStreamWaitEvent(s, join, 0));
  sum2<<<blocks, threads, 0, s>>>(out, tmp, tmp2, n);
  CHECK(cudaLaunchHostFunc(s, count_run, &g_runs));
  cudaGraph_t graph = nullptr;
  CHECK(cudaStreamEndCapture(s, &graph));
  print_capturing("after", s);
  std::printf("capture info named the captured graph: %s\n", graph == info_graph ? "yes" : "no");
  std::vector<int> h(n);
  CHECK(cudaMemcpy(h.data(), out, bytes, cudaMemcpyDeviceToHost));
  std::printf("capture ran nothing: %s, host function runs %d\n", h[0] == -1 ? "yes" : "no",
              g_runs);

  // 2. Replay with new input each time: out = 4 * in + 1.
  cudaGraphExec_t exec = nullptr;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphUpload(exec, s));
  bool all_ok = true;
  for (int r = 0; r < 3; ++r) {
    std::vector<int> input(n);
    for (int i = 0; i < n; ++i) input[i] = i * (r + 1) - 7 * r;
    // On s itself: a pageable cudaMemcpy may return before its DMA is done, and s does not
    // wait for the legacy stream (non-blocking): the replay could read the old input.
    CHECK(cudaMemcpyAsync(in, input.data(), bytes, cudaMemcpyHostToDevice, s));
    CHECK(cudaGraphLaunch(exec, s));
    CHECK(cudaStreamSynchronize(s));
    CHECK(cudaMemcpy(h.data(), out, bytes, cudaMemcpyDeviceToHost));
    long long sum = 0;
    bool ok = true;
    for (int i = 0; i < n; ++i) {
      sum += h[i];
      ok &= h[i] == 4 * input[i] + 1;
    }
    all_ok &= ok;
    std::printf("replay %d: out[0]=%d out[%d]=%d sum=%lld %s, host function runs %d\n", r, h[0],
                n - 1, h[n - 1], sum, ok ? "ok" : "WRONG", g_runs);
  }

  // 3. The capture mode is per thread.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
  std::printf("previous mode %d\n", static_cast<int>(mode));
  CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
  std::printf("previous mode %d\n", static_cast<int>(mode));

  // 4. What capture refuses, as natively: an illegal query invalidates the capture.
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  add_const<<<blocks, threads, 0, s>>>(out, n, 1);
  REPORT(cudaStreamQuery(s));
  print_capturing("after an illegal call", s);
  cudaGraph_t bad = nullptr;
  REPORT(cudaStreamEndCapture(s, &bad));
  std::printf("graph of an invalidated capture: %s\n", bad ? "set" : "NULL");
  REPORT(cudaGetLastError());
  REPORT(cudaStreamEndCapture(s, &bad));  // not capturing any more
  REPORT(cudaGetLastError());

  // 5. Host<->device copies during capture become memcpy nodes, natively and through GVirtuS
  // (a worker staging buffer per copy, docs/callbacks.md; tests/cuda/graph_host_copies.cu runs
  // such graphs).
  for (int dir = 0; dir < 2; ++dir) {
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    cudaError_t e = dir == 0 ? cudaMemcpyAsync(in, h.data(), bytes, cudaMemcpyHostToDevice, s)
                             : cudaMemcpyAsync(h.data(), in, bytes, cudaMemcpyDeviceToHost, s);
    cudaGraph_t g2 = nullptr;
    cudaError_t end = cudaStreamEndCapture(s, &g2);
    bool expected = e == cudaSuccess && end == cudaSuccess && g2 != nullptr;
    std::printf("%s copy during capture: %s\n", dir == 0 ? "host-to-device" : "device-to-host",
                expected ? "as documented" : "UNEXPECTED");
    if (!expected)
      std::printf("  copy %s, end %s\n", cudaGetErrorName(e), cudaGetErrorName(end));
    all_ok &= expected;
    if (g2) CHECK(cudaGraphDestroy(g2));
    cudaGetLastError();
    print_capturing("after it", s);
  }

  // 6. The stream and graph still work afterwards.
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("host function runs %d\n", g_runs);
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  CHECK(cudaEventDestroy(fork));
  CHECK(cudaEventDestroy(join));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaStreamDestroy(s2));
  for (int* p : {in, tmp, tmp2, out}) CHECK(cudaFree(p));
  return verdict(all_ok);
}
