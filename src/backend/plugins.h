// Library plugins: the server side of libcublas.so.13, libcudnn.so.9, ... as shared objects that
// a worker loads the first time its client calls into that library (docs/backend.md, "Library
// plugins"). A backend whose host lacks a library still serves every other client; a client
// that needs the missing library gets the library's own "not initialized" status for each call
// and one message naming what is missing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/dispatch.h"

namespace gvirtus::backend {

// What a plugin's shared object hands the worker: its handler table. The entry point is
// `extern "C" const PluginTable* gvirtus_backend_plugin_v1_<name>()` (generated <lib>_server.cc);
// the version in the name changes whenever this struct or CallContext does.
struct PluginTable {
  const char* name;
  const HandlerEntry* entries;
  size_t count;
};

// What the backend knows of a library plugin without loading it (generated <lib>_plugin.inc,
// from api/<lib>.api: `ids`, `status ... unavailable=`, `backend_plugin SONAME...`).
struct LibraryPlugin {
  const char* name;            // "cublas": the Hello's plugin name and the shared object's
  uint32_t first_id, last_id;  // its call ids
  int32_t unavailable;         // every call's status when it cannot be loaded
  const char* const* sonames;  // the real libraries it needs, NULL-terminated
};

// The library plugins this backend was built with (generated library_plugins.cc).
const LibraryPlugin* library_plugins(size_t* count);

// Loads a plugin: first its real libraries (each SONAME from the first directory of
// library_search_path() that has it, else the dynamic loader's own search, else
// $CUDA_HOME/lib64 and /usr/local/cuda/lib64), then `libgvirtus-backend-<name>.so` from
// plugin_dir(). Returns its table, or nullptr with *error saying what is missing.
const PluginTable* load_library_plugin(const LibraryPlugin& p, std::string* error);

// Where the real libraries are looked for first: GVIRTUS_LIBRARY_PATH (colon-separated; the
// backend sets it from the config file's "library_path" when the environment has none).
std::string library_search_path();
// Where the plugins' shared objects are: GVIRTUS_PLUGIN_DIR, else <exe>/../lib/gvirtus/backend.
std::string plugin_dir();

}  // namespace gvirtus::backend
