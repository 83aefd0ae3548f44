// Modules and launches through the driver API: cubin, fatbin and PTX images (made at build time
// from driver/kernels.cu, embedded by bin2c) loaded with cuModuleLoad, cuModuleLoadData,
// cuModuleLoadDataEx (JIT options and log buffers) and cuModuleLoadFatBinary; libraries;
// cuLaunchKernel with kernelParams and with `extra`; cooperative launches; cuLaunchKernelEx;
// globals; runtime memory and streams used in driver launches; launch errors.
#include <cuda.h>
#include <cuda_runtime.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "driver/check_drv.h"
#include "kernels_cubin.h"
#include "kernels_fatbin.h"
#include "kernels_ptx.h"

struct Pair {
  int a;
  double b;
};

// Writes an image to a temporary file for cuModuleLoad (which reads it on the client).
static std::string to_file(const unsigned char* data, size_t n) {
  char path[] = "/tmp/gvirtus_driver_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, data, n) != static_cast<ssize_t>(n)) {
    std::printf("cannot write a temporary file\n");
    std::exit(2);
  }
  close(fd);
  return path;
}

// An image in 8-byte aligned memory, as the driver wants it (bin2c's arrays are not aligned).
static const void* aligned(const unsigned char* data, size_t n) {
  auto* v = new std::vector<unsigned long long>(n / 8 + 1);
  std::memcpy(v->data(), data, n);
  return v->data();
}

// axpy over n elements with the module's function; returns whether y = a*x + y came back.
static bool run_axpy(CUfunction f, const char* how, bool extra_form, CUstream s = nullptr) {
  const int n = 3000;
  std::vector<float> x(n), y(n), out(n);
  for (int i = 0; i < n; ++i) {
    x[i] = float(i);
    y[i] = 1.0f;
  }
  CUdeviceptr dx, dy;
  DCHECK(cuMemAlloc(&dx, n * sizeof(float)));
  DCHECK(cuMemAlloc(&dy, n * sizeof(float)));
  DCHECK(cuMemcpyHtoD(dx, x.data(), n * sizeof(float)));
  DCHECK(cuMemcpyHtoD(dy, y.data(), n * sizeof(float)));
  float a = 2.0f;
  int nn = n;
  CUresult e;
  if (!extra_form) {
    void* args[] = {&a, &dx, &dy, &nn};
    e = cuLaunchKernel(f, (n + 255) / 256, 1, 1, 256, 1, 1, 0, s, args, nullptr);
  } else {
    // The parameter buffer laid out by hand: float at 0, pointers at 8 and 16, int at 24.
    unsigned char buf[28] = {};
    std::memcpy(buf + 0, &a, 4);
    std::memcpy(buf + 8, &dx, 8);
    std::memcpy(buf + 16, &dy, 8);
    std::memcpy(buf + 24, &nn, 4);
    size_t size = sizeof buf;
    void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                     CU_LAUNCH_PARAM_END};
    e = cuLaunchKernel(f, (n + 255) / 256, 1, 1, 256, 1, 1, 0, s, nullptr, extra);
  }
  std::printf("%s launch: %s\n", how, drv_name(e));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(out.data(), dy, n * sizeof(float)));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok &= out[i] == 2.0f * i + 1.0f;
  std::printf("%s result: %d\n", how, ok);
  cuMemFree(dx);
  cuMemFree(dy);
  return ok;
}

static bool use_module(CUmodule m, const char* how) {
  CUfunction f;
  DCHECK(cuModuleGetFunction(&f, m, "axpy"));
  bool ok = run_axpy(f, how, false);
  CUfunction missing;
  std::printf("%s missing function: %s\n", how,
              drv_name(cuModuleGetFunction(&missing, m, "no_such_kernel")));
  return ok;
}

int main() {
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  DCHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  DCHECK(cuCtxSetCurrent(ctx));
  bool ok = true;

  // cubin from a file, and from memory; fatbin; PTX.
  CUmodule m_file, m_cubin, m_fatbin, m_ptx, m_fat2;
  const void* cubin = aligned(kCubin, sizeof kCubin);
  const void* fatbin = aligned(kFatbin, sizeof kFatbin);
  const void* ptx = aligned(kPtx, sizeof kPtx);
  const std::string cubin_path = to_file(kCubin, sizeof kCubin - 1);
  DCHECK(cuModuleLoad(&m_file, cubin_path.c_str()));
  unlink(cubin_path.c_str());
  ok &= use_module(m_file, "cuModuleLoad(cubin)");
  std::printf("missing file: %s\n", drv_name(cuModuleLoad(&m_file, "/nonexistent/x.cubin")));
  DCHECK(cuModuleLoadData(&m_cubin, cubin));
  ok &= use_module(m_cubin, "cuModuleLoadData(cubin)");
  DCHECK(cuModuleLoadData(&m_fatbin, fatbin));
  ok &= use_module(m_fatbin, "cuModuleLoadData(fatbin)");
  DCHECK(cuModuleLoadFatBinary(&m_fat2, fatbin));
  ok &= use_module(m_fat2, "cuModuleLoadFatBinary");

  // PTX, compiled by the driver, with JIT options and log buffers.
  char info[4096] = {}, err[4096] = {};
  CUjit_option opts[] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                         CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                         CU_JIT_LOG_VERBOSE, CU_JIT_MAX_REGISTERS};
  void* vals[] = {info, reinterpret_cast<void*>(sizeof info), err,
                  reinterpret_cast<void*>(sizeof err), reinterpret_cast<void*>(1),
                  reinterpret_cast<void*>(64)};
  DCHECK(cuModuleLoadDataEx(&m_ptx, ptx, 6, opts, vals));
  // (Whether the info log has text depends on the driver's JIT cache: not printed.)
  ok &= use_module(m_ptx, "cuModuleLoadDataEx(ptx)");
  // Broken PTX: the error log says why.
  const char* broken = ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry k() { bogus; }\n";
  CUmodule m_bad;
  char err2[4096] = {};
  CUjit_option eo[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* ev[] = {err2, reinterpret_cast<void*>(sizeof err2)};
  std::printf("broken PTX: %s\n", drv_name(cuModuleLoadDataEx(&m_bad, broken, 2, eo, ev)));
  std::printf("error log mentions bogus: %d\n", std::strstr(err2, "bogus") != nullptr);
  std::printf("garbage image: %s\n",
              drv_name(cuModuleLoadData(&m_bad, "\x7f" "ELF this is not an ELF file")));

  // Parameters of mixed sizes, the `extra` form, globals.
  CUfunction mixed, axpy, coop, no_args, fault;
  DCHECK(cuModuleGetFunction(&mixed, m_cubin, "mixed"));
  DCHECK(cuModuleGetFunction(&axpy, m_cubin, "axpy"));
  DCHECK(cuModuleGetFunction(&coop, m_cubin, "grid_sum"));
  DCHECK(cuModuleGetFunction(&no_args, m_cubin, "no_args"));
  DCHECK(cuModuleGetFunction(&fault, m_cubin, "fault"));
  ok &= run_axpy(axpy, "extra form", true);
  const char* fname = nullptr;
  DCHECK(cuFuncGetName(&fname, mixed));
  std::printf("function name: %s\n", fname);
  CUdeviceptr counter;
  size_t counter_size = 0;
  DCHECK(cuModuleGetGlobal(&counter, &counter_size, m_cubin, "g_counter"));
  std::printf("g_counter size: %zu\n", counter_size);
  DCHECK(cuMemsetD32(counter, 0, 1));
  CUdeviceptr out;
  DCHECK(cuMemAlloc(&out, 4 * sizeof(long long)));
  char c = 7;
  double d = 4.25;
  Pair p{-3, 1.5};
  void* margs[] = {&c, &d, &p, &out};
  DCHECK(cuLaunchKernel(mixed, 1, 1, 1, 1, 1, 1, 0, nullptr, margs, nullptr));
  DCHECK(cuLaunchKernel(no_args, 2, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr));
  long long res[4];
  DCHECK(cuMemcpyDtoH(res, out, sizeof res));
  int cnt = 0;
  DCHECK(cuMemcpyDtoH(&cnt, counter, sizeof cnt));
  std::printf("mixed: %lld %lld %lld %lld, counter %d\n", res[0], res[1], res[2], res[3], cnt);
  ok &= res[0] == 7 && res[1] == 42 && res[2] == -3 && res[3] == 150 && cnt == 65;
  int nparams = 0;
  size_t off = 0, sz = 0;
  while (cuFuncGetParamInfo(mixed, nparams, &off, &sz) == CUDA_SUCCESS) {
    std::printf("mixed param %d: offset %zu size %zu\n", nparams, off, sz);
    ++nparams;
  }
  int regs = -1;
  DCHECK(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, axpy));
  std::printf("axpy max threads per block: %d\n", regs);
  int blocks = 0;
  DCHECK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, axpy, 256, 0));
  std::printf("occupancy > 0: %d\n", blocks > 0);
  int min_grid = 0, best_block = 0;
  DCHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &best_block, axpy, nullptr, 0, 0));
  std::printf("potential block size: grid %d block %d\n", min_grid, best_block);
  // With a callback (run on the client under GVirtuS): shared memory grows with the block, so
  // the best size is a smaller one; and a limit below the warp size.
  auto smem_per_block = [](int block) -> size_t { return static_cast<size_t>(block) * 32; };
  DCHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &best_block, axpy, smem_per_block, 0, 0));
  std::printf("with a callback: grid %d block %d\n", min_grid, best_block);
  DCHECK(cuOccupancyMaxPotentialBlockSizeWithFlags(&min_grid, &best_block, axpy, smem_per_block,
                                                   0, 100, CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE));
  std::printf("with a callback, limit 100: grid %d block %d\n", min_grid, best_block);
  DCHECK(cuOccupancyMaxPotentialBlockSize(&min_grid, &best_block, axpy, smem_per_block, 0, 20));
  std::printf("with a callback, limit 20: grid %d block %d\n", min_grid, best_block);

  // Cooperative launch: a grid-wide barrier.
  CUdeviceptr acc, result;
  DCHECK(cuMemAlloc(&acc, 4));
  DCHECK(cuMemAlloc(&result, 4));
  DCHECK(cuMemsetD32(acc, 0, 1));
  int per_sm = 0, sms = 0;
  DCHECK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, coop, 64, 0));
  DCHECK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
  void* cargs[] = {&acc, &result};
  DCHECK(cuLaunchCooperativeKernel(coop, sms, 1, 1, 64, 1, 1, 0, nullptr, cargs));
  int total = 0;
  DCHECK(cuMemcpyDtoH(&total, result, 4));
  std::printf("cooperative grid sum == SMs: %d\n", total == sms);
  ok &= total == sms;
  std::printf("cooperative launch too large: %s\n",
              drv_name(cuLaunchCooperativeKernel(coop, sms * per_sm + 1, 1, 1, 64, 1, 1, 0,
                                                 nullptr, cargs)));

  // cuLaunchKernelEx with a plain attribute, on a stream made by the runtime, with memory
  // from cudaMalloc.
  cudaStream_t rs;
  if (cudaStreamCreate(&rs) != cudaSuccess) return 1;
  float* rx = nullptr;
  float* ry = nullptr;
  cudaMalloc(&rx, 256 * sizeof(float));
  cudaMalloc(&ry, 256 * sizeof(float));
  std::vector<float> hx(256, 3.0f), hy(256, 1.0f);
  cudaMemcpy(rx, hx.data(), 256 * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(ry, hy.data(), 256 * sizeof(float), cudaMemcpyHostToDevice);
  CUlaunchAttribute attr[1];
  attr[0].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
  attr[0].value.priority = 0;
  CUlaunchConfig cfg = {};
  cfg.gridDimX = 1;
  cfg.gridDimY = 1;
  cfg.gridDimZ = 1;
  cfg.blockDimX = 256;
  cfg.blockDimY = 1;
  cfg.blockDimZ = 1;
  cfg.hStream = reinterpret_cast<CUstream>(rs);
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  float a = 0.5f;
  int n = 256;
  void* eargs[] = {&a, &rx, &ry, &n};
  DCHECK(cuLaunchKernelEx(&cfg, axpy, eargs, nullptr));
  cudaStreamSynchronize(rs);
  cudaMemcpy(hy.data(), ry, 256 * sizeof(float), cudaMemcpyDeviceToHost);
  std::printf("cuLaunchKernelEx on a runtime stream with cudaMalloc memory: %.2f %.2f\n", hy[0],
              hy[255]);
  ok &= hy[0] == 2.5f && hy[255] == 2.5f;
  cudaFree(rx);
  cudaFree(ry);
  cudaStreamDestroy(rs);

  // Libraries.
  CUlibrary lib;
  DCHECK(cuLibraryLoadData(&lib, fatbin, nullptr, nullptr, 0, nullptr, nullptr, 0));
  CUkernel k;
  DCHECK(cuLibraryGetKernel(&k, lib, "axpy"));
  CUfunction kf;
  DCHECK(cuKernelGetFunction(&kf, k));
  CUlibrary klib = nullptr;
  DCHECK(cuKernelGetLibrary(&klib, k));
  std::printf("kernel's library: %d\n", klib == lib);
  const char* kname = nullptr;
  DCHECK(cuKernelGetName(&kname, k));
  std::printf("kernel name: %s\n", kname);
  ok &= run_axpy(kf, "library kernel", false);
  // A CUkernel passed where a CUfunction goes.
  ok &= run_axpy(reinterpret_cast<CUfunction>(k), "CUkernel as CUfunction", false);
  CUmodule lm;
  DCHECK(cuLibraryGetModule(&lm, lib));
  CUdeviceptr scale;
  size_t scale_size = 0;
  DCHECK(cuLibraryGetGlobal(&scale, &scale_size, lib, "g_scale"));
  float sv = 0;
  DCHECK(cuMemcpyDtoH(&sv, scale, 4));
  std::printf("library constant g_scale: %zu bytes, %.1f\n", scale_size, sv);
  DCHECK(cuLibraryUnload(lib));

  // The linker: PTX in, a cubin out (in memory the link owns), loaded and run.
  CUlinkState link;
  char link_err[4096] = {};
  CUjit_option lo[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* lv[] = {link_err, reinterpret_cast<void*>(sizeof link_err)};
  DCHECK(cuLinkCreate(2, lo, lv, &link));
  DCHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<void*>(ptx), sizeof kPtx, "kernels.ptx",
                       0, nullptr, nullptr));
  std::printf("link bad input: %s\n",
              drv_name(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<char*>("not ptx"), 8,
                                     "bad.ptx", 0, nullptr, nullptr)));
  std::printf("link error log written: %d\n", link_err[0] != 0);
  cuLinkDestroy(link);
  DCHECK(cuLinkCreate(0, nullptr, nullptr, &link));
  DCHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<void*>(ptx), sizeof kPtx, "kernels.ptx",
                       0, nullptr, nullptr));
  void* linked = nullptr;
  size_t linked_size = 0;
  DCHECK(cuLinkComplete(link, &linked, &linked_size));
  std::printf("linked cubin: %d\n", linked != nullptr && linked_size > 0);
  CUmodule m_linked;
  DCHECK(cuModuleLoadData(&m_linked, linked));
  DCHECK(cuLinkDestroy(link));
  ok &= use_module(m_linked, "linked cubin");

  // Modules loaded and unloaded in turn, each time a function of another signature: the driver
  // may give a new module's function a dead one's address, and its arguments must still be
  // packed by its own parameters (the worker forgets the dead function's id and layout).
  {
    CUdeviceptr v, o;
    DCHECK(cuMemAlloc(&v, 4 * sizeof(float)));
    DCHECK(cuMemAlloc(&o, 4 * sizeof(long long)));
    int right = 0;
    for (int round = 0; round < 16; ++round) {
      CUmodule m1, m2;
      CUfunction fs, fm;
      DCHECK(cuModuleLoadData(&m1, cubin));
      DCHECK(cuModuleGetFunction(&fs, m1, "scale"));
      float ones[4] = {1, 1, 1, 1};
      DCHECK(cuMemcpyHtoD(v, ones, sizeof ones));
      int four = 4;
      void* sargs[] = {&v, &four};
      DCHECK(cuLaunchKernel(fs, 1, 1, 1, 4, 1, 1, 0, nullptr, sargs, nullptr));
      float got[4];
      DCHECK(cuMemcpyDtoH(got, v, sizeof got));
      DCHECK(cuModuleUnload(m1));
      DCHECK(cuModuleLoadData(&m2, cubin));
      DCHECK(cuModuleGetFunction(&fm, m2, "mixed"));
      char rc = static_cast<char>(round);
      double rd = 1.5 + round;
      Pair rp{round * 3, 0.25};
      void* rargs[] = {&rc, &rd, &rp, &o};
      DCHECK(cuLaunchKernel(fm, 1, 1, 1, 1, 1, 1, 0, nullptr, rargs, nullptr));
      long long r[4];
      DCHECK(cuMemcpyDtoH(r, o, sizeof r));
      DCHECK(cuModuleUnload(m2));
      right += got[0] == 2 && got[3] == 2 && r[0] == round &&
               r[1] == static_cast<long long>((1.5 + round) * 10) && r[2] == round * 3 &&
               r[3] == 25;
    }
    std::printf("modules loaded and unloaded in turn: %d of 16 right\n", right);
    ok &= right == 16;
    DCHECK(cuMemFree(v));
    DCHECK(cuMemFree(o));
  }

  // Errors: bad arguments, a faulting kernel (sticky, last).
  DCHECK(cuModuleUnload(m_fat2));
  std::printf("null function: %s\n",
              drv_name(cuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr)));
  void* both_args[] = {&a};
  size_t size = 4;
  void* both_extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, &a, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                        CU_LAUNCH_PARAM_END};
  std::printf("both argument forms: %s\n",
              drv_name(cuLaunchKernel(axpy, 1, 1, 1, 1, 1, 1, 0, nullptr, both_args, both_extra)));
  std::printf("block too large: %s\n",
              drv_name(cuLaunchKernel(no_args, 1, 1, 1, 4096, 1, 1, 0, nullptr, nullptr, nullptr)));
  void* fargs[] = {&out};
  DCHECK(cuLaunchKernel(fault, 1, 1, 1, 1, 1, 1, 0, nullptr, fargs, nullptr));
  std::printf("after a faulting kernel: %s\n", drv_name(cuCtxSynchronize()));
  std::printf("and then: %s\n", drv_name(cuMemAlloc(&acc, 16)));
  return dverdict(ok);
}
