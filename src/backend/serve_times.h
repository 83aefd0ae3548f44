// Where a connection's server thread spends its time, for finding what holds a session back
// (docs/profiling.md): with GVIRTUS_SERVE_TIMES=1 in the backend's environment, each connection
// logs at its end (info level) how long its thread spent reading requests (waiting for the
// client included), waiting for its turn in the session-wide order, in handlers, and replying.
// Off by default: then nothing is timed.
#pragma once
#include <chrono>
#include <cstdint>

namespace gvirtus::backend {

class ServeTimes {
 public:
  enum Phase { kReading, kTurn, kHandler, kReplying, kPhases };

  explicit ServeTimes(uint64_t conn_id, bool on = ServeTimes::on());
  ~ServeTimes();  // logs the totals, if on
  ServeTimes(const ServeTimes&) = delete;
  ServeTimes& operator=(const ServeTimes&) = delete;

  static bool on();  // GVIRTUS_SERVE_TIMES=1, read once
  // The phase that ended now; the next one starts now.
  void mark(Phase ended) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    spent_[ended] += now - last_;
    last_ = now;
    if (ended == kReplying) ++requests_;
  }
  // The totals so far (tests).
  double seconds(Phase p) const { return std::chrono::duration<double>(spent_[p]).count(); }
  uint64_t requests() const { return requests_; }

 private:
  const bool on_;
  const uint64_t conn_id_;
  uint64_t requests_ = 0;
  std::chrono::steady_clock::time_point last_;
  std::chrono::steady_clock::duration spent_[kPhases] = {};
};

}  // namespace gvirtus::backend
