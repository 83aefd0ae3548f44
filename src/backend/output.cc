#include "backend/output.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace gvirtus::backend {

Status OutputCapture::start(int target) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return failed(std::string("pipe: ") + std::strerror(errno));
  // A larger pipe lets a big printf burst land without waking the reader thread often.
  (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  if (target == STDOUT_FILENO) std::fflush(stdout);
  if (target == STDERR_FILENO) std::fflush(stderr);
  if (dup2(fds[1], target) < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return failed(std::string("dup2: ") + std::strerror(e));
  }
  close(fds[1]);
  // Unbuffered, so what is printed reaches the pipe at once (take() must see it).
  if (target == STDOUT_FILENO) std::setvbuf(stdout, nullptr, _IONBF, 0);
  if (target == STDERR_FILENO) std::setvbuf(stderr, nullptr, _IONBF, 0);
  int flags = fcntl(fds[0], F_GETFL);
  (void)fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
  read_fd_ = fds[0];
  std::thread([this] { reader(); }).detach();
  return Status::ok();
}

void OutputCapture::drain_locked() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(read_fd_, buf, sizeof buf);
    if (n <= 0) return;  // empty (EAGAIN), or closed
    size_t room = kMaxBuffered - std::min(kMaxBuffered, buffered_.size());
    size_t keep = std::min(room, static_cast<size_t>(n));
    buffered_.append(buf, keep);
    dropped_ += static_cast<size_t>(n) - keep;
  }
}

void OutputCapture::reader() {
  for (;;) {
    struct pollfd p = {read_fd_, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return;
    if (p.revents & (POLLERR | POLLNVAL)) return;
    std::lock_guard<std::mutex> g(mu_);
    // Raised before the read, so that output_pending never finds the pipe empty while the
    // bytes are in neither the pipe nor the buffer.
    held_.store(true, std::memory_order_seq_cst);
    drain_locked();
    held_.store(!buffered_.empty() || dropped_ > 0, std::memory_order_seq_cst);
  }
}

void OutputCapture::take(std::string* out) {
  out->clear();
  if (read_fd_ < 0) return;
  std::lock_guard<std::mutex> g(mu_);
  drain_locked();
  out->swap(buffered_);
  if (dropped_ > 0) {
    *out += "\n[gvirtus: " + std::to_string(dropped_) +
            " bytes of the backend's output were dropped: nobody read them in time]\n";
    dropped_ = 0;
  }
  held_.store(false, std::memory_order_seq_cst);
}

bool output_pending(const OutputCapture* out, const OutputCapture* err) {
  struct pollfd p[2];
  nfds_t n = 0;
  for (const OutputCapture* c : {out, err})
    if (c && c->read_fd_ >= 0) p[n++] = {c->read_fd_, POLLIN, 0};
  if (n == 0) return false;
  if (::poll(p, n, 0) != 0) return true;  // readable, or poll failed: take() will tell
  // The kernel's look at the pipe is not ordered with the load below on weakly ordered CPUs;
  // the reader raises held_ (seq_cst) before it reads the pipe.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (const OutputCapture* c : {out, err})
    if (c && c->held_.load(std::memory_order_seq_cst)) return true;
  return false;
}

}  // namespace gvirtus::backend
