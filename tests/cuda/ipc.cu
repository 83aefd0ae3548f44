// CUDA IPC between two processes: the parent exports device memory and an event, re-executes
// itself (a fresh process: through GVirtuS a fresh client session, which the inherited
// environment sends to the same backend), and hands the 64-byte handles over a pipe. The child
// opens them, waits for the event, runs a kernel on the parent's memory and reports back; the
// parent checks the data. Also the error cases of the IPC calls.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"
#include "pipe_io.h"

__global__ void twice_plus_one(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = p[i] * 2 + 1;
}

namespace {

constexpr int kN = 4096;

struct Handles {
  cudaIpcMemHandle_t mem;
  cudaIpcEventHandle_t event;
};

// What the child sends back: the result of each of its calls.
struct Report {
  int open_mem, open_event, wait, launch, sync, close_mem, destroy_event;
};

int child(int in, int out) {
  Handles h;
  if (!read_all(in, &h, sizeof h)) return 2;
  Report r{};
  int* p = nullptr;
  cudaEvent_t e = nullptr;
  r.open_mem = cudaIpcOpenMemHandle(reinterpret_cast<void**>(&p), h.mem, cudaIpcMemLazyEnablePeerAccess);
  r.open_event = cudaIpcOpenEventHandle(&e, h.event);
  r.wait = cudaStreamWaitEvent(0, e, 0);
  twice_plus_one<<<kN / 256, 256>>>(p, kN);
  r.launch = cudaGetLastError();
  r.sync = cudaDeviceSynchronize();
  r.close_mem = cudaIpcCloseMemHandle(p);
  r.destroy_event = cudaEventDestroy(e);
  return write_all(out, &r, sizeof r) ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "child") == 0) return child(std::atoi(argv[2]), std::atoi(argv[3]));

  int* d;
  CHECK(cudaMalloc(&d, kN * sizeof(int)));
  std::vector<int> h(kN);
  for (int i = 0; i < kN; ++i) h[i] = i - 1000;
  CHECK(cudaMemcpy(d, h.data(), kN * sizeof(int), cudaMemcpyHostToDevice));
  Handles hs;
  REPORT(cudaIpcGetMemHandle(&hs.mem, d));
  cudaEvent_t ev;
  CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming | cudaEventInterprocess));
  CHECK(cudaEventRecord(ev, 0));
  REPORT(cudaIpcGetEventHandle(&hs.event, ev));

  // Error cases in this process.
  void* self = nullptr;
  REPORT(cudaIpcOpenMemHandle(&self, hs.mem, cudaIpcMemLazyEnablePeerAccess));
  cudaGetLastError();
  cudaIpcMemHandle_t bad;
  int on_host = 0;
  REPORT(cudaIpcGetMemHandle(&bad, &on_host));
  cudaGetLastError();
  cudaEvent_t plain;
  CHECK(cudaEventCreateWithFlags(&plain, cudaEventDisableTiming));
  cudaIpcEventHandle_t bad_event;
  REPORT(cudaIpcGetEventHandle(&bad_event, plain));
  cudaGetLastError();
  CHECK(cudaEventDestroy(plain));
  std::fflush(stdout);

  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    char in[16], out[16];
    std::snprintf(in, sizeof in, "%d", to_child[0]);
    std::snprintf(out, sizeof out, "%d", from_child[1]);
    execl("/proc/self/exe", argv[0], "child", in, out, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  Report r{};
  bool sent = write_all(to_child[1], &hs, sizeof hs);
  bool got = sent && read_all(from_child[0], &r, sizeof r);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("child: exit %d, report %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              got ? "received" : "MISSING");
  if (got) {
    const char* names[] = {"cudaIpcOpenMemHandle", "cudaIpcOpenEventHandle", "cudaStreamWaitEvent",
                           "launch", "cudaDeviceSynchronize", "cudaIpcCloseMemHandle",
                           "cudaEventDestroy"};
    const int* v = &r.open_mem;
    for (int i = 0; i < 7; ++i)
      std::printf("child %s: %s\n", names[i], cudaGetErrorName(static_cast<cudaError_t>(v[i])));
  }
  std::vector<int> back(kN);
  CHECK(cudaMemcpy(back.data(), d, kN * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int i = 0; i < kN; ++i) ok = ok && back[i] == h[i] * 2 + 1;
  std::printf("data changed by the child: %s\n", ok ? "ok" : "WRONG");
  CHECK(cudaEventDestroy(ev));
  CHECK(cudaFree(d));
  return verdict(ok && got);
}
