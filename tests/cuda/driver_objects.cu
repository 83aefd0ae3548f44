// The driver's own forms of the runtime's objects, mixed with the runtime on the same objects:
// stream capture and graphs, memory pools and stream-ordered allocation, CUDA arrays (and
// arrays in cuMemcpy2D/3D and the 1D array copies), texture and surface objects, mapped host
// memory (cuMemHostAlloc with CU_MEMHOSTALLOC_DEVICEMAP, cuMemHostRegister with
// CU_MEMHOSTREGISTER_DEVICEMAP, cuMemHostGetDevicePointer), and a runtime kernel (cudaGetKernel)
// through the driver's kernel calls. Prints results only.
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "driver/check_drv.h"

#define RCHECK(call)                                                                   \
  do {                                                                                 \
    cudaError_t e_ = (call);                                                           \
    if (e_ != cudaSuccess) {                                                           \
      std::printf("FAILED line %d: %s: %s\n", __LINE__, #call, cudaGetErrorName(e_)); \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

__global__ void add_one(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}

__global__ void read_tex(cudaTextureObject_t t, float* out, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < w && y < h) out[y * w + x] = tex2D<float>(t, x + 0.5f, y + 0.5f);
}

__global__ void write_surf(cudaSurfaceObject_t s, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < w && y < h) surf2Dwrite(static_cast<float>(x * 100 + y), s, x * 4, y);
}

namespace {

constexpr int kN = 1024;

// A module of the driver's own: inc(p, n) adds one to p[0..n).
const char kIncPtx[] =
    ".version 8.0\n"
    ".target sm_75\n"
    ".address_size 64\n"
    ".visible .entry inc(\n"
    "  .param .u64 inc_p,\n"
    "  .param .u32 inc_n\n"
    ")\n"
    "{\n"
    "  .reg .pred %p<2>;\n"
    "  .reg .b32 %r<8>;\n"
    "  .reg .b64 %rd<5>;\n"
    "  ld.param.u64 %rd1, [inc_p];\n"
    "  ld.param.u32 %r1, [inc_n];\n"
    "  mov.u32 %r2, %ctaid.x;\n"
    "  mov.u32 %r3, %ntid.x;\n"
    "  mov.u32 %r4, %tid.x;\n"
    "  mad.lo.s32 %r5, %r2, %r3, %r4;\n"
    "  setp.ge.u32 %p1, %r5, %r1;\n"
    "  @%p1 bra L_done;\n"
    "  cvta.to.global.u64 %rd2, %rd1;\n"
    "  mul.wide.u32 %rd3, %r5, 4;\n"
    "  add.s64 %rd4, %rd2, %rd3;\n"
    "  ld.global.u32 %r6, [%rd4];\n"
    "  add.u32 %r7, %r6, 1;\n"
    "  st.global.u32 [%rd4], %r7;\n"
    "L_done:\n"
    "  ret;\n"
    "}\n";
constexpr int kW = 64, kH = 32;

void* as_ptr(CUdeviceptr p) { return reinterpret_cast<void*>(static_cast<uintptr_t>(p)); }

bool all_equal(const std::vector<int>& v, int x) {
  for (int e : v)
    if (e != x) return false;
  return true;
}

bool graphs(CUstream s) {
  CUdeviceptr d;
  DCHECK(cuMemAlloc(&d, kN * sizeof(int)));
  // The kernel runs once before the capture: its module is loaded by then.
  DCHECK(cuMemsetD32(d, 0, kN));
  add_one<<<kN / 256, 256>>>(static_cast<int*>(as_ptr(d)), kN);
  DCHECK(cuCtxSynchronize());
  DCHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CUstreamCaptureStatus cs;
  DCHECK(cuStreamIsCapturing(s, &cs));
  std::printf("capturing: %d\n", cs == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  DCHECK(cuMemsetD32Async(d, 5, kN, s));
  add_one<<<kN / 256, 256, 0, reinterpret_cast<cudaStream_t>(s)>>>(static_cast<int*>(as_ptr(d)),
                                                                     kN);
  CUgraph g;
  DCHECK(cuStreamEndCapture(s, &g));
  DCHECK(cuStreamIsCapturing(s, &cs));
  std::printf("capturing after the end: %d\n", cs == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  // The runtime reads the driver's graph.
  size_t n = 0;
  RCHECK(cudaGraphGetNodes(g, nullptr, &n));
  std::printf("captured nodes: %zu\n", n);
  std::vector<cudaGraphNode_t> nodes(n);
  RCHECK(cudaGraphGetNodes(g, nodes.data(), &n));
  // The driver lists the same nodes.
  size_t dn = 0;
  DCHECK(cuGraphGetNodes(g, nullptr, &dn));
  std::vector<CUgraphNode> dnodes(dn);
  DCHECK(cuGraphGetNodes(g, dnodes.data(), &dn));
  bool same = dn == n;
  for (size_t i = 0; same && i < n; ++i) same = dnodes[i] == nodes[i];
  std::printf("driver lists the same nodes: %d\n", same);
  size_t roots = 0;
  DCHECK(cuGraphGetRootNodes(g, nullptr, &roots));
  std::printf("root nodes: %zu\n", roots);
  for (size_t i = 0; i < n; ++i) {
    CUgraphNodeType t;
    DCHECK(cuGraphNodeGetType(nodes[i], &t));
    std::printf("node %zu type %d\n", i, static_cast<int>(t));
  }
  CUgraphExec ge;
  DCHECK(cuGraphInstantiate(&ge, g, 0));
  DCHECK(cuGraphUpload(ge, s));
  for (int i = 0; i < 3; ++i) DCHECK(cuGraphLaunch(ge, s));
  DCHECK(cuStreamSynchronize(s));
  std::vector<int> h(kN);
  DCHECK(cuMemcpyDtoH(h.data(), d, kN * sizeof(int)));
  bool ok = all_equal(h, 6);
  std::printf("graph result: %s\n", ok ? "ok" : "WRONG");
  cuuint64_t flags = 99;
  DCHECK(cuGraphExecGetFlags(ge, &flags));
  std::printf("exec flags: %llu\n", static_cast<unsigned long long>(flags));
  CUgraph clone;
  DCHECK(cuGraphClone(&clone, g));
  CUgraphNode in_clone;
  DCHECK(cuGraphNodeFindInClone(&in_clone, nodes[0], clone));
  CUgraphNodeType t0, t1;
  DCHECK(cuGraphNodeGetType(nodes[0], &t0));
  DCHECK(cuGraphNodeGetType(in_clone, &t1));
  std::printf("clone node has the type: %d\n", t0 == t1);
  // Executable and graphs destroyed through the other API.
  RCHECK(cudaGraphExecDestroy(ge));
  RCHECK(cudaGraphDestroy(clone));
  DCHECK(cuGraphDestroy(g));

  // A graph built by hand: a runtime memset node, read and changed through the driver.
  CUgraph g2;
  DCHECK(cuGraphCreate(&g2, 0));
  cudaMemsetParams mp{};
  mp.dst = as_ptr(d);
  mp.value = 3;
  mp.elementSize = 4;
  mp.width = kN;
  mp.height = 1;
  cudaGraphNode_t mnode;
  RCHECK(cudaGraphAddMemsetNode(&mnode, g2, nullptr, 0, &mp));
  CUDA_MEMSET_NODE_PARAMS q{};
  DCHECK(cuGraphMemsetNodeGetParams(mnode, &q));
  std::printf("memset node: value %u, element %u, width %zu\n", q.value, q.elementSize, q.width);
  q.value = 9;
  DCHECK(cuGraphMemsetNodeSetParams(mnode, &q));
  // A driver memset node after the runtime's (10 over the first half), and an empty node that
  // the runtime's node depends on until the edge is removed again.
  CUgraphNode empty, second;
  DCHECK(cuGraphAddEmptyNode(&empty, g2, nullptr, 0));
  CUcontext cur;
  DCHECK(cuCtxGetCurrent(&cur));
  CUDA_MEMSET_NODE_PARAMS q2 = q;
  q2.value = 10;
  q2.width = kN / 2;
  DCHECK(cuGraphAddMemsetNode(&second, g2, &mnode, 1, &q2, cur));
  DCHECK(cuGraphAddDependencies(g2, &empty, &mnode, nullptr, 1));
  // The runtime node's dependencies through the driver (with edge data), and the empty node's
  // dependents through the legacy export cuGetProcAddress hands out for CUDA 12.0.
  CUgraphNode mdeps[2] = {second, second};
  CUgraphEdgeData mdata[2] = {};
  size_t nm = 2;
  DCHECK(cuGraphNodeGetDependencies(mnode, mdeps, mdata, &nm));
  std::printf("memset node's dependencies: %zu, the empty node: %d, NULL after: %d, type %d\n",
              nm, mdeps[0] == empty, mdeps[1] == nullptr, mdata[0].type);
  void* legacy_fn = nullptr;
  CUdriverProcAddressQueryResult found;
  DCHECK(cuGetProcAddress("cuGraphNodeGetDependentNodes", &legacy_fn, 12000,
                          CU_GET_PROC_ADDRESS_DEFAULT, &found));
  size_t ne = 0;
  CUgraphNode edep = nullptr;
  if (legacy_fn) {
    auto dependents = reinterpret_cast<PFN_cuGraphNodeGetDependentNodes_v10000>(legacy_fn);
    DCHECK(dependents(empty, nullptr, &ne));
    DCHECK(dependents(empty, &edep, &ne));
  }
  std::printf("legacy dependents of the empty node: %zu, the memset node: %d\n", ne,
              edep == mnode);
  size_t roots2 = 0;
  DCHECK(cuGraphGetRootNodes(g2, nullptr, &roots2));
  std::vector<CUgraphNode> root_list(roots2);
  DCHECK(cuGraphGetRootNodes(g2, root_list.data(), &roots2));
  std::printf("hand-built roots: %zu, the empty node: %d\n", roots2,
              roots2 == 1 && root_list[0] == empty);
  DCHECK(cuGraphRemoveDependencies(g2, &empty, &mnode, nullptr, 1));
  DCHECK(cuGraphGetRootNodes(g2, nullptr, &roots2));
  std::printf("roots after removing the edge: %zu\n", roots2);
  CUgraphExec ge2;
  DCHECK(cuGraphInstantiateWithFlags(&ge2, g2, 0));
  unsigned enabled = 0;
  DCHECK(cuGraphNodeGetEnabled(ge2, mnode, &enabled));
  std::printf("node enabled: %u\n", enabled);
  DCHECK(cuGraphLaunch(ge2, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(h.data(), d, kN * sizeof(int)));
  bool ok2 = true;
  for (int i = 0; i < kN; ++i) ok2 = ok2 && h[i] == (i < kN / 2 ? 10 : 9);
  std::printf("memset node result: %s\n", ok2 ? "ok" : "WRONG");
  DCHECK(cuGraphExecDestroy(ge2));
  DCHECK(cuGraphDestroy(g2));

  // Kernel nodes of the driver: a memset, then inc over all of it; then over half of it, set
  // on the executable graph, then on the graph.
  CUmodule mod;
  DCHECK(cuModuleLoadData(&mod, kIncPtx));
  CUfunction inc;
  DCHECK(cuModuleGetFunction(&inc, mod, "inc"));
  CUgraph g3;
  DCHECK(cuGraphCreate(&g3, 0));
  CUDA_MEMSET_NODE_PARAMS m3{};
  m3.dst = d;
  m3.value = 40;
  m3.elementSize = 4;
  m3.width = kN;
  m3.height = 1;
  CUgraphNode set40, knode;
  DCHECK(cuGraphAddMemsetNode(&set40, g3, nullptr, 0, &m3, cur));
  CUdeviceptr arg_p = d;
  unsigned arg_n = kN;
  void* args[] = {&arg_p, &arg_n};
  CUDA_KERNEL_NODE_PARAMS kp{};
  kp.func = inc;
  kp.gridDimX = kN / 128;
  kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = 128;
  kp.blockDimY = kp.blockDimZ = 1;
  kp.kernelParams = args;
  DCHECK(cuGraphAddKernelNode(&knode, g3, &set40, 1, &kp));
  // A device-to-device memcpy node after the kernel: d -> d2.
  CUdeviceptr d2;
  DCHECK(cuMemAlloc(&d2, kN * sizeof(int)));
  DCHECK(cuMemsetD32(d2, 0, kN));
  // cuMemsetD32 on device memory may return before it is done, and the legacy stream does not
  // order work on the non-blocking stream s: wait for it before s uses the memory.
  DCHECK(cuCtxSynchronize());
  CUDA_MEMCPY3D cp{};
  cp.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  cp.srcDevice = d;
  cp.srcPitch = kN * sizeof(int);
  cp.srcHeight = 1;
  cp.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  cp.dstDevice = d2;
  cp.dstPitch = kN * sizeof(int);
  cp.dstHeight = 1;
  cp.WidthInBytes = kN * sizeof(int);
  cp.Height = 1;
  cp.Depth = 1;
  CUgraphNode cnode;
  DCHECK(cuGraphAddMemcpyNode(&cnode, g3, &knode, 1, &cp, cur));
  CUDA_MEMCPY3D cg{};
  DCHECK(cuGraphMemcpyNodeGetParams(cnode, &cg));
  std::printf("memcpy node: width %zu, same ends %d\n", cg.WidthInBytes,
              cg.srcDevice == d && cg.dstDevice == d2);
  // Host memory in a graph memcpy node is refused through GVirtuS; not tried here.
  arg_n = 0;  // the node keeps the arguments it was given
  CUgraphExec ge3;
  DCHECK(cuGraphInstantiate(&ge3, g3, 0));
  DCHECK(cuGraphLaunch(ge3, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(h.data(), d2, kN * sizeof(int)));
  bool ok3 = all_equal(h, 41);
  arg_n = kN / 2;
  DCHECK(cuGraphExecKernelNodeSetParams(ge3, knode, &kp));
  DCHECK(cuGraphLaunch(ge3, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(h.data(), d, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) ok3 = ok3 && h[i] == (i < kN / 2 ? 41 : 40);
  arg_n = kN / 4;
  DCHECK(cuGraphKernelNodeSetParams(knode, &kp));
  CUgraphExec ge4;
  DCHECK(cuGraphInstantiate(&ge4, g3, 0));
  DCHECK(cuGraphLaunch(ge4, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(h.data(), d, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) ok3 = ok3 && h[i] == (i < kN / 4 ? 41 : 40);
  // The first executable graph takes the graph's new parameters by an update.
  CUgraphExecUpdateResultInfo info{};
  DCHECK(cuGraphExecUpdate(ge3, g3, &info));
  std::printf("update result: %d\n", static_cast<int>(info.result));
  DCHECK(cuMemsetD32(d, 0, kN));
  DCHECK(cuCtxSynchronize());  // as above: s is not ordered after the legacy stream
  DCHECK(cuGraphLaunch(ge3, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemcpyDtoH(h.data(), d, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) ok3 = ok3 && h[i] == (i < kN / 4 ? 41 : 40);
  std::printf("kernel nodes: %s\n", ok3 ? "ok" : "WRONG");
  DCHECK(cuGraphExecDestroy(ge4));
  DCHECK(cuGraphExecDestroy(ge3));
  DCHECK(cuGraphDestroy(g3));
  DCHECK(cuModuleUnload(mod));
  DCHECK(cuMemFree(d2));
  DREPORT(cuGraphLaunch(nullptr, s));
  DCHECK(cuMemFree(d));
  return ok && ok2 && ok3;
}

bool pools(CUdevice dev, CUstream s) {
  CUmemoryPool def, cur;
  DCHECK(cuDeviceGetDefaultMemPool(&def, dev));
  DCHECK(cuDeviceGetMemPool(&cur, dev));
  std::printf("current pool is the default: %d\n", def == cur);
  cuuint64_t thr = 1ull << 20, got = 0;
  DCHECK(cuMemPoolSetAttribute(def, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &thr));
  DCHECK(cuMemPoolGetAttribute(def, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &got));
  std::printf("release threshold: %llu\n", static_cast<unsigned long long>(got));
  unsigned long long rt = 0;
  RCHECK(cudaMemPoolGetAttribute(def, cudaMemPoolAttrReleaseThreshold, &rt));
  std::printf("the runtime sees it: %d\n", rt == thr);
  CUdeviceptr a;
  DCHECK(cuMemAllocAsync(&a, kN * sizeof(int), s));
  DCHECK(cuMemsetD32Async(a, 7, kN, s));
  DCHECK(cuStreamSynchronize(s));
  // Unified-address copies of stream-ordered memory, through both APIs.
  std::vector<int> h(kN, 0), h2(kN, 0);
  DCHECK(cuMemcpy(reinterpret_cast<CUdeviceptr>(h.data()), a, kN * sizeof(int)));
  RCHECK(cudaMemcpy(h2.data(), as_ptr(a), kN * sizeof(int), cudaMemcpyDefault));
  bool ok = all_equal(h, 7) && all_equal(h2, 7);
  std::printf("async allocation: %s\n", ok ? "ok" : "WRONG");
  DCHECK(cuMemFreeAsync(a, s));

  CUmemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
  props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  props.location.id = dev;
  CUmemoryPool mine;
  DCHECK(cuMemPoolCreate(&mine, &props));
  CUmemLocation loc{};
  loc.type = CU_MEM_LOCATION_TYPE_DEVICE;
  loc.id = dev;
  CUmemAccess_flags fl;
  DCHECK(cuMemPoolGetAccess(&fl, mine, &loc));
  std::printf("own device access: %d\n", static_cast<int>(fl));
  CUdeviceptr b;
  DCHECK(cuMemAllocFromPoolAsync(&b, 1 << 16, mine, s));
  DCHECK(cuMemsetD8Async(b, 3, 1 << 16, s));
  DCHECK(cuStreamSynchronize(s));
  cuuint64_t used = 0;
  DCHECK(cuMemPoolGetAttribute(mine, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &used));
  std::printf("pool in use >= 64 KiB: %d\n", used >= (1u << 16));
  std::vector<unsigned char> bytes(1 << 16);
  RCHECK(cudaMemcpy(bytes.data(), as_ptr(b), bytes.size(), cudaMemcpyDefault));
  bool ok2 = true;
  for (unsigned char c : bytes) ok2 = ok2 && c == 3;
  std::printf("pool allocation: %s\n", ok2 ? "ok" : "WRONG");
  DCHECK(cuMemFreeAsync(b, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuMemPoolTrimTo(mine, 0));
  int follow = -1;
  RCHECK(cudaMemPoolGetAttribute(mine, cudaMemPoolReuseFollowEventDependencies, &follow));
  std::printf("runtime reads the driver's pool: %d\n", follow);
  DCHECK(cuMemPoolDestroy(mine));
  return ok && ok2;
}

bool arrays(CUstream s) {
  std::vector<float> src(kW * kH), back(kW * kH, -1.f);
  for (int i = 0; i < kW * kH; ++i) src[i] = i * 0.5f;
  CUDA_ARRAY_DESCRIPTOR ad{};
  ad.Width = kW;
  ad.Height = kH;
  ad.Format = CU_AD_FORMAT_FLOAT;
  ad.NumChannels = 1;
  CUarray arr;
  DCHECK(cuArrayCreate(&arr, &ad));
  CUDA_ARRAY_DESCRIPTOR got{};
  DCHECK(cuArrayGetDescriptor(&got, arr));
  std::printf("array %zux%zu format %d channels %u\n", got.Width, got.Height,
              static_cast<int>(got.Format), got.NumChannels);
  CUDA_MEMCPY2D c{};
  c.srcMemoryType = CU_MEMORYTYPE_HOST;
  c.srcHost = src.data();
  c.srcPitch = kW * 4;
  c.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  c.dstArray = arr;
  c.WidthInBytes = kW * 4;
  c.Height = kH;
  DCHECK(cuMemcpy2D(&c));
  // Array -> pitched device memory -> host.
  CUdeviceptr dp;
  size_t pitch = 0;
  DCHECK(cuMemAllocPitch(&dp, &pitch, kW * 4, kH, 4));
  CUDA_MEMCPY2D a2d{};
  a2d.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  a2d.srcArray = arr;
  a2d.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  a2d.dstDevice = dp;
  a2d.dstPitch = pitch;
  a2d.WidthInBytes = kW * 4;
  a2d.Height = kH;
  DCHECK(cuMemcpy2D(&a2d));
  DCHECK(cuMemcpy2DUnaligned(&a2d));
  CUDA_MEMCPY2D d2h{};
  d2h.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  d2h.srcDevice = dp;
  d2h.srcPitch = pitch;
  d2h.dstMemoryType = CU_MEMORYTYPE_HOST;
  d2h.dstHost = back.data();
  d2h.dstPitch = kW * 4;
  d2h.WidthInBytes = kW * 4;
  d2h.Height = kH;
  DCHECK(cuMemcpy2D(&d2h));
  bool ok = back == src;
  std::printf("2D through an array: %s\n", ok ? "ok" : "WRONG");
  // A sub-rectangle of the array to the host, asynchronously.
  std::vector<float> sub(16 * 8, -1.f);
  CUDA_MEMCPY2D a2h{};
  a2h.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  a2h.srcArray = arr;
  a2h.srcXInBytes = 8 * 4;
  a2h.srcY = 4;
  a2h.dstMemoryType = CU_MEMORYTYPE_HOST;
  a2h.dstHost = sub.data();
  a2h.dstPitch = 16 * 4;
  a2h.WidthInBytes = 16 * 4;
  a2h.Height = 8;
  DCHECK(cuMemcpy2DAsync(&a2h, s));
  DCHECK(cuStreamSynchronize(s));
  bool ok_sub = true;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x) ok_sub = ok_sub && sub[y * 16 + x] == src[(y + 4) * kW + x + 8];
  std::printf("sub-rectangle: %s\n", ok_sub ? "ok" : "WRONG");
  // Past the array's end.
  a2h.srcXInBytes = 60 * 4;
  DREPORT(cuMemcpy2D(&a2h));
  // The runtime reads the driver's array.
  cudaChannelFormatDesc fd;
  cudaExtent ext;
  unsigned aflags = 0;
  RCHECK(cudaArrayGetInfo(&fd, &ext, &aflags, reinterpret_cast<cudaArray_t>(arr)));
  std::printf("runtime: %zux%zu, %d bits\n", ext.width, ext.height, fd.x);
  std::vector<float> rt(kW * kH, -1.f);
  RCHECK(cudaMemcpy2DFromArray(rt.data(), kW * 4, reinterpret_cast<cudaArray_const_t>(arr), 0, 0,
                               kW * 4, kH, cudaMemcpyDeviceToHost));
  bool ok_rt = rt == src;
  std::printf("runtime copy of a driver array: %s\n", ok_rt ? "ok" : "WRONG");

  // 1D arrays: the A/H/D copies.
  CUDA_ARRAY_DESCRIPTOR d1{};
  d1.Width = 256;
  d1.Format = CU_AD_FORMAT_FLOAT;
  d1.NumChannels = 1;
  CUarray a1, a2;
  DCHECK(cuArrayCreate(&a1, &d1));
  DCHECK(cuArrayCreate(&a2, &d1));
  std::vector<float> one(64, -1.f), two(64, -1.f), three(64, -1.f);
  DCHECK(cuMemcpyHtoA(a1, 16 * 4, src.data(), 64 * 4));
  DCHECK(cuMemcpyAtoH(one.data(), a1, 16 * 4, 64 * 4));
  DCHECK(cuMemcpyAtoA(a2, 0, a1, 16 * 4, 64 * 4));
  // s is non-blocking: it does not wait for the legacy stream's copy (natively it may run first).
  DCHECK(cuCtxSynchronize());
  DCHECK(cuMemcpyAtoHAsync(two.data(), a2, 0, 64 * 4, s));
  DCHECK(cuStreamSynchronize(s));
  CUdeviceptr lin;
  DCHECK(cuMemAlloc(&lin, 64 * 4));
  DCHECK(cuMemcpyAtoD(lin, a2, 0, 64 * 4));
  DCHECK(cuMemcpyDtoA(a1, 128 * 4, lin, 64 * 4));
  DCHECK(cuMemcpyHtoAAsync(a2, 64 * 4, src.data() + 100, 8 * 4, s));
  DCHECK(cuStreamSynchronize(s));
  DCHECK(cuCtxSynchronize());
  DCHECK(cuMemcpyAtoH(three.data(), a1, 128 * 4, 64 * 4));
  float tail[8];
  DCHECK(cuMemcpyAtoH(tail, a2, 64 * 4, 8 * 4));
  bool ok1 = std::memcmp(one.data(), src.data(), 64 * 4) == 0 && one == two && one == three &&
             std::memcmp(tail, src.data() + 100, 8 * 4) == 0;
  std::printf("1D array copies: %s\n", ok1 ? "ok" : "WRONG");

  // 3D: host -> array -> host, and a box out of it.
  CUDA_ARRAY3D_DESCRIPTOR d3{};
  d3.Width = 16;
  d3.Height = 8;
  d3.Depth = 4;
  d3.Format = CU_AD_FORMAT_FLOAT;
  d3.NumChannels = 1;
  CUarray a3;
  DCHECK(cuArray3DCreate(&a3, &d3));
  CUDA_ARRAY3D_DESCRIPTOR g3{};
  DCHECK(cuArray3DGetDescriptor(&g3, a3));
  std::printf("3D array %zux%zux%zu\n", g3.Width, g3.Height, g3.Depth);
  CUDA_MEMCPY3D h2a{};
  h2a.srcMemoryType = CU_MEMORYTYPE_HOST;
  h2a.srcHost = src.data();
  h2a.srcPitch = 16 * 4;
  h2a.srcHeight = 8;
  h2a.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  h2a.dstArray = a3;
  h2a.WidthInBytes = 16 * 4;
  h2a.Height = 8;
  h2a.Depth = 4;
  DCHECK(cuMemcpy3D(&h2a));
  // From pageable memory the copy returns once the bytes are staged, before the DMA into the
  // array may be done; `s` is non-blocking, so nothing orders the read below after it.
  DCHECK(cuCtxSynchronize());
  std::vector<float> box(4 * 3 * 2, -1.f);
  CUDA_MEMCPY3D a2b{};
  a2b.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  a2b.srcArray = a3;
  a2b.srcXInBytes = 2 * 4;
  a2b.srcY = 1;
  a2b.srcZ = 1;
  a2b.dstMemoryType = CU_MEMORYTYPE_HOST;
  a2b.dstHost = box.data();
  a2b.dstPitch = 4 * 4;
  a2b.dstHeight = 3;
  a2b.WidthInBytes = 4 * 4;
  a2b.Height = 3;
  a2b.Depth = 2;
  DCHECK(cuMemcpy3DAsync(&a2b, s));
  DCHECK(cuStreamSynchronize(s));
  bool ok3 = true;
  for (int z = 0; z < 2; ++z)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x)
        ok3 = ok3 && box[(z * 3 + y) * 4 + x] == src[((z + 1) * 8 + y + 1) * 16 + x + 2];
  std::printf("3D box: %s\n", ok3 ? "ok" : "WRONG");

  // A mipmapped array's level is an array.
  CUDA_ARRAY3D_DESCRIPTOR dm{};
  dm.Width = kW;
  dm.Height = kH;
  dm.Format = CU_AD_FORMAT_FLOAT;
  dm.NumChannels = 1;
  CUmipmappedArray mm;
  DCHECK(cuMipmappedArrayCreate(&mm, &dm, 3));
  CUarray level;
  DCHECK(cuMipmappedArrayGetLevel(&level, mm, 1));
  CUDA_ARRAY3D_DESCRIPTOR gl{};
  DCHECK(cuArray3DGetDescriptor(&gl, level));
  std::printf("level 1: %zux%zu\n", gl.Width, gl.Height);
  DCHECK(cuMipmappedArrayDestroy(mm));

  DCHECK(cuMemFree(lin));
  DCHECK(cuMemFree(dp));
  DCHECK(cuArrayDestroy(a3));
  DCHECK(cuArrayDestroy(a2));
  DCHECK(cuArrayDestroy(a1));
  DCHECK(cuArrayDestroy(arr));
  return ok && ok_sub && ok_rt && ok1 && ok3;
}

bool textures() {
  std::vector<float> src(kW * kH);
  for (int i = 0; i < kW * kH; ++i) src[i] = i * 0.25f;
  CUDA_ARRAY_DESCRIPTOR ad{};
  ad.Width = kW;
  ad.Height = kH;
  ad.Format = CU_AD_FORMAT_FLOAT;
  ad.NumChannels = 1;
  CUarray arr;
  DCHECK(cuArrayCreate(&arr, &ad));
  CUDA_MEMCPY2D c{};
  c.srcMemoryType = CU_MEMORYTYPE_HOST;
  c.srcHost = src.data();
  c.srcPitch = kW * 4;
  c.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  c.dstArray = arr;
  c.WidthInBytes = kW * 4;
  c.Height = kH;
  DCHECK(cuMemcpy2D(&c));
  CUDA_RESOURCE_DESC rd{};
  rd.resType = CU_RESOURCE_TYPE_ARRAY;
  rd.res.array.hArray = arr;
  CUDA_TEXTURE_DESC td{};
  td.addressMode[0] = CU_TR_ADDRESS_MODE_CLAMP;
  td.addressMode[1] = CU_TR_ADDRESS_MODE_CLAMP;
  td.filterMode = CU_TR_FILTER_MODE_POINT;
  CUtexObject tex;
  DCHECK(cuTexObjectCreate(&tex, &rd, &td, nullptr));
  float* out;
  RCHECK(cudaMalloc(&out, kW * kH * sizeof(float)));
  read_tex<<<dim3(kW / 16, kH / 16), dim3(16, 16)>>>(tex, out, kW, kH);
  RCHECK(cudaDeviceSynchronize());
  std::vector<float> back(kW * kH);
  RCHECK(cudaMemcpy(back.data(), out, back.size() * 4, cudaMemcpyDeviceToHost));
  bool ok = back == src;
  std::printf("texture object reads: %s\n", ok ? "ok" : "WRONG");
  CUDA_RESOURCE_DESC rb{};
  DCHECK(cuTexObjectGetResourceDesc(&rb, tex));
  std::printf("resource: type %d, same array %d\n", static_cast<int>(rb.resType),
              rb.res.array.hArray == arr);
  CUDA_TEXTURE_DESC tb{};
  DCHECK(cuTexObjectGetTextureDesc(&tb, tex));
  std::printf("filter mode %d\n", static_cast<int>(tb.filterMode));
  DCHECK(cuTexObjectDestroy(tex));
  // A runtime texture object over the driver's array, read back through the driver.
  cudaResourceDesc rr{};
  rr.resType = cudaResourceTypeArray;
  rr.res.array.array = reinterpret_cast<cudaArray_t>(arr);
  cudaTextureDesc rtd{};
  rtd.filterMode = cudaFilterModePoint;
  cudaTextureObject_t rtex;
  RCHECK(cudaCreateTextureObject(&rtex, &rr, &rtd, nullptr));
  DCHECK(cuTexObjectGetResourceDesc(&rb, rtex));
  std::printf("runtime texture names the driver's array: %d\n", rb.res.array.hArray == arr);
  RCHECK(cudaDestroyTextureObject(rtex));

  // Surface: a kernel writes, the driver copies the array back.
  CUDA_ARRAY3D_DESCRIPTOR sd{};
  sd.Width = kW;
  sd.Height = kH;
  sd.Format = CU_AD_FORMAT_FLOAT;
  sd.NumChannels = 1;
  sd.Flags = CUDA_ARRAY3D_SURFACE_LDST;
  CUarray sa;
  DCHECK(cuArray3DCreate(&sa, &sd));
  rd.res.array.hArray = sa;
  CUsurfObject surf;
  DCHECK(cuSurfObjectCreate(&surf, &rd));
  write_surf<<<dim3(kW / 16, kH / 16), dim3(16, 16)>>>(surf, kW, kH);
  RCHECK(cudaDeviceSynchronize());
  CUDA_MEMCPY2D s2h{};
  s2h.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  s2h.srcArray = sa;
  s2h.dstMemoryType = CU_MEMORYTYPE_HOST;
  s2h.dstHost = back.data();
  s2h.dstPitch = kW * 4;
  s2h.WidthInBytes = kW * 4;
  s2h.Height = kH;
  DCHECK(cuMemcpy2D(&s2h));
  bool ok2 = true;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) ok2 = ok2 && back[y * kW + x] == static_cast<float>(x * 100 + y);
  std::printf("surface object writes: %s\n", ok2 ? "ok" : "WRONG");
  DCHECK(cuSurfObjectGetResourceDesc(&rb, surf));
  std::printf("surface names its array: %d\n", rb.res.array.hArray == sa);
  DCHECK(cuSurfObjectDestroy(surf));
  RCHECK(cudaFree(out));
  DCHECK(cuArrayDestroy(sa));
  DCHECK(cuArrayDestroy(arr));
  return ok && ok2;
}

// A kernel adds one through the device pointer; the host sees it after a synchronisation.
bool through_device_pointer(int* host, CUdeviceptr dev, const char* what) {
  for (int i = 0; i < kN; ++i) host[i] = 3 * i;
  add_one<<<kN / 256, 256>>>(static_cast<int*>(as_ptr(dev)), kN);
  DCHECK(cuCtxSynchronize());
  bool ok = true;
  for (int i = 0; i < kN; ++i) ok = ok && host[i] == 3 * i + 1;
  // And again, after the host wrote.
  for (int i = 0; i < kN; ++i) host[i] = i;
  add_one<<<kN / 256, 256>>>(static_cast<int*>(as_ptr(dev)), kN);
  DCHECK(cuCtxSynchronize());
  for (int i = 0; i < kN; ++i) ok = ok && host[i] == i + 1;
  std::printf("%s: %s\n", what, ok ? "ok" : "WRONG");
  return ok;
}

bool mapped() {
  int* hp = nullptr;
  DCHECK(cuMemHostAlloc(reinterpret_cast<void**>(&hp), kN * sizeof(int),
                        CU_MEMHOSTALLOC_DEVICEMAP));
  unsigned fl = 0;
  DCHECK(cuMemHostGetFlags(&fl, hp));
  std::printf("cuMemHostAlloc flags: %u\n", fl);
  CUdeviceptr dp;
  DCHECK(cuMemHostGetDevicePointer(&dp, hp, 0));
  bool ok = through_device_pointer(hp, dp, "cuMemHostAlloc DEVICEMAP");
  DCHECK(cuMemFreeHost(hp));

  void* reg = std::aligned_alloc(4096, kN * sizeof(int));
  DCHECK(cuMemHostRegister(reg, kN * sizeof(int), CU_MEMHOSTREGISTER_DEVICEMAP));
  DCHECK(cuMemHostGetDevicePointer(&dp, reg, 0));
  bool ok2 = through_device_pointer(static_cast<int*>(reg), dp, "cuMemHostRegister DEVICEMAP");
  DCHECK(cuMemHostUnregister(reg));
  std::free(reg);

  // Any page-locked allocation is mapped under unified addressing.
  int* plain = nullptr;
  DCHECK(cuMemAllocHost(reinterpret_cast<void**>(&plain), kN * sizeof(int)));
  DCHECK(cuMemHostGetFlags(&fl, plain));
  std::printf("cuMemAllocHost flags: %u\n", fl);
  DCHECK(cuMemHostGetDevicePointer(&dp, plain, 0));
  bool ok3 = through_device_pointer(plain, dp, "cuMemAllocHost");
  // The runtime frees what the driver allocated.
  RCHECK(cudaFreeHost(plain));

  int not_pinned = 0;
  DREPORT(cuMemHostGetDevicePointer(&dp, &not_pinned, 0));
  DREPORT(cuMemHostGetFlags(&fl, &not_pinned));
  return ok && ok2 && ok3;
}

// A cudaKernel_t from cudaGetKernel is a CUkernel: the driver's kernel calls take it, and so does
// cuLaunchKernel, cast to CUfunction.
bool runtime_kernel(CUdevice dev) {
  cudaKernel_t k = nullptr;
  RCHECK(cudaGetKernel(&k, add_one));
  const CUkernel ck = reinterpret_cast<CUkernel>(k);
  CUfunction f = nullptr;
  DCHECK(cuKernelGetFunction(&f, ck));
  int fthreads = 0, kthreads = 0;
  DCHECK(cuFuncGetAttribute(&fthreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
  DCHECK(cuKernelGetAttribute(&kthreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, ck, dev));
  std::printf("runtime kernel through the driver: max threads %d %d\n", fthreads, kthreads);
  const int n = 100;
  int* d = nullptr;
  RCHECK(cudaMalloc(&d, n * sizeof(int)));
  RCHECK(cudaMemset(d, 0, n * sizeof(int)));
  int count = n;
  void* args[] = {&d, &count};
  DCHECK(cuLaunchKernel(reinterpret_cast<CUfunction>(ck), 1, 1, 1, 128, 1, 1, 0, nullptr, args,
                        nullptr));
  int h[n];
  RCHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
  RCHECK(cudaFree(d));
  bool all = true;
  for (int v : h) all = all && v == 1;
  std::printf("runtime kernel launched through cuLaunchKernel: %s\n", all ? "ok" : "WRONG");
  return all && fthreads > 0 && fthreads == kthreads;
}

}  // namespace

int main() {
  RCHECK(cudaSetDevice(0));
  RCHECK(cudaFree(nullptr));  // the primary context, current on this thread
  DCHECK(cuInit(0));
  CUdevice dev;
  DCHECK(cuDeviceGet(&dev, 0));
  CUstream s;
  DCHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  bool ok = graphs(s);
  ok = pools(dev, s) && ok;
  ok = arrays(s) && ok;
  ok = textures() && ok;
  ok = mapped() && ok;
  ok = runtime_kernel(dev) && ok;
  DCHECK(cuStreamDestroy(s));
  return dverdict(ok);
}
