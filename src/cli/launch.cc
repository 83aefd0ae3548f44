#include "cli/launch.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <iterator>

#include "common/config.h"
#include "common/endpoint.h"

extern char** environ;

namespace gvirtus::cli {
namespace {

bool is_file(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Sets NAME=value in env, replacing an earlier entry.
void set_env(std::vector<std::string>* env, const std::string& name, const std::string& value) {
  const std::string prefix = name + "=";
  for (auto& e : *env) {
    if (e.rfind(prefix, 0) == 0) {
      e = prefix + value;
      return;
    }
  }
  env->push_back(prefix + value);
}

// first, then the entries of `old` (split at any of `seps`) other than first.
std::string prepend_list(const std::string& first, const std::string& old, const char* seps) {
  std::string out = first;
  size_t pos = 0;
  while (pos <= old.size()) {
    size_t end = old.find_first_of(seps, pos);
    if (end == std::string::npos) end = old.size();
    std::string item = old.substr(pos, end - pos);
    if (!item.empty() && item != first) out += ":" + item;
    pos = end + 1;
  }
  return out;
}

Status endpoint_from(const std::string& text, const std::string& source, Target* t) {
  Endpoint ep;
  Status s = parse_endpoint(text, &ep);
  if (!s) return invalid(source + ": \"" + text + "\" is not an endpoint: " + s.message());
  t->embedded = false;
  t->endpoint = text;
  t->source = source;
  return Status::ok();
}

}  // namespace

Status resolve_target(const Options& o, Target* out) {
  Target t;
  t.embedded = true;
  Config file;  // --config, else (looked at only if needed) the file the environment names
  bool have_file = false;
  if (!o.config.empty()) {
    Status s = load_config_file(o.config, &file);
    if (!s) return s;
    have_file = true;
  }
  if (!o.endpoint.empty()) {
    Status s = endpoint_from(o.endpoint, "--endpoint", &t);
    if (!s) return s;
  } else if (have_file && !file.endpoints.empty()) {
    Status s = endpoint_from(file.endpoints.front(), "config file " + file.source, &t);
    if (!s) return s;
  } else if (!env_or_empty("GVIRTUS_ENDPOINT").empty()) {
    Status s = endpoint_from(env_or_empty("GVIRTUS_ENDPOINT"), "GVIRTUS_ENDPOINT", &t);
    if (!s) return s;
  } else if (!have_file) {
    bool found = false;
    Status s = load_config_from_env_file(&file, &found);
    if (!s) return s;
    have_file = found;
    if (found && !file.endpoints.empty()) {
      s = endpoint_from(file.endpoints.front(), "config file " + file.source, &t);
      if (!s) return s;
    }
  }
  // A --config file's access settings reach the program (which reads only the environment and
  // the files the environment names), over the environment like its endpoint.
  if (!o.config.empty() && !t.embedded) {
    const std::pair<const char*, const std::string*> keys[] = {
        {"GVIRTUS_TOKEN_FILE", &file.token_file},
        {"GVIRTUS_TLS_CA", &file.tls_ca},
        {"GVIRTUS_TLS_CLIENT_CERT", &file.tls_client_cert},
        {"GVIRTUS_TLS_CLIENT_KEY", &file.tls_client_key}};
    for (const auto& [name, value] : keys)
      if (!value->empty()) t.security_env.push_back(std::string(name) + "=" + *value);
  }
  if (!o.log_level.empty())
    t.log_level = o.log_level;
  else if (env_or_empty("GVIRTUS_LOGLEVEL").empty() && have_file)
    t.log_level = file.log_level;
  *out = t;
  return Status::ok();
}

std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const ChildSettings& s) {
  std::vector<std::string> env = base;
  std::string old;
  get_env(env, "LD_LIBRARY_PATH", &old);
  set_env(&env, "LD_LIBRARY_PATH", prepend_list(s.frontend_dir, old, ":"));
  // ld.so splits LD_PRELOAD at spaces and colons. A path holding either cannot be named there;
  // the bare SONAME is then looked up through LD_LIBRARY_PATH, which starts with our directory.
  // Our libcudart.so.13 first, then our libcuda.so.1 (the driver API: a program that links or
  // dlopens the driver, or a library that looks driver functions up, reaches the same session).
  auto preload_name = [&](const char* soname) {
    std::string lib = s.frontend_dir + "/" + soname;
    return lib.find_first_of(" :") != std::string::npos ? std::string(soname) : lib;
  };
  old.clear();
  get_env(env, "LD_PRELOAD", &old);
  std::string preload = old;
  for (size_t i = std::size(kLibraryFrontends); i-- > 0;) {
    if (is_file(s.frontend_dir + "/" + kLibraryFrontends[i]))
      preload = prepend_list(preload_name(kLibraryFrontends[i]), preload, ": ");
  }
  preload = prepend_list(preload_name(kDriverLibrary), preload, ": ");
  set_env(&env, "LD_PRELOAD", prepend_list(preload_name(kFrontendLibrary), preload, ":"));
  set_env(&env, "GVIRTUS_ENDPOINT", s.endpoint);
  if (!s.log_level.empty()) set_env(&env, "GVIRTUS_LOGLEVEL", s.log_level);
  for (const std::string& e : s.security_env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) set_env(&env, e.substr(0, eq), e.substr(eq + 1));
  }
  return env;
}

Status find_frontend_dir(const std::string& exe_dir, std::string* out) {
  std::vector<std::string> candidates = {exe_dir + "/../lib/gvirtus"};
#ifdef GVIRTUS_INSTALL_LIBDIR
  if (std::string(GVIRTUS_INSTALL_LIBDIR) != "lib")
    candidates.push_back(exe_dir + "/../" GVIRTUS_INSTALL_LIBDIR "/gvirtus");
#endif
  for (const auto& dir : candidates) {
    if (!is_file(dir + "/" + kFrontendLibrary)) continue;
    char real[PATH_MAX];
    if (!::realpath(dir.c_str(), real)) continue;
    *out = real;
    return Status::ok();
  }
  std::string tried;
  for (const auto& dir : candidates) tried += " " + dir + "/" + kFrontendLibrary;
  return failed("the GVirtuS frontend library is not where gvirtus expects it (tried" + tried +
                "); is the installation complete?");
}

Status self_exe_dir(std::string* out) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return failed("cannot read /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  *out = slash == 0 ? "/" : path.substr(0, slash);
  return Status::ok();
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

bool get_env(const std::vector<std::string>& env, const std::string& name, std::string* value) {
  const std::string prefix = name + "=";
  for (const auto& e : env) {
    if (e.rfind(prefix, 0) == 0) {
      *value = e.substr(prefix.size());
      return true;
    }
  }
  return false;
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace gvirtus::cli
