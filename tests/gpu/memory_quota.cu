// The GPU memory quota from a client's side (tests/gpu/memory_quota.py runs it natively and
// through a backend whose "gpu_memory" limit is Q MiB).
//
//   memory_quota Q
//
// Prints one "name status" line per step (0: success) and never stops at a failure: the script
// compares the statuses with what a native run and a quota of Q MiB must give. Before its last
// step it prints "holding BYTES", then waits for a line on stdin (the script looks at
// `gvirtus status` and the metrics meanwhile).
#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

void say(const char* name, int status) {
  std::printf("%s %d\n", name, status);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: memory_quota Q_MIB\n");
    return 2;
  }
  const size_t mib = size_t{1} << 20;
  const size_t quota = std::strtoull(argv[1], nullptr, 10) * mib;
  if (quota == 0) return 2;

  // 0. A driver program's first context, made on a thread with none current: the quota's
  //    measurement of cuCtxCreate must not leave a context of its own under it, so popping the
  //    created one leaves none current, as natively. This must stay the program's first
  //    measured call: that is when the worker learns its pid in NVML's lists (self_pid), which
  //    is what once made the primary context current.
  cuInit(0);
  std::thread([] {
    CUdevice dev = 0;
    cuDeviceGet(&dev, 0);
    CUcontext mine = nullptr;
    CUresult r = cuCtxCreate(&mine, nullptr, 0, dev);
    say("ctx_create", r);
    if (r != CUDA_SUCCESS) return;
    CUcontext popped = nullptr, cur = reinterpret_cast<CUcontext>(1);
    r = cuCtxPopCurrent(&popped);
    if (r == CUDA_SUCCESS) r = cuCtxGetCurrent(&cur);
    say("ctx_none_after_pop", r != CUDA_SUCCESS ? r : (popped == mine && cur == nullptr) ? 0 : -1);
    say("ctx_destroy", cuCtxDestroy(mine));
  }).join();

  // 1. More than the quota at once: natively fine on any GPU with room, through the quota the
  //    allocation's own out-of-memory error.
  void* big = nullptr;
  cudaError_t e = cudaMalloc(&big, quota + 16 * mib);
  say("over_alloc", e);
  if (e == cudaSuccess) cudaFree(big);
  (void)cudaGetLastError();

  // 2. Exactly the quota: allowed.
  void* fill = nullptr;
  e = cudaMalloc(&fill, quota);
  say("fill", e);

  // 3. With the quota full, every allocating call answers its out-of-memory status.
  void* one = nullptr;
  e = cudaMalloc(&one, mib);
  say("one_more", e);
  if (e == cudaSuccess) cudaFree(one);
  (void)cudaGetLastError();
  void* async_one = nullptr;
  e = cudaMallocAsync(&async_one, mib, 0);
  say("async_more", e);
  if (e == cudaSuccess) cudaFreeAsync(async_one, 0);
  cudaDeviceSynchronize();
  (void)cudaGetLastError();
  void* pitched = nullptr;
  size_t pitch = 0;
  e = cudaMallocPitch(&pitched, &pitch, 4096, 256);
  say("pitch_more", e);
  if (e == cudaSuccess) cudaFree(pitched);
  (void)cudaGetLastError();
  CUdeviceptr drv = 0;
  CUresult dr = cuMemAlloc(&drv, mib);
  say("drv_more", dr);
  if (dr == CUDA_SUCCESS) cuMemFree(drv);
  cudaArray_t arr = nullptr;
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  e = cudaMallocArray(&arr, &desc, 1024, 256);
  say("array_more", e);
  if (e == cudaSuccess) cudaFreeArray(arr);
  (void)cudaGetLastError();
  cublasHandle_t blas = nullptr;
  cublasStatus_t bs = cublasCreate(&blas);
  say("cublas_create", bs);
  if (bs == CUBLAS_STATUS_SUCCESS) cublasDestroy(blas);
  cufftHandle plan = 0;
  cufftResult fr = cufftPlan1d(&plan, 1 << 16, CUFFT_C2C, 4);
  say("cufft_plan", fr);
  if (fr == CUFFT_SUCCESS) cufftDestroy(plan);

  // 4. Freeing gives the room back.
  say("free_fill", fill ? cudaFree(fill) : -1);
  void* after = nullptr;
  e = cudaMalloc(&after, 8 * mib);
  say("after_free", e);
  dr = cuMemAlloc(&drv, mib);
  say("drv_after", dr);
  if (dr == CUDA_SUCCESS) say("drv_free", cuMemFree(drv));
  e = cudaMallocArray(&arr, &desc, 1024, 256);
  say("array_after", e);
  if (e == cudaSuccess) say("array_free", cudaFreeArray(arr));
  bs = cublasCreate(&blas);
  say("cublas_after", bs);
  fr = cufftPlan1d(&plan, 1 << 16, CUFFT_C2C, 4);
  say("cufft_after", fr);

  // 5. What the session holds now, while the script looks.
  std::printf("holding %zu\n", e == cudaSuccess ? 8 * mib : size_t{0});
  std::fflush(stdout);
  char line[16];
  if (!std::fgets(line, sizeof line, stdin)) std::fprintf(stderr, "no go-ahead on stdin\n");

  if (fr == CUFFT_SUCCESS) cufftDestroy(plan);
  if (bs == CUBLAS_STATUS_SUCCESS) cublasDestroy(blas);
  if (after) cudaFree(after);
  say("end", cudaDeviceSynchronize());
  return 0;
}
