// Double-buffered staging for large synchronous host-to-device copies over a socket: the
// network receive of chunk k+1 overlaps the DMA of chunk k. A NoReply chunk of a copy on the
// legacy stream (cudaMemcpy: every chunk but the last) keeps the staging buffer holding its
// bytes until its DMA is done (an event recorded behind it) and gives the connection the
// buffer of the chunk before instead, once that one's DMA is over; the last chunk, which gets
// the reply, waits for the stream as before, so the copy is complete when the call returns
// (but for a small last chunk from pageable memory, as natively: memory.cc, copy_from_pageable).
// Two page-locked buffers per connection that made such a copy. docs/async-copies.md.
#pragma once
#include <cuda_runtime_api.h>

#include "backend/worker.h"

namespace gvirtus::backend::cudart {

// After a chunk's cudaMemcpyAsync from the connection's staging buffer was enqueued on the
// legacy stream (`legacy`, the worker's handle for stream 0): hands that buffer over and returns the previous one. false: nothing done (the
// payload is not in page-locked staging, or no event could be had), the caller waits for the
// stream as before; *status is untouched then. true: *status is the chunk's answer.
bool overlap_chunk(CallContext& ctx, cudaStream_t legacy, cudaError_t* status);

}  // namespace gvirtus::backend::cudart
