// The real gvirtus-backend as a child process, and a raw client connection spoken to byte by
// byte, for tests that talk to the daemon (daemon_test.cc, access_test.cc). Every wait is
// bounded.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "common/transport.h"
#include "common/transport_shm.h"
#include "test_streams.h"

namespace gvirtus::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kIoTimeoutMs = 5000;

inline bool pid_gone(pid_t pid, std::chrono::milliseconds within) {
  auto end = Clock::now() + within;
  do {
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < end);
  return false;
}

// A client connection spoken to byte by byte, with timeouts on every read.
class Raw {
 public:
  // Works over every transport through the Stream's non-blocking calls (shm: included), as the
  // daemon reads a handshake.
  explicit Raw(const std::string& endpoint) {
    Endpoint ep;
    EXPECT_TRUE(parse_endpoint(endpoint, &ep));
    Status st = connect_stream(ep, &s_);
    EXPECT_TRUE(st) << st.to_string();
  }
  ~Raw() { close(); }
  void close() { s_.reset(); }
  int fd() const { return s_ ? s_->fd() : -1; }
  // Passes a descriptor to the worker (shm: only, shm_send_fd).
  bool pass_fd(int fd) { return s_ && static_cast<bool>(shm_send_fd(*s_, fd)); }

  bool send(const std::vector<uint8_t>& b) {
    if (!s_) return false;
    struct iovec iov = {const_cast<uint8_t*>(b.data()), b.size()};
    return static_cast<bool>(s_->send(&iov, 1));
  }
  // false on EOF, error or timeout.
  bool read(void* buf, size_t n, int timeout_ms = kIoTimeoutMs) {
    auto* p = static_cast<uint8_t*>(buf);
    size_t got = 0;
    while (got < n) {
      ssize_t r = some(p + got, n - got, timeout_ms);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  bool read_frame(wire::FrameHeader* h, std::vector<uint8_t>* payload) {
    uint8_t hdr[wire::kHeaderSize];
    if (!read(hdr, sizeof hdr)) return false;
    if (!wire::decode_header(hdr, wire::kMaxPayload, h)) return false;
    payload->resize(h->length);
    return read(payload->data(), payload->size());
  }
  bool welcome(wire::Welcome* w) {
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    if (!read_frame(&h, &p) || h.kind != static_cast<uint16_t>(wire::Kind::kWelcome)) return false;
    wire::Reader r(p.data(), p.size());
    *w = wire::decode_welcome(r);
    return true;
  }
  // Reads the next frame, which must be of `kind`.
  bool expect_frame(wire::Kind kind, std::vector<uint8_t>* payload) {
    wire::FrameHeader h;
    return read_frame(&h, payload) && h.kind == static_cast<uint16_t>(kind);
  }
  wire::Welcome handshake(const wire::Hello& hello) {
    wire::Welcome w;
    w.status = -1;
    EXPECT_TRUE(send(hello_frame(hello)));
    EXPECT_TRUE(welcome(&w));
    return w;
  }
  bool ping(uint64_t id) {
    if (!send(request_frame(backend::kCallPing, id))) return false;
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    return read_frame(&h, &p) && h.kind == static_cast<uint16_t>(wire::Kind::kReply) &&
           h.request_id == id && h.call_id == backend::kCallPing && h.status == 0;
  }
  // Waits for the server to close: frames it sent first (a Goodbye) are skipped, their kinds
  // and text collected.
  bool closed_by_peer(std::string* said = nullptr, int timeout_ms = kIoTimeoutMs) {
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    uint8_t buf[4096];
    while (Clock::now() < end) {
      ssize_t r = some(buf, sizeof buf, 100);
      if (r == 0 || (r < 0 && errno == ECONNRESET)) return true;
      if (r < 0 && errno == ETIMEDOUT) continue;
      if (r < 0) return false;
      if (said) said->append(reinterpret_cast<char*>(buf), static_cast<size_t>(r));
    }
    return false;
  }

 private:
  // Up to n bytes: >0 read, 0 EOF, -1 with errno (ETIMEDOUT when nothing came in time).
  ssize_t some(uint8_t* p, size_t n, int timeout_ms) {
    if (!s_) {
      errno = EBADF;
      return -1;
    }
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      ssize_t r = s_->recv_nowait(p, n);
      if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return r;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) {
        errno = ETIMEDOUT;
        return -1;
      }
      pollfd pf{s_->fd(), POLLIN, 0};
      ::poll(&pf, 1, static_cast<int>(left.count()));
    }
  }
  std::unique_ptr<Stream> s_;
};

class Backend {
 public:
  // Starts gvirtus-backend with `args` and waits for its ready line.
  // inherit_fd: a descriptor the backend inherits open (for the descriptor checks).
  // env: more "NAME=value" entries for its environment (it gets GVIRTUS_LOGLEVEL=debug only).
  explicit Backend(std::vector<std::string> args, int inherit_fd = -1,
                   std::vector<std::string> env = {}) {
    char tmpl[] = "/tmp/gvdaemonXXXXXX";
    dir_ = mkdtemp(tmpl);
    log_ = dir_ + "/backend.log";
    int ready[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    int ready_child = fcntl(ready[1], F_DUPFD, 10);  // without CLOEXEC, to pass it on
    args.insert(args.begin(), std::string(GVIRTUS_BIN_DIR) + "/gvirtus-backend");
    args.push_back("--ready-fd");
    args.push_back(std::to_string(ready_child));
    pid_ = fork();
    if (pid_ == 0) {
      if (inherit_fd >= 0) fcntl(inherit_fd, F_SETFD, 0);
      int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      env.push_back("GVIRTUS_LOGLEVEL=debug");
      std::vector<char*> envp;
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(ready_child);
    close(ready[1]);
    char buf[16] = {};
    pollfd pf{ready[0], POLLIN, 0};
    if (poll(&pf, 1, 10000) > 0) {
      ssize_t n = ::read(ready[0], buf, sizeof buf - 1);
      ready_ = n > 0 && std::string(buf) == "ready\n";
    }
    close(ready[0]);
  }
  ~Backend() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGTERM);
      wait_exit(10s);
      if (!exited_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    if (::testing::Test::HasFailure()) std::cerr << "--- backend log ---\n" << log() << "---\n";
    unlink(log_.c_str());
    rmdir(dir_.c_str());
  }
  bool ready() const { return ready_; }
  // Waits for the backend to exit by itself (a refusal to start) and returns its exit code,
  // or -1.
  int exit_code(std::chrono::milliseconds within = 10s) {
    int st = wait_exit(within);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string log() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // The exit status, or -1 if it did not exit in time.
  int wait_exit(std::chrono::milliseconds within) {
    auto end = Clock::now() + within;
    while (Clock::now() < end) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        status_ = st;
        return st;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  std::string dir_, log_;
  pid_t pid_ = -1;
  bool ready_ = false;
  bool exited_ = false;
  int status_ = 0;
};

// A /proc file's text, or "" when it cannot be read (its process may end while it is read:
// no exception).
inline std::string proc_text(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return n < 0 ? std::string() : out;
}

// The live (not zombie) children of process `parent`: a backend's workers and TLS relays.
inline std::vector<pid_t> child_pids(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string text = proc_text("/proc/" + name + "/stat");
    const size_t close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) continue;
    std::istringstream rest(text.substr(close + 2));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent && state != "Z")
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  ::closedir(d);
  return out;
}

}  // namespace gvirtus::testing
