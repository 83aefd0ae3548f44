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

struct Version {
  const char* name;
  int version;
  const char* target;
  const char* per_thread;
  int first_per_thread;
};
constexpr Version kVersions[] = {
#include "cuda_versions.inc"
};

}  // namespace

std::string proc_export_for_version(const std::string& symbol, int cuda_version,
                                    bool per_thread) {
  const Version* best = nullptr;
  bool versioned = false;
  for (const Version& v : kVersions) {
    if (symbol != v.name) continue;
    versioned = true;
    if (v.version <= cuda_version && (!best || v.version > best->version)) best = &v;
  }
  if (!versioned) return proc_export_name(symbol, per_thread);
  if (!best) return {};
  if (per_thread && best->per_thread[0] && cuda_version >= best->first_per_thread)
    return best->per_thread;
  return best->target;
}

std::string proc_export_name(const std::string& symbol, bool per_thread) {
  for (const Rename& r : kRenames)
    if (symbol == r.name) return per_thread ? r.per_thread : r.target;
  return symbol;
}

}  // namespace gvirtus::cuda
