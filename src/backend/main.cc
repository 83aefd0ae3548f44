// gvirtus-backend: command line, configuration, then the daemon (daemon.cc).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/daemon.h"
#include "backend/devices.h"
#include "backend/spawn.h"
#include "backend/tls_relay.h"
#include "common/auth.h"
#include "common/config.h"
#include "common/cpu_relax.h"
#include "common/log.h"

namespace {

const char kUsage[] =
    "usage: gvirtus-backend [--listen ENDPOINT]... [--config FILE] [--log-level LEVEL]\n"
    "                       [--max-sessions N] [--ready-fd FD] [--insecure] [--devices LIST]\n"
    "                       [--metrics http://HOST:PORT] [--module-cache DIR]\n"
    "\n"
    "  --listen ENDPOINT    tcp://HOST:PORT, tcp://[V6]:PORT, tls://HOST:PORT (TLS 1.3),\n"
    "                       unix:/PATH or shm:/PATH (shared memory, local clients);\n"
    "                       repeat for more\n"
    "                       (default: the config file's \"listen\", else tcp://127.0.0.1:9999)\n"
    "  --config FILE        JSON configuration (default: $GVIRTUS_CONFIG, then\n"
    "                       $GVIRTUS_HOME/etc/properties.json)\n"
    "  --log-level LEVEL    trace, debug, info, warn, error, off or 0-6 (default: info;\n"
    "                       also $GVIRTUS_LOGLEVEL)\n"
    "  --max-sessions N     refuse new client sessions while N are running (default: no limit)\n"
    "  --ready-fd FD        write \"ready\\n\" to FD and close it once listening\n"
    "  --handshake-timeout-ms N  drop connections that have not sent a Hello within N ms\n"
    "                       (default: 10000)\n"
    "  --insecure           serve listeners other hosts can reach without authentication\n"
    "                       (otherwise the backend refuses to start; see docs/security.md)\n"
    "  --devices LIST       the GPUs clients may use, e.g. 0,2, numbered as nvidia-smi does\n"
    "                       (the workers' CUDA_VISIBLE_DEVICES, also applied to NVML;\n"
    "                       default: the config's \"devices\", else every GPU)\n"
    "  --metrics URL        serve Prometheus metrics at URL/metrics, e.g.\n"
    "                       http://127.0.0.1:9400 (default: off)\n"
    "  --module-cache DIR   keep the modules clients upload in DIR, so that later sessions\n"
    "                       need not send them again (default: the config's\n"
    "                       \"module_cache\", else none; docs/backend.md)\n"
    "\n"
    "Authentication and TLS come from the config file (\"token_file\", \"tls_cert\", \"tls_key\",\n"
    "\"tls_client_ca\", \"allowed_uids\", \"unix_socket_group\") and GVIRTUS_TOKEN_FILE; worker\n"
    "isolation and per-client limits from it too (\"worker_user\", \"worker_rlimits\",\n"
    "\"limits\", \"devices\", \"clear_device_memory\").\n"
    "(--worker and --tls-relay are the modes the daemon starts its workers and TLS relays in;\n"
    "they are not for use by hand.)\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "gvirtus-backend: %s\n\n%s", msg.c_str(), kUsage);
  return 2;
}

// Configuration the backend cannot start with: exit status 2, the reason on stderr and in the log.
int config_error(const std::string& msg) {
  GV_ERROR(msg);
  return 2;
}

std::string getenv_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool parse_int(const std::string& text, int lo, int hi, int* out) {
  if (text.empty() || text.size() > 10) return false;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

// The module cache directory: created (0700) if missing, made absolute (workers get the path),
// and given to worker_user when workers run as that user (they write the files).
gvirtus::Status prepare_module_cache(std::string* dir, uid_t uid, gid_t gid) {
  using gvirtus::invalid;
  const std::string given = *dir;
  if (::mkdir(given.c_str(), 0700) != 0 && errno != EEXIST)
    return invalid("module cache " + given + ": " + std::strerror(errno));
  char* real = ::realpath(given.c_str(), nullptr);
  if (!real) return invalid("module cache " + given + ": " + std::strerror(errno));
  *dir = real;
  std::free(real);
  struct stat st{};
  if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return invalid("module cache " + given + " is not a directory");
  if (uid != static_cast<uid_t>(-1) && ::chown(dir->c_str(), uid, gid) != 0)
    return invalid("module cache " + given + ": cannot give it to \"worker_user\": " +
                   std::strerror(errno));
  if (::access(dir->c_str(), W_OK | X_OK) != 0 && uid == static_cast<uid_t>(-1))
    return invalid("module cache " + given + " is not writable: " + std::strerror(errno));
  return gvirtus::Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gvirtus;
  log::init("backend");
  // Not dumpable from the start, in every mode (spawn.h, set_dumpable): nothing of a token, key
  // or client is in this process yet. Each mode makes it dumpable again if configured to.
  backend::set_dumpable(false);
  // A worker the daemon started (spawn.h): a fresh process image for one client session.
  if (argc > 1 && std::strcmp(argv[1], "--worker") == 0) return backend::worker_main(argc, argv);
  // A TLS relay the daemon started (tls_relay.h): a fresh image per tls:// connection.
  if (argc > 1 && std::strcmp(argv[1], "--tls-relay") == 0)
    return backend::tls_relay_main(argc, argv);

  std::vector<std::string> listen;
  std::string config_path, log_level, devices, module_cache_dir;
  backend::DaemonOptions opt;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--insecure") {
      opt.insecure = true;
      continue;
    }
    size_t eq = arg.find('=');
    bool inline_value = arg.compare(0, 2, "--") == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto need_value = [&]() -> bool {
      if (inline_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg != "--listen" && arg != "--config" && arg != "--log-level" &&
        arg != "--max-sessions" && arg != "--ready-fd" && arg != "--handshake-timeout-ms" &&
        arg != "--devices" && arg != "--metrics" && arg != "--module-cache")
      return usage_error("unknown argument \"" + arg + "\"");
    if (!need_value()) return usage_error(arg + " needs a value");
    if (arg == "--listen") {
      listen.push_back(value);
    } else if (arg == "--metrics") {
      opt.metrics_url = value;
    } else if (arg == "--module-cache") {
      module_cache_dir = value;
    } else if (arg == "--config") {
      config_path = value;
    } else if (arg == "--log-level") {
      log_level = value;
    } else if (arg == "--max-sessions") {
      if (!parse_int(value, 0, 1 << 20, &opt.max_sessions))
        return usage_error("--max-sessions: \"" + value + "\" is not a number >= 0");
    } else if (arg == "--ready-fd") {
      if (!parse_int(value, 0, 1 << 20, &opt.ready_fd) || fcntl(opt.ready_fd, F_GETFD) < 0)
        return usage_error("--ready-fd: \"" + value + "\" is not an open descriptor");
    } else if (arg == "--devices") {
      Status ds = check_device_list(value);
      if (!ds) return usage_error("--devices: " + ds.message());
      devices = value;
    } else if (arg == "--handshake-timeout-ms") {
      if (!parse_int(value, 1, 3600 * 1000, &opt.handshake_timeout_ms))
        return usage_error("--handshake-timeout-ms: \"" + value + "\" is not a number >= 1");
    }
  }

  Config cfg;
  Status s;
  if (!config_path.empty()) {
    s = load_config_file(config_path, &cfg);
  } else {
    bool found = false;
    s = load_config_from_env_file(&cfg, &found);
  }
  if (!s) {
    std::fprintf(stderr, "gvirtus-backend: %s\n", s.message().c_str());
    return 2;
  }

  // Level: flag, then GVIRTUS_LOGLEVEL (read by log::init), then the file.
  std::string level_text = log_level;
  std::string level_source = "--log-level";
  if (level_text.empty() && !std::getenv("GVIRTUS_LOGLEVEL") && !cfg.log_level.empty()) {
    level_text = cfg.log_level;
    level_source = cfg.source + ": log_level";
  }
  if (!level_text.empty()) {
    log::Level l;
    if (!log::parse_level(level_text, &l))
      return usage_error(level_source + ": \"" + level_text +
                         "\" is not a level (trace, debug, info, warn, error, off, 0-6)");
    log::set_level(l);
  }

  // Library plugins look for their real libraries in GVIRTUS_LIBRARY_PATH first (plugins.h);
  // the environment wins over the file, and the workers inherit it.
  if (!cfg.library_path.empty() && !std::getenv("GVIRTUS_LIBRARY_PATH"))
    ::setenv("GVIRTUS_LIBRARY_PATH", cfg.library_path.c_str(), 1);

  if (listen.empty()) listen = cfg.listen;
  if (listen.empty()) listen.push_back(kDefaultListen);
  for (const auto& text : listen) {
    Endpoint ep;
    s = parse_endpoint(text, &ep);
    if (!s) return usage_error("--listen: " + s.message());
    opt.listen.push_back(ep);
  }

  // Access (docs/security.md).
  std::string token_file = getenv_or_empty("GVIRTUS_TOKEN_FILE");
  std::string token_what = "GVIRTUS_TOKEN_FILE";
  if (token_file.empty() && !cfg.token_file.empty()) {
    token_file = cfg.token_file;
    token_what = cfg.source + ": \"token_file\"";
  }
  if (!token_file.empty()) {
    s = auth::load_token_file(token_file, token_what, &opt.auth_key);
    if (!s) return config_error(s.message());
  }
  opt.auth_everywhere = cfg.secure_application;
  bool any_tls = false;
  for (const auto& ep : opt.listen) any_tls = any_tls || ep.tls;
  if (any_tls && !cfg.tls_cert.empty()) {
    std::unique_ptr<TlsServerContext> ctx;
    s = TlsServerContext::create(cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca, &ctx);
    if (!s) return config_error(s.message());
    opt.tls = std::move(ctx);
    opt.tls_cert = cfg.tls_cert;
    opt.tls_key = cfg.tls_key;
    opt.tls_client_ca = cfg.tls_client_ca;
  }
  if (cfg.allowed_uids_set) {
    opt.allowed_uids.assign(cfg.allowed_uids.begin(), cfg.allowed_uids.end());
  } else {
    opt.allowed_uids = {::getuid()};
    if (::getuid() != 0) opt.allowed_uids.push_back(0);
  }
  if (!cfg.unix_socket_group.empty()) {
    struct group* g = ::getgrnam(cfg.unix_socket_group.c_str());
    if (!g) return config_error(cfg.source + ": \"unix_socket_group\": no group named \"" +
                                cfg.unix_socket_group + "\"");
    opt.unix_group = g->gr_gid;
  }
  // Isolation (docs/security.md, "Isolation and quotas"). The daemon never starts CUDA, so
  // CUDA_VISIBLE_DEVICES set here holds for every worker's CUDA.
  if (devices.empty()) devices = cfg.isolation.devices;
  if (!devices.empty()) {
    bool unchecked = false;
    s = backend::check_devices_present(devices, backend::kDriverGpuDir, &unchecked);
    if (!s) return config_error("refusing to start: " + s.message());
    if (unchecked)
      GV_WARN(std::string("cannot check the device list ") + devices + " against this host's " +
              "GPUs (no " + backend::kDriverGpuDir + "): a GPU that does not exist leaves " +
              "clients with no device");
    backend::expose_devices(devices);
    GV_INFO("clients see GPUs " + devices + " of this host (as devices 0 and up, in CUDA and " +
            "NVML)");
  }
  opt.isolation = cfg.isolation;
  // Zeroing new device memory costs time per allocation (docs/security.md gives figures); on
  // by default where other hosts' clients (other tenants) may come.
  if (cfg.isolation.clear_device_memory >= 0) {
    opt.clear_device_memory = cfg.isolation.clear_device_memory == 1;
  } else {
    for (const auto& ep : opt.listen) opt.clear_device_memory |= !is_local(ep);
  }
  if (opt.clear_device_memory) GV_INFO("device memory is cleared before clients get it");
  // Other processes of this user cannot read this one's memory (tokens, keys, sessions)
  // unless "dumpable" says so; workers and relays do the same at their start.
  opt.dumpable = cfg.isolation.dumpable;
  backend::set_dumpable(opt.dumpable);
  // How long workers and relays look for the next request before they sleep (config.h). On one
  // CPU the look would only keep a client on this host from sending it.
  opt.receive_spin_us = cfg.receive_spin_us >= 0 ? cfg.receive_spin_us
                        : one_cpu_only()           ? 0
                                                   : kDefaultReceiveSpinMicros;
  opt.worker_exe = "/proc/self/exe";  // this very image, even if the file was replaced since
  if (!cfg.isolation.worker_user.empty()) {
    struct passwd* pw = ::getpwnam(cfg.isolation.worker_user.c_str());
    if (!pw) return config_error(cfg.source + ": \"worker_user\": no user named \"" +
                                 cfg.isolation.worker_user + "\"");
    if (::geteuid() != 0)
      return config_error(cfg.source + ": \"worker_user\" needs a backend started as root " +
                          "(it runs as user " + std::to_string(::geteuid()) + ")");
    if (pw->pw_uid == 0)
      return config_error(cfg.source + ": \"worker_user\" must not be root");
    opt.worker_uid = pw->pw_uid;
    opt.worker_gid = pw->pw_gid;
  }
  opt.module_cache = cfg.module_cache;
  if (!module_cache_dir.empty()) opt.module_cache.dir = module_cache_dir;
  if (!opt.module_cache.dir.empty()) {
    s = prepare_module_cache(&opt.module_cache.dir, opt.worker_uid, opt.worker_gid);
    if (!s) return config_error(s.message());
    GV_INFO("module cache: " + opt.module_cache.dir + " (" +
            std::to_string(opt.module_cache.max_bytes >> 20) + " MiB, " +
            (opt.module_cache.shared ? "shared by every identity" : "one per identity") + ")");
  }
  s = backend::check_access_policy(opt);
  if (!s) return config_error(s.message());
  return backend::run_daemon(opt);
}
