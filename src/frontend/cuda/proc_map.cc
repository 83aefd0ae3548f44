#include "frontend/cuda/proc_map.h"

#include <cstring>

namespace gvirtus::cuda {
namespace {

struct Rename {
  const char* name;
  const char* target;
  const char* per_thread;
};
constexpr Rename kRenames[] = {
#include "cuda_renames.inc"
};

}  // namespace

std::string proc_export_name(const std::string& symbol, bool per_thread) {
  for (const Rename& r : kRenames)
    if (symbol == r.name) return per_thread ? r.per_thread : r.target;
  return symbol;
}

}  // namespace gvirtus::cuda
