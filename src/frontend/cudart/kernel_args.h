// A kernel's parameter layout, as the driver reports it on the backend (cudaFuncGetParamInfo),
// and packing the application's argument pointers into one buffer at those offsets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace gvirtus::cudart {

// Largest parameter buffer we accept from the backend. The hardware limit is 32764 bytes
// (CUDA 12.1+, Volta and later); the bound leaves room without trusting any size.
constexpr uint32_t kMaxParamBytes = 64u << 10;
constexpr uint32_t kMaxParams = kMaxParamBytes;  // every parameter is at least one byte

struct ParamInfo {
  uint32_t offset = 0;
  uint32_t size = 0;
};

struct ParamLayout {
  std::vector<ParamInfo> params;
  uint32_t total = 0;  // bytes of the packed buffer: the end of the furthest parameter
};

// Validates params (each non-empty, inside kMaxParamBytes) and computes the total.
Status make_layout(std::vector<ParamInfo> params, ParamLayout* out);

// Copies *args[i] (params[i].size bytes) to out + params[i].offset; out has layout.total bytes,
// gaps are zeroed. args may be null only for a kernel without parameters.
Status pack_args(const ParamLayout& layout, void* const* args, uint8_t* out);

}  // namespace gvirtus::cudart
