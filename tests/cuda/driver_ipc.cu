// IPC through the driver API, and opened pointers as device memory for unified-address copies:
// the parent exports two allocations (cuIpcGetMemHandle), re-executes itself and hands the
// handles over a pipe; the child opens one with cuIpcOpenMemHandle and one with
// cudaIpcOpenMemHandle, reads both with cuMemcpy and cudaMemcpy(cudaMemcpyDefault) (the
// direction from the pointer alone), writes through them and reports back; the parent checks.
#include <cuda.h>
#include <cuda_runtime.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "driver/check_drv.h"
#include "pipe_io.h"

namespace {

constexpr int kN = 4096;

struct Handles {
  CUipcMemHandle a, b;
};

// The child's results: each call's code, and whether the data it read was right.
struct Report {
  int open_a, open_b, copy_a, copy_default_a, copy_default_b, copy_b, set_a, set_b, sync, close_a,
      close_b;
  int read_ok;
};

int child(int in, int out) {
  Handles h;
  if (!read_all(in, &h, sizeof h)) return 2;
  if (cudaSetDevice(0) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) return 4;
  if (cuInit(0) != CUDA_SUCCESS) return 5;
  Report r{};
  CUdeviceptr a = 0;
  void* b = nullptr;
  r.open_a = cuIpcOpenMemHandle(&a, h.a, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
  cudaIpcMemHandle_t hb;
  std::memcpy(&hb, &h.b, sizeof hb);
  r.open_b = cudaIpcOpenMemHandle(&b, hb, cudaIpcMemLazyEnablePeerAccess);
  std::vector<int> va(kN, 0), vb(kN, 0), vc(kN, 0), vd(kN, 0);
  r.copy_a = cuMemcpy(reinterpret_cast<CUdeviceptr>(va.data()), a, kN * sizeof(int));
  r.copy_default_a = cudaMemcpy(vb.data(), reinterpret_cast<void*>(static_cast<uintptr_t>(a)),
                                kN * sizeof(int), cudaMemcpyDefault);
  r.copy_default_b = cudaMemcpy(vc.data(), b, kN * sizeof(int), cudaMemcpyDefault);
  r.copy_b = cuMemcpy(reinterpret_cast<CUdeviceptr>(vd.data()),
                      reinterpret_cast<CUdeviceptr>(b), kN * sizeof(int));
  bool ok = true;
  for (int i = 0; i < kN; ++i)
    ok = ok && va[i] == i && vb[i] == i && vc[i] == 2 * i && vd[i] == 2 * i;
  r.read_ok = ok;
  // Writes through the opened pointers, from host memory, by unified addressing.
  std::vector<int> ones(kN, 1), twos(kN, 2);
  r.set_a = cuMemcpy(a, reinterpret_cast<CUdeviceptr>(ones.data()), kN * sizeof(int));
  r.set_b = cudaMemcpy(b, twos.data(), kN * sizeof(int), cudaMemcpyDefault);
  r.sync = cuCtxSynchronize();
  r.close_a = cuIpcCloseMemHandle(a);
  r.close_b = cudaIpcCloseMemHandle(b);
  return write_all(out, &r, sizeof r) ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "child") == 0)
    return child(std::atoi(argv[2]), std::atoi(argv[3]));
  if (cudaSetDevice(0) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) return 1;
  DCHECK(cuInit(0));
  CUdeviceptr a, b;
  DCHECK(cuMemAlloc(&a, kN * sizeof(int)));
  DCHECK(cuMemAlloc(&b, kN * sizeof(int)));
  std::vector<int> h(kN);
  for (int i = 0; i < kN; ++i) h[i] = i;
  DCHECK(cuMemcpyHtoD(a, h.data(), kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) h[i] = 2 * i;
  DCHECK(cuMemcpyHtoD(b, h.data(), kN * sizeof(int)));
  Handles hs;
  DCHECK(cuIpcGetMemHandle(&hs.a, a));
  DCHECK(cuIpcGetMemHandle(&hs.b, b));
  // Error cases in this process: its own handle, host memory.
  CUdeviceptr self = 0;
  DREPORT(cuIpcOpenMemHandle(&self, hs.a, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS));
  int on_host = 0;
  CUipcMemHandle bad;
  DREPORT(cuIpcGetMemHandle(&bad, reinterpret_cast<CUdeviceptr>(&on_host)));
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
    const char* names[] = {"cuIpcOpenMemHandle", "cudaIpcOpenMemHandle", "cuMemcpy from a",
                           "cudaMemcpyDefault from a", "cudaMemcpyDefault from b",
                           "cuMemcpy from b", "cuMemcpy to a", "cudaMemcpyDefault to b",
                           "cuCtxSynchronize", "cuIpcCloseMemHandle", "cudaIpcCloseMemHandle"};
    const int* v = &r.open_a;
    for (int i = 0; i < 11; ++i)
      std::printf("child %s: %s\n", names[i], drv_name(static_cast<CUresult>(v[i])));
    std::printf("child read the exported data: %s\n", r.read_ok ? "ok" : "WRONG");
  }
  std::vector<int> ba(kN), bb(kN);
  DCHECK(cuMemcpyDtoH(ba.data(), a, kN * sizeof(int)));
  DCHECK(cuMemcpyDtoH(bb.data(), b, kN * sizeof(int)));
  bool ok = true;
  for (int i = 0; i < kN; ++i) ok = ok && ba[i] == 1 && bb[i] == 2;
  std::printf("data written by the child: %s\n", ok ? "ok" : "WRONG");
  DCHECK(cuMemFree(a));
  DCHECK(cuMemFree(b));
  return dverdict(ok && got && r.read_ok);
}
