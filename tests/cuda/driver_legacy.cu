// Legacy driver exports and cuGetProcAddress's cudaVersion: a program that dlopens libcuda.so.1
// and resolves old names (cuCtxCreate_v2/_v3, the legacy linker and cuMemHostRegister), and one
// that asks cuGetProcAddress for a function at an older CUDA version and calls it with that
// version's signature (cudaTypedefs.h's PFN_..._vVERSION).
#include <cuda.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "driver/check_drv.h"

using CtxCreate2 = CUresult (*)(CUcontext*, unsigned int, CUdevice);
using CtxCreate3 = CUresult (*)(CUcontext*, CUexecAffinityParam*, int, unsigned int, CUdevice);
using CtxSync0 = CUresult (*)();
using CtxSync13 = CUresult (*)(CUcontext);
using CtxGetDevice13 = CUresult (*)(CUdevice*, CUcontext);
using MemAlloc2 = CUresult (*)(CUdeviceptr*, size_t);
using LinkCreate = CUresult (*)(unsigned int, CUjit_option*, void**, CUlinkState*);
using HostRegister = CUresult (*)(void*, size_t, unsigned int);

// A context made through `create` works: it is current, on device 0, and can allocate.
static void use_context(const char* what, CUresult e, CUcontext ctx) {
  std::printf("%s: %s\n", what, drv_name(e));
  if (e != CUDA_SUCCESS) return;
  CUcontext cur = nullptr;
  DCHECK(cuCtxGetCurrent(&cur));
  CUdevice d = -1;
  DCHECK(cuCtxGetDevice(&d));
  CUdeviceptr p = 0;
  DCHECK(cuMemAlloc(&p, 1024));
  DCHECK(cuMemsetD8(p, 7, 1024));
  unsigned char b[4] = {};
  DCHECK(cuMemcpyDtoH(b, p + 100, sizeof b));
  std::printf("  current %d, device %d, memory %d %d\n", cur == ctx, d, b[0], b[3]);
  DCHECK(cuMemFree(p));
  DCHECK(cuCtxDestroy(ctx));
}

static void* sym(void* h, const char* name) {
  void* p = ::dlsym(h, name);
  std::printf("dlsym %s: %d\n", name, p != nullptr);
  return p;
}

int main() {
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW);
  if (!h) {
    std::printf("dlopen libcuda.so.1 failed\n");
    return 1;
  }
  // (The unversioned cuCtxCreate is the CUDA 2.0 ABI: natively its context is refused by the
  // current memory calls, CUDA_ERROR_INVALID_CONTEXT; GVirtuS refuses it outright.)
  CUcontext ctx = nullptr;
  if (auto f = reinterpret_cast<CtxCreate2>(sym(h, "cuCtxCreate_v2"))) {
    CUresult e = f(&ctx, 0, dev);  // before use_context reads ctx
    use_context("cuCtxCreate_v2", e, ctx);
  }
  if (auto f = reinterpret_cast<CtxCreate3>(sym(h, "cuCtxCreate_v3"))) {
    CUresult e = f(&ctx, nullptr, 0, 0, dev);
    use_context("cuCtxCreate_v3 without parameters", e, ctx);
  }
  if (auto f = reinterpret_cast<LinkCreate>(sym(h, "cuLinkCreate"))) {
    CUlinkState link = nullptr;
    CUcontext c = nullptr;
    DCHECK(cuDevicePrimaryCtxRetain(&c, dev));
    DCHECK(cuCtxSetCurrent(c));
    CUresult e = f(0, nullptr, nullptr, &link);
    std::printf("cuLinkCreate: %s\n", drv_name(e));
    if (e == CUDA_SUCCESS) DREPORT(cuLinkDestroy(link));
  }
  if (auto f = reinterpret_cast<HostRegister>(sym(h, "cuMemHostRegister"))) {
    void* buf = std::aligned_alloc(4096, 8192);
    CUresult e = f(buf, 8192, 0);
    std::printf("cuMemHostRegister: %s\n", drv_name(e));
    if (e == CUDA_SUCCESS) DREPORT(cuMemHostUnregister(buf));
    std::free(buf);
  }

  // cuGetProcAddress at older versions hands out the ABI of that version.
  auto get = [&](const char* name, int version, cuuint64_t flags = CU_GET_PROC_ADDRESS_DEFAULT) {
    void* fn = nullptr;
    CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SUCCESS;
    CUresult e = cuGetProcAddress(name, &fn, version, flags, &st);
    std::printf("cuGetProcAddress(%s, %d): %s, status %d, found %d\n", name, version,
                drv_name(e), static_cast<int>(st), fn != nullptr);
    return fn;
  };
  if (auto f = reinterpret_cast<CtxCreate2>(get("cuCtxCreate", 3020))) {
    CUresult e = f(&ctx, 0, dev);  // before use_context reads ctx
    use_context("  called as cuCtxCreate_v2", e, ctx);
  }
  if (auto f = reinterpret_cast<CtxCreate3>(get("cuCtxCreate", 11040))) {
    CUresult e = f(&ctx, nullptr, 0, 0, dev);
    use_context("  called as cuCtxCreate_v3", e, ctx);
  }
  if (auto f = reinterpret_cast<MemAlloc2>(get("cuMemAlloc", 3020))) {
    CUdeviceptr p = 0;
    CUresult e = f(&p, 4096);
    std::printf("  called as cuMemAlloc_v2: %s, nonzero %d\n", drv_name(e), p != 0);
    if (e == CUDA_SUCCESS) DCHECK(cuMemFree(p));
  }
  CUcontext cur = nullptr;
  DCHECK(cuCtxGetCurrent(&cur));
  if (auto f = reinterpret_cast<CtxSync0>(get("cuCtxSynchronize", 12080)))
    std::printf("  called without arguments: %s\n", drv_name(f()));
  if (auto f = reinterpret_cast<CtxSync13>(get("cuCtxSynchronize", 13000)))
    std::printf("  called with the context: %s\n", drv_name(f(cur)));
  if (auto f = reinterpret_cast<CtxGetDevice13>(get("cuCtxGetDevice", 13000))) {
    CUdevice d = -1;
    CUresult e = f(&d, cur);
    std::printf("  called with the context: %s, device %d\n", drv_name(e), d);
  }
  get("cuLaunchKernelEx", 11000);
  get("cuLaunchKernelEx", 11060);
  get("cuMemcpyHtoD", 7000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  std::printf("done\n");
  return 0;
}
