#include "common/fd_passing.h"

#include <cerrno>
#include <cstring>

namespace gvirtus {

namespace {
constexpr int kMaxFds = 4;
}

ssize_t send_with_fds(int sock, const iovec* iov, int iovcnt, const int* fds, int nfds) {
  if (nfds < 1 || nfds > kMaxFds) {
    errno = EINVAL;
    return -1;
  }
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
    cmsghdr align;
  } ctrl;
  std::memset(&ctrl, 0, sizeof ctrl);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(iovcnt);
  m.msg_control = ctrl.buf;
  m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  ssize_t n;
  do {
    n = ::sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t recv_with_fds(int sock, void* buf, size_t n, int flags, std::vector<int>* fds,
                      int* msg_flags) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
    cmsghdr align;
  } ctrl;
  iovec iov{buf, n};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctrl.buf;
  m.msg_controllen = sizeof ctrl.buf;
  ssize_t r;
  do {
    r = ::recvmsg(sock, &m, flags | MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  fds->clear();
  if (r >= 0) *fds = received_fds(&m);
  if (msg_flags) *msg_flags = r >= 0 ? m.msg_flags : 0;
  return r;
}

std::vector<int> received_fds(msghdr* m) {
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < cnt; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  return fds;
}

}  // namespace gvirtus
