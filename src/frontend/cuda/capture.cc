// cuStreamGetCaptureInfo_v3 (and _ptsz): the runtime's request
// (frontend/cudart/capture_info.h); a CUstream, CUgraph and CUgraphNode are the worker's
// cudaStream_t, cudaGraph_t and cudaGraphNode_t. A statically linked runtime's
// cudaStreamGetCaptureInfo arrives at _v3. The arrays handed out belong to the calling thread
// until its next call.
#include "frontend/cuda/local.h"
#include "frontend/cuda/runtime_code.h"
#include "frontend/cudart/capture_info.h"

namespace gvirtus::cuda {
namespace {

static_assert(sizeof(CUgraphEdgeData) == sizeof(cudaGraphEdgeData) &&
                  alignof(CUgraphEdgeData) == alignof(cudaGraphEdgeData),
              "CUgraphEdgeData and cudaGraphEdgeData are one layout");
static_assert(static_cast<int>(CU_STREAM_CAPTURE_STATUS_INVALIDATED) ==
                  static_cast<int>(cudaStreamCaptureStatusInvalidated),
              "capture status values");

CUresult capture_info(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id_out,
                      CUgraph* graph, const CUgraphNode** deps, const CUgraphEdgeData** edges,
                      size_t* count) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  unsigned long long cap = 0;
  const cudaGraphEdgeData* ed = nullptr;
  const cudaError_t e = cudart::capture_info(to_wire(s), status ? &st : nullptr,
                                             id_out ? &cap : nullptr, graph, deps,
                                             edges ? &ed : nullptr, count);
  if (e != cudaSuccess) return from_runtime_code(e);
  if (status) *status = static_cast<CUstreamCaptureStatus>(st);
  if (id_out) *id_out = cap;
  if (edges) *edges = reinterpret_cast<const CUgraphEdgeData*>(ed);
  return CUDA_SUCCESS;
}

CUstream per_thread(CUstream s) { return s ? s : CU_STREAM_PER_THREAD; }

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuStreamGetCaptureInfo_v3(CUstream hStream,
                                             CUstreamCaptureStatus* captureStatus_out,
                                             cuuint64_t* id_out, CUgraph* graph_out,
                                             const CUgraphNode** dependencies_out,
                                             const CUgraphEdgeData** edgeData_out,
                                             size_t* numDependencies_out) {
  return guarded("cuStreamGetCaptureInfo_v3", [&] {
    return capture_info(hStream, captureStatus_out, id_out, graph_out, dependencies_out,
                        edgeData_out, numDependencies_out);
  });
}

GV_EXPORT CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream hStream,
                                                  CUstreamCaptureStatus* captureStatus_out,
                                                  cuuint64_t* id_out, CUgraph* graph_out,
                                                  const CUgraphNode** dependencies_out,
                                                  const CUgraphEdgeData** edgeData_out,
                                                  size_t* numDependencies_out) {
  return guarded("cuStreamGetCaptureInfo_v3_ptsz", [&] {
    return capture_info(per_thread(hStream), captureStatus_out, id_out, graph_out,
                        dependencies_out, edgeData_out, numDependencies_out);
  });
}
