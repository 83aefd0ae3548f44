#include "cli/embedded.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gvirtus::cli {
namespace {

constexpr int kStopGraceMs = 10000;

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// A private directory for the socket: $TMPDIR if the socket path fits, else /tmp.
Status make_private_dir(std::string* out) {
  std::vector<std::string> bases;
  if (const char* t = std::getenv("TMPDIR"); t && *t) bases.emplace_back(t);
  bases.emplace_back("/tmp");
  const size_t max_path = sizeof(sockaddr_un{}.sun_path) - 1;
  std::string last_error;
  for (const auto& base : bases) {
    std::string tmpl = base + "/gvirtus-XXXXXX";
    if (tmpl.size() + std::strlen("/backend.sock") > max_path) continue;
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data())) {  // mode 0700: only this user reaches the socket
      *out = buf.data();
      return Status::ok();
    }
    last_error = base + ": " + std::strerror(errno);
  }
  return failed("cannot make a private directory for the backend socket (" + last_error + ")");
}

// Waits up to timeout_ms for pid to exit; true with *status if it did.
bool wait_exit(pid_t pid, int timeout_ms, int* status) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (now_ms() >= deadline) return false;
    ::usleep(5000);
  }
}

[[noreturn]] void exec_backend(char* const* argv, int ready_fd, pid_t parent) {
  // Runs in the forked child: only async-signal-safe calls until exec.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(125);  // the parent is already gone
  int flags = ::fcntl(ready_fd, F_GETFD);
  ::fcntl(ready_fd, F_SETFD, flags & ~FD_CLOEXEC);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    if (null_fd != 0) ::close(null_fd);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(argv[0], argv);
  const char msg[] = "gvirtus: cannot execute the backend\n";
  ssize_t ignored = ::write(2, msg, sizeof(msg) - 1);
  (void)ignored;
  ::_exit(127);
}

// The private backend's module cache (docs/usage.md): $GVIRTUS_MODULE_CACHE ("off": none), else
// $XDG_CACHE_HOME/gvirtus/modules, else ~/.cache/gvirtus/modules. Empty when there is none or
// its parents cannot be made: the program runs the same, only its modules travel every time.
std::string module_cache_dir() {
  const char* named = std::getenv("GVIRTUS_MODULE_CACHE");
  if (named && *named) return std::strcmp(named, "off") == 0 ? std::string() : named;
  std::string base;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg == '/') {
    base = xdg;
  } else if (home && *home == '/') {
    base = std::string(home) + "/.cache";
  } else {
    return std::string();
  }
  for (const std::string& d : {base, base + "/gvirtus"})
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return std::string();
  return base + "/gvirtus/modules";
}

}  // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "stopped with wait status " + std::to_string(status);
}

Status EmbeddedBackend::start(const std::string& backend, const std::string& log_level,
                              int timeout_ms, std::unique_ptr<EmbeddedBackend>* out,
                              const std::string& transport) {
  if (::access(backend.c_str(), X_OK) != 0)
    return failed("cannot start the private backend: " + backend + ": " + std::strerror(errno));
  std::unique_ptr<EmbeddedBackend> b(new EmbeddedBackend());
  Status s = make_private_dir(&b->dir_);
  if (!s) return s;
  b->endpoint_ = transport + ":" + b->dir_ + "/backend.sock";

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failed(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> args = {backend, "--listen", b->endpoint_, "--ready-fd",
                                   std::to_string(fds[1])};
  if (!log_level.empty()) {
    args.push_back("--log-level");
    args.push_back(log_level);
  }
  const std::string cache = module_cache_dir();
  if (!cache.empty()) {
    args.push_back("--module-cache");
    args.push_back(cache);
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return failed(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_backend(argv.data(), fds[1], parent);
  ::close(fds[1]);
  b->pid_ = pid;

  // Read until "ready\n", EOF (it exited or closed the fd) or the deadline.
  std::string said;
  const int64_t deadline = now_ms() + timeout_ms;
  bool eof = false, ready = false;
  while (!ready && !eof) {
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[64];
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
    } else {
      said.append(buf, static_cast<size_t>(n));
      ready = said.find("ready\n") != std::string::npos;
    }
  }
  ::close(fds[0]);
  if (ready) {
    *out = std::move(b);
    return Status::ok();
  }
  int status = 0;
  if (eof && wait_exit(pid, 2000, &status)) {
    b->pid_ = -1;
    return failed("the private backend (" + backend + ") " + describe_wait_status(status) +
                  " before it was ready; its messages, if any, are above");
  }
  std::string why = eof ? "closed its ready pipe without saying \"ready\""
                        : "did not report ready within " + std::to_string(timeout_ms / 1000.0) + " s";
  b->stop();
  return failed("the private backend (" + backend + ") " + why);
}

Status EmbeddedBackend::stop() {
  Status result;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!wait_exit(pid_, kStopGraceMs, &status)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      result = failed("the private backend did not stop within " +
                      std::to_string(kStopGraceMs / 1000) + " s of SIGTERM and was killed");
    } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
               !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) {
      result = failed("the private backend " + describe_wait_status(status));
    }
    pid_ = -1;
  }
  remove_dir();
  return result;
}

void EmbeddedBackend::remove_dir() {
  if (dir_.empty()) return;
  // Only the socket (and whatever the backend put beside it) lives here, no subfolders.
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir_ + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir_.c_str());
  dir_.clear();
}

EmbeddedBackend::~EmbeddedBackend() { stop(); }

}  // namespace gvirtus::cli
