// Stream capture, the hand-written part (the rest is generated: api/cudart.api 1600-1699).
// Client side: src/frontend/cudart/capture.cc; payloads in docs/protocol.md.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "backend/cudart/graphs.h"
#include "backend/cudart/support.h"

namespace gvirtus::backend::cudart {

// Which outputs of cudaStreamGetCaptureInfo the client asks for (a NULL pointer natively).
enum : uint8_t {
  kInfoStatus = 1,
  kInfoId = 2,
  kInfoGraph = 4,
  kInfoDeps = 8,
  kInfoEdges = 16,
  kInfoCount = 32,
};

void handle_cudaStreamGetCaptureInfo(CallContext& ctx) {
  uint64_t stream = ctx.in.get<uint64_t>();
  uint8_t want = ctx.in.get<uint8_t>();
  ctx.in.expect_end();
  if (want & ~uint8_t{63}) throw SessionFault("unknown cudaStreamGetCaptureInfo outputs");
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  unsigned long long id = 0;
  cudaGraph_t graph = nullptr;
  const cudaGraphNode_t* deps = nullptr;
  const cudaGraphEdgeData* edges = nullptr;
  size_t n = 0;
  cudaError_t e = cudaStreamGetCaptureInfo(
      s, (want & kInfoStatus) ? &status : nullptr, (want & kInfoId) ? &id : nullptr,
      (want & kInfoGraph) ? &graph : nullptr, (want & kInfoDeps) ? &deps : nullptr,
      (want & kInfoEdges) ? &edges : nullptr, (want & kInfoCount) ? &n : nullptr);
  ctx.status = e;
  if (e != cudaSuccess) return;
  if (want & kInfoStatus) ctx.out.put<int32_t>(status);
  if (want & kInfoId) ctx.out.put<uint64_t>(id);
  if (want & kInfoGraph) ctx.out.put<uint64_t>(graph_out(ctx, graph));
  if (want & kInfoCount) ctx.out.put<uint64_t>(n);
  if ((want & kInfoDeps) && (want & kInfoCount)) {
    for (size_t i = 0; i < n; ++i) ctx.out.put<uint64_t>(deps ? graphnode_out(ctx, deps[i]) : 0);
  }
  if ((want & kInfoEdges) && (want & kInfoCount)) {
    ctx.out.put<uint8_t>(edges != nullptr);
    if (edges) ctx.out.put_bytes(edges, n * sizeof(cudaGraphEdgeData));
  }
}

void handle_cudaThreadExchangeStreamCaptureMode(CallContext& ctx) {
  bool present = ctx.in.get<uint8_t>() != 0;
  int32_t mode = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  cudaStreamCaptureMode m = static_cast<cudaStreamCaptureMode>(mode);
  ctx.status = cudaThreadExchangeStreamCaptureMode(present ? &m : nullptr);
  if (ctx.status == cudaSuccess) ctx.out.put<int32_t>(m);
}

}  // namespace gvirtus::backend::cudart
