// The config file's module cache keys (docs/backend.md, "Module cache"):
//   "module_cache"         a directory: workers keep the modules clients uploaded there, by
//                          digest, and later sessions name them instead of sending them
//                          (--module-cache overrides it; default: no cache)
//   "module_cache_bytes"   the directory's bound in bytes (default 4 GiB)
//   "module_cache_shared"  true: one cache for every client identity (default false: each
//                          identity has its own, so no client learns what another loaded)
#pragma once
#include <cstdint>
#include <string>

#include "common/status.h"

namespace gvirtus {

struct ModuleCacheSettings {
  std::string dir;  // empty: none
  uint64_t max_bytes = uint64_t{4} << 30;
  bool shared = false;
};

// json_doc: a nlohmann::json object (void* keeps JSON out of this header), as
// read_isolation_config.
Status read_module_cache_config(const void* json_doc, const std::string& where,
                                ModuleCacheSettings* out);

}  // namespace gvirtus
