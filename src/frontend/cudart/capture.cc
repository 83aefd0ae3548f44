// cudaStreamGetCaptureInfo (and _ptsz), cudaThreadExchangeStreamCaptureMode: the stream-capture
// calls the generator cannot express. The rest of capture is generated (api/cudart.api).
//
// Wire: cudaStreamGetCaptureInfo  u64 stream, u8 outputs wanted (1 status, 2 id, 4 graph,
//         8 dependencies, 16 edge data, 32 count)
//         reply, in this order, those wanted: i32 status, u64 id, u64 graph id, u64 count n,
//         n × u64 node ids (with 8 and 32), u8 present + n × cudaGraphEdgeData (with 16 and 32)
//       cudaThreadExchangeStreamCaptureMode  u8 present, i32 mode   reply i32 mode
#include <cstring>
#include <vector>

#include "frontend/cudart/local.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

// The arrays cudaStreamGetCaptureInfo hands out stay valid until the thread's next call, as
// natively (where they stay valid until the capture changes).
thread_local std::vector<cudaGraphNode_t> t_deps;
thread_local std::vector<cudaGraphEdgeData> t_edges;

cudaError_t capture_info(cudaStream_t stream, cudaStreamCaptureStatus* status,
                         unsigned long long* cap_id, cudaGraph_t* graph,
                         const cudaGraphNode_t** deps, const cudaGraphEdgeData** edges,
                         size_t* count) {
  uint8_t want = (status ? 1 : 0) | (cap_id ? 2 : 0) | (graph ? 4 : 0) | (deps ? 8 : 0) |
                 (edges ? 16 : 0) | (count ? 32 : 0);
  client::Call c(id(Call::kCall_cudaStreamGetCaptureInfo));
  c.args().put<uint64_t>(to_wire(stream));
  c.args().put<uint8_t>(want);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  if (status) *status = static_cast<cudaStreamCaptureStatus>(r.get<int32_t>());
  if (cap_id) *cap_id = r.get<uint64_t>();
  if (graph) *graph = from_wire<cudaGraph_t>(r.get<uint64_t>());
  uint64_t n = count ? r.get<uint64_t>() : 0;
  if (n > r.remaining() / sizeof(uint64_t)) throw wire::DecodeError("dependency count");
  if (count) *count = static_cast<size_t>(n);
  if (deps && count) {
    t_deps.resize(n);
    for (uint64_t i = 0; i < n; ++i) t_deps[i] = from_wire<cudaGraphNode_t>(r.get<uint64_t>());
    *deps = n ? t_deps.data() : nullptr;
  }
  if (edges && count) {
    if (r.get<uint8_t>()) {
      t_edges.resize(n);
      if (n) std::memcpy(t_edges.data(), r.get_bytes(n * sizeof(cudaGraphEdgeData)),
                         n * sizeof(cudaGraphEdgeData));
      *edges = n ? t_edges.data() : nullptr;
    } else {
      *edges = nullptr;
    }
  }
  r.expect_end();
  return cudaSuccess;
}

}  // namespace

GV_EXPORT cudaError_t cudaStreamGetCaptureInfo(cudaStream_t stream,
                                               cudaStreamCaptureStatus* captureStatus_out,
                                               unsigned long long* id_out, cudaGraph_t* graph_out,
                                               const cudaGraphNode_t** dependencies_out,
                                               const cudaGraphEdgeData** edgeData_out,
                                               size_t* numDependencies_out) {
  return guarded("cudaStreamGetCaptureInfo", [&] {
    return capture_info(stream, captureStatus_out, id_out, graph_out, dependencies_out,
                        edgeData_out, numDependencies_out);
  });
}

GV_EXPORT cudaError_t cudaStreamGetCaptureInfo_ptsz(
    cudaStream_t stream, cudaStreamCaptureStatus* captureStatus_out, unsigned long long* id_out,
    cudaGraph_t* graph_out, const cudaGraphNode_t** dependencies_out,
    const cudaGraphEdgeData** edgeData_out, size_t* numDependencies_out) {
  return guarded("cudaStreamGetCaptureInfo_ptsz", [&] {
    return capture_info(stream ? stream : cudaStreamPerThread, captureStatus_out, id_out,
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
