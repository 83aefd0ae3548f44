// log.h on top of spdlog (header-only, compiled into this file only): one stderr logger per
// process, pattern "time level [component] pid: message".
#include "common/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace gvirtus::log {
namespace {

std::atomic<Level> g_level{Level::kWarn};
std::atomic<int> g_fd{2};

// Whole lines straight to a file descriptor (2 unless set_fd), one write each, under the sink's
// lock so lines from threads do not interleave.
class FdSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    const char* p = buf.data();
    size_t n = buf.size();
    int fd = g_fd.load(std::memory_order_relaxed);
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w <= 0) return;
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void flush_() override {}
};

struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;  // REQUIRES: mu held to replace
  std::unordered_set<std::string> once_keys;
};

State& state() {
  static State* s = new State();  // never destroyed: logging may happen during exit
  return *s;
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// The component goes into the pattern literally; '%' would start a flag.
std::string pattern_for(const std::string& component) {
  std::string escaped;
  for (char c : component) {
    if (c == '%') escaped += '%';
    escaped += c;
  }
  return "%Y-%m-%d %H:%M:%S.%e %l [" + escaped + "] pid %P: %v";
}

std::shared_ptr<spdlog::logger> logger_locked(State& s) {
  if (!s.logger) {
    auto sink = std::make_shared<FdSink>();
    s.logger = std::make_shared<spdlog::logger>("gvirtus", sink);
    s.logger->set_level(spdlog::level::trace);  // filtering is ours, by g_level
    s.logger->set_pattern(pattern_for("gvirtus"));
  }
  return s.logger;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool parse_level(const std::string& text, Level* out) {
  const std::string t = lower(text);
  static const struct {
    const char* name;
    Level level;
  } kNames[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug},   {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"warning", Level::kWarn},  {"error", Level::kError},
      {"err", Level::kError},   {"fatal", Level::kError},   {"critical", Level::kError},
      {"off", Level::kOff},     {"none", Level::kOff},
  };
  for (const auto& n : kNames) {
    if (t == n.name) {
      *out = n.level;
      return true;
    }
  }
  // Numbers: the original GVirtuS levels, either 0..6 or log4cplus' 0, 10000, ..., 60000
  // (trace, debug, info, warn, error, fatal, off). Fatal maps to error.
  if (t.empty() || t.size() > 5) return false;
  for (char c : t)
    if (c < '0' || c > '9') return false;
  int n = std::atoi(t.c_str());
  if (n >= 10000 && n % 10000 == 0) n /= 10000;
  static const Level kNumeric[] = {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn,
                                   Level::kError, Level::kError, Level::kOff};
  if (n < 0 || n > 6) return false;
  *out = kNumeric[n];
  return true;
}

void init(const std::string& component) {
  set_component(component);
  Level l = component == "client" ? Level::kWarn : Level::kInfo;
  if (const char* env = std::getenv("GVIRTUS_LOGLEVEL")) {
    Level parsed;
    if (parse_level(env, &parsed)) {
      l = parsed;
    } else {
      set_level(l);
      write(Level::kWarn, std::string("GVIRTUS_LOGLEVEL=\"") + env +
                              "\" is not a level (trace, debug, info, warn, error, off, 0-6)");
    }
  }
  set_level(l);
}

void set_component(const std::string& component) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  logger_locked(s)->set_pattern(pattern_for(component));
}

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }

Level level() { return g_level.load(std::memory_order_relaxed); }

void write(Level l, const std::string& msg) {
  if (l == Level::kOff || l < level()) return;
  std::shared_ptr<spdlog::logger> lg;
  {
    State& s = state();
    std::lock_guard<std::mutex> g(s.mu);
    lg = logger_locked(s);
  }
  lg->log(to_spdlog(l), "{}", msg);
}

void once(Level l, const std::string& key, const std::string& msg) {
  {
    State& s = state();
    std::lock_guard<std::mutex> g(s.mu);
    if (!s.once_keys.insert(key).second) return;
  }
  write(l, msg);
}

void set_fd(int fd) { g_fd.store(fd, std::memory_order_relaxed); }

}  // namespace gvirtus::log
