// The driver API without modules: initialisation, devices, primary and created contexts (with
// the per-thread current-context rules), memory and copies, streams, events, error names, bad
// handles, cuGetProcAddress, and runtime and driver calls mixed on the same objects.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstring>
#include <thread>
#include <vector>

#include "driver/check_drv.h"

static bool devices() {
  int version = 0, count = 0;
  DCHECK(cuDriverGetVersion(&version));
  std::printf("driver version >= 13000: %d\n", version >= 13000);
  DCHECK(cuDeviceGetCount(&count));
  std::printf("devices: %d\n", count);
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  char name[256];
  DCHECK(cuDeviceGetName(name, sizeof name, dev));
  std::printf("name: %s\n", name);
  int major = 0, minor = 0, sms = 0, warp = 0;
  DCHECK(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  DCHECK(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  DCHECK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
  DCHECK(cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev));
  std::printf("cc %d.%d, %d SMs, warp %d\n", major, minor, sms, warp);
  size_t total = 0;
  DCHECK(cuDeviceTotalMem(&total, dev));
  std::printf("total memory > 1 GiB: %d\n", total > (1ull << 30));
  CUuuid uuid;
  DCHECK(cuDeviceGetUuid(&uuid, dev));
  // Compare with the runtime's view of the same device.
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return false;
  std::printf("uuid matches the runtime's: %d\n",
              std::memcmp(uuid.bytes, prop.uuid.bytes, 16) == 0);
  std::printf("name matches the runtime's: %d\n", std::strcmp(name, prop.name) == 0);
  char bus[32];
  DCHECK(cuDeviceGetPCIBusId(bus, sizeof bus, dev));
  CUdevice again = -1;
  DCHECK(cuDeviceGetByPCIBusId(&again, bus));
  std::printf("by PCI bus id: %d\n", again == dev);
  DREPORT(cuDeviceGet(&again, 99));
  int bad = 0;
  DREPORT(cuDeviceGetAttribute(&bad, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 99));
  return true;
}

static bool contexts(CUdevice dev) {
  bool ok = true;
  CUcontext none = reinterpret_cast<CUcontext>(1);
  DCHECK(cuCtxGetCurrent(&none));
  std::printf("no current context at start: %d\n", none == nullptr);
  DREPORT(cuCtxSynchronize());  // no context yet
  CUcontext primary = nullptr, primary2 = nullptr;
  DCHECK(cuDevicePrimaryCtxRetain(&primary, dev));
  DCHECK(cuDevicePrimaryCtxRetain(&primary2, dev));
  std::printf("primary retained twice is one context: %d\n", primary == primary2);
  unsigned flags = 0;
  int active = 0;
  DCHECK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
  std::printf("primary active: %d\n", active);
  DCHECK(cuCtxSetCurrent(primary));
  CUcontext cur = nullptr;
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("current is primary: %d\n", cur == primary);
  CUdevice cdev = -1;
  DCHECK(cuCtxGetDevice(&cdev));
  std::printf("context device: %d\n", cdev);
  unsigned api = 0;
  DCHECK(cuCtxGetApiVersion(primary, &api));
  std::printf("api version > 0: %d\n", api > 0);
  size_t stack = 0;
  DCHECK(cuCtxGetLimit(&stack, CU_LIMIT_STACK_SIZE));
  DCHECK(cuCtxSetLimit(CU_LIMIT_STACK_SIZE, 4096));
  size_t stack2 = 0;
  DCHECK(cuCtxGetLimit(&stack2, CU_LIMIT_STACK_SIZE));
  std::printf("stack limit set: %d\n", stack2 >= 4096);
  int least = 0, greatest = 0;
  DCHECK(cuCtxGetStreamPriorityRange(&least, &greatest));
  std::printf("priorities %d..%d\n", least, greatest);

  // A created context: pushed on top, popped back.
  CUcontext mine = nullptr;
  DCHECK(cuCtxCreate(&mine, nullptr, 0, dev));
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("created context is current: %d, differs from primary: %d\n", cur == mine,
              mine != primary);
  CUcontext popped = nullptr;
  DCHECK(cuCtxPopCurrent(&popped));
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("popped the created one: %d, primary current again: %d\n", popped == mine,
              cur == primary);
  DCHECK(cuCtxPushCurrent(mine));

  // Each thread has its own current context: a new thread starts with none, and setting one
  // there does not change this thread's.
  std::thread t([&] {
    CUcontext c = reinterpret_cast<CUcontext>(1);
    DCHECK(cuCtxGetCurrent(&c));
    std::printf("[thread] no current context: %d\n", c == nullptr);
    DCHECK(cuCtxSetCurrent(primary));
    DCHECK(cuCtxGetCurrent(&c));
    std::printf("[thread] primary current: %d\n", c == primary);
    CUdeviceptr p = 0;
    DCHECK(cuMemAlloc(&p, 1024));
    DCHECK(cuMemFree(p));
  });
  t.join();
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("main thread still on the created context: %d\n", cur == mine);
  DCHECK(cuCtxPopCurrent(&popped));
  DCHECK(cuCtxDestroy(mine));
  DCHECK(cuCtxSetCurrent(primary));
  return ok;
}

static bool memory() {
  bool ok = true;
  size_t freeb = 0, totalb = 0;
  DCHECK(cuMemGetInfo(&freeb, &totalb));
  std::printf("free <= total: %d\n", freeb <= totalb);
  const int n = 1 << 20;
  std::vector<int> h(n), back(n);
  for (int i = 0; i < n; ++i) h[i] = i * 3;
  CUdeviceptr a = 0, b = 0;
  DCHECK(cuMemAlloc(&a, n * sizeof(int)));
  DCHECK(cuMemAlloc(&b, n * sizeof(int)));
  DCHECK(cuMemcpyHtoD(a, h.data(), n * sizeof(int)));
  DCHECK(cuMemcpyDtoD(b, a, n * sizeof(int)));
  DCHECK(cuMemcpyDtoH(back.data(), b, n * sizeof(int)));
  ok &= back == h;
  CUcontext cur_ctx = nullptr;
  DCHECK(cuCtxGetCurrent(&cur_ctx));
  DCHECK(cuMemcpyPeer(b + 4, cur_ctx, a, cur_ctx, 4));
  int peer = 0;
  DCHECK(cuMemcpyDtoH(&peer, b + 4, 4));
  std::printf("peer copy within one context: %d\n", peer);
  std::printf("HtoD, DtoD, DtoH: %d\n", back == h);
  CUdeviceptr base = 0;
  size_t size = 0;
  DCHECK(cuMemGetAddressRange(&base, &size, a + 100));
  std::printf("address range: base ok %d, size %zu\n", base == a, size);
  DCHECK(cuMemsetD32(a, 0xdeadbeef, n));
  DCHECK(cuMemcpyDtoH(back.data(), a, 16));
  std::printf("memsetD32: %x %x\n", back[0], back[3]);
  DCHECK(cuMemsetD8(a, 0x11, 5));
  DCHECK(cuMemsetD16(a + 8, 0x2233, 2));
  unsigned char bytes[12];
  DCHECK(cuMemcpyDtoH(bytes, a, 12));
  for (unsigned char c : bytes) std::printf("%02x", c);
  std::printf("\n");
  size_t pitch = 0;
  CUdeviceptr p2 = 0;
  DCHECK(cuMemAllocPitch(&p2, &pitch, 100, 4, 4));
  std::printf("pitch >= width: %d\n", pitch >= 100);
  DCHECK(cuMemsetD2D8(p2, pitch, 7, 100, 4));
  std::vector<unsigned char> row(pitch * 4);
  DCHECK(cuMemcpyDtoH(row.data(), p2, pitch * 4));
  std::printf("memsetD2D8: %d %d\n", row[0], row[3 * pitch + 99]);
  // 2D copies: a 5x3 block out of a host matrix into the pitched allocation and back.
  unsigned char host[4][16], back2[3][8] = {};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 16; ++c) host[r][c] = static_cast<unsigned char>(r * 16 + c);
  CUDA_MEMCPY2D c2 = {};
  c2.srcMemoryType = CU_MEMORYTYPE_HOST;
  c2.srcHost = host;
  c2.srcPitch = 16;
  c2.srcXInBytes = 2;
  c2.srcY = 1;
  c2.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  c2.dstDevice = p2;
  c2.dstPitch = pitch;
  c2.WidthInBytes = 5;
  c2.Height = 3;
  DCHECK(cuMemcpy2D(&c2));
  CUDA_MEMCPY2D d2 = {};
  d2.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  d2.srcDevice = p2;
  d2.srcPitch = pitch;
  d2.dstMemoryType = CU_MEMORYTYPE_HOST;
  d2.dstHost = back2;
  d2.dstPitch = 8;
  d2.WidthInBytes = 5;
  d2.Height = 3;
  DCHECK(cuMemcpy2DAsync(&d2, nullptr));
  DCHECK(cuCtxSynchronize());
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 8; ++c) std::printf("%d ", back2[r][c]);
    std::printf("\n");
  }
  // 3D: two slices of 2x3 bytes out of a 4x4x3 host volume, into device memory and back.
  unsigned char vol[3][4][4], out3[2][3][2] = {};
  for (int z = 0; z < 3; ++z)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) vol[z][y][x] = static_cast<unsigned char>(z * 16 + y * 4 + x);
  CUdeviceptr v3 = 0;
  DCHECK(cuMemAlloc(&v3, 2 * 3 * 2));
  CUDA_MEMCPY3D c3 = {};
  c3.srcMemoryType = CU_MEMORYTYPE_HOST;
  c3.srcHost = vol;
  c3.srcPitch = 4;
  c3.srcHeight = 4;
  c3.srcXInBytes = 1;
  c3.srcY = 1;
  c3.srcZ = 1;
  c3.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  c3.dstDevice = v3;
  c3.dstPitch = 2;
  c3.dstHeight = 3;
  c3.WidthInBytes = 2;
  c3.Height = 3;
  c3.Depth = 2;
  DCHECK(cuMemcpy3D(&c3));
  DCHECK(cuMemcpyDtoH(out3, v3, sizeof out3));
  for (auto& slice : out3)
    for (auto& row : slice) std::printf("%d,%d ", row[0], row[1]);
  std::printf("\n");
  DCHECK(cuMemFree(v3));
  d2.WidthInBytes = pitch + 1;  // wider than the source pitch
  DREPORT(cuMemcpy2D(&d2));
  DCHECK(cuMemFree(p2));

  // Host memory from the driver, used by copies.
  int* pinned = nullptr;
  DCHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), 64 * sizeof(int)));
  for (int i = 0; i < 64; ++i) pinned[i] = 1000 + i;
  DCHECK(cuMemcpyHtoD(b, pinned, 64 * sizeof(int)));
  unsigned hflags = 99;
  DCHECK(cuMemHostGetFlags(&hflags, pinned));
  std::printf("host flags: %u\n", hflags);
  DCHECK(cuMemFreeHost(pinned));
  void* mapped = nullptr;
  CUresult me = cuMemHostAlloc(&mapped, 4096, CU_MEMHOSTALLOC_DEVICEMAP);
  std::printf("mapped host alloc refused or works: %d\n",
              me == CUDA_ERROR_NOT_SUPPORTED || me == CUDA_SUCCESS);
  if (me == CUDA_SUCCESS) cuMemFreeHost(mapped);

  // Pointer attributes of driver and runtime allocations, and of an ordinary host address.
  unsigned mtype = 0;
  int ordinal = -1;
  CUcontext pctx = nullptr, cur = nullptr;
  size_t rsize = 0;
  DCHECK(cuPointerGetAttribute(&mtype, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, a + 16));
  DCHECK(cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, a));
  DCHECK(cuPointerGetAttribute(&pctx, CU_POINTER_ATTRIBUTE_CONTEXT, a));
  DCHECK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_RANGE_SIZE, a + 16));
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("cuMemAlloc pointer: type %u, ordinal %d, context is current %d, range %zu\n",
              mtype, ordinal, pctx == cur, rsize);
  void* rt = nullptr;
  if (cudaMalloc(&rt, 4096) != cudaSuccess) return false;
  CUpointer_attribute which[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                 CU_POINTER_ATTRIBUTE_RANGE_SIZE};
  void* values[] = {&mtype, &rsize};
  DCHECK(cuPointerGetAttributes(2, which, values, reinterpret_cast<CUdeviceptr>(rt)));
  std::printf("cudaMalloc pointer: type %u, range %zu\n", mtype, rsize);
  cudaFree(rt);
  int on_stack = 0;
  DREPORT(cuPointerGetAttribute(&mtype, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                reinterpret_cast<CUdeviceptr>(&on_stack)));
  mtype = 77;
  DCHECK(cuPointerGetAttributes(1, which, values, reinterpret_cast<CUdeviceptr>(&on_stack)));
  std::printf("host address through cuPointerGetAttributes: type %u\n", mtype);

  DCHECK(cuMemFree(a));
  DCHECK(cuMemFree(b));
  DREPORT(cuMemFree(a));  // twice
  CUdeviceptr huge = 0;
  DREPORT(cuMemAlloc(&huge, size_t(1) << 50));
  return ok;
}

static bool streams_events() {
  bool ok = true;
  CUstream s = nullptr, hi = nullptr;
  DCHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  int least = 0, greatest = 0;
  DCHECK(cuCtxGetStreamPriorityRange(&least, &greatest));
  DCHECK(cuStreamCreateWithPriority(&hi, 0, greatest));
  int prio = 1;
  DCHECK(cuStreamGetPriority(hi, &prio));
  unsigned flags = 0;
  DCHECK(cuStreamGetFlags(s, &flags));
  std::printf("stream flags %u, priority is greatest: %d\n", flags, prio == greatest);
  CUcontext sctx = nullptr, cur = nullptr;
  DCHECK(cuStreamGetCtx(s, &sctx));
  DCHECK(cuCtxGetCurrent(&cur));
  std::printf("stream context is current: %d\n", sctx == cur);

  const int n = 1 << 22;
  std::vector<float> h(n, 1.5f), back(n);
  CUdeviceptr d = 0;
  DCHECK(cuMemAlloc(&d, n * sizeof(float)));
  CUevent start, stop;
  DCHECK(cuEventCreate(&start, CU_EVENT_DEFAULT));
  DCHECK(cuEventCreate(&stop, CU_EVENT_DEFAULT));
  DCHECK(cuEventRecord(start, s));
  DCHECK(cuMemcpyHtoDAsync(d, h.data(), n * sizeof(float), s));
  DCHECK(cuMemsetD32Async(d, 0x40000000u /* 2.0f */, 16, s));
  DCHECK(cuMemcpyDtoHAsync(back.data(), d, n * sizeof(float), s));
  DCHECK(cuEventRecord(stop, s));
  DCHECK(cuStreamWaitEvent(hi, stop, 0));
  DCHECK(cuStreamSynchronize(hi));
  DCHECK(cuEventSynchronize(stop));
  std::printf("stream query: %s, event query: %s\n", drv_name(cuStreamQuery(s)),
              drv_name(cuEventQuery(stop)));
  float ms = -1;
  DCHECK(cuEventElapsedTime(&ms, start, stop));
  std::printf("elapsed >= 0: %d\n", ms >= 0);
  std::printf("async copies: %.1f %.1f\n", back[0], back[n - 1]);
  ok &= back[0] == 2.0f && back[n - 1] == 1.5f;

  // The same stream through the runtime: one object, one id.
  std::vector<float> rt(4);
  cudaError_t re = cudaMemcpyAsync(rt.data(), reinterpret_cast<void*>(d), 4 * sizeof(float),
                                   cudaMemcpyDeviceToHost, reinterpret_cast<cudaStream_t>(s));
  std::printf("runtime copy on a driver stream: %s %.1f\n", cudaGetErrorName(re), rt[0]);
  re = cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(s));
  std::printf("runtime sync of a driver stream: %s\n", cudaGetErrorName(re));
  // A runtime allocation copied by the driver and the other way round.
  void* rbuf = nullptr;
  if (cudaMalloc(&rbuf, 64) != cudaSuccess) return false;
  DCHECK(cuMemcpyDtoD(reinterpret_cast<CUdeviceptr>(rbuf), d, 64));
  float f[2] = {0, 0};
  re = cudaMemcpy(f, rbuf, sizeof f, cudaMemcpyDeviceToHost);
  std::printf("driver copy into cudaMalloc memory, read by the runtime: %s %.1f\n",
              cudaGetErrorName(re), f[0]);
  re = cudaMemcpy(f, reinterpret_cast<void*>(d + 64), sizeof f, cudaMemcpyDeviceToHost);
  std::printf("runtime copy from cuMemAlloc memory: %s %.1f\n", cudaGetErrorName(re), f[0]);
  cudaFree(rbuf);
  // cudaMemcpyDefault tells cuMemAlloc and cuMemAllocPitch memory from host memory.
  {
    CUdeviceptr a = 0, pitched = 0;
    size_t pitch = 0;
    DCHECK(cuMemAlloc(&a, 256));
    DCHECK(cuMemAllocPitch(&pitched, &pitch, 100, 4, 4));
    float in[4] = {1.5f, 2.5f, 3.5f, 4.5f}, out[4] = {};
    re = cudaMemcpy(reinterpret_cast<void*>(a + 16), in, sizeof in, cudaMemcpyDefault);
    std::printf("default copy into cuMemAlloc memory: %s\n", cudaGetErrorName(re));
    re = cudaMemcpy(reinterpret_cast<void*>(pitched + pitch), reinterpret_cast<void*>(a + 16),
                    sizeof in, cudaMemcpyDefault);
    std::printf("default copy between driver allocations: %s\n", cudaGetErrorName(re));
    re = cudaMemcpy(out, reinterpret_cast<void*>(pitched + pitch), sizeof out, cudaMemcpyDefault);
    std::printf("default copy back: %s %.1f %.1f\n", cudaGetErrorName(re), out[0], out[3]);
    ok &= out[0] == 1.5f && out[3] == 4.5f;
    // cuMemcpy / cuMemcpyAsync with unified addresses: host on either side, or both.
    float h2[4] = {}, h3[4] = {};
    const CUdeviceptr hin = reinterpret_cast<CUdeviceptr>(in);
    DCHECK(cuMemcpy(a + 64, hin, sizeof in));
    DCHECK(cuMemcpy(reinterpret_cast<CUdeviceptr>(h2), a + 68, 3 * sizeof(float)));
    std::printf("cuMemcpy host->device->host: %.1f %.1f %.1f\n", h2[0], h2[1], h2[2]);
    DCHECK(cuMemcpyAsync(pitched, a + 64, sizeof in, s));
    DCHECK(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(h3), pitched, sizeof h3, s));
    DCHECK(cuStreamSynchronize(s));
    std::printf("cuMemcpyAsync device->device->host: %.1f %.1f\n", h3[0], h3[3]);
    DCHECK(cuMemcpy(reinterpret_cast<CUdeviceptr>(h2), hin, sizeof in));
    std::printf("cuMemcpy host->host: %.1f %.1f\n", h2[0], h2[3]);
    ok &= h3[0] == 1.5f && h3[3] == 4.5f && h2[3] == 4.5f;
    DCHECK(cuMemFree(pitched));
    DCHECK(cuMemFree(a));
  }

  // Stream memory operations and attributes.
  DCHECK(cuStreamWriteValue32(s, d, 0x1234, CU_STREAM_WRITE_VALUE_DEFAULT));
  DCHECK(cuStreamWaitValue32(s, d, 0x1234, CU_STREAM_WAIT_VALUE_EQ));
  DCHECK(cuStreamWriteValue64(s, d + 8, 0x1122334455667788ull, CU_STREAM_WRITE_VALUE_DEFAULT));
  DCHECK(cuStreamSynchronize(s));
  unsigned long long words[2] = {0, 0};
  DCHECK(cuMemcpyDtoH(words, d, sizeof words));
  std::printf("stream write values: %llx %llx\n", words[0] & 0xffffffffull, words[1]);
  CUstreamAttrValue av{};
  av.syncPolicy = CU_SYNC_POLICY_BLOCKING_SYNC;
  DCHECK(cuStreamSetAttribute(s, CU_STREAM_ATTRIBUTE_SYNCHRONIZATION_POLICY, &av));
  CUstreamAttrValue got{};
  DCHECK(cuStreamGetAttribute(s, CU_STREAM_ATTRIBUTE_SYNCHRONIZATION_POLICY, &got));
  std::printf("stream sync policy: %d\n", static_cast<int>(got.syncPolicy));

  DCHECK(cuEventDestroy(start));
  DCHECK(cuEventDestroy(stop));
  DCHECK(cuStreamDestroy(s));
  DCHECK(cuStreamDestroy(hi));
  DCHECK(cuMemFree(d));
  return ok;
}

static void errors() {
  const CUresult codes[] = {CUDA_SUCCESS,
                            CUDA_ERROR_INVALID_VALUE,
                            CUDA_ERROR_OUT_OF_MEMORY,
                            CUDA_ERROR_NOT_INITIALIZED,
                            CUDA_ERROR_DEINITIALIZED,
                            CUDA_ERROR_NO_DEVICE,
                            CUDA_ERROR_INVALID_DEVICE,
                            CUDA_ERROR_INVALID_IMAGE,
                            CUDA_ERROR_INVALID_CONTEXT,
                            CUDA_ERROR_NOT_FOUND,
                            CUDA_ERROR_NOT_READY,
                            CUDA_ERROR_ILLEGAL_ADDRESS,
                            CUDA_ERROR_LAUNCH_FAILED,
                            CUDA_ERROR_INVALID_HANDLE,
                            CUDA_ERROR_NOT_SUPPORTED,
                            CUDA_ERROR_INVALID_PTX,
                            CUDA_ERROR_UNKNOWN};
  for (CUresult c : codes) {
    const char* name = nullptr;
    const char* str = nullptr;
    cuGetErrorName(c, &name);
    cuGetErrorString(c, &str);
    std::printf("%d %s: %s\n", static_cast<int>(c), name ? name : "(null)", str ? str : "(null)");
  }
  const char* s = "x";
  CUresult e = cuGetErrorName(static_cast<CUresult>(12345), &s);
  std::printf("unknown code: %s, %s\n", drv_name(e), s ? s : "(null)");
}

static void proc_address() {
  void* fn = nullptr;
  CUdriverProcAddressQueryResult st;
  CUresult e = cuGetProcAddress("cuMemAlloc", &fn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &st);
  std::printf("cuGetProcAddress(cuMemAlloc): %s, status %d, found %d\n", drv_name(e), st,
              fn != nullptr);
  if (fn) {
    CUdeviceptr p = 0;
    auto alloc = reinterpret_cast<CUresult (*)(CUdeviceptr*, size_t)>(fn);
    CUresult ae = alloc(&p, 256);
    std::printf("through the pointer: %s\n", drv_name(ae));
    if (ae == CUDA_SUCCESS) cuMemFree(p);
  }
  e = cuGetProcAddress("cuMemcpyHtoD", &fn, CUDA_VERSION,
                       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st);
  std::printf("per-thread cuMemcpyHtoD: %s, found %d\n", drv_name(e), fn != nullptr);
  e = cuGetProcAddress("cuNoSuchFunction", &fn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &st);
  std::printf("unknown name: %s, status %d, null %d\n", drv_name(e), st, fn == nullptr);
  // The runtime's entry point hands out driver functions too.
  cudaDriverEntryPointQueryResult qr;
  void* fn2 = nullptr;
  cudaError_t re = cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn2, 13000,
                                                    cudaEnableDefault, &qr);
  std::printf("cudaGetDriverEntryPointByVersion: %s, status %d, found %d\n",
              cudaGetErrorName(re), static_cast<int>(qr), fn2 != nullptr);
  if (fn2) {
    CUcontext c = nullptr, c2 = nullptr;
    reinterpret_cast<CUresult (*)(CUcontext*)>(fn2)(&c);
    cuCtxGetCurrent(&c2);
    std::printf("same context through both: %d\n", c == c2 && c != nullptr);
  }
}

__global__ void touch(int* p) { p[threadIdx.x] = 1; }

// A runtime launch error that comes back while the driver API is being used is still the
// runtime's last error.
static void launch_error_across_apis() {
  int* d = nullptr;
  if (cudaMalloc(&d, 64 * sizeof(int)) != cudaSuccess) return;
  touch<<<1, 4096>>>(d);  // too many threads: a launch error
  DREPORT(cuCtxSynchronize());
  std::printf("runtime last error after a driver call: %s\n",
              cudaGetErrorName(cudaGetLastError()));
  std::printf("and then: %s\n", cudaGetErrorName(cudaGetLastError()));
  cudaFree(d);
}

// Legacy exports, as a program built against an older cuda.h calls them.
#undef cuDeviceGetUuid
#undef cuEventElapsedTime
extern "C" CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev);
extern "C" CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end);
static void legacy(CUdevice dev) {
  CUuuid a, b;
  DCHECK(cuDeviceGetUuid(&a, dev));
  DCHECK(cuDeviceGetUuid_v2(&b, dev));
  std::printf("legacy cuDeviceGetUuid: %d\n", std::memcmp(a.bytes, b.bytes, 16) == 0);
  CUevent e1, e2;
  DCHECK(cuEventCreate(&e1, 0));
  DCHECK(cuEventCreate(&e2, 0));
  DCHECK(cuEventRecord(e1, nullptr));
  DCHECK(cuEventRecord(e2, nullptr));
  DCHECK(cuEventSynchronize(e2));
  float ms = -1;
  std::printf("legacy cuEventElapsedTime: %s %d\n", drv_name(cuEventElapsedTime(&ms, e1, e2)),
              ms >= 0);
  cuEventDestroy_v2(e1);
  cuEventDestroy_v2(e2);
}

int main() {
  DREPORT(cuDeviceGetCount(nullptr));
  CUdevice dev;
  DREPORT(cuDeviceGet(&dev, 0));  // before cuInit
  DCHECK(cuInit(0));
  DCHECK(cuDeviceGet(&dev, 0));
  bool ok = devices();
  ok &= contexts(dev);
  ok &= memory();
  ok &= streams_events();
  errors();
  proc_address();
  legacy(dev);
  launch_error_across_apis();
  DCHECK(cuDevicePrimaryCtxRelease(dev));
  return dverdict(ok);
}
