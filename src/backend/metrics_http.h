// The backend's Prometheus endpoint (`--metrics http://HOST:PORT`): a minimal HTTP/1.x server
// for GET /metrics, run by the daemon's poll loop. It never blocks that loop: every socket is
// non-blocking, a request head is bounded (8 KiB), each connection has one deadline for reading
// the request and writing the answer, and only a few connections are served at once, so a slow,
// huge or garbled request costs the clients nothing (docs/backend.md, "Metrics").
//
// Hand-written rather than prometheus-cpp: its server runs threads of its own inside a daemon
// that forks workers, and the text format is small.
#pragma once
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/transport.h"

namespace gvirtus::backend {

class MetricsServer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxRequest = 8u << 10;   // request line and headers
  static constexpr size_t kMaxConnections = 16;     // more are closed at once
  static constexpr auto kDeadline = std::chrono::seconds(5);  // per connection, in all

  // `body` builds the exposition text for each GET /metrics.
  explicit MetricsServer(std::function<std::string()> body) : body_(std::move(body)) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `url`: http://HOST:PORT or http://[V6]:PORT, optionally ending in /metrics.
  Status listen(const std::string& url);
  std::string describe() const;
  bool listening() const { return listener_ != nullptr; }

  // The poll loop: add_poll_fds appends this server's descriptors (and lowers *wake to its next
  // deadline); on_poll gets back the same entries, in order, after poll().
  void add_poll_fds(std::vector<pollfd>* fds, Clock::time_point* wake) const;
  void on_poll(const pollfd* fds, size_t n);
  // Every descriptor it holds, for a freshly forked child to close.
  std::vector<int> fds() const;

  uint64_t scrapes() const { return scrapes_; }          // 200 answers to /metrics
  uint64_t bad_requests() const { return bad_; }         // everything else, and timeouts

 private:
  struct Conn {
    int fd = -1;
    std::string in;          // the request head so far
    std::string out;         // the answer, once the head is complete
    size_t sent = 0;
    Clock::time_point deadline;
    // Reading the request, writing the answer, then reading until the client closes (so that
    // what it sent beyond its request does not turn our close into a reset that destroys the
    // answer before it is read).
    enum class Phase { kReading, kWriting, kDraining } phase = Phase::kReading;
  };
  void accept_all();
  void read_from(Conn& c);
  void write_to(Conn& c);
  void drain(Conn& c);
  void answer(Conn& c);
  static void close_conn(Conn& c);

  std::function<std::string()> body_;
  std::unique_ptr<Listener> listener_;
  std::string url_;
  std::vector<Conn> conns_;
  uint64_t scrapes_ = 0;
  uint64_t bad_ = 0;
};

// Prometheus text format helpers: a label value with \, " and newline escaped.
std::string prom_escape(const std::string& v);

}  // namespace gvirtus::backend
