#include "frontend/cudart/kernel_args.h"

#include <cstring>
#include <string>

namespace gvirtus::cudart {

Status make_layout(std::vector<ParamInfo> params, ParamLayout* out) {
  if (params.size() > kMaxParams)
    return invalid("kernel has " + std::to_string(params.size()) + " parameters");
  uint32_t total = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamInfo& p = params[i];
    if (p.size == 0 || p.size > kMaxParamBytes || p.offset > kMaxParamBytes - p.size)
      return invalid("parameter " + std::to_string(i) + " at offset " + std::to_string(p.offset) +
                     " of " + std::to_string(p.size) + " bytes is outside the parameter buffer");
    if (p.offset + p.size > total) total = p.offset + p.size;
  }
  out->params = std::move(params);
  out->total = total;
  return Status::ok();
}

Status pack_args(const ParamLayout& layout, void* const* args, uint8_t* out) {
  if (layout.params.empty()) return Status::ok();
  if (!args) return invalid("kernel arguments are missing");
  std::memset(out, 0, layout.total);
  for (size_t i = 0; i < layout.params.size(); ++i) {
    const ParamInfo& p = layout.params[i];
    if (!args[i]) return invalid("kernel argument " + std::to_string(i) + " is null");
    std::memcpy(out + p.offset, args[i], p.size);
  }
  return Status::ok();
}

}  // namespace gvirtus::cudart
