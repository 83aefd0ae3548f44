// Module images larger than one frame (cuModuleLoadData & co., cuLibraryLoadData): the client
// sends them in pieces (gvDrvImageChunk) into a buffer of the worker's, then the load request
// names that buffer instead of carrying the bytes. One definition of the contract for the
// client (src/frontend/cuda/modules.cc) and the worker (src/backend/cuda/image_staging.cc);
// docs/driver.md describes the wire.
#pragma once
#include <cstdint>

#include "common/wire.h"

namespace gvirtus {

// The most image bytes a session may hold staged at once, over all its connections: the
// largest module image that can be loaded. Over it, the first chunk answers
// CUDA_ERROR_OUT_OF_MEMORY.
constexpr uint64_t kMaxStagedImageBytes = 512ull << 20;
// Bytes per gvDrvImageChunk request (the rest of the frame is its three fields).
constexpr uint64_t kImageChunkBytes = 32ull << 20;
// Images up to this size travel inside the load request.
constexpr uint64_t kMaxInlineImageBytes = wire::kMaxPayload - (2u << 20);
// The image length a load request gives to name the connection's staged image.
constexpr uint64_t kStagedImage = UINT64_MAX;

}  // namespace gvirtus
