// cudaStreamGetCaptureInfo's request, for libcudart.so.13 and for libcuda.so.1's
// cuStreamGetCaptureInfo_v2/_v3 (a CUstream is the worker's cudaStream_t; the statically linked
// runtime's cudaStreamGetCaptureInfo arrives there).
//
// Wire: cudaStreamGetCaptureInfo  u64 stream, u8 outputs wanted (1 status, 2 id, 4 graph,
//         8 dependencies, 16 edge data, 32 count)
//         reply, in this order, those wanted: i32 status, u64 id, u64 graph id, u64 count n,
//         n x u64 node ids (with 8 and 32), u8 present + n x cudaGraphEdgeData (with 16 and 32)
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace gvirtus::cudart {

// Any output may be NULL (not asked for). The arrays handed out in *deps and *edges belong to
// the calling thread and stay valid until its next call (natively: until the capture changes).
// Records a failure as the (runtime's) last error; throws wire::DecodeError for a reply that
// does not decode.
cudaError_t capture_info(uint64_t stream, cudaStreamCaptureStatus* status,
                         unsigned long long* cap_id, cudaGraph_t* graph,
                         const cudaGraphNode_t** deps, const cudaGraphEdgeData** edges,
                         size_t* count);

}  // namespace gvirtus::cudart
