// session_status.h: encoding of the answer to `gvirtus status`.
#include "common/session_status.h"

namespace gvirtus {
namespace {

void put_list(wire::Writer& w, const std::vector<std::string>& v) {
  w.put<uint32_t>(static_cast<uint32_t>(v.size()));
  for (const auto& s : v) w.put_string(s);
}

std::vector<std::string> get_list(wire::Reader& r) {
  uint32_t n = r.get<uint32_t>();
  if (n > 64) throw wire::DecodeError("more than 64 plugin names in a session status");
  std::vector<std::string> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back(r.get_string(64));
  return v;
}

}  // namespace

void encode_status(const BackendStatus& s, wire::Writer& w) {
  w.put(s.now_unix_ms);
  w.put(s.daemon_pid);
  w.put<uint32_t>(static_cast<uint32_t>(s.sessions.size()));
  for (const SessionStatus& e : s.sessions) {
    w.put(e.session_id);
    w.put(e.worker_pid);
    w.put(e.client_pid);
    w.put_string(e.host);
    w.put_string(e.program);
    w.put_string(e.identity);
    w.put_string(e.peer);
    w.put(e.started_unix_ms);
    w.put(e.calls);
    w.put(e.bytes_in);
    w.put(e.bytes_out);
    w.put(e.connections);
    put_list(w, e.plugins);
    put_list(w, e.loaded);
    w.put<uint32_t>(static_cast<uint32_t>(e.gpu_memory.size()));
    for (const auto& [dev, bytes] : e.gpu_memory) {
      w.put(dev);
      w.put(bytes);
    }
  }
}

BackendStatus decode_status(wire::Reader& r) {
  BackendStatus s;
  s.now_unix_ms = r.get<uint64_t>();
  s.daemon_pid = r.get<uint32_t>();
  uint32_t n = r.get<uint32_t>();
  if (n > kMaxStatusSessions) throw wire::DecodeError("too many sessions in a status answer");
  for (uint32_t i = 0; i < n; ++i) {
    SessionStatus e;
    e.session_id = r.get<uint64_t>();
    e.worker_pid = r.get<uint32_t>();
    e.client_pid = r.get<uint32_t>();
    e.host = r.get_string(255);
    e.program = r.get_string(512);
    e.identity = r.get_string(256);
    e.peer = r.get_string(256);
    e.started_unix_ms = r.get<uint64_t>();
    e.calls = r.get<uint64_t>();
    e.bytes_in = r.get<uint64_t>();
    e.bytes_out = r.get<uint64_t>();
    e.connections = r.get<uint32_t>();
    e.plugins = get_list(r);
    e.loaded = get_list(r);
    uint32_t d = r.get<uint32_t>();
    if (d > 1024) throw wire::DecodeError("too many devices in a session status");
    for (uint32_t k = 0; k < d; ++k) {
      uint32_t dev = r.get<uint32_t>();
      uint64_t bytes = r.get<uint64_t>();
      e.gpu_memory.emplace_back(dev, bytes);
    }
    s.sessions.push_back(std::move(e));
  }
  r.expect_end();
  return s;
}

}  // namespace gvirtus
