// cudaStreamGetCaptureInfo (and _ptsz), cudaThreadExchangeStreamCaptureMode: the stream-capture
// calls the generator cannot express. The rest of capture is generated (api/cudart.api).
//
// Wire: cudaStreamGetCaptureInfo: capture_info.h (libcuda.so.1 sends it too)
//       cudaThreadExchangeStreamCaptureMode  u8 present, i32 mode   reply i32 mode
#include "frontend/cudart/capture_info.h"
#include "frontend/cudart/local.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaStreamGetCaptureInfo(cudaStream_t stream,
                                               cudaStreamCaptureStatus* captureStatus_out,
                                               unsigned long long* id_out, cudaGraph_t* graph_out,
                                               const cudaGraphNode_t** dependencies_out,
                                               const cudaGraphEdgeData** edgeData_out,
                                               size_t* numDependencies_out) {
  return guarded("cudaStreamGetCaptureInfo", [&] {
    return capture_info(to_wire(stream), captureStatus_out, id_out, graph_out, dependencies_out,
                        edgeData_out, numDependencies_out);
  });
}

GV_EXPORT cudaError_t cudaStreamGetCaptureInfo_ptsz(
    cudaStream_t stream, cudaStreamCaptureStatus* captureStatus_out, unsigned long long* id_out,
    cudaGraph_t* graph_out, const cudaGraphNode_t** dependencies_out,
    const cudaGraphEdgeData** edgeData_out, size_t* numDependencies_out) {
  return guarded("cudaStreamGetCaptureInfo_ptsz", [&] {
    return capture_info(to_wire(stream ? stream : cudaStreamPerThread), captureStatus_out, id_out,
                        graph_out, dependencies_out, edgeData_out, numDependencies_out);
  });
}

GV_EXPORT cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  return guarded("cudaThreadExchangeStreamCaptureMode", [&] {
    client::Call c(id(Call::kCall_cudaThreadExchangeStreamCaptureMode));
    c.args().put<uint8_t>(mode != nullptr);
    c.args().put<int32_t>(mode ? static_cast<int32_t>(*mode) : 0);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    int32_t m = c.result().get<int32_t>();
    c.result().expect_end();
    *mode = static_cast<cudaStreamCaptureMode>(m);
    return cudaSuccess;
  });
}
