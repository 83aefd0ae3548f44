// Logging with levels. One process-wide logger writing to stderr, prefixed with the component
// name ("backend", "worker 1234", "client"). Level from GVIRTUS_LOGLEVEL (trace, debug, info,
// warn, error, off; also the original GVirtuS numeric levels 0..6) or set_level().
#pragma once
#include <string>

namespace gvirtus::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

void init(const std::string& component);  // reads GVIRTUS_LOGLEVEL; default warn (client), info (backend)
void set_component(const std::string& component);
void set_level(Level l);
Level level();
bool parse_level(const std::string& text, Level* out);
void write(Level l, const std::string& msg);
// From now on, log lines go to `fd` instead of file descriptor 2 (the worker keeps a copy of its
// stderr for them before it captures fd 2 for the application).
void set_fd(int fd);

// Logs msg once per key for the life of the process (e.g. an unsupported function's name).
void once(Level l, const std::string& key, const std::string& msg);

}  // namespace gvirtus::log

#define GV_LOG(lvl, msg)                                                \
  do {                                                                  \
    if (::gvirtus::log::Level::lvl >= ::gvirtus::log::level())          \
      ::gvirtus::log::write(::gvirtus::log::Level::lvl, (msg));         \
  } while (0)
#define GV_TRACE(msg) GV_LOG(kTrace, msg)
#define GV_DEBUG(msg) GV_LOG(kDebug, msg)
#define GV_INFO(msg) GV_LOG(kInfo, msg)
#define GV_WARN(msg) GV_LOG(kWarn, msg)
#define GV_ERROR(msg) GV_LOG(kError, msg)
