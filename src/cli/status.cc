// status.h: `gvirtus status`, a status query (Hello.primary = kHelloStatus) answered by the
// daemon after the same access checks as a client (docs/protocol.md, "Status query").
#include "cli/status.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cli/launch.h"
#include "common/auth.h"
#include "common/config.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/transport.h"
#include "frontend/core/deadline_watch.h"
#include "frontend/core/session.h"

namespace gvirtus::cli {
namespace {

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string local_time(uint64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& s : v) o += (o.empty() ? "" : ",") + s;
  return o.empty() ? "-" : o;
}

constexpr char kLate[] = "no status answer in time";

// The Hello, the Welcome and the status answer, over a connected stream.
Status exchange(client::StreamConnection& conn, int timeout_ms, const std::string& key,
                const std::string& key_source, BackendStatus* out) {
  wire::Hello hello;
  hello.primary = wire::kHelloStatus;
  hello.pid = static_cast<uint32_t>(::getpid());
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) hello.hostname = host;
  hello.program = "gvirtus status";
  wire::Welcome w;
  Status st = conn.handshake(hello, timeout_ms, &w, key, key_source);
  if (!st) return Status(st.code(), "handshake: " + st.message());
  if (w.status != wire::kWelcomeOk) {
    if (w.status == wire::kWelcomeMalformed && w.minor < 1)
      return failed("the backend is too old to answer `gvirtus status` (protocol " +
                    std::to_string(w.major) + "." + std::to_string(w.minor) + ")");
    return failed("the backend refused (status " + std::to_string(w.status) + "): " + w.message);
  }
  Stream& s = *conn.stream();
  wire::FrameHeader h;
  st = recv_header(s, wire::kMaxPayload, &h);
  if (!st) return Status(st.code(), "reading the status answer: " + st.message());
  if (h.kind != static_cast<uint16_t>(wire::Kind::kReply) || h.call_id != wire::kCallStatus)
    return protocol_error("expected the status answer, got frame kind " + std::to_string(h.kind));
  std::vector<uint8_t> body(h.length);
  if (!body.empty()) {
    st = s.recv(body.data(), body.size());
    if (!st) return Status(st.code(), "reading the status answer: " + st.message());
  }
  try {
    wire::Reader r(body.data(), body.size());
    *out = decode_status(r);
  } catch (const wire::DecodeError& e) {
    return protocol_error(std::string("malformed status answer: ") + e.what());
  }
  return Status::ok();
}

}  // namespace

Status fetch_status(BackendStatus* out, std::string* where, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  ClientSecurity sec;
  Status st = resolve_client_security(&sec);
  if (!st) return st;
  std::string key;
  if (!sec.token_file.empty()) {
    st = auth::load_token_file(sec.token_file, sec.token_source, &key);
    if (!st) return st;
  }
  std::unique_ptr<Stream> stream;
  st = client::endpoint_connector(sec)(&stream, where);
  if (!st) return st;
  // The client core's handshake (token proof, versions), with a Hello that asks for the
  // status, then the answer; a backend that stops or trickles fails at the deadline.
  client::StreamConnection conn(nullptr, std::move(stream), /*primary=*/false);
  client::DeadlineWatch watch(*conn.stream(), deadline);
  st = exchange(conn, timeout_ms, key, sec.token_source, out);
  if (watch.end()) return Status(Code::kTimeout, kLate);
  return st;
}

std::string format_status(const BackendStatus& b, const std::string& where) {
  std::string t = "backend " + where + " (daemon pid " + std::to_string(b.daemon_pid) + "): " +
                  std::to_string(b.sessions.size()) + " session(s)\n";
  for (const SessionStatus& e : b.sessions) {
    const uint64_t up_s = b.now_unix_ms > e.started_unix_ms
                              ? (b.now_unix_ms - e.started_unix_ms) / 1000 : 0;
    t += "\nsession " + std::to_string(e.session_id) + "  worker pid " +
         std::to_string(e.worker_pid) + "\n";
    t += "  client      pid " + std::to_string(e.client_pid) + " on " + e.host + ": " + e.program +
         "\n";
    t += "  identity    " + e.identity + "  (from " + e.peer + ")\n";
    t += "  started     " + local_time(e.started_unix_ms) + " (" + std::to_string(up_s) +
         " s ago)\n";
    t += "  calls       " + std::to_string(e.calls) + "  connections " +
         std::to_string(e.connections) + "\n";
    t += "  bytes       in " + std::to_string(e.bytes_in) + " (" + human_bytes(e.bytes_in) +
         "), out " + std::to_string(e.bytes_out) + " (" + human_bytes(e.bytes_out) + ")\n";
    t += "  plugins     asked " + join(e.plugins) + "; loaded " + join(e.loaded) + "\n";
    std::string mem;
    for (const auto& [dev, bytes] : e.gpu_memory)
      mem += (mem.empty() ? "" : ", ") + std::string("device ") + std::to_string(dev) + ": " +
             human_bytes(bytes);
    t += "  gpu memory  " + (mem.empty() ? std::string("not measured") : mem) + "\n";
  }
  return t;
}

int status_command(const Options& o) {
  log::init("gvirtus");
  // Where and how to connect, found as for `gvirtus run`; the client core reads the environment.
  Target t;
  Status ts = resolve_target(o, &t);
  if (!ts) {
    std::fprintf(stderr, "gvirtus status: %s\n", ts.message().c_str());
    return 1;
  }
  if (t.embedded) {
    std::fprintf(stderr, "gvirtus status: no backend configured: give --endpoint, --config or "
                         "GVIRTUS_ENDPOINT\n");
    return 1;
  }
  setenv("GVIRTUS_ENDPOINT", t.endpoint.c_str(), 1);
  for (const std::string& kv : t.security_env) {
    size_t eq = kv.find('=');
    setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  BackendStatus b;
  std::string where;
  Status s = fetch_status(&b, &where);
  if (!s) {
    std::fprintf(stderr, "gvirtus status: %s%s\n", where.empty() ? "" : (where + ": ").c_str(),
                 s.message().c_str());
    return 1;
  }
  std::fputs(format_status(b, where).c_str(), stdout);
  return 0;
}

}  // namespace gvirtus::cli
