// cudaLaunchKernelExC with launch attributes that hold events (programmatic event, launch
// completion event): the events are recorded by the launch and another stream waits for them.
#include <cstdio>
#include <vector>

#include "check.h"

__global__ void produce(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v + i;
}
__global__ void consume(int* out, const int* in, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * 2;
}

static cudaError_t launch_with(cudaLaunchAttribute attr, cudaStream_t s, int* p, int n, int v) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(n / 256);
  cfg.blockDim = dim3(256);
  cfg.stream = s;
  cfg.attrs = &attr;
  cfg.numAttrs = 1;
  return cudaLaunchKernelEx(&cfg, produce, p, n, v);
}

int main() {
  const int n = 1 << 16;
  int *a, *b;
  CHECK(cudaMalloc(&a, n * sizeof(int)));
  CHECK(cudaMalloc(&b, n * sizeof(int)));
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t ev;
  CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  std::vector<int> h(n);
  bool ok = true;

  // Launch completion event: s2 waits for it, then consumes (after s1 finished, to compare).
  cudaLaunchAttribute done = {};
  done.id = cudaLaunchAttributeLaunchCompletionEvent;
  done.val.launchCompletionEvent.event = ev;
  done.val.launchCompletionEvent.flags = 0;
  REPORT(launch_with(done, s1, a, n, 1));
  CHECK(cudaStreamWaitEvent(s2, ev, 0));
  CHECK(cudaStreamSynchronize(s1));
  consume<<<n / 256, 256, 0, s2>>>(b, a, n);
  CHECK(cudaStreamSynchronize(s2));
  REPORT(cudaEventQuery(ev));
  CHECK(cudaMemcpy(h.data(), b, n * sizeof(int), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) ok &= h[i] == 2 * (1 + i);
  std::printf("launch completion event: %s\n", ok ? "ok" : "WRONG");

  // Programmatic event, triggered at block start.
  cudaLaunchAttribute prog = {};
  prog.id = cudaLaunchAttributeProgrammaticEvent;
  prog.val.programmaticEvent.event = ev;
  prog.val.programmaticEvent.flags = 0;
  prog.val.programmaticEvent.triggerAtBlockStart = 1;
  REPORT(launch_with(prog, s1, a, n, 5));
  CHECK(cudaStreamWaitEvent(s2, ev, 0));
  CHECK(cudaStreamSynchronize(s1));
  consume<<<n / 256, 256, 0, s2>>>(b, a, n);
  CHECK(cudaStreamSynchronize(s2));
  CHECK(cudaMemcpy(h.data(), b, n * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok2 = true;
  for (int i = 0; i < n; ++i) ok2 &= h[i] == 2 * (5 + i);
  std::printf("programmatic event: %s\n", ok2 ? "ok" : "WRONG");

  // A NULL event in the attribute: the runtime's own answer.
  cudaLaunchAttribute none = done;
  none.val.launchCompletionEvent.event = nullptr;
  REPORT(launch_with(none, s1, a, n, 0));
  REPORT(cudaGetLastError());
  CHECK(cudaStreamSynchronize(s1));

  CHECK(cudaEventDestroy(ev));
  CHECK(cudaStreamDestroy(s1));
  CHECK(cudaStreamDestroy(s2));
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  return verdict(ok && ok2);
}
