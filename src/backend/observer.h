// What the daemon knows of its sessions, for operators: the live sessions and their figures
// (read from each worker's shared counter block, stats.h), the answer to `gvirtus status`, the
// Prometheus endpoint, and the structured session start / end log lines (docs/backend.md,
// "Observing sessions"). Owned by the daemon and driven by its poll loop; never blocks it.
#pragma once
#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/metrics_http.h"
#include "backend/stats.h"
#include "common/session_status.h"
#include "common/status.h"
#include "common/transport.h"
#include "common/wire.h"

namespace gvirtus::backend {

// Who a session's client is, as the daemon saw its primary connection.
struct SessionStart {
  uint64_t session_id = 0;
  pid_t worker = 0;
  uint32_t client_pid = 0;
  std::string host, program;  // printable already
  std::string identity;       // limits.h: "cert:DN", "token", "uid:N", "host:ADDR"
  std::string peer;
  std::vector<std::string> plugins;
};

class Observer {
 public:
  using Clock = std::chrono::steady_clock;
  Observer();
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Serves Prometheus metrics at url (http://HOST:PORT); not called: no endpoint.
  Status listen_metrics(const std::string& url);

  // A session began; stats_fd is its worker's counter block (create_block_fd), taken and closed
  // (-1: the session has no figures). Logs the session-start line.
  void session_started(const SessionStart& s, int stats_fd);
  // Its worker was reaped: logs the session-end line with its totals and forgets it.
  // `ended` is exit_text's words; `wait_status` the waitpid status.
  void session_ended(pid_t worker, int wait_status, const std::string& ended);
  // A connection was refused at its handshake with this Welcome status, or dropped (-1: bad
  // frame magic, -2: handshake timeout).
  void refused(int32_t welcome_status);

  // A status query (Hello.primary == kHelloStatus) that passed the access checks: queue the
  // Welcome and the status Reply on s, written as the socket takes them, then closed. Takes
  // the descriptor out of s (release_fd).
  void answer_status(Stream& s);

  // The poll loop (see MetricsServer): descriptors to watch, and their events afterwards.
  void add_poll_fds(std::vector<pollfd>* fds, Clock::time_point* wake);
  void on_poll(const pollfd* fds, size_t n);
  // Every descriptor this object holds, for a freshly forked child to close.
  std::vector<int> fds() const;

  BackendStatus status() const;  // the live sessions now
  std::string metrics_text() const;  // Prometheus exposition text

 private:
  struct Live {
    SessionStart start;
    uint64_t started_unix_ms = 0;
    Clock::time_point started;
    stats::View view;
  };
  struct Outgoing {
    int fd = -1;
    std::vector<uint8_t> bytes;
    size_t sent = 0;
    Clock::time_point deadline;
  };
  void flush(Outgoing& o);

  std::map<pid_t, Live> live_;
  MetricsServer metrics_;
  std::vector<Outgoing> out_;
  size_t polled_out_ = 0;  // entries of out_ that the last add_poll_fds gave to poll
  // Totals of ended sessions, so the counters only grow.
  uint64_t started_ = 0;
  uint64_t ended_calls_ = 0, ended_in_ = 0, ended_out_ = 0, ended_conns_ = 0;
  std::map<std::string, uint64_t> ended_by_;    // how sessions ended
  std::map<std::string, uint64_t> refused_by_;  // why handshakes were refused
  uint64_t status_queries_ = 0;
};

// The words of a Welcome status for the refusal counter's label ("unauthorized", ...).
const char* refusal_reason(int32_t welcome_status);

}  // namespace gvirtus::backend
