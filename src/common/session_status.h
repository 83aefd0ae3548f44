// The answer to `gvirtus status`: the backend's live sessions, as the daemon sends it in the
// Reply (call wire::kCallStatus) that follows the Welcome of a status query. One definition for
// the daemon (src/backend/observer.cc) and the command (src/cli/status.cc); docs/protocol.md,
// "Status query", lists the bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/wire.h"

namespace gvirtus {

struct SessionStatus {
  uint64_t session_id = 0;
  uint32_t worker_pid = 0;
  uint32_t client_pid = 0;
  std::string host;      // <= 255 bytes, printable
  std::string program;   // <= 512 bytes, printable
  std::string identity;  // <= 256 bytes (backend/limits.h): "cert:CN=alice", "token", "uid:1000"
  std::string peer;      // <= 256 bytes: where the primary connection came from
  uint64_t started_unix_ms = 0;
  uint64_t calls = 0;
  uint64_t bytes_in = 0;   // request frames, headers included
  uint64_t bytes_out = 0;  // reply frames, headers included
  uint32_t connections = 0;  // open now
  std::vector<std::string> plugins;  // asked for in the Hello (<= 64 of <= 64 bytes)
  std::vector<std::string> loaded;   // library plugins the worker has loaded (same bounds)
  // GPU memory the worker holds, per device index; empty when not measured.
  std::vector<std::pair<uint32_t, uint64_t>> gpu_memory;
};

struct BackendStatus {
  uint64_t now_unix_ms = 0;  // the daemon's clock when it answered
  uint32_t daemon_pid = 0;
  std::vector<SessionStatus> sessions;  // <= kMaxStatusSessions
};

constexpr uint32_t kMaxStatusSessions = 1u << 16;

void encode_status(const BackendStatus& s, wire::Writer& w);
BackendStatus decode_status(wire::Reader& r);  // throws wire::DecodeError

}  // namespace gvirtus
