// Legacy exports whose ABI is that of their current form (same parameters): forwarded to it.
// A program built against an older cuda.h calls them (cuDeviceGetUuid before 11.4, the primary
// context calls before 11.0, cuEventElapsedTime before 12.8, cuCtxCreate before 12.5, the linker
// and cuMemHostRegister before 6.5, cuIpcOpenMemHandle before 11.0; the edge calls before 12.3
// took no edge data: forwarded with none; the kernel node calls before 12.0 took parameters
// without kern and ctx: forwarded with those NULL; cuGraphExecUpdate before 12.0 returned the
// result and the error node apart). cuGetProcAddress hands them out for older
// cudaVersions.
// The legacy exports with another ABI (32-bit CUdeviceptr or sizes) stay unsupported.
#include "frontend/cuda/legacy.h"
#include "frontend/cuda/local.h"

// cuda.h maps these names to their current forms; here they are defined by their own names.
#undef cuDeviceGetUuid
#undef cuDevicePrimaryCtxRelease
#undef cuDevicePrimaryCtxReset
#undef cuDevicePrimaryCtxSetFlags
#undef cuCtxDestroy
#undef cuCtxPushCurrent
#undef cuCtxPopCurrent
#undef cuStreamDestroy
#undef cuEventDestroy
#undef cuEventElapsedTime
#undef cuCtxCreate
#undef cuLinkCreate
#undef cuLinkAddData
#undef cuLinkAddFile
#undef cuMemHostRegister
#undef cuIpcOpenMemHandle
#undef cuGraphAddDependencies
#undef cuGraphRemoveDependencies
#undef cuGraphGetEdges
#undef cuGraphNodeGetDependencies
#undef cuGraphNodeGetDependentNodes
#undef cuGraphAddKernelNode
#undef cuGraphKernelNodeSetParams
#undef cuGraphExecKernelNodeSetParams
#undef cuGraphExecUpdate

// cuda.h declares these only for the driver's own build.
extern "C" {
CUresult cuGraphExecUpdate(CUgraphExec exec, CUgraph g, CUgraphNode* error_node,
                           CUgraphExecUpdateResult* result);
CUresult cuGraphAddKernelNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps, size_t n,
                              const CUDA_KERNEL_NODE_PARAMS_v1* p);
CUresult cuGraphKernelNodeSetParams(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS_v1* p);
CUresult cuGraphExecKernelNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                        const CUDA_KERNEL_NODE_PARAMS_v1* p);
CUresult cuGraphAddDependencies(CUgraph g, const CUgraphNode* from, const CUgraphNode* to,
                                size_t n);
CUresult cuGraphRemoveDependencies(CUgraph g, const CUgraphNode* from, const CUgraphNode* to,
                                   size_t n);
CUresult cuGraphGetEdges(CUgraph g, CUgraphNode* from, CUgraphNode* to, size_t* n);
CUresult cuGraphNodeGetDependencies(CUgraphNode node, CUgraphNode* deps, size_t* n);
CUresult cuGraphNodeGetDependentNodes(CUgraphNode node, CUgraphNode* deps, size_t* n);
CUresult cuIpcOpenMemHandle(CUdeviceptr* pdptr, CUipcMemHandle handle, unsigned int Flags);
CUresult cuCtxCreate(CUcontext* pctx, unsigned int flags, CUdevice dev);
CUresult cuLinkCreate(unsigned int numOptions, CUjit_option* options, void** optionValues,
                      CUlinkState* stateOut);
CUresult cuLinkAddData(CUlinkState state, CUjitInputType type, void* data, size_t size,
                       const char* name, unsigned int numOptions, CUjit_option* options,
                       void** optionValues);
CUresult cuLinkAddFile(CUlinkState state, CUjitInputType type, const char* path,
                       unsigned int numOptions, CUjit_option* options, void** optionValues);
CUresult cuMemHostRegister(void* p, size_t bytesize, unsigned int Flags);
}

GV_EXPORT CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) {
  return cuDeviceGetUuid_v2(uuid, dev);
}
GV_EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice dev) {
  return cuDevicePrimaryCtxRelease_v2(dev);
}
GV_EXPORT CUresult cuDevicePrimaryCtxReset(CUdevice dev) { return cuDevicePrimaryCtxReset_v2(dev); }
GV_EXPORT CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags) {
  return cuDevicePrimaryCtxSetFlags_v2(dev, flags);
}
GV_EXPORT CUresult cuCtxDestroy(CUcontext ctx) { return cuCtxDestroy_v2(ctx); }
GV_EXPORT CUresult cuCtxPushCurrent(CUcontext ctx) { return cuCtxPushCurrent_v2(ctx); }
GV_EXPORT CUresult cuCtxPopCurrent(CUcontext* pctx) { return cuCtxPopCurrent_v2(pctx); }
GV_EXPORT CUresult cuStreamDestroy(CUstream s) { return cuStreamDestroy_v2(s); }
GV_EXPORT CUresult cuEventDestroy(CUevent e) { return cuEventDestroy_v2(e); }
GV_EXPORT CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
  return cuEventElapsedTime_v2(ms, start, end);
}

// cuCtxCreate (2.0): natively its context is one the current memory calls refuse
// (cuMemAlloc answers CUDA_ERROR_INVALID_CONTEXT, seen on the H200): refused here rather than
// handing out a context that works differently.
GV_EXPORT CUresult cuCtxCreate(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  (void)pctx, (void)flags, (void)dev;
  return gvirtus::cuda::refuse("cuCtxCreate",
                               "the CUDA 2.0 context ABI (use cuCtxCreate_v2 or later)");
}
// cuCtxCreate_v2 (3.2): no creation parameters.
GV_EXPORT CUresult cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  return cuCtxCreate_v4(pctx, nullptr, flags, dev);
}
// cuCtxCreate_v3 (11.4): execution-affinity parameters, which cuCtxCreate_v4 refuses as well;
// none (numParams 0) is a plain context.
GV_EXPORT CUresult cuCtxCreate_v3(CUcontext* pctx, CUexecAffinityParam* paramsArray,
                                  int numParams, unsigned int flags, CUdevice dev) {
  if (numParams < 0 || (numParams > 0 && !paramsArray)) return CUDA_ERROR_INVALID_VALUE;
  CUctxCreateParams params{};
  params.execAffinityParams = numParams > 0 ? paramsArray : nullptr;
  params.numExecAffinityParams = numParams;
  return cuCtxCreate_v4(pctx, &params, flags, dev);
}
GV_EXPORT CUresult cuLinkCreate(unsigned int numOptions, CUjit_option* options,
                                void** optionValues, CUlinkState* stateOut) {
  return cuLinkCreate_v2(numOptions, options, optionValues, stateOut);
}
GV_EXPORT CUresult cuLinkAddData(CUlinkState state, CUjitInputType type, void* data, size_t size,
                                 const char* name, unsigned int numOptions, CUjit_option* options,
                                 void** optionValues) {
  return cuLinkAddData_v2(state, type, data, size, name, numOptions, options, optionValues);
}
GV_EXPORT CUresult cuLinkAddFile(CUlinkState state, CUjitInputType type, const char* path,
                                 unsigned int numOptions, CUjit_option* options,
                                 void** optionValues) {
  return cuLinkAddFile_v2(state, type, path, numOptions, options, optionValues);
}
GV_EXPORT CUresult cuMemHostRegister(void* p, size_t bytesize, unsigned int Flags) {
  return cuMemHostRegister_v2(p, bytesize, Flags);
}
GV_EXPORT CUresult cuIpcOpenMemHandle(CUdeviceptr* pdptr, CUipcMemHandle handle,
                                      unsigned int Flags) {
  return cuIpcOpenMemHandle_v2(pdptr, handle, Flags);
}
GV_EXPORT CUresult cuGraphAddDependencies(CUgraph g, const CUgraphNode* from,
                                          const CUgraphNode* to, size_t n) {
  return cuGraphAddDependencies_v2(g, from, to, nullptr, n);
}
GV_EXPORT CUresult cuGraphRemoveDependencies(CUgraph g, const CUgraphNode* from,
                                             const CUgraphNode* to, size_t n) {
  return cuGraphRemoveDependencies_v2(g, from, to, nullptr, n);
}
GV_EXPORT CUresult cuGraphGetEdges(CUgraph g, CUgraphNode* from, CUgraphNode* to, size_t* n) {
  return cuGraphGetEdges_v2(g, from, to, nullptr, n);
}
GV_EXPORT CUresult cuGraphNodeGetDependencies(CUgraphNode node, CUgraphNode* deps, size_t* n) {
  return cuGraphNodeGetDependencies_v2(node, deps, nullptr, n);
}
GV_EXPORT CUresult cuGraphNodeGetDependentNodes(CUgraphNode node, CUgraphNode* deps, size_t* n) {
  return cuGraphNodeGetDependentNodes_v2(node, deps, nullptr, n);
}

namespace {
// The pre-12.0 kernel node parameters in today's struct (no kernel, no context).
const CUDA_KERNEL_NODE_PARAMS* node_params_v2(const CUDA_KERNEL_NODE_PARAMS_v1* p,
                                              CUDA_KERNEL_NODE_PARAMS* out) {
  if (!p) return nullptr;
  *out = CUDA_KERNEL_NODE_PARAMS{};
  out->func = p->func;
  out->gridDimX = p->gridDimX;
  out->gridDimY = p->gridDimY;
  out->gridDimZ = p->gridDimZ;
  out->blockDimX = p->blockDimX;
  out->blockDimY = p->blockDimY;
  out->blockDimZ = p->blockDimZ;
  out->sharedMemBytes = p->sharedMemBytes;
  out->kernelParams = p->kernelParams;
  out->extra = p->extra;
  return out;
}
}  // namespace

GV_EXPORT CUresult cuGraphAddKernelNode(CUgraphNode* out, CUgraph g, const CUgraphNode* deps,
                                        size_t n, const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  CUDA_KERNEL_NODE_PARAMS v2;
  return cuGraphAddKernelNode_v2(out, g, deps, n, node_params_v2(p, &v2));
}
GV_EXPORT CUresult cuGraphKernelNodeSetParams(CUgraphNode node,
                                              const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  CUDA_KERNEL_NODE_PARAMS v2;
  return cuGraphKernelNodeSetParams_v2(node, node_params_v2(p, &v2));
}
GV_EXPORT CUresult cuGraphExecKernelNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                                  const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  CUDA_KERNEL_NODE_PARAMS v2;
  return cuGraphExecKernelNodeSetParams_v2(exec, node, node_params_v2(p, &v2));
}
GV_EXPORT CUresult cuGraphExecUpdate(CUgraphExec exec, CUgraph g, CUgraphNode* error_node,
                                     CUgraphExecUpdateResult* result) {
  CUgraphExecUpdateResultInfo info{};
  const CUresult e = cuGraphExecUpdate_v2(exec, g, &info);
  if (error_node) *error_node = info.errorNode;
  if (result) *result = info.result;
  return e;
}
