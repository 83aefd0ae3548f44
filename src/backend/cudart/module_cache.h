// The content-addressed module cache (issue 10, part 7; docs/backend.md, "Module cache"): a
// fatbinary a client uploaded is kept in a directory under the SHA-256 of its bytes, so a later
// session of the same scope names it by digest instead of sending it again.
//
// Files: DIR/SCOPE/HEX, SCOPE being "shared" (module_cache_shared) or "id-" and 32 hex digits
// of the SHA-256 of the client's identity: by default a client can neither use nor learn of
// another identity's modules. Every file read is hashed again before it is loaded, so a file
// that was damaged or replaced is a miss, never someone else's code. The directory's total
// size is bounded: writing evicts the files least recently used (mtime, touched on each hit).
// Workers only (the files are written by the worker that received the module).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "common/digest.h"

namespace gvirtus::backend::cudart {

struct ModuleCacheConfig {
  std::string dir;         // empty: no cache
  uint64_t max_bytes = 0;  // total size of the directory's modules
  bool shared = false;     // one scope for every identity
  std::string identity;    // the session's identity (limits.h), for its scope
};

// Once, at worker start.
void set_module_cache(const ModuleCacheConfig& config);
bool module_cache_enabled();

// The module of `size` bytes named `digest`, read and checked; nullptr on a miss.
std::unique_ptr<uint8_t[]> module_cache_get(const Digest& digest, uint64_t size);
// Keeps size bytes at data (which the worker loaded successfully) under their digest, then
// evicts down to the bound. Failures are logged and otherwise ignored: the cache is an
// optimisation.
void module_cache_put(const uint8_t* data, uint64_t size);

// The scope directory's name for an identity (exposed for tests).
std::string module_cache_scope(const std::string& identity, bool shared);

}  // namespace gvirtus::backend::cudart
