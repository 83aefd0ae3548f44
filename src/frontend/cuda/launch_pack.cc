#include "frontend/cuda/launch_pack.h"

#include <cstring>

namespace gvirtus::cuda {

CUresult pack_params(const ParamLayout& l, void** kernelParams, std::vector<uint8_t>* out) {
  out->assign(l.total, 0);
  if (l.offsets.empty()) return CUDA_SUCCESS;
  if (!kernelParams) return CUDA_ERROR_INVALID_VALUE;
  for (size_t i = 0; i < l.offsets.size(); ++i) {
    if (!kernelParams[i]) return CUDA_ERROR_INVALID_VALUE;
    std::memcpy(out->data() + l.offsets[i], kernelParams[i], l.sizes[i]);
  }
  return CUDA_SUCCESS;
}

CUresult pack_extra(void** extra, size_t limit, std::vector<uint8_t>* out) {
  const void* buf = nullptr;
  const size_t* size = nullptr;
  bool ended = false;
  for (int i = 0; i < 16; i += 2) {
    void* key = extra[i];
    if (key == CU_LAUNCH_PARAM_END) {
      ended = true;
      break;
    }
    if (key == CU_LAUNCH_PARAM_BUFFER_POINTER)
      buf = extra[i + 1];
    else if (key == CU_LAUNCH_PARAM_BUFFER_SIZE)
      size = static_cast<const size_t*>(extra[i + 1]);
    else
      return CUDA_ERROR_INVALID_VALUE;
  }
  if (!ended) return CUDA_ERROR_INVALID_VALUE;
  if (!buf || !size) {
    // Neither given: no arguments. One without the other: the driver ignores the pair.
    out->clear();
    return CUDA_SUCCESS;
  }
  if (*size > limit) return CUDA_ERROR_INVALID_VALUE;
  const auto* p = static_cast<const uint8_t*>(buf);
  out->assign(p, p + *size);
  return CUDA_SUCCESS;
}

CUresult pack_launch(const ParamLayout& l, void** kernelParams, void** extra, size_t limit,
                     ArgForm* form, std::vector<uint8_t>* out) {
  if (kernelParams && extra) return CUDA_ERROR_INVALID_VALUE;
  if (extra) {
    *form = ArgForm::kExtra;
    return pack_extra(extra, limit, out);
  }
  *form = ArgForm::kParams;
  return pack_params(l, kernelParams, out);
}

}  // namespace gvirtus::cuda
