// A connection's time by phase (serve_times.h).
#include "backend/serve_times.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace gvirtus::backend {

bool ServeTimes::on() {
  static const bool v = [] {
    const char* e = std::getenv("GVIRTUS_SERVE_TIMES");
    return e && std::strcmp(e, "1") == 0;
  }();
  return v;
}

ServeTimes::ServeTimes(uint64_t conn_id, bool on)
    : on_(on), conn_id_(conn_id), last_(on_ ? std::chrono::steady_clock::now()
                                            : std::chrono::steady_clock::time_point{}) {}

ServeTimes::~ServeTimes() {
  if (!on_) return;
  mark(kReading);  // the last read, which ended the connection
  auto s = [&](Phase p) { return seconds(p); };
  char line[256];
  std::snprintf(line, sizeof line,
                "connection %llu: %llu requests; reading %.3f s (waiting for the client "
                "included), waiting for the turn %.3f s, in handlers %.3f s, replying %.3f s",
                static_cast<unsigned long long>(conn_id_),
                static_cast<unsigned long long>(requests_), s(kReading), s(kTurn), s(kHandler),
                s(kReplying));
  GV_INFO(line);
}

}  // namespace gvirtus::backend
