// metrics_http.h: the non-blocking HTTP server of the Prometheus endpoint.
#include "backend/metrics_http.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/endpoint.h"
#include "common/log.h"

namespace gvirtus::backend {
namespace {

std::string response(const char* status, const std::string& type, const std::string& body,
                     bool head_only) {
  std::string r = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n";
  if (!head_only) r += body;
  return r;
}

}  // namespace

std::string prom_escape(const std::string& v) {
  std::string o;
  o.reserve(v.size());
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

MetricsServer::~MetricsServer() {
  for (Conn& c : conns_) close_conn(c);
}

Status MetricsServer::listen(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return invalid("--metrics: \"" + url + "\" is not http://HOST:PORT");
  std::string rest = url.substr(scheme.size());
  for (const char* suffix : {"/metrics", "/"}) {
    size_t n = std::strlen(suffix);
    if (rest.size() > n && rest.compare(rest.size() - n, n, suffix) == 0) {
      rest.resize(rest.size() - n);
      break;
    }
  }
  Endpoint ep;
  Status s = parse_endpoint("tcp://" + rest, &ep);
  if (!s) return invalid("--metrics: \"" + url + "\": " + s.message());
  s = listen_on(ep, &listener_);
  if (!s) return Status(s.code(), "--metrics " + url + ": " + s.message());
  url_ = "http://" + rest + "/metrics";
  return Status::ok();
}

std::string MetricsServer::describe() const {
  return listener_ ? url_ + " (Prometheus)" : "";
}

void MetricsServer::add_poll_fds(std::vector<pollfd>* fds, Clock::time_point* wake) const {
  if (!listener_) return;
  fds->push_back({conns_.size() < kMaxConnections ? listener_->fd() : -1, POLLIN, 0});
  for (const Conn& c : conns_) {
    fds->push_back({c.fd, static_cast<short>(c.phase == Conn::Phase::kWriting ? POLLOUT : POLLIN),
                    0});
    *wake = std::min(*wake, c.deadline);
  }
}

void MetricsServer::on_poll(const pollfd* fds, size_t n) {
  if (!listener_ || n == 0) return;
  // The entries after the listener's are conns_ as they were when add_poll_fds ran.
  for (size_t i = 1; i < n && i - 1 < conns_.size(); ++i) {
    if (fds[i].revents == 0 || fds[i].fd != conns_[i - 1].fd) continue;
    Conn& c = conns_[i - 1];
    switch (c.phase) {
      case Conn::Phase::kReading: read_from(c); break;
      case Conn::Phase::kWriting: write_to(c); break;
      case Conn::Phase::kDraining: drain(c); break;
    }
  }
  if (fds[0].revents) accept_all();
  const Clock::time_point now = Clock::now();
  for (Conn& c : conns_) {
    if (c.fd >= 0 && now >= c.deadline) {
      if (c.phase != Conn::Phase::kDraining) ++bad_;
      GV_DEBUG("metrics: dropped a connection that did not finish within 5 s");
      close_conn(c);
    }
  }
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }),
               conns_.end());
}

std::vector<int> MetricsServer::fds() const {
  std::vector<int> v;
  if (listener_) v.push_back(listener_->fd());
  for (const Conn& c : conns_) v.push_back(c.fd);
  return v;
}

void MetricsServer::accept_all() {
  for (int i = 0; i < 16 && conns_.size() < kMaxConnections; ++i) {
    std::unique_ptr<Stream> s;
    Status st = listener_->try_accept(&s);
    if (!st) return;  // none waiting (kTimeout), or a transient failure: the next poll retries
    Conn c;
    c.fd = s->release_fd();
    if (c.fd < 0) continue;
    int fl = fcntl(c.fd, F_GETFL);
    if (fl < 0 || fcntl(c.fd, F_SETFL, fl | O_NONBLOCK) != 0) {
      ::close(c.fd);
      continue;
    }
    c.deadline = Clock::now() + kDeadline;
    conns_.push_back(std::move(c));
  }
}

void MetricsServer::read_from(Conn& c) {
  char buf[2048];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // closed or broken before a complete request
      ++bad_;
      close_conn(c);
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos) {
      answer(c);
      return;
    }
    if (c.in.size() > kMaxRequest) {
      ++bad_;
      c.out = response("431 Request Header Fields Too Large", "text/plain", "request too large\n",
                       false);
      c.phase = Conn::Phase::kWriting;
      write_to(c);
      return;
    }
  }
}

void MetricsServer::answer(Conn& c) {
  // Request line: METHOD SP TARGET SP VERSION. Only the first line matters.
  size_t eol = c.in.find('\n');
  std::string line = c.in.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t a = line.find(' ');
  size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
  std::string method = line.substr(0, a);
  std::string target =
      a == std::string::npos ? "" : line.substr(a + 1, b == std::string::npos ? b : b - a - 1);
  std::string path = target.substr(0, target.find('?'));
  const bool head = method == "HEAD";
  if (b == std::string::npos || line.compare(b + 1, 5, "HTTP/") != 0) {
    ++bad_;
    c.out = response("400 Bad Request", "text/plain", "bad request\n", false);
  } else if (method != "GET" && !head) {
    ++bad_;
    c.out = response("405 Method Not Allowed", "text/plain", "only GET /metrics\n", head);
  } else if (path != "/metrics") {
    ++bad_;
    c.out = response("404 Not Found", "text/plain", "only /metrics is served here\n", head);
  } else {
    ++scrapes_;
    c.out = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body_(), head);
  }
  c.in.clear();
  c.in.shrink_to_fit();
  c.phase = Conn::Phase::kWriting;
  write_to(c);
}

void MetricsServer::write_to(Conn& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // POLLOUT next time
    if (n <= 0) {
      close_conn(c);
      return;
    }
    c.sent += static_cast<size_t>(n);
  }
  // Connection: close. What the client sent beyond its head is read and dropped until it
  // closes too, for at most a second more.
  ::shutdown(c.fd, SHUT_WR);
  c.out.clear();
  c.out.shrink_to_fit();
  c.phase = Conn::Phase::kDraining;
  c.deadline = std::min(c.deadline, Clock::now() + std::chrono::seconds(1));
  drain(c);
}

void MetricsServer::drain(Conn& c) {
  char buf[4096];
  for (int i = 0; i < 64; ++i) {  // bounded work per poll round
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_conn(c);
      return;
    }
  }
  // Still sending: go on at the next poll (the deadline bounds it).
}

void MetricsServer::close_conn(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
}

}  // namespace gvirtus::backend
