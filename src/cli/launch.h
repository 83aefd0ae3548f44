// What `gvirtus run` decides before it starts anything: where the backend is, where the
// frontend libraries are, and the environment the program gets.
#pragma once
#include <string>
#include <vector>

#include "cli/options.h"
#include "common/status.h"

namespace gvirtus::cli {

// The frontend library a program must load in place of NVIDIA's runtime.
constexpr const char* kFrontendLibrary = "libcudart.so.13";
// The driver API library, next to it, preloaded after it.
constexpr const char* kDriverLibrary = "libcuda.so.1";
// The library plugins' frontends, preloaded after those when the frontend directory has them:
// a program whose RPATH names NVIDIA's copies (PyTorch's wheels) gets ours all the same, since a
// library already loaded with the same SONAME satisfies the dependency.
constexpr const char* kLibraryFrontends[] = {"libcublasLt.so.13", "libcublas.so.13",
                                             "libcudnn.so.9", "libcurand.so.10",
                                             "libcufft.so.12", "libcusparse.so.12",
                                             "libcusolver.so.12", "libnvidia-ml.so.1"};

// Where the backend is. embedded: nothing names one; `run` starts a private backend.
struct Target {
  bool embedded = false;
  std::string endpoint;   // when !embedded, validated
  std::string source;     // "--endpoint", "GVIRTUS_ENDPOINT" or a config file's path
  std::string log_level;  // from --log-level or a config file; "" = leave the environment alone
  // From the --config file, for the program: its token and TLS settings as the environment
  // variables the client reads (GVIRTUS_TOKEN_FILE, GVIRTUS_TLS_CA, ...). NAME=value entries.
  std::vector<std::string> security_env;
};

// Order: --endpoint; --config FILE; GVIRTUS_ENDPOINT; the file of GVIRTUS_CONFIG or GVIRTUS_HOME
// (not read when --config is given). The command line wins over the environment, the environment
// over files it names. A config file that names no endpoint passes the question on. Log level: --log-level; else GVIRTUS_LOGLEVEL (kept as it
// is); else a config file's "log_level".
Status resolve_target(const Options& o, Target* out);

// What the program's environment must carry.
struct ChildSettings {
  std::string frontend_dir;  // holds libcudart.so.13 and libgvirtus-frontend.so
  std::string endpoint;
  std::string log_level;  // "" = leave GVIRTUS_LOGLEVEL as it is
  std::vector<std::string> security_env;  // NAME=value entries set as they are (Target's)
};

// base: "NAME=value" entries (the current environment). Returns it with the frontend directory
// first in LD_LIBRARY_PATH, our libcudart.so.13 and libcuda.so.1 first in LD_PRELOAD (a program whose RPATH names
// NVIDIA's runtime, or that dlopens it by path, still gets ours: a loaded SONAME satisfies the
// dependency), GVIRTUS_ENDPOINT, and GVIRTUS_LOGLEVEL if given. Earlier copies of our entries are
// dropped, so nesting `gvirtus run` does not pile them up.
std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const ChildSettings& s);

// Finds the frontend libraries relative to the directory of the gvirtus executable:
// BIN/../lib/gvirtus (build tree and default install) or BIN/../<libdir>/gvirtus. Returns the
// canonical directory. The same layout holds wherever the tree is copied.
Status find_frontend_dir(const std::string& exe_dir, std::string* out);

// Directory of the running executable (/proc/self/exe, symlinks resolved).
Status self_exe_dir(std::string* out);

// The current environment as "NAME=value" entries.
std::vector<std::string> current_environment();

// Looks NAME up in "NAME=value" entries; false if absent.
bool get_env(const std::vector<std::string>& env, const std::string& name, std::string* value);

// 'text' quoted for a POSIX shell.
std::string shell_quote(const std::string& text);

}  // namespace gvirtus::cli
