// Forking and exec'ing workers, and the worker-mode entry point on the other side (spawn.h).
#include "backend/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backend/handshake.h"
#include "common/config.h"
#include "common/log.h"

extern char** environ;

namespace gvirtus::backend {
namespace {

std::map<std::string, int>& named_fds() {
  static auto* m = new std::map<std::string, int>;
  return *m;
}

// In the child between fork and exec: report why it could not exec and end.
[[noreturn]] void child_fail(int report_fd, const char* what) {
  int err = errno;
  char buf[160];
  int n = std::snprintf(buf, sizeof buf, "%s: %s", what, std::strerror(err));
  if (n > 0) {
    ssize_t w = ::write(report_fd, buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
    (void)w;
  }
  _exit(127);
}

bool open_fd(uint64_t fd) { return fd <= 1 << 20 && fcntl(static_cast<int>(fd), F_GETFD) >= 0; }

}  // namespace

const char* level_name(log::Level l) {
  switch (l) {
    case log::Level::kTrace: return "trace";
    case log::Level::kDebug: return "debug";
    case log::Level::kInfo: return "info";
    case log::Level::kWarn: return "warn";
    case log::Level::kError: return "error";
    case log::Level::kOff: return "off";
  }
  return "info";
}

bool parse_u64(const char* text, uint64_t max, uint64_t* out) {
  if (!text || !*text || std::strlen(text) > 20) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (*end != '\0' || errno != 0 || v > max || text[0] == '-') return false;
  *out = v;
  return true;
}

bool parse_switch(const char* v, bool* on) {
  if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) return false;
  *on = v[0] == '1';
  return true;
}

void set_dumpable(bool dumpable) {
  if (::prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) != 0) {
    GV_WARN(std::string("prctl(PR_SET_DUMPABLE) failed: ") + std::strerror(errno) +
            (dumpable ? "" : "; other processes of this user can read this one's memory"));
    return;
  }
  if (dumpable) return;
  // A tracer that attached before (between the exec and here) keeps its hold: say so.
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "TracerPid:", 10) == 0 && std::atol(line + 10) != 0)
        GV_WARN("this process is traced (by pid " + std::to_string(std::atol(line + 10)) +
                ") although not dumpable");
    std::fclose(f);
  }
}

pid_t spawn_worker(const SpawnSpec& spec, std::string* error) {
  std::vector<std::string> args = {spec.exe, "--worker", "--control-fd",
                                   std::to_string(spec.control_fd), "--session",
                                   std::to_string(spec.session_id)};
  if (spec.max_connections >= 0) {
    args.push_back("--max-connections");
    args.push_back(std::to_string(spec.max_connections));
  }
  if (spec.gpu_memory_limit >= 0) {
    args.push_back("--gpu-memory");
    args.push_back(std::to_string(spec.gpu_memory_limit));
  }
  if (spec.upload_limit >= 0) {
    args.push_back("--upload-bytes");
    args.push_back(std::to_string(spec.upload_limit));
  }
  if (!spec.identity.empty()) {
    args.push_back("--identity");
    args.push_back(spec.identity);
  }
  if (spec.clear_memory) {
    args.push_back("--clear-memory");
    args.push_back("1");
  }
  if (spec.dumpable) {
    args.push_back("--dumpable");
    args.push_back("1");
  }
  if (spec.receive_spin_us > 0) {
    args.push_back("--receive-spin-us");
    args.push_back(std::to_string(spec.receive_spin_us));
  }
  if (!spec.module_cache_dir.empty()) {
    args.push_back("--module-cache");
    args.push_back(spec.module_cache_dir);
    args.push_back("--module-cache-bytes");
    args.push_back(std::to_string(spec.module_cache_bytes));
    if (spec.module_cache_shared) {
      args.push_back("--module-cache-shared");
      args.push_back("1");
    }
  }
  args.push_back("--log-level");
  args.push_back(level_name(log::level()));
  ExecSpec e;
  e.inherit.push_back(spec.control_fd);
  for (const auto& [name, fd] : spec.extra_fds) {
    args.push_back("--fd");
    args.push_back(name + "=" + std::to_string(fd));
    e.inherit.push_back(fd);
  }
  e.args = std::move(args);
  e.unset_env = spec.unset_env;
  e.uid = spec.uid;
  e.gid = spec.gid;
  e.rlimits = spec.rlimits;
  e.in_child = spec.in_child;
  return spawn_exec(e, error);
}

pid_t spawn_exec(const ExecSpec& spec, std::string* error) {
  // Everything the child needs is built before fork: the child only calls system calls.
  std::vector<std::string> args = spec.args;
  if (args.empty()) {
    *error = "nothing to exec";
    return -1;
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    bool drop = false;
    for (const auto& name : spec.unset_env)
      drop = drop || (std::strncmp(*e, name.c_str(), name.size()) == 0 && (*e)[name.size()] == '=');
    if (!drop) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  std::vector<rlimit> limits;
  for (const auto& r : spec.rlimits) limits.push_back({r.second, r.second});

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(report[0]);
    ::close(report[1]);
    return -1;
  }
  if (pid == 0) {
    if (spec.in_child) spec.in_child();
    ::close(report[0]);
    for (int fd : spec.inherit)
      if (::fcntl(fd, F_SETFD, 0) != 0) child_fail(report[1], "a descriptor to pass on");
    for (size_t i = 0; i < limits.size(); ++i)
      if (::setrlimit(spec.rlimits[i].first, &limits[i]) != 0)
        child_fail(report[1], "setrlimit (\"worker_rlimits\")");
    if (spec.gid != static_cast<gid_t>(-1)) {
      if (::setgroups(1, &spec.gid) != 0) child_fail(report[1], "setgroups (\"worker_user\")");
      if (::setgid(spec.gid) != 0) child_fail(report[1], "setgid (\"worker_user\")");
    }
    if (spec.uid != static_cast<uid_t>(-1) && ::setuid(spec.uid) != 0)
      child_fail(report[1], "setuid (\"worker_user\")");
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(report[1], "exec");
  }
  ::close(report[1]);
  char buf[200];
  ssize_t n;
  do {
    n = ::read(report[0], buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n > 0) {
    buf[n] = '\0';
    *error = "cannot start " + spec.what + " (" + args[0] + "): " + buf;
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return -1;
  }
  return pid;
}

int worker_fd(const std::string& name) {
  auto it = named_fds().find(name);
  return it == named_fds().end() ? -1 : it->second;
}

int worker_main(int argc, char** argv) {
  uint64_t control = UINT64_MAX, session = 0, max_conn = UINT64_MAX;
  uint64_t gpu_memory = UINT64_MAX, upload = UINT64_MAX, spin = 0;
  std::string identity, level, cache_dir;
  uint64_t cache_bytes = 0;
  bool clear = false, cache_shared = false, dumpable = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--worker") continue;
    if (i + 1 >= argc) {
      GV_ERROR("worker mode: " + a + " needs a value");
      return 2;
    }
    const char* v = argv[++i];
    bool ok = true;
    if (a == "--control-fd") {
      ok = parse_u64(v, 1 << 20, &control) && open_fd(control);
    } else if (a == "--session") {
      ok = parse_u64(v, UINT64_MAX, &session);
    } else if (a == "--max-connections") {
      ok = parse_u64(v, 1ull << 40, &max_conn);
    } else if (a == "--gpu-memory") {
      ok = parse_u64(v, 1ull << 50, &gpu_memory);
    } else if (a == "--upload-bytes") {
      ok = parse_u64(v, 1ull << 50, &upload);
    } else if (a == "--identity") {
      identity = v;
    } else if (a == "--log-level") {
      level = v;
    } else if (a == "--clear-memory") {
      ok = parse_switch(v, &clear);
    } else if (a == "--dumpable") {
      ok = parse_switch(v, &dumpable);
    } else if (a == "--receive-spin-us") {
      ok = parse_u64(v, kMaxReceiveSpinMicros, &spin);
    } else if (a == "--module-cache") {
      cache_dir = v;
      ok = !cache_dir.empty() && cache_dir[0] == '/';
    } else if (a == "--module-cache-bytes") {
      ok = parse_u64(v, UINT64_MAX, &cache_bytes);
    } else if (a == "--module-cache-shared") {
      ok = parse_switch(v, &cache_shared);
    } else if (a == "--fd") {
      std::string t = v;
      size_t eq = t.find('=');
      uint64_t fd = 0;
      ok = eq != std::string::npos && eq > 0 && parse_u64(t.c_str() + eq + 1, 1 << 20, &fd) &&
           open_fd(fd);
      if (ok) {
        named_fds()[t.substr(0, eq)] = static_cast<int>(fd);
        ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
      }
    } else {
      ok = false;
    }
    if (!ok) {
      GV_ERROR("worker mode (started by the daemon, not by hand): bad argument " + a + " " + v);
      return 2;
    }
  }
  if (control == UINT64_MAX) {
    GV_ERROR("worker mode (started by the daemon, not by hand): no --control-fd");
    return 2;
  }
  log::Level l;
  if (!level.empty() && log::parse_level(level, &l)) log::set_level(l);
  set_dumpable(dumpable);  // before anything of the client's reaches this process
  const int control_fd = static_cast<int>(control);
  ::fcntl(control_fd, F_SETFD, FD_CLOEXEC);  // nothing the worker might start inherits it
  WorkerStart ws;
  ws.control_fd = control_fd;
  ws.session_id = session;
  ws.identity = identity;
  ws.clear_memory = clear;
  ws.receive_spin_us = static_cast<int>(spin);
  ws.module_cache_dir = cache_dir;
  ws.module_cache_bytes = cache_bytes;
  ws.module_cache_shared = cache_shared;
  ws.max_connections = max_conn == UINT64_MAX ? -1 : static_cast<int64_t>(max_conn);
  ws.gpu_memory_limit = gpu_memory == UINT64_MAX ? -1 : static_cast<int64_t>(gpu_memory);
  ws.upload_limit = upload == UINT64_MAX ? -1 : static_cast<int64_t>(upload);
  ws.stats_fd = worker_fd("stats");  // the session's counter block (stats.h), if any
  std::vector<uint8_t> payload;
  Status s = recv_connection(control_fd, &ws.conn_fd, &ws.peer, &payload, &ws.conn_aux_fd);
  if (!s) {
    GV_ERROR("worker for session " + std::to_string(session) +
             ": no primary connection from the daemon: " + s.message());
    return kWorkerExitInternal;
  }
  wire::Welcome refusal;
  if (!check_hello(payload.data(), payload.size(), registry(), &ws.hello, &refusal)) {
    GV_ERROR("the daemon passed a primary connection with a bad Hello: " + refusal.message);
    return kWorkerExitInternal;
  }
  run_worker(std::move(ws));
  return kWorkerExitInternal;
}

}  // namespace gvirtus::backend
