// TCP and Unix domain socket streams and listeners, and the framing helpers.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/cpu_relax.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/transport.h"
#include "common/transport_shm.h"

namespace gvirtus {
namespace {

constexpr int kSocketBuffer = 4 << 20;
constexpr int kConnectTimeoutMs = 10000;
// A peer host that stops answering is noticed after about idle + interval * count seconds
// when the connection is quiet, and after kUserTimeoutMs when data is left unacknowledged.
constexpr int kKeepIdleS = 10;
constexpr int kKeepIntervalS = 5;
constexpr int kKeepCount = 3;
constexpr unsigned kUserTimeoutMs = 30000;

std::string errno_text(int err) { return std::strerror(err); }

// net.core.{r,w}mem_max: the largest SO_RCVBUF / SO_SNDBUF the kernel honours.
long read_sysctl(const char* path) {
  std::ifstream f(path);
  long v = 0;
  if (!(f >> v)) return 0;
  return v;
}

// Setting SO_RCVBUF / SO_SNDBUF on a TCP socket switches off the kernel's autotuning, which
// can grow well past rmem_max (tcp_rmem[2], often 6 MiB or more). So ask for the large fixed
// size only where the kernel will grant it; elsewhere autotuning does better.
void set_tcp_buffers(int fd) {
  static const bool rcv_ok = read_sysctl("/proc/sys/net/core/rmem_max") >= kSocketBuffer;
  static const bool snd_ok = read_sysctl("/proc/sys/net/core/wmem_max") >= kSocketBuffer;
  int v = kSocketBuffer;
  if (rcv_ok) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  if (snd_ok) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

// Options for a connected (or listening) TCP socket. Failures are not fatal: the connection
// works without them, only slower or slower to notice a dead peer.
void set_tcp_options(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int idle = kKeepIdleS, intvl = kKeepIntervalS, cnt = kKeepCount;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  unsigned ut = kUserTimeoutMs;
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut);
  set_tcp_buffers(fd);
}

// Unix stream sockets have no autotuning; the kernel caps the request at wmem_max.
void set_unix_options(int fd) {
  int v = kSocketBuffer;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

int socket_family(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  return ss.ss_family;
}

std::string describe_addr(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "tcp://?";
  Endpoint ep;
  ep.type = Endpoint::Type::kTcp;
  ep.host = host;
  ep.port = std::atoi(serv);
  return ep.to_string();
}

// The peer of a connected socket in words: "tcp://10.0.0.1:5000" or "unix peer pid 1234".
std::string describe_peer(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown peer";
  if (ss.ss_family == AF_UNIX) {
    ucred cred{};
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
      return "unix peer pid " + std::to_string(cred.pid);
    return "unix peer";
  }
  return describe_addr(reinterpret_cast<sockaddr*>(&ss), len);
}

Status make_unix_addr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path)
    return invalid("unix socket path \"" + path + "\" is empty or too long");
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::ok();
}

class SocketStream : public Stream {
 public:
  SocketStream(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  ~SocketStream() override {
    if (fd_ >= 0) ::close(fd_);
  }
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  Status send(const struct iovec* iov, int iovcnt) override {
    if (iovcnt < 0) return invalid("negative iovec count");
    // Work on a copy: partial writes advance it. Frames have a few pieces; no allocation then.
    constexpr int kInline = 8;
    struct iovec inline_v[kInline];
    std::vector<struct iovec> heap_v;
    struct iovec* v = inline_v;
    if (iovcnt > kInline) {
      heap_v.assign(iov, iov + iovcnt);
      v = heap_v.data();
    } else {
      std::copy(iov, iov + iovcnt, inline_v);
    }
    const size_t cnt = static_cast<size_t>(iovcnt);
    size_t i = 0;
    while (i < cnt) {
      if (v[i].iov_len == 0) {
        ++i;
        continue;
      }
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      msghdr msg{};
      msg.msg_iov = &v[i];
      msg.msg_iovlen = std::min<size_t>(cnt - i, IOV_MAX);
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (!wait_if_nonblocking(POLLOUT))
            return Status(Code::kTimeout, "send to " + peer_ + " timed out");
          continue;
        }
        return io_error("send to", errno);
      }
      size_t left = static_cast<size_t>(n);
      while (left > 0 && i < cnt) {
        if (left >= v[i].iov_len) {
          left -= v[i].iov_len;
          ++i;
        } else {
          v[i].iov_base = static_cast<char*>(v[i].iov_base) + left;
          v[i].iov_len -= left;
          left = 0;
        }
      }
    }
    return Status::ok();
  }

  Status recv(void* buf, size_t n) override {
    auto* p = static_cast<char*>(buf);
    size_t got = take_ahead(p, n);
    // Small reads refill the read-ahead buffer with one receive of whatever has arrived; a read
    // of the buffer's size or more goes straight into the caller's buffer, to its end.
    bool direct = false;
    // set_receive_spin: receives that do not wait, until the deadline (set at the first miss).
    bool spinning = spin_micros_ > 0 && got < n;
    std::chrono::steady_clock::time_point spin_until{};
    while (got < n) {
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      direct = direct || n - got >= ahead_cap_;
      const int flags = spinning ? MSG_DONTWAIT : 0;
      ssize_t r = direct ? ::recv(fd_, p + got, n - got, flags)
                         : ::recv(fd_, ahead_.get(), ahead_cap_, flags);
      if (r > 0) {
        if (direct) {
          got += static_cast<size_t>(r);
        } else {
          ahead_off_ = 0;
          ahead_len_ = static_cast<size_t>(r);
          got += take_ahead(p + got, n - got);
        }
        continue;
      }
      if (r == 0) {
        if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
        return disconnected(peer_ + " closed the connection" +
                            (got ? " in the middle of a message" : ""));
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (spinning) {
          const auto now = std::chrono::steady_clock::now();
          if (spin_until == std::chrono::steady_clock::time_point{})
            spin_until = now + std::chrono::microseconds(spin_micros_);
          if (now >= spin_until) spinning = false;  // from now on, sleep in recv
          cpu_relax();
          continue;
        }
        if (!wait_if_nonblocking(POLLIN))
          return Status(Code::kTimeout, "receive from " + peer_ + " timed out");
        continue;
      }
      return io_error("receive from", errno);
    }
    return Status::ok();
  }

  void set_receive_spin(int micros) override { spin_micros_ = micros > 0 ? micros : 0; }

  void shutdown() override {
    shut_.store(true);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  void set_read_ahead(size_t bytes) override {
    if (ahead_cap_ || bytes == 0) return;  // once; what is buffered stays valid
    ahead_.reset(new char[bytes]);
    ahead_cap_ = bytes;
  }
  bool buffered() const override { return ahead_off_ < ahead_len_; }
  bool costly_send() const override { return true; }
  ssize_t recv_nowait(void* buf, size_t n) override {
    if (const size_t got = take_ahead(static_cast<char*>(buf), n))
      return static_cast<ssize_t>(got);
    return Stream::recv_nowait(buf, n);
  }

  int fd() const override { return fd_; }
  int release_fd() override {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  std::string peer() const override { return peer_; }

 private:
  // EAGAIN: on a descriptor someone made non-blocking, wait for it and go on (true); on a
  // blocking one it means SO_RCVTIMEO / SO_SNDTIMEO expired (false).
  bool wait_if_nonblocking(short events) {
    int fl = fcntl(fd_, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK)) return false;
    pollfd p{fd_, events, 0};
    ::poll(&p, 1, 1000);
    return true;
  }

  Status io_error(const char* what, int err) {
    if (err == ECONNRESET || err == EPIPE || err == ENOTCONN || err == ETIMEDOUT ||
        err == EHOSTUNREACH || err == ENETUNREACH || err == ESHUTDOWN || err == EBADF)
      return disconnected(std::string(what) + " " + peer_ + ": " + errno_text(err));
    return failed(std::string(what) + " " + peer_ + ": " + errno_text(err));
  }

  // Copies up to n read-ahead bytes to p; returns how many.
  size_t take_ahead(char* p, size_t n) {
    const size_t k = std::min(n, ahead_len_ - ahead_off_);
    if (k) std::memcpy(p, ahead_.get() + ahead_off_, k);
    ahead_off_ += k;
    return k;
  }

  int fd_;
  std::string peer_;
  std::atomic<bool> shut_{false};
  std::unique_ptr<char[]> ahead_;  // set_read_ahead: bytes received, not yet read
  int spin_micros_ = 0;  // set_receive_spin
  size_t ahead_cap_ = 0;
  size_t ahead_off_ = 0;
  size_t ahead_len_ = 0;
};

class SocketListener : public Listener {
 public:
  SocketListener(int fd, Endpoint ep) : fd_(fd), ep_(std::move(ep)), owner_(getpid()) {
    if (ep_.type == Endpoint::Type::kUnix) {
      struct stat st{};
      if (::stat(ep_.path.c_str(), &st) == 0) {
        dev_ = st.st_dev;
        ino_ = st.st_ino;
      }
    }
  }
  ~SocketListener() override {
    ::close(fd_);
    // Remove the socket file, but only from the process that created it (not a forked
    // worker) and only if it is still ours (not one a later backend put in its place).
    if (ep_.type == Endpoint::Type::kUnix && getpid() == owner_) {
      struct stat st{};
      if (::stat(ep_.path.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
        ::unlink(ep_.path.c_str());
    }
  }

  Status accept(std::unique_ptr<Stream>* out) override {
    for (;;) {
      Status s = try_accept(out);
      if (s.code() != Code::kTimeout) return s;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, -1);
    }
  }

  Status try_accept(std::unique_ptr<Stream>* out) override {
    for (;;) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        if (ep_.type == Endpoint::Type::kTcp) {
          set_tcp_options(fd);
        } else {
          set_unix_options(fd);
        }
        *out = std::make_unique<SocketStream>(fd, describe_peer(fd));
        return Status::ok();
      }
      int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EAGAIN || err == EWOULDBLOCK)
        return Status(Code::kTimeout, "no connection waiting on " + describe());
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
        return Status(Code::kOverloaded, "accept on " + describe() + ": " + errno_text(err));
      return failed("accept on " + describe() + ": " + errno_text(err));
    }
  }
  int fd() const override { return fd_; }
  std::string describe() const override { return ep_.to_string(); }

 private:
  int fd_;
  Endpoint ep_;
  pid_t owner_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

Status set_blocking(int fd, bool blocking) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return failed(std::string("fcntl: ") + errno_text(errno));
  fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
  if (fcntl(fd, F_SETFL, fl) < 0) return failed(std::string("fcntl: ") + errno_text(errno));
  return Status::ok();
}

// connect() with a deadline: a host that drops SYNs otherwise blocks for minutes.
Status connect_with_timeout(int fd, const sockaddr* sa, socklen_t len, const std::string& what) {
  Status s = set_blocking(fd, false);
  if (!s) return s;
  if (::connect(fd, sa, len) != 0) {
    if (errno != EINPROGRESS && errno != EINTR)
      return disconnected("cannot connect to " + what + ": " + errno_text(errno));
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
      r = ::poll(&p, 1, kConnectTimeoutMs);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return Status(Code::kTimeout, "cannot connect to " + what + ": timed out");
    int err = 0;
    socklen_t elen = sizeof err;
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err != 0) return disconnected("cannot connect to " + what + ": " + errno_text(err));
  }
  return set_blocking(fd, true);
}

Status resolve(const Endpoint& ep, bool passive, addrinfo** res) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, res);
  if (rc != 0)
    return invalid("cannot resolve \"" + ep.host + "\": " + gai_strerror(rc));
  return Status::ok();
}

Status connect_tcp(const Endpoint& ep, std::unique_ptr<Stream>* out) {
  addrinfo* res = nullptr;
  Status s = resolve(ep, false, &res);
  if (!s) return s;
  Status last = disconnected("cannot connect to " + ep.to_string() + ": no address");
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = failed("socket: " + errno_text(errno));
      continue;
    }
    set_tcp_options(fd);  // buffer sizes must be set before connect to affect window scaling
    last = connect_with_timeout(fd, ai->ai_addr, ai->ai_addrlen, ep.to_string());
    if (last) {
      freeaddrinfo(res);
      *out = std::make_unique<SocketStream>(fd, ep.to_string());
      return Status::ok();
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return last;
}

Status connect_unix(const Endpoint& ep, std::unique_ptr<Stream>* out) {
  sockaddr_un addr;
  Status s = make_unix_addr(ep.path, &addr);
  if (!s) return s;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed("socket: " + errno_text(errno));
  set_unix_options(fd);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return disconnected("cannot connect to " + ep.to_string() + ": " + errno_text(err));
  }
  *out = std::make_unique<SocketStream>(fd, ep.to_string());
  return Status::ok();
}

Status listen_tcp(const Endpoint& ep, std::unique_ptr<Listener>* out) {
  addrinfo* res = nullptr;
  Status s = resolve(ep, true, &res);
  if (!s) return s;
  Status last = failed("cannot listen on " + ep.to_string() + ": no address");
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                      ai->ai_protocol);
    if (fd < 0) {
      last = failed("cannot listen on " + ep.to_string() + ": socket: " + errno_text(errno));
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    set_tcp_buffers(fd);  // inherited by accepted sockets, before the handshake
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last = failed("cannot listen on " + ep.to_string() + ": " + errno_text(errno));
      ::close(fd);
      continue;
    }
    freeaddrinfo(res);
    *out = std::make_unique<SocketListener>(fd, ep);
    return Status::ok();
  }
  freeaddrinfo(res);
  return last;
}

// A socket file nobody listens on (a backend that died) is replaced; one with a live
// listener, or a path that is not a socket, is left alone and reported.
Status clear_unix_path(const Endpoint& ep, const sockaddr_un& addr) {
  struct stat st{};
  if (::lstat(ep.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return failed("cannot listen on " + ep.to_string() + ": " + errno_text(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return failed("cannot listen on " + ep.to_string() + ": the path exists and is not a socket");
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return failed("socket: " + errno_text(errno));
  int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(probe);
  if (rc == 0)
    return failed("cannot listen on " + ep.to_string() +
                  ": another process is listening there (is a backend already running?)");
  if (err != ECONNREFUSED)
    return failed("cannot listen on " + ep.to_string() + ": probing the existing socket: " +
                  errno_text(err));
  if (::unlink(ep.path.c_str()) != 0 && errno != ENOENT)
    return failed("cannot remove the stale socket " + ep.path + ": " + errno_text(errno));
  GV_INFO("removed stale socket file " + ep.path);
  return Status::ok();
}

Status listen_unix(const Endpoint& ep, std::unique_ptr<Listener>* out) {
  sockaddr_un addr;
  Status s = make_unix_addr(ep.path, &addr);
  if (!s) return s;
  s = clear_unix_path(ep, addr);
  if (!s) return s;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return failed("socket: " + errno_text(errno));
  // The socket file is created with mode 0600 (owner only): connecting needs write
  // permission on it. The daemon may open it to a group afterwards (docs/security.md).
  mode_t old_mask = ::umask(0177);
  int brc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int berr = errno;
  ::umask(old_mask);
  if (brc != 0 || ::listen(fd, SOMAXCONN) != 0) {
    int err = brc != 0 ? berr : errno;
    ::close(fd);
    return failed("cannot listen on " + ep.to_string() + ": " + errno_text(err));
  }
  *out = std::make_unique<SocketListener>(fd, ep);
  return Status::ok();
}

}  // namespace

ssize_t Stream::recv_nowait(void* buf, size_t n) {
  if (fd() < 0) {
    errno = EBADF;
    return -1;
  }
  return ::recv(fd(), buf, n, MSG_DONTWAIT);
}

bool Stream::send_nowait(const void* buf, size_t n) {
  if (fd() < 0) return false;
  return ::send(fd(), buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(n);
}

void Stream::shut_write() {
  if (fd() >= 0) ::shutdown(fd(), SHUT_WR);
}

Status connect_stream(const Endpoint& ep, std::unique_ptr<Stream>* out) {
  if (ep.type == Endpoint::Type::kShm) return connect_shm(ep, out);
  if (ep.type == Endpoint::Type::kTcp && ep.tls) return connect_tls(ep, TlsClientOptions{}, out);
  return ep.type == Endpoint::Type::kTcp ? connect_tcp(ep, out) : connect_unix(ep, out);
}

Status connect_unix_socket(const std::string& path, int* fd) {
  Endpoint ep;
  ep.type = Endpoint::Type::kUnix;
  ep.path = path;
  std::unique_ptr<Stream> s;
  Status st = connect_unix(ep, &s);
  if (st) *fd = s->release_fd();
  return st;
}

Status listen_on(const Endpoint& ep, std::unique_ptr<Listener>* out) {
  if (ep.type == Endpoint::Type::kShm) {
    Endpoint u = ep;
    u.type = Endpoint::Type::kUnix;
    std::unique_ptr<Listener> sock;
    Status s = listen_unix(u, &sock);
    if (!s) return s;
    return listen_shm(ep, std::move(sock), out);
  }
  return ep.type == Endpoint::Type::kTcp ? listen_tcp(ep, out) : listen_unix(ep, out);
}

Status stream_from_fds(int fd, int aux_fd, std::string peer, std::unique_ptr<Stream>* out) {
  if (aux_fd >= 0) return shm_stream_from_fds(fd, aux_fd, std::move(peer), out);
  *out = stream_from_fd(fd, std::move(peer));
  return Status::ok();
}

std::unique_ptr<Stream> stream_from_fd(int fd, std::string peer) {
  int family = socket_family(fd);
  if (family == AF_INET || family == AF_INET6) set_tcp_options(fd);
  if (peer.empty()) peer = describe_peer(fd);
  return std::make_unique<SocketStream>(fd, std::move(peer));
}

Status stream_pair(std::unique_ptr<Stream>* a, std::unique_ptr<Stream>* b) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return failed("socketpair: " + errno_text(errno));
  set_unix_options(sv[0]);
  set_unix_options(sv[1]);
  *a = std::make_unique<SocketStream>(sv[0], "socketpair");
  *b = std::make_unique<SocketStream>(sv[1], "socketpair");
  return Status::ok();
}

Status send_frame(Stream& s, wire::FrameHeader h, const struct iovec* body, int body_cnt) {
  if (body_cnt < 0) return invalid("negative iovec count");
  size_t total = 0;
  for (int i = 0; i < body_cnt; ++i) total += body[i].iov_len;
  if (total > wire::kMaxPayload)
    return invalid("frame payload of " + std::to_string(total) + " bytes is over the limit of " +
                   std::to_string(wire::kMaxPayload));
  h.length = static_cast<uint32_t>(total);
  uint8_t hdr[wire::kHeaderSize];
  wire::encode_header(h, hdr);
  return with_leading_iovec({hdr, sizeof hdr}, body, body_cnt,
                            [&](const struct iovec* v, int n) { return s.send(v, n); });
}

Status recv_header(Stream& s, uint32_t max_payload, wire::FrameHeader* h) {
  uint8_t hdr[wire::kHeaderSize];
  Status st = s.recv(hdr, sizeof hdr);
  if (!st) return st;
  return wire::decode_header(hdr, max_payload, h);
}

}  // namespace gvirtus
