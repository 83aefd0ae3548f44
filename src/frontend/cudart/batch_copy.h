// cudaMemcpyBatchAsync and cudaMemcpy3DBatchAsync over the copy engine (transfer.h): CUDA's
// argument rules are checked for the whole batch before any copy is sent, then each copy runs
// as the matching single copy would (cudaMemcpyDefault: the kind follows the pointers), in
// order on the batch's stream. A batch promises no order among its copies, so running them in
// order is one of the allowed schedules. CUDA 13's forms have no failIdx: the first failing
// copy's error is returned, and copies after it are not sent.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "frontend/cudart/transfer.h"

namespace gvirtus::cudart {

// The batch calls' stream rule: not the legacy default stream (0 or cudaStreamLegacy). The
// per-thread forms resolve 0 to cudaStreamPerThread before asking.
bool batch_stream_ok(uint64_t stream);

// cudaMemcpyBatchAsync's rules (no pointer is read): count > 0; dsts, srcs, sizes, attrs and
// attrsIdxs given; 0 < numAttrs <= count; attrsIdxs starts at 0, grows strictly and stays below
// count; every attribute has a valid srcAccessOrder and no unknown flag; no NULL pointer among
// the copies. cudaErrorInvalidValue otherwise.
cudaError_t check_batch(void* const* dsts, const void* const* srcs, const size_t* sizes,
                        size_t count, const cudaMemcpyAttributes* attrs, const size_t* idxs,
                        size_t num_attrs);

// Runs a checked batch (check_batch and batch_stream_ok passed). Sets the last error on failure.
cudaError_t run_batch(void* const* dsts, const void* const* srcs, const size_t* sizes,
                      size_t count, const Target& t);

// An array's element size in bytes (cudaArrayGetInfo); the exports pass theirs in, the tests a
// fake. Returns the error of the query.
using ElementSize = cudaError_t (*)(cudaArray_t array, uint64_t* bytes);

// One cudaMemcpy3DBatchOp as a Copy3D (x and width in bytes; pointer ends left kHost, for
// classify_ends). Rules: known operand types, no zero extent, a valid srcAccessOrder, no flag
// but cudaMemcpyFlagPreferOverlapWithCompute, rowLength / layerHeight 0 or at least the
// extent's width / height, a pointer end not NULL, array ends of one element size.
// cudaErrorInvalidValue (or the element-size query's error) otherwise.
cudaError_t describe_batch_op(const cudaMemcpy3DBatchOp& op, ElementSize elem, Copy3D* out);

// cudaMemcpy3DBatchAsync after the stream check: numOps > 0, opList given, flags 0, every op
// described first, then the copies in order. Sets the last error on failure.
cudaError_t run_3d_batch(size_t n, const cudaMemcpy3DBatchOp* ops, unsigned long long flags,
                         ElementSize elem, const Target& t);

}  // namespace gvirtus::cudart
