// NVRTC on the client (no GPU needed to compile), the result loaded through the driver API:
// the same kernel compiled to PTX (the driver JIT-compiles it on the GPU host) and to a CUBIN
// for the device's architecture, each loaded with cuModuleLoadDataEx and launched.
#include <cuda.h>
#include <nvrtc.h>

#include <string>
#include <vector>

#include "driver/check_drv.h"

static const char* kSource = R"(
template <typename T>
__device__ T square(T v) { return v * v; }
extern "C" __global__ void squares(const int* in, long long* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = square<long long>(in[i]) + 1;
}
)";

#define NVRTC(call)                                                          \
  do {                                                                       \
    nvrtcResult r_ = (call);                                                 \
    if (r_ != NVRTC_SUCCESS) {                                               \
      std::printf("FAILED %s: %s\n", #call, nvrtcGetErrorString(r_));        \
      return {};                                                             \
    }                                                                        \
  } while (0)

// Compiles kSource for `arch` (compute_XY: PTX; sm_XY: CUBIN).
static std::vector<char> compile(const std::string& arch, bool cubin) {
  nvrtcProgram prog;
  NVRTC(nvrtcCreateProgram(&prog, kSource, "squares.cu", 0, nullptr, nullptr));
  std::string opt = "--gpu-architecture=" + arch;
  const char* opts[] = {opt.c_str()};
  nvrtcResult r = nvrtcCompileProgram(prog, 1, opts);
  if (r != NVRTC_SUCCESS) {
    size_t n = 0;
    nvrtcGetProgramLogSize(prog, &n);
    std::string log(n, '\0');
    nvrtcGetProgramLog(prog, &log[0]);
    std::printf("compile failed: %s\n%s\n", nvrtcGetErrorString(r), log.c_str());
    return {};
  }
  size_t n = 0;
  std::vector<char> out;
  if (cubin) {
    NVRTC(nvrtcGetCUBINSize(prog, &n));
    out.resize(n);
    NVRTC(nvrtcGetCUBIN(prog, out.data()));
  } else {
    NVRTC(nvrtcGetPTXSize(prog, &n));
    out.resize(n);
    NVRTC(nvrtcGetPTX(prog, out.data()));
  }
  nvrtcDestroyProgram(&prog);
  return out;
}

static bool run(const std::vector<char>& image, const char* what) {
  if (image.empty()) return false;
  CUmodule m;
  char log[2048] = {};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* vals[] = {log, reinterpret_cast<void*>(sizeof log)};
  CUresult e = cuModuleLoadDataEx(&m, image.data(), 2, opts, vals);
  std::printf("%s load: %s\n", what, drv_name(e));
  if (e != CUDA_SUCCESS) {
    std::printf("%s\n", log);
    return false;
  }
  CUfunction f;
  DCHECK(cuModuleGetFunction(&f, m, "squares"));
  const int n = 1000;
  std::vector<int> in(n);
  for (int i = 0; i < n; ++i) in[i] = i - 500;
  CUdeviceptr din, dout;
  DCHECK(cuMemAlloc(&din, n * sizeof(int)));
  DCHECK(cuMemAlloc(&dout, n * sizeof(long long)));
  DCHECK(cuMemcpyHtoD(din, in.data(), n * sizeof(int)));
  int nn = n;
  void* args[] = {&din, &dout, &nn};
  DCHECK(cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, args, nullptr));
  std::vector<long long> out(n);
  DCHECK(cuMemcpyDtoH(out.data(), dout, n * sizeof(long long)));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok &= out[i] == (long long)(i - 500) * (i - 500) + 1;
  std::printf("%s result: %d (out[0] = %lld)\n", what, ok, out[0]);
  cuMemFree(din);
  cuMemFree(dout);
  DCHECK(cuModuleUnload(m));
  return ok;
}

int main() {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  std::printf("nvrtc %d\n", major);
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  int cc_major = 0, cc_minor = 0;
  DCHECK(cuDeviceGetAttribute(&cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  DCHECK(cuDeviceGetAttribute(&cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  CUcontext ctx;
  DCHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  DCHECK(cuCtxSetCurrent(ctx));
  const std::string cc = std::to_string(cc_major * 10 + cc_minor);
  bool ok = run(compile("compute_" + cc, false), "PTX");
  ok &= run(compile("sm_" + cc, true), "CUBIN");
  DCHECK(cuDevicePrimaryCtxRelease(dev));
  return dverdict(ok);
}
