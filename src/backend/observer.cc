// observer.h: sessions as operators see them.
#include "backend/observer.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "backend/handshake.h"
#include "backend/plugins.h"
#include "backend/worker.h"
#include "common/log.h"

namespace gvirtus::backend {
namespace {

constexpr auto kStatusDeadline = std::chrono::seconds(10);
constexpr size_t kMaxStatusAnswers = 16;  // status answers being written at once

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A value for a key=value log line: bare if it is a simple word, else in double quotes with
// " and \ escaped. The strings came from clients and are printable already.
std::string kv(const std::string& v) {
  bool bare = !v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\') bare = false;
  if (bare) return v;
  std::string o = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& s : v) o += (o.empty() ? "" : ",") + s;
  return o;
}

std::vector<std::string> loaded_names(uint64_t mask) {
  std::vector<std::string> v;
  size_t n = 0;
  const LibraryPlugin* lp = library_plugins(&n);
  for (size_t i = 0; i < n && i < 64; ++i)
    if (mask & (uint64_t{1} << i)) v.emplace_back(lp[i].name);
  return v;
}

std::string end_reason(int wait_status) {
  if (WIFEXITED(wait_status)) {
    switch (WEXITSTATUS(wait_status)) {
      case kWorkerExitClosed: return "closed";
      case kWorkerExitFault: return "protocol";
      default: return "internal";
    }
  }
  return WIFSIGNALED(wait_status) ? "signal" : "other";
}

}  // namespace

const char* refusal_reason(int32_t s) {
  switch (s) {
    case wire::kWelcomeBadVersion: return "version";
    case wire::kWelcomeUnknownPlugin: return "plugin";
    case wire::kWelcomeBadSession: return "no_session";
    case wire::kWelcomeBusy: return "busy";
    case wire::kWelcomeMalformed: return "malformed";
    case wire::kWelcomeUnauthorized: return "unauthorized";
    case wire::kWelcomeCudaMismatch: return "cuda_version";
    case -1: return "not_gvirtus";
    case -2: return "timeout";
    default: return "other";
  }
}

Observer::Observer() : metrics_([this] { return metrics_text(); }) {}

Observer::~Observer() {
  for (Outgoing& o : out_)
    if (o.fd >= 0) ::close(o.fd);
}

Status Observer::listen_metrics(const std::string& url) {
  Status s = metrics_.listen(url);
  if (s) GV_INFO("metrics on " + metrics_.describe());
  return s;
}

void Observer::session_started(const SessionStart& s, int stats_fd) {
  Live l;
  l.start = s;
  l.started_unix_ms = unix_ms();
  l.started = Clock::now();
  l.view = stats::View(stats_fd);
  if (stats_fd >= 0) ::close(stats_fd);
  ++started_;
  GV_INFO("session-start session=" + std::to_string(s.session_id) +
          " worker=" + std::to_string(s.worker) + " client_pid=" + std::to_string(s.client_pid) +
          " host=" + kv(s.host) + " program=" + kv(s.program) + " identity=" + kv(s.identity) +
          " peer=" + kv(s.peer) + " plugins=" + kv(join(s.plugins)));
  live_[s.worker] = std::move(l);
}

void Observer::session_ended(pid_t worker, int wait_status, const std::string& ended) {
  auto it = live_.find(worker);
  if (it == live_.end()) return;
  const Live& l = it->second;
  const stats::Snapshot f = l.view.read();  // final: the worker has exited
  ended_calls_ += f.calls;
  ended_in_ += f.bytes_in;
  ended_out_ += f.bytes_out;
  ended_conns_ += f.connections_total;
  const std::string reason = end_reason(wait_status);
  ++ended_by_[reason];
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.3f",
                std::chrono::duration<double>(Clock::now() - l.started).count());
  const SessionStart& s = l.start;
  GV_INFO("session-end session=" + std::to_string(s.session_id) +
          " worker=" + std::to_string(s.worker) + " client_pid=" + std::to_string(s.client_pid) +
          " host=" + kv(s.host) + " program=" + kv(s.program) + " identity=" + kv(s.identity) +
          " duration_s=" + dur + " calls=" + std::to_string(f.calls) +
          " bytes_in=" + std::to_string(f.bytes_in) + " bytes_out=" + std::to_string(f.bytes_out) +
          " connections=" + std::to_string(f.connections_total) +
          " gpu_memory_peak=" + std::to_string(f.gpu_memory_peak) +
          " libraries=" + kv(join(loaded_names(f.libraries))) + " reason=" + reason +
          " exit=" + kv(ended));
  live_.erase(it);
}

void Observer::refused(int32_t welcome_status) { ++refused_by_[refusal_reason(welcome_status)]; }

BackendStatus Observer::status() const {
  BackendStatus b;
  b.now_unix_ms = unix_ms();
  b.daemon_pid = static_cast<uint32_t>(::getpid());
  for (const auto& [pid, l] : live_) {
    if (b.sessions.size() >= kMaxStatusSessions) break;
    const stats::Snapshot f = l.view.read();
    SessionStatus e;
    e.session_id = l.start.session_id;
    e.worker_pid = static_cast<uint32_t>(pid);
    e.client_pid = l.start.client_pid;
    e.host = l.start.host.substr(0, 255);
    e.program = l.start.program.substr(0, 512);
    e.identity = l.start.identity.substr(0, 256);
    e.peer = l.start.peer.substr(0, 256);
    e.started_unix_ms = l.started_unix_ms;
    e.calls = f.calls;
    e.bytes_in = f.bytes_in;
    e.bytes_out = f.bytes_out;
    e.connections = static_cast<uint32_t>(std::min<uint64_t>(f.connections_open, UINT32_MAX));
    for (const auto& p : l.start.plugins)
      if (e.plugins.size() < 64) e.plugins.push_back(p.substr(0, 64));
    e.loaded = loaded_names(f.libraries);
    if (e.loaded.size() > 64) e.loaded.resize(64);
    for (uint32_t d = 0; d < f.devices; ++d)
      if (f.gpu_memory[d] != stats::kUnknown) e.gpu_memory.emplace_back(d, f.gpu_memory[d]);
    b.sessions.push_back(std::move(e));
  }
  return b;
}

std::string Observer::metrics_text() const {
  std::string t;
  auto family = [&](const char* name, const char* type, const char* help) {
    t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&](const std::string& name, const std::string& labels, uint64_t v) {
    t += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  };
  // Live figures first: the counters are ended sessions' totals plus these.
  uint64_t calls = ended_calls_, in = ended_in_, out = ended_out_, conns_total = ended_conns_;
  uint64_t conns_open = 0;
  std::vector<std::pair<const Live*, stats::Snapshot>> now;
  for (const auto& [pid, l] : live_) {
    stats::Snapshot f = l.view.read();
    calls += f.calls;
    in += f.bytes_in;
    out += f.bytes_out;
    conns_total += f.connections_total;
    conns_open += f.connections_open;
    now.emplace_back(&l, f);
  }
  family("gvirtus_sessions", "gauge", "Client sessions being served now.");
  sample("gvirtus_sessions", "", live_.size());
  family("gvirtus_sessions_started_total", "counter", "Client sessions started.");
  sample("gvirtus_sessions_started_total", "", started_);
  family("gvirtus_sessions_ended_total", "counter",
         "Client sessions ended, by how (closed, protocol, internal, signal, other).");
  for (const char* how : {"closed", "protocol", "internal", "signal", "other"}) {
    auto it = ended_by_.find(how);
    sample("gvirtus_sessions_ended_total", std::string("reason=\"") + how + "\"",
           it == ended_by_.end() ? 0 : it->second);
  }
  family("gvirtus_calls_total", "counter", "Requests carried out, all sessions.");
  sample("gvirtus_calls_total", "", calls);
  family("gvirtus_received_bytes_total", "counter",
         "Bytes of request frames received from clients, headers included.");
  sample("gvirtus_received_bytes_total", "", in);
  family("gvirtus_sent_bytes_total", "counter",
         "Bytes of reply frames sent to clients, headers included.");
  sample("gvirtus_sent_bytes_total", "", out);
  family("gvirtus_connections", "gauge", "Client connections being served now.");
  sample("gvirtus_connections", "", conns_open);
  family("gvirtus_connections_total", "counter", "Client connections served.");
  sample("gvirtus_connections_total", "", conns_total);
  family("gvirtus_handshakes_refused_total", "counter",
         "Connections refused or dropped at the handshake, by reason.");
  for (const char* why : {"version", "plugin", "no_session", "busy", "malformed", "unauthorized",
                          "cuda_version", "not_gvirtus", "timeout", "other"}) {
    auto it = refused_by_.find(why);
    sample("gvirtus_handshakes_refused_total", std::string("reason=\"") + why + "\"",
           it == refused_by_.end() ? 0 : it->second);
  }
  family("gvirtus_status_queries_total", "counter", "`gvirtus status` queries answered.");
  sample("gvirtus_status_queries_total", "", status_queries_);
  family("gvirtus_metrics_scrapes_total", "counter", "Answers to GET /metrics, this one included.");
  sample("gvirtus_metrics_scrapes_total", "", metrics_.scrapes());
  family("gvirtus_metrics_bad_requests_total", "counter",
         "Metrics requests refused (bad, too large, too slow).");
  sample("gvirtus_metrics_bad_requests_total", "", metrics_.bad_requests());

  // Per session: labelled by the session number and who the client is.
  auto labels = [](const Live& l) {
    return "session=\"" + std::to_string(l.start.session_id) + "\",worker_pid=\"" +
           std::to_string(l.start.worker) + "\",client_pid=\"" +
           std::to_string(l.start.client_pid) + "\",host=\"" + prom_escape(l.start.host) +
           "\",identity=\"" + prom_escape(l.start.identity) + "\"";
  };
  family("gvirtus_session_calls_total", "counter", "Requests carried out in a live session.");
  for (const auto& [l, f] : now) sample("gvirtus_session_calls_total", labels(*l), f.calls);
  family("gvirtus_session_received_bytes_total", "counter", "Request bytes of a live session.");
  for (const auto& [l, f] : now)
    sample("gvirtus_session_received_bytes_total", labels(*l), f.bytes_in);
  family("gvirtus_session_sent_bytes_total", "counter", "Reply bytes of a live session.");
  for (const auto& [l, f] : now) sample("gvirtus_session_sent_bytes_total", labels(*l), f.bytes_out);
  family("gvirtus_session_connections", "gauge", "Open connections of a live session.");
  for (const auto& [l, f] : now)
    sample("gvirtus_session_connections", labels(*l), f.connections_open);
  family("gvirtus_session_start_time_seconds", "gauge", "When a live session began (Unix time).");
  for (const auto& [l, f] : now)
    sample("gvirtus_session_start_time_seconds", labels(*l), l->started_unix_ms / 1000);
  family("gvirtus_session_library_loaded", "gauge",
         "1 for each library plugin a live session's worker has loaded.");
  for (const auto& [l, f] : now)
    for (const std::string& lib : loaded_names(f.libraries))
      sample("gvirtus_session_library_loaded", labels(*l) + ",library=\"" + lib + "\"", 1);
  family("gvirtus_session_gpu_memory_bytes", "gauge",
         "GPU memory a live session's worker holds, by device, where measured.");
  for (const auto& [l, f] : now)
    for (uint32_t d = 0; d < f.devices; ++d)
      if (f.gpu_memory[d] != stats::kUnknown)
        sample("gvirtus_session_gpu_memory_bytes",
               labels(*l) + ",device=\"" + std::to_string(d) + "\"", f.gpu_memory[d]);
  return t;
}

void Observer::answer_status(Stream& s) {
  ++status_queries_;
  if (out_.size() >= kMaxStatusAnswers) {
    GV_INFO("dropped a status query from " + s.peer() + ": " +
            std::to_string(kMaxStatusAnswers) + " answers are being written already");
    return;
  }
  wire::Welcome w;
  w.status = wire::kWelcomeOk;
  w.message = "status";
  Outgoing o;
  o.bytes = welcome_frame(w);
  wire::Writer body;
  encode_status(status(), body);
  if (body.size() > wire::kMaxPayload) {
    GV_WARN("the status answer is over the frame limit: sent without its sessions");
    body.clear();
    BackendStatus empty;
    empty.now_unix_ms = unix_ms();
    empty.daemon_pid = static_cast<uint32_t>(::getpid());
    encode_status(empty, body);
  }
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kReply);
  h.call_id = wire::kCallStatus;
  h.request_id = 0;
  h.length = static_cast<uint32_t>(body.size());
  uint8_t hdr[wire::kHeaderSize];
  wire::encode_header(h, hdr);
  o.bytes.insert(o.bytes.end(), hdr, hdr + sizeof hdr);
  o.bytes.insert(o.bytes.end(), body.data(), body.data() + body.size());
  o.fd = s.release_fd();
  if (o.fd < 0) return;
  o.deadline = Clock::now() + kStatusDeadline;
  GV_DEBUG("status query answered: " + std::to_string(live_.size()) + " session(s)");
  flush(o);
  if (o.fd >= 0) out_.push_back(std::move(o));
}

void Observer::flush(Outgoing& o) {
  while (o.sent < o.bytes.size()) {
    ssize_t n = ::send(o.fd, o.bytes.data() + o.sent, o.bytes.size() - o.sent,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break;
    o.sent += static_cast<size_t>(n);
  }
  ::shutdown(o.fd, SHUT_WR);
  ::close(o.fd);
  o.fd = -1;
}

void Observer::add_poll_fds(std::vector<pollfd>* fds, Clock::time_point* wake) {
  polled_out_ = out_.size();
  for (const Outgoing& o : out_) {
    fds->push_back({o.fd, POLLOUT, 0});
    *wake = std::min(*wake, o.deadline);
  }
  metrics_.add_poll_fds(fds, wake);
}

void Observer::on_poll(const pollfd* fds, size_t n) {
  // answer_status may have appended since add_poll_fds: only the first polled_out_ were polled.
  const size_t k = std::min(n, polled_out_);
  for (size_t i = 0; i < k; ++i)
    if (fds[i].revents && fds[i].fd == out_[i].fd) flush(out_[i]);
  metrics_.on_poll(fds + k, n - k);
  const Clock::time_point now = Clock::now();
  for (Outgoing& o : out_) {
    if (o.fd >= 0 && now >= o.deadline) {
      GV_DEBUG("status query: the client did not read its answer in time");
      ::close(o.fd);
      o.fd = -1;
    }
  }
  out_.erase(std::remove_if(out_.begin(), out_.end(), [](const Outgoing& o) { return o.fd < 0; }),
             out_.end());
}

std::vector<int> Observer::fds() const {
  std::vector<int> v = metrics_.fds();
  for (const Outgoing& o : out_) v.push_back(o.fd);
  return v;
}

}  // namespace gvirtus::backend
