// Kernel arguments of cuLaunchKernel & co. as they travel: one buffer holding each parameter's
// bytes at the offset the driver reports for it (the layout of the `extra` form's buffer), or
// the `extra` form's buffer as the application gave it.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <vector>

namespace gvirtus::cuda {

struct ParamLayout {
  std::vector<uint32_t> offsets, sizes;
  uint32_t total = 0;  // bytes up to the end of the last parameter
};

enum class ArgForm : uint8_t { kParams = 0, kExtra = 1 };

// kernelParams (one pointer per parameter) packed into out (gaps zeroed). NULL kernelParams is
// valid only for a kernel without parameters.
CUresult pack_params(const ParamLayout& l, void** kernelParams, std::vector<uint8_t>* out);

// The `extra` array: {CU_LAUNCH_PARAM_BUFFER_POINTER, p, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
// CU_LAUNCH_PARAM_END} in either order. The buffer is copied to out. CUDA_ERROR_INVALID_VALUE
// for an unknown key, a missing end within 16 entries, a pointer without a size or a size over
// `limit`.
CUresult pack_extra(void** extra, size_t limit, std::vector<uint8_t>* out);

// Both forms at once, or neither for a kernel with parameters, is the application's mistake.
CUresult pack_launch(const ParamLayout& l, void** kernelParams, void** extra, size_t limit,
                     ArgForm* form, std::vector<uint8_t>* out);

}  // namespace gvirtus::cuda
