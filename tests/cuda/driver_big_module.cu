// A module image larger than one GVirtuS frame (64 MiB): PTX with 70 MiB of comment lines
// around a small kernel, loaded with cuModuleLoadData and cuModuleLoadDataEx and linked with
// cuLinkAddData; through GVirtuS the image is staged on the worker in pieces. Prints results
// only.
#include <cuda.h>

#include <string>
#include <vector>

#include "driver/check_drv.h"

namespace {

const char kHead[] =
    ".version 8.0\n"
    ".target sm_75\n"
    ".address_size 64\n";
const char kKernel[] =
    ".visible .entry fill_big(\n"
    "  .param .u64 fill_big_p,\n"
    "  .param .u32 fill_big_v\n"
    ")\n"
    "{\n"
    "  .reg .b32 %r<4>;\n"
    "  .reg .b64 %rd<5>;\n"
    "  ld.param.u64 %rd1, [fill_big_p];\n"
    "  ld.param.u32 %r1, [fill_big_v];\n"
    "  cvta.to.global.u64 %rd2, %rd1;\n"
    "  mov.u32 %r2, %tid.x;\n"
    "  mul.wide.u32 %rd3, %r2, 4;\n"
    "  add.s64 %rd4, %rd2, %rd3;\n"
    "  add.u32 %r3, %r1, %r2;\n"
    "  st.global.u32 [%rd4], %r3;\n"
    "  ret;\n"
    "}\n";

std::string big_ptx() {
  std::string ptx = kHead;
  const std::string line =
      "// padding so that this module is larger than one frame: "
      "0123456789abcdefghijklmnopqrstuvwxyz\n";
  const size_t target = 70u << 20;
  ptx.reserve(target + 4096);
  ptx += kKernel;
  while (ptx.size() < target) ptx += line;
  return ptx;
}

bool run(CUfunction f, CUdeviceptr d, unsigned v, const char* what) {
  void* args[] = {&d, &v};
  DCHECK(cuLaunchKernel(f, 1, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
  DCHECK(cuCtxSynchronize());
  unsigned h[64];
  DCHECK(cuMemcpyDtoH(h, d, sizeof h));
  bool ok = true;
  for (unsigned i = 0; i < 64; ++i) ok = ok && h[i] == v + i;
  std::printf("%s: %s\n", what, ok ? "ok" : "WRONG");
  return ok;
}

}  // namespace

int main() {
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  DCHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  DCHECK(cuCtxSetCurrent(ctx));
  const std::string ptx = big_ptx();
  std::printf("image over 64 MiB: %d\n", ptx.size() > (64u << 20));
  CUdeviceptr d;
  DCHECK(cuMemAlloc(&d, 64 * sizeof(unsigned)));

  CUmodule m;
  DCHECK(cuModuleLoadData(&m, ptx.c_str()));
  CUfunction f;
  DCHECK(cuModuleGetFunction(&f, m, "fill_big"));
  bool ok = run(f, d, 100, "cuModuleLoadData");
  DCHECK(cuModuleUnload(m));

  char log[1024] = {0};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* vals[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof log))};
  DCHECK(cuModuleLoadDataEx(&m, ptx.c_str(), 2, opts, vals));
  DCHECK(cuModuleGetFunction(&f, m, "fill_big"));
  ok = run(f, d, 200, "cuModuleLoadDataEx") && ok;
  DCHECK(cuModuleUnload(m));

  CUlinkState link;
  DCHECK(cuLinkCreate(0, nullptr, nullptr, &link));
  DCHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<char*>(ptx.c_str()), ptx.size() + 1,
                       "big.ptx", 0, nullptr, nullptr));
  void* cubin = nullptr;
  size_t size = 0;
  DCHECK(cuLinkComplete(link, &cubin, &size));
  DCHECK(cuModuleLoadData(&m, cubin));
  DCHECK(cuLinkDestroy(link));
  DCHECK(cuModuleGetFunction(&f, m, "fill_big"));
  ok = run(f, d, 300, "cuLinkAddData") && ok;
  DCHECK(cuModuleUnload(m));

  DCHECK(cuMemFree(d));
  DCHECK(cuDevicePrimaryCtxRelease(dev));
  return dverdict(ok);
}
