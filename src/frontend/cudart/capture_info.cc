// The capture-info request; see capture_info.h.
#include "frontend/cudart/capture_info.h"

#include <cstring>
#include <vector>

#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

// The arrays cudaStreamGetCaptureInfo hands out stay valid until the thread's next call, as
// natively (where they stay valid until the capture changes).
thread_local std::vector<cudaGraphNode_t> t_deps;
thread_local std::vector<cudaGraphEdgeData> t_edges;

}  // namespace

cudaError_t capture_info(uint64_t stream, cudaStreamCaptureStatus* status,
                         unsigned long long* cap_id, cudaGraph_t* graph,
                         const cudaGraphNode_t** deps, const cudaGraphEdgeData** edges,
                         size_t* count) {
  uint8_t want = (status ? 1 : 0) | (cap_id ? 2 : 0) | (graph ? 4 : 0) | (deps ? 8 : 0) |
                 (edges ? 16 : 0) | (count ? 32 : 0);
  client::Call c(id(Call::kCall_cudaStreamGetCaptureInfo));
  c.args().put<uint64_t>(stream);
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


}  // namespace gvirtus::cudart
