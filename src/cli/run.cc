#include "cli/run.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "cli/embedded.h"
#include "cli/launch.h"

namespace gvirtus::cli {
namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

volatile sig_atomic_t g_child = 0;

// si_code <= 0: sent by a process (kill, sigqueue, tgkill). Signals from the kernel (a terminal's
// Ctrl-C or Ctrl-\) went to the whole foreground process group, the program included.
void forward_signal(int sig, siginfo_t* info, void*) {
  if (g_child > 0 && info && info->si_code <= 0) ::kill(static_cast<pid_t>(g_child), sig);
}

void print_error(const std::string& msg) { std::fprintf(stderr, "gvirtus: %s\n", msg.c_str()); }

[[noreturn]] void exec_program(char* const* argv, char* const* envp, const sigset_t* mask) {
  // Forked child: async-signal-safe calls only.
  for (int sig : kForwarded) ::signal(sig, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, mask, nullptr);
  ::execvpe(argv[0], argv, envp);
  int err = errno;
  const char* what = std::strerror(err);
  const char* parts[] = {"gvirtus: cannot run ", argv[0], ": ", what, "\n"};
  for (const char* p : parts) {
    ssize_t ignored = ::write(2, p, std::strlen(p));
    (void)ignored;
  }
  ::_exit(err == ENOENT ? kExitNotFound : kExitNotExecutable);
}

// Forks and execs the program with env; waits, passing signals on. Returns its exit status.
int spawn_and_wait(const std::vector<std::string>& program, const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (const auto& a : program) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // Block the forwarded signals until the child's pid is known and the handlers are in place.
  sigset_t block, old_mask;
  sigemptyset(&block);
  for (int sig : kForwarded) sigaddset(&block, sig);
  ::sigprocmask(SIG_BLOCK, &block, &old_mask);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    print_error(std::string("fork: ") + std::strerror(err));
    return kExitSetupFailed;
  }
  if (pid == 0) exec_program(argv.data(), envp.data(), &old_mask);

  g_child = pid;
  struct sigaction sa = {}, old_actions[sizeof(kForwarded) / sizeof(kForwarded[0])];
  sa.sa_sigaction = forward_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof(kForwarded) / sizeof(kForwarded[0]); ++i)
    ::sigaction(kForwarded[i], &sa, &old_actions[i]);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);

  ::sigprocmask(SIG_BLOCK, &block, nullptr);
  g_child = 0;
  for (size_t i = 0; i < sizeof(kForwarded) / sizeof(kForwarded[0]); ++i)
    ::sigaction(kForwarded[i], &old_actions[i], nullptr);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  if (r < 0) {
    print_error(std::string("waitpid: ") + std::strerror(errno));
    return kExitSetupFailed;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitSetupFailed;
}

// Log level for a private backend: the one asked for; else its environment's GVIRTUS_LOGLEVEL;
// else warn, so that its start-up notes do not mix with the program's output.
std::string backend_log_level(const Target& t) {
  if (!t.log_level.empty()) return t.log_level;
  const char* env = std::getenv("GVIRTUS_LOGLEVEL");
  if (env && *env) return std::string();
  return "warn";
}

}  // namespace

Status locate_install(Install* out) {
  std::string bin;
  Status s = self_exe_dir(&bin);
  if (!s) return s;
  Install in;
  s = find_frontend_dir(bin, &in.frontend_dir);
  if (!s) return s;
  in.backend = bin + "/gvirtus-backend";
  *out = in;
  return Status::ok();
}

int run_command(const Options& o, const Install& in) {
  Target t;
  Status s = resolve_target(o, &t);
  if (!s) {
    print_error(s.message());
    return kExitSetupFailed;
  }
  std::unique_ptr<EmbeddedBackend> backend;
  if (t.embedded) {
    s = EmbeddedBackend::start(in.backend, backend_log_level(t), in.ready_timeout_ms, &backend,
                               o.transport);
    if (!s) {
      print_error(s.message());
      return kExitSetupFailed;
    }
    t.endpoint = backend->endpoint();
  }
  ChildSettings cs{in.frontend_dir, t.endpoint, t.log_level, t.security_env};
  int code = spawn_and_wait(o.program, child_environment(current_environment(), cs));
  if (backend) {
    s = backend->stop();
    if (!s) print_error("warning: " + s.message());
  }
  return code;
}

Status env_text(const Options& o, const Install& in, std::string* out) {
  Target t;
  Status s = resolve_target(o, &t);
  if (!s) return s;
  const std::vector<std::string> base = current_environment();
  ChildSettings cs{in.frontend_dir, t.embedded ? std::string() : t.endpoint, t.log_level,
                   t.security_env};
  const std::vector<std::string> env = child_environment(base, cs);
  std::string text;
  if (t.embedded)
    text += "# No endpoint is configured: `gvirtus run` starts a private backend and sets\n"
            "# GVIRTUS_ENDPOINT itself. Set GVIRTUS_ENDPOINT to use a running one.\n";
  else
    text += "# backend from " + t.source + "\n";
  for (const char* name : {"LD_LIBRARY_PATH", "LD_PRELOAD", "GVIRTUS_ENDPOINT", "GVIRTUS_LOGLEVEL",
                           "GVIRTUS_TOKEN_FILE", "GVIRTUS_TLS_CA", "GVIRTUS_TLS_CLIENT_CERT",
                           "GVIRTUS_TLS_CLIENT_KEY"}) {
    if (t.embedded && std::string(name) == "GVIRTUS_ENDPOINT") continue;
    std::string now, before;
    if (!get_env(env, name, &now)) continue;
    if (get_env(base, name, &before) && before == now) continue;
    text += std::string("export ") + name + "=" + shell_quote(now) + "\n";
  }
  *out = text;
  return Status::ok();
}

}  // namespace gvirtus::cli
