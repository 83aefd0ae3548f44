// The daemon's poll loop: listeners, handshakes in progress, worker control sockets and a
// self-pipe for signals. Nothing here blocks on a client.
#include "backend/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <openssl/crypto.h>

#include "backend/handshake.h"
#include "backend/limits.h"
#include "backend/spawn.h"
#include "backend/observer.h"
#include "backend/stats.h"
#include "backend/tls_relay.h"
#include "backend/worker.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/transport.h"

namespace gvirtus::backend {
namespace {

using Clock = std::chrono::steady_clock;
using Token = std::array<uint8_t, 16>;

constexpr size_t kMaxPending = 1024;         // handshakes in progress at once
// Of those, TLS ones: each costs a relay process (fork and exec) before the client has shown
// anything. Past this many, TLS listeners are not accepted from: new connections wait in the
// kernel's listen queue (not refused) until some handshake completes or times out.
constexpr size_t kMaxTlsHandshakes = 64;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kKillWait = std::chrono::seconds(2);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

int g_signal_pipe = -1;  // write end, for the handlers

// Environment variables naming secrets: a worker or relay has no business with them (the files
// may still be readable to one of the daemon's own user: "worker_user" closes that,
// docs/security.md).
const std::vector<std::string> kSecretEnvironment = {
    "GVIRTUS_TOKEN_FILE", "GVIRTUS_TLS_CA", "GVIRTUS_TLS_CLIENT_CERT", "GVIRTUS_TLS_CLIENT_KEY"};

// Every signal blocked while it lives: around a fork, until the child has reset its handlers
// (ours would write to a pipe the child no longer has).
struct SignalsBlocked {
  sigset_t old;
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
  }
  ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &old, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;
};

void on_signal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  ssize_t n = ::write(g_signal_pipe, &b, 1);
  (void)n;
  errno = saved;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) {
    int code = WEXITSTATUS(status);
    switch (code) {
      case kWorkerExitClosed: return "exited normally";
      case kWorkerExitFault: return "exited with code 3 (the client broke the protocol)";
      default: return "exited with code " + std::to_string(code);
    }
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")" +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "ended with status " + std::to_string(status);
}

// A connection whose Hello is being read. Reads never block (MSG_DONTWAIT), so the socket
// itself stays in blocking mode for the worker.
struct Pending {
  std::unique_ptr<Stream> stream;
  std::string peer;
  Clock::time_point deadline;
  uint8_t hdr[wire::kHeaderSize];
  size_t hdr_got = 0;
  wire::FrameHeader header;
  std::vector<uint8_t> payload;
  size_t payload_got = 0;
  bool done = false;
  // Access: what the listener asks of this connection and what it has shown.
  bool needs_auth = false;
  // A connection from a TLS relay begins with the relay's note (tls_relay.h): read first.
  bool note_pending = false;
  bool via_relay = false;           // a TLS connection (counts against kMaxTlsHandshakes)
  bool note_sized = false;
  uint8_t note_hdr[kRelayNoteHeader] = {};
  std::vector<uint8_t> note_subject;
  size_t note_got = 0;
  std::string cert_subject;         // the verified client certificate's subject, "" if none
  std::string refusal;              // set at accept (peer uid not allowed): refused at its Hello
  long uid = -1;                    // a Unix peer's user id
  std::string identity = "none";    // who the client proved to be, for status and logs
  bool challenged = false;          // an AuthStart was answered with a Challenge
  uint8_t client_nonce[wire::kNonceSize] = {};
  uint8_t server_nonce[wire::kNonceSize] = {};
};

struct WorkerRec {
  pid_t pid = 0;
  uint64_t session_id = 0;
  Token token{};
  std::string client;
  std::string identity;  // limits.h
  int control_fd = -1;  // -1 once the worker closed its end (it is exiting)
  Clock::time_point started;
};

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& opt) : opt_(opt) {}
  int run();

 private:
  Status setup();
  void loop();
  void shutdown();
  void on_signals();
  void reap();
  void accept_from(size_t listener);
  size_t tls_handshakes() const;  // pending connections that came through a TLS relay
  void start_tls_relay(std::unique_ptr<Stream> net, size_t listener);
  ExecSpec relay_spec() const;
  std::string relay_files_now() const;
  void start_spare_relay();
  bool hand_to_spare(int net_fd, int plain_fd, const std::string& peer);
  void add_pending(std::unique_ptr<Stream> s, const std::string& peer, size_t listener,
                   bool from_relay);
  void advance(Pending& p);
  bool read_relay_note(Pending& p);
  void on_auth_start(Pending& p);
  bool check_auth(Pending& p, const wire::Hello& hello);
  void on_hello(Pending& p);
  void refuse(Pending& p, const wire::Welcome& w, bool quiet = false);
  void start_session(Pending& p, const wire::Hello& hello);
  void join_session(Pending& p, const wire::Hello& hello);
  void forget_token(WorkerRec& w);
  void close_daemon_fds_in_child(int keep_a, int keep_b, int keep_c = -1);
  void forget_secrets_in_child(bool keep_tls);
  Status secure_unix_socket(const Endpoint& ep);

  DaemonOptions opt_;
  int sig_r_ = -1, sig_w_ = -1;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<Endpoint> listener_eps_;  // parallel to listeners_
  std::set<pid_t> relays_;              // TLS relay processes alive (the spare too)
  // A relay started ahead, waiting for the next TLS connection (tls_relay.h): its process, the
  // daemon's end of its handoff socket, and relay_files_now() when it was started.
  struct {
    pid_t pid = -1;
    int fd = -1;
    std::string stamp;
  } spare_;
  // A TLS connection came since the last spare was started: start the next once no TLS
  // handshake is under way (loop). Not after a spare ended by itself, which would loop.
  bool spare_wanted_ = false;
  std::vector<std::unique_ptr<Pending>> pending_;
  std::map<pid_t, WorkerRec> workers_;
  std::map<Token, pid_t> by_token_;
  uint64_t next_session_ = 1;
  Clock::time_point accept_paused_until_{};
  Observer observer_;  // status queries, metrics, session logs (observer.h)
};

// The socket file was created 0600 (listen_on); with a configured group it becomes 0660 and
// that group's.
Status Daemon::secure_unix_socket(const Endpoint& ep) {
  if (opt_.unix_group == static_cast<gid_t>(-1)) return Status::ok();
  if (::chown(ep.path.c_str(), static_cast<uid_t>(-1), opt_.unix_group) != 0 ||
      ::chmod(ep.path.c_str(), 0660) != 0)
    return failed("cannot give " + ep.to_string() + " to group " +
                  std::to_string(opt_.unix_group) + ": " + std::strerror(errno));
  return Status::ok();
}

Status Daemon::setup() {
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
    return failed(std::string("pipe: ") + std::strerror(errno));
  sig_r_ = p[0];
  sig_w_ = p[1];
  g_signal_pipe = sig_w_;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, nullptr);

  // Each client connection holds a descriptor while its handshake is read; the common soft
  // limit of 1024 is low for a busy backend. Workers inherit the raised limit.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 65536);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  for (const Endpoint& ep : opt_.listen) {
    if (ep.tls && !opt_.tls) return invalid(ep.to_string() + ": no TLS certificate configured");
    std::unique_ptr<Listener> l;
    Status s = listen_on(ep, &l);
    if (!s) return s;
    std::string how;
    if (ep.type == Endpoint::Type::kUnix || ep.type == Endpoint::Type::kShm) {
      Status ps = secure_unix_socket(ep);
      if (!ps) return ps;
      how = opt_.unix_group == static_cast<gid_t>(-1) ? " (mode 0600" : " (mode 0660, group " + std::to_string(opt_.unix_group);
      how += ", peer uids checked)";
    }
    if (ep.tls) how += opt_.tls->verifies_clients() ? " (TLS 1.3, client certificates required)" : " (TLS 1.3)";
    if (listener_needs_auth(opt_, ep) && !opt_.auth_key.empty()) how += " (token required)";
    if (!listener_needs_auth(opt_, ep) && !is_local(ep))
      GV_WARN("listening on " + l->describe() + " WITHOUT authentication (--insecure): anyone " +
              "who can reach it can run code in this backend's workers");
    GV_INFO("listening on " + l->describe() + how);
    listeners_.push_back(std::move(l));
    listener_eps_.push_back(ep);
  }
  if (!opt_.metrics_url.empty()) return observer_.listen_metrics(opt_.metrics_url);
  return Status::ok();
}

int Daemon::run() {
  Status s = setup();
  if (!s) {
    GV_ERROR(s.message());
    listeners_.clear();
    return 1;
  }
  if (opt_.ready_fd >= 0) {
    const char msg[] = "ready\n";
    ssize_t n;
    do {
      n = ::write(opt_.ready_fd, msg, sizeof msg - 1);
    } while (n < 0 && errno == EINTR);
    ::close(opt_.ready_fd);
    opt_.ready_fd = -1;
  }
  start_spare_relay();  // after the ready descriptor is closed: no child may hold it
  loop();
  shutdown();
  return 0;
}

void Daemon::loop() {
  std::vector<pollfd> fds;
  // What each pollfd stands for: 0 signal pipe, 1 listener, 2 pending, 3 worker control.
  std::vector<std::pair<int, size_t>> what;
  std::vector<pid_t> worker_of;
  while (!stopping_) {
    fds.clear();
    what.clear();
    worker_of.clear();
    fds.push_back({sig_r_, POLLIN, 0});
    what.push_back({0, 0});
    Clock::time_point now = Clock::now();
    if (now >= accept_paused_until_) {
      const bool tls_full = tls_handshakes() >= kMaxTlsHandshakes;
      for (size_t i = 0; i < listeners_.size(); ++i) {
        if (tls_full && listener_eps_[i].tls) continue;  // its connections wait in the queue
        fds.push_back({listeners_[i]->fd(), POLLIN, 0});
        what.push_back({1, i});
      }
    }
    Clock::time_point wake = Clock::time_point::max();
    if (now < accept_paused_until_) wake = accept_paused_until_;
    for (size_t i = 0; i < pending_.size(); ++i) {
      fds.push_back({pending_[i]->stream->fd(), POLLIN, 0});
      what.push_back({2, i});
      wake = std::min(wake, pending_[i]->deadline);
    }
    for (auto& [pid, w] : workers_) {
      if (w.control_fd < 0) continue;
      fds.push_back({w.control_fd, POLLIN, 0});
      what.push_back({3, worker_of.size()});
      worker_of.push_back(pid);
    }
    const size_t observed = fds.size();
    observer_.add_poll_fds(&fds, &wake);
    what.resize(fds.size(), {4, 0});
    int timeout = -1;
    if (wake != Clock::time_point::max()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
      timeout = static_cast<int>(std::max<long long>(0, std::min<long long>(ms + 1, 60000)));
    }
    int r = ::poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) {
      GV_ERROR(std::string("poll: ") + std::strerror(errno));
      stopping_ = true;
      break;
    }
    for (size_t i = 0; r > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      switch (what[i].first) {
        case 0: on_signals(); break;
        case 1: accept_from(what[i].second); break;
        case 2: advance(*pending_[what[i].second]); break;
        case 3: {
          auto it = workers_.find(worker_of[what[i].second]);
          if (it == workers_.end() || it->second.control_fd < 0) break;
          char c;
          ssize_t n = ::recv(it->second.control_fd, &c, 1, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            // The worker is exiting: no new connections for its session. SIGCHLD reaps it.
            ::close(it->second.control_fd);
            it->second.control_fd = -1;
            forget_token(it->second);
          }
          break;
        }
      }
    }
    observer_.on_poll(fds.data() + observed, fds.size() - observed);
    now = Clock::now();
    for (auto& p : pending_) {
      if (!p->done && now >= p->deadline) {
        observer_.refused(-2);
        GV_INFO("dropped " + p->peer + ": no complete Hello within " +
                std::to_string(opt_.handshake_timeout_ms) + " ms");
        p->done = true;
      }
    }
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [](const std::unique_ptr<Pending>& p) { return p->done; }),
                   pending_.end());
    // The next spare relay starts once the TLS handshakes under way are through: its fork,
    // exec and key loading would otherwise take CPU from theirs.
    if (spare_wanted_ && tls_handshakes() == 0) {
      spare_wanted_ = false;
      start_spare_relay();
    }
  }
}

void Daemon::on_signals() {
  unsigned char buf[64];
  ssize_t n;
  bool child = false;
  while ((n = ::read(sig_r_, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == SIGCHLD) {
        child = true;
      } else if (!stopping_) {
        GV_INFO(std::string("received ") + strsignal(buf[i]) + ": shutting down");
        stopping_ = true;
      }
    }
  }
  if (child) reap();
}

void Daemon::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    relays_.erase(pid);
    if (pid == spare_.pid) {  // the next TLS connection starts its relay, then a new spare
      GV_WARN("the spare TLS relay " + std::to_string(pid) + " " + exit_text(status) +
              " before a connection came");
      ::close(spare_.fd);
      spare_ = {};
    }
    auto it = workers_.find(pid);
    if (it == workers_.end()) continue;
    WorkerRec& w = it->second;
    double secs = std::chrono::duration<double>(Clock::now() - w.started).count();
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.1f", secs);
    std::string msg = "session " + std::to_string(w.session_id) + " (" + w.client +
                      ") ended after " + dur + " s: worker " + std::to_string(pid) + " " +
                      exit_text(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerExitClosed) {
      GV_INFO(msg);
    } else {
      GV_WARN(msg);
    }
    observer_.session_ended(pid, status, exit_text(status));
    if (w.control_fd >= 0) ::close(w.control_fd);
    forget_token(w);
    workers_.erase(it);
  }
}

void Daemon::forget_token(WorkerRec& w) {
  auto it = by_token_.find(w.token);
  if (it != by_token_.end() && it->second == w.pid) by_token_.erase(it);
}

std::string uid_list(const std::vector<uid_t>& v) {
  std::string out;
  for (uid_t u : v) out += (out.empty() ? "" : ", ") + std::to_string(u);
  return out;
}

size_t Daemon::tls_handshakes() const {
  size_t n = 0;
  for (const auto& p : pending_) n += p->via_relay ? 1 : 0;
  return n;
}

void Daemon::accept_from(size_t li) {
  Listener& l = *listeners_[li];
  const Endpoint& ep = listener_eps_[li];
  // Take what is waiting now; more wake the next poll.
  for (int i = 0; i < 64 && !stopping_; ++i) {
    std::unique_ptr<Stream> s;
    Status st = l.try_accept(&s);
    if (st.code() == Code::kTimeout) return;
    if (!st) {
      log::once(log::Level::kWarn, "accept:" + st.message(), st.message());
      if (st.code() == Code::kOverloaded) accept_paused_until_ = Clock::now() + kAcceptBackoff;
      return;
    }
    if (pending_.size() >= kMaxPending) {
      log::once(log::Level::kWarn, "too-many-handshakes",
                "more than " + std::to_string(kMaxPending) +
                    " handshakes in progress: dropping new connections until some complete");
      continue;  // s closes
    }
    if (ep.tls) {
      start_tls_relay(std::move(s), li);
      if (tls_handshakes() >= kMaxTlsHandshakes) {
        log::once(log::Level::kWarn, "too-many-tls-handshakes",
                  std::to_string(kMaxTlsHandshakes) +
                      " TLS handshakes in progress: new TLS connections wait in the listen "
                      "queue until some complete or time out");
        return;
      }
      continue;
    }
    std::string peer = s->peer();
    add_pending(std::move(s), peer, li, false);
  }
}

void Daemon::add_pending(std::unique_ptr<Stream> s, const std::string& peer, size_t li,
                         bool from_relay) {
  const Endpoint& ep = listener_eps_[li];
  auto p = std::make_unique<Pending>();
  p->peer = peer;
  p->stream = std::move(s);
  p->deadline = Clock::now() + std::chrono::milliseconds(opt_.handshake_timeout_ms);
  p->needs_auth = listener_needs_auth(opt_, ep);
  p->note_pending = from_relay;
  p->via_relay = from_relay;
  if (ep.type == Endpoint::Type::kUnix || ep.type == Endpoint::Type::kShm) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(p->stream->fd(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      p->refusal = std::string("cannot tell who the peer is (SO_PEERCRED: ") +
                   std::strerror(errno) + ")";
    } else {
      if (std::find(opt_.allowed_uids.begin(), opt_.allowed_uids.end(), cred.uid) ==
          opt_.allowed_uids.end())
        p->refusal = "user id " + std::to_string(cred.uid) +
                     " may not use this backend's socket " + ep.to_string() + " (allowed: " +
                     uid_list(opt_.allowed_uids) + "; \"allowed_uids\" in the backend's config)";
      p->peer += " uid " + std::to_string(cred.uid);
      p->uid = static_cast<long>(cred.uid);
      p->identity = "uid:" + std::to_string(cred.uid);
    }
  }
  GV_DEBUG("connection from " + p->peer);
  pending_.push_back(std::move(p));
}

// A relay's command line but for its connection (tls_relay.h): the caller adds --net-fd,
// --plain-fd and --peer, or --wait-fd. A fresh image: it loads the certificate and key from
// their files, and holds nothing of the daemon's memory.
ExecSpec Daemon::relay_spec() const {
  ExecSpec e;
  e.what = "a TLS relay";
  e.args = {opt_.worker_exe, "--tls-relay", "--cert", opt_.tls_cert, "--key", opt_.tls_key,
            "--handshake-timeout-ms", std::to_string(opt_.handshake_timeout_ms), "--log-level",
            level_name(log::level())};
  if (!opt_.tls_client_ca.empty()) {
    e.args.push_back("--client-ca");
    e.args.push_back(opt_.tls_client_ca);
  }
  if (opt_.dumpable) {
    e.args.push_back("--dumpable");
    e.args.push_back("1");
  }
  if (opt_.receive_spin_us > 0) {
    e.args.push_back("--receive-spin-us");
    e.args.push_back(std::to_string(opt_.receive_spin_us));
  }
  if (opt_.worker_uid != static_cast<uid_t>(-1)) {  // once it has read the key
    e.args.push_back("--user");
    e.args.push_back(std::to_string(opt_.worker_uid) + ":" + std::to_string(opt_.worker_gid));
  }
  e.unset_env = kSecretEnvironment;
  return e;
}

// The stamp (tls_files_stamp) of this daemon's certificate, key and client CA files.
std::string Daemon::relay_files_now() const {
  return tls_files_stamp({opt_.tls_cert, opt_.tls_key, opt_.tls_client_ca});
}

// A relay for the next TLS connection, started now (tls_relay.h, "a spare relay"): where relays
// are fresh images and a tls:// listener is open, and none waits already.
void Daemon::start_spare_relay() {
  if (spare_.pid > 0 || stopping_ || !opt_.tls || opt_.worker_exe.empty() ||
      std::none_of(listener_eps_.begin(), listener_eps_.end(),
                   [](const Endpoint& ep) { return ep.tls; }))
    return;
  // Before the spawn: files that change while the spare loads them make it stale.
  std::string stamp = relay_files_now();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    log::once(log::Level::kWarn, "spare-relay-socketpair",
              std::string("no spare TLS relay: socketpair: ") + std::strerror(errno));
    return;
  }
  ExecSpec e = relay_spec();
  e.args.push_back("--wait-fd");
  e.args.push_back(std::to_string(sv[1]));
  e.inherit = {sv[1]};
  e.in_child = [&] { close_daemon_fds_in_child(sv[1], -1); };
  std::string error;
  pid_t pid;
  {
    SignalsBlocked blocked;  // until the relay has reset its handlers (relay_signals)
    pid = spawn_exec(e, &error);
  }
  ::close(sv[1]);
  if (pid < 0) {
    log::once(log::Level::kWarn, "spare-relay-spawn", "no spare TLS relay: " + error);
    ::close(sv[0]);
    return;
  }
  relays_.insert(pid);
  spare_.pid = pid;
  spare_.fd = sv[0];
  spare_.stamp = std::move(stamp);
}

// Gives a TLS connection to the spare relay, if one waits and loaded the files as they are now.
// Either way the spare is no longer the daemon's to give: a stale or unreachable one is ended.
bool Daemon::hand_to_spare(int net_fd, int plain_fd, const std::string& peer) {
  if (spare_.pid <= 0) return false;
  const bool fresh = relay_files_now() == spare_.stamp;
  const bool handed = fresh && hand_to_spare_relay(spare_.fd, net_fd, plain_fd, peer);
  if (!handed) {
    if (fresh)
      GV_WARN("the spare TLS relay " + std::to_string(spare_.pid) + " did not take " + peer +
              ": " + std::strerror(errno) + "; starting one for it");
    else
      GV_INFO("the TLS certificate, key or client CA files changed: a relay that loads them "
              "anew takes " + peer);
    ::kill(spare_.pid, SIGTERM);  // still the daemon's child (reaped later): no other process
  }
  ::close(spare_.fd);  // a spare still waiting ends on it too
  spare_ = {};
  return handed;
}

// A TLS connection: a relay process does the TLS side; the daemon goes on with the plaintext
// end of a socketpair, as if it had been accepted. The spare relay takes it when it can; the
// loop starts the next one once no TLS handshake is under way.
void Daemon::start_tls_relay(std::unique_ptr<Stream> net, size_t li) {
  const std::string peer = net->peer();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    GV_WARN("dropped " + peer + ": socketpair: " + std::strerror(errno));
    return;
  }
  const int net_fd = net->fd();
  size_relay_pair(sv);  // bulk copies cross it too
  const bool handed = hand_to_spare(net_fd, sv[1], peer);  // its pid is in relays_ already
  pid_t pid = -1;
  std::string spawn_error;
  if (!handed) {
    SignalsBlocked blocked;  // until the relay has reset its handlers (relay_signals)
    if (!opt_.worker_exe.empty()) {
      ExecSpec e = relay_spec();
      for (const std::string& a : {std::string("--net-fd"), std::to_string(net_fd),
                                   std::string("--plain-fd"), std::to_string(sv[1]),
                                   std::string("--peer"), peer})
        e.args.push_back(a);
      e.inherit = {net_fd, sv[1]};
      e.in_child = [&] { close_daemon_fds_in_child(net_fd, sv[1]); };
      pid = spawn_exec(e, &spawn_error);
    } else {
      pid = ::fork();
      if (pid < 0) spawn_error = std::string("fork: ") + std::strerror(errno);
    }
    if (pid == 0) {
      close_daemon_fds_in_child(net_fd, sv[1]);
      forget_secrets_in_child(/*keep_tls=*/true);
      ::close(sv[0]);
      run_tls_relay(opt_.tls->ctx(), net_fd, sv[1], opt_.handshake_timeout_ms, peer,
                    opt_.receive_spin_us);
    }
    if (pid > 0) relays_.insert(pid);
  }
  ::close(sv[1]);
  if (!handed && pid < 0) {
    GV_WARN("dropped " + peer + ": cannot start its TLS relay: " + spawn_error);
    ::close(sv[0]);
    return;
  }
  // net closes here: the relay has its own copy.
  add_pending(stream_from_fd(sv[0], "tls peer " + peer), "tls peer " + peer, li,
              /*from_relay=*/true);
  spare_wanted_ = true;
}

// The relay's note (tls_relay.h), before the client's first byte. true once it is complete;
// false while more is to come or when the connection was dropped (p.done).
bool Daemon::read_relay_note(Pending& p) {
  while (p.note_pending) {
    uint8_t* dst;
    size_t want;
    if (p.note_got < kRelayNoteHeader) {
      dst = p.note_hdr + p.note_got;
      want = kRelayNoteHeader - p.note_got;
    } else {
      dst = p.note_subject.data() + (p.note_got - kRelayNoteHeader);
      want = p.note_subject.size() - (p.note_got - kRelayNoteHeader);
    }
    if (want > 0) {
      ssize_t n = p.stream->recv_nowait(dst, want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (n <= 0) {
        GV_DEBUG("dropped " + p.peer + ": its TLS relay ended before the handshake");
        p.done = true;
        return false;
      }
      p.note_got += static_cast<size_t>(n);
    }
    if (!p.note_sized && p.note_got == kRelayNoteHeader) {
      uint32_t len = 0;
      if (!decode_relay_note_header(p.note_hdr, &len)) {
        GV_WARN("dropped " + p.peer + ": its TLS relay sent no valid note");
        p.done = true;
        return false;
      }
      p.note_subject.resize(len);
      p.note_sized = true;
    }
    if (p.note_sized && p.note_got == kRelayNoteHeader + p.note_subject.size()) {
      p.cert_subject.assign(p.note_subject.begin(), p.note_subject.end());
      p.note_pending = false;
    }
  }
  return true;
}

void Daemon::advance(Pending& p) {
  if (p.done) return;
  if (!read_relay_note(p)) return;
  for (;;) {
    uint8_t* dst;
    size_t want;
    if (p.hdr_got < wire::kHeaderSize) {
      dst = p.hdr + p.hdr_got;
      want = wire::kHeaderSize - p.hdr_got;
    } else {
      dst = p.payload.data() + p.payload_got;
      want = p.payload.size() - p.payload_got;
    }
    ssize_t n = want ? p.stream->recv_nowait(dst, want) : 0;
    if (want && n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      GV_DEBUG("dropped " + p.peer + " during the handshake: " + std::strerror(errno));
      p.done = true;
      return;
    }
    if (want && n == 0) {
      GV_DEBUG("dropped " + p.peer + ": closed before completing its Hello");
      p.done = true;
      return;
    }
    if (p.hdr_got < wire::kHeaderSize) {
      p.hdr_got += static_cast<size_t>(n);
      if (p.hdr_got < wire::kHeaderSize) continue;
      uint32_t magic;
      std::memcpy(&magic, p.hdr, sizeof magic);
      if (magic != wire::kFrameMagic) {
        // Not a GVirtuS client at all: nothing it could read would help.
        if (p.hdr[0] == 0x16)  // a TLS handshake record
          GV_INFO("dropped " + p.peer + ": a TLS client on a plaintext listener (it should " +
                  "connect with tcp://, or the backend listen with tls://)");
        else
          GV_INFO("dropped " + p.peer + ": not a GVirtuS client (bad frame magic)");
        observer_.refused(-1);
        p.done = true;
        return;
      }
      Status s = wire::decode_header(p.hdr, wire::kMaxHelloPayload, &p.header);
      const uint16_t kind = p.header.kind;
      if (s && p.challenged && kind == static_cast<uint16_t>(wire::Kind::kGoodbye)) {
        // The client did not accept our Challenge: it says why.
      } else if (s && kind == static_cast<uint16_t>(wire::Kind::kAuthStart)) {
        if (p.challenged) s = protocol_error("a second AuthStart");
      } else if (s && kind != static_cast<uint16_t>(wire::Kind::kHello)) {
        s = protocol_error("the first frame must be a Hello or an AuthStart");
      }
      if (!s) {
        wire::Welcome w;
        w.status = wire::kWelcomeMalformed;
        w.message = "bad handshake: " + s.message();
        refuse(p, w);
        return;
      }
      p.payload.resize(p.header.length);
      continue;
    }
    p.payload_got += static_cast<size_t>(n);
    if (p.payload_got == p.payload.size()) {
      if (p.header.kind == static_cast<uint16_t>(wire::Kind::kAuthStart)) {
        on_auth_start(p);
        if (p.done) return;
        continue;  // now the Hello
      }
      if (p.header.kind == static_cast<uint16_t>(wire::Kind::kGoodbye)) {
        GV_INFO("refused by " + p.peer + " after our authentication challenge: " +
                printable(std::string(p.payload.begin(), p.payload.end()), 512));
        p.done = true;
        return;
      }
      on_hello(p);
      return;
    }
  }
}

void Daemon::refuse(Pending& p, const wire::Welcome& w, bool quiet) {
  if (!quiet) GV_INFO("refused " + p.peer + ": " + w.message);
  observer_.refused(w.status);
  std::vector<uint8_t> f = welcome_frame(w);
  // A refusal is small and the socket new: it fits. If not, the client is not reading anyway.
  (void)p.stream->send_nowait(f.data(), f.size());
  p.stream->shut_write();
  p.done = true;
}

// AuthStart: answer with our nonce and, if we have the token, our proof; then wait for the
// Hello. Small frame on a new socket: it fits without waiting.
void Daemon::on_auth_start(Pending& p) {
  wire::AuthStart a;
  try {
    wire::Reader r(p.payload.data(), p.payload.size());
    a = wire::decode_auth_start(r);
  } catch (const wire::DecodeError& e) {
    wire::Welcome w;
    w.status = wire::kWelcomeMalformed;
    w.message = std::string("malformed AuthStart: ") + e.what();
    refuse(p, w);
    return;
  }
  if (a.major != wire::kProtocolMajor) {
    wire::Welcome w;
    w.status = wire::kWelcomeBadVersion;
    w.message = "protocol version mismatch: the client speaks GVirtuS protocol " +
                std::to_string(a.major) + "." + std::to_string(a.minor) +
                ", this backend speaks " + std::to_string(wire::kProtocolMajor) + "." +
                std::to_string(wire::kProtocolMinor) +
                "; use a client and a gvirtus-backend of the same release";
    refuse(p, w);
    return;
  }
  std::memcpy(p.client_nonce, a.client_nonce, sizeof p.client_nonce);
  wire::Challenge c;
  if (!auth::random_bytes(p.server_nonce, sizeof p.server_nonce)) {
    wire::Welcome w;
    w.status = wire::kWelcomeBusy;
    w.message = "the backend cannot draw a random nonce";
    refuse(p, w);
    return;
  }
  std::memcpy(c.server_nonce, p.server_nonce, sizeof c.server_nonce);
  if (!opt_.auth_key.empty()) {
    c.has_token = 1;
    auth::server_proof(opt_.auth_key, p.client_nonce, p.server_nonce, c.server_proof);
  }
  wire::Writer body;
  wire::encode_challenge(c, body);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kChallenge);
  h.length = static_cast<uint32_t>(body.size());
  std::vector<uint8_t> f(wire::kHeaderSize);
  wire::encode_header(h, f.data());
  f.insert(f.end(), body.data(), body.data() + body.size());
  if (!p.stream->send_nowait(f.data(), f.size())) {
    GV_DEBUG("dropped " + p.peer + ": cannot send the authentication challenge");
    p.done = true;
    return;
  }
  p.challenged = true;
  p.hdr_got = 0;
  p.payload.clear();
  p.payload_got = 0;
}

// The access checks of a decoded Hello of our major version. false: refused (done).
bool Daemon::check_auth(Pending& p, const wire::Hello& hello) {
  wire::Welcome w;
  w.status = wire::kWelcomeUnauthorized;
  if (!p.refusal.empty()) {
    w.message = p.refusal;
    refuse(p, w);
    return false;
  }
  if (hello.has_proof) {
    if (!p.challenged) {
      w.status = wire::kWelcomeMalformed;
      w.message = "a Hello with a token proof but no AuthStart before it";
      refuse(p, w);
      return false;
    }
    if (opt_.auth_key.empty()) {
      w.message = "this backend has no token configured; the client should not send a proof";
      refuse(p, w);
      return false;
    }
    uint8_t want[wire::kProofSize];
    auth::client_proof(opt_.auth_key, p.server_nonce, p.client_nonce, want);
    if (!auth::proof_equal(want, hello.proof)) {
      w.message = "authentication failed: the client's token proof does not match this "
                  "backend's token (a different token, or a replayed handshake)";
      refuse(p, w);
      return false;
    }
    p.identity = client_identity(true, p.cert_subject, p.uid, p.stream->fd());
    return true;
  }
  if (!p.cert_subject.empty()) p.identity = client_identity(false, p.cert_subject, p.uid, -1);
  if (p.needs_auth && p.cert_subject.empty()) {
    w.message = "this backend requires authentication: set GVIRTUS_TOKEN_FILE (or \"token_file\" "
                "in the client's config) to a file holding the backend's token";
    refuse(p, w);
    return false;
  }
  return true;
}

void Daemon::on_hello(Pending& p) {
  wire::Hello hello;
  wire::Welcome refusal;
  {
    // Access first: a client that may not connect learns nothing more (plugins, versions).
    wire::Hello h;
    bool decoded = false;
    try {
      wire::Reader r(p.payload.data(), p.payload.size());
      h = wire::decode_hello(r);
      decoded = h.major == wire::kProtocolMajor;
    } catch (const wire::DecodeError&) {
    }
    if (decoded && !check_auth(p, h)) return;
    if (!decoded && !p.refusal.empty()) {
      refusal.status = wire::kWelcomeUnauthorized;
      refusal.message = p.refusal;
      refuse(p, refusal);
      return;
    }
    // Otherwise check_hello refuses it (malformed, another major) without more.
  }
  if (!check_hello(p.payload.data(), p.payload.size(), registry(), &hello, &refusal)) {
    refuse(p, refusal);
    return;
  }
  if (hello.primary == wire::kHelloStatus) {
    // `gvirtus status`: answered here, after the same access checks as a client's session.
    GV_DEBUG("status query from " + p.peer + " (" + p.identity + ")");
    observer_.answer_status(*p.stream);  // takes its descriptor
    p.done = true;
  } else if (hello.primary) {
    start_session(p, hello);
  } else {
    join_session(p, hello);
  }
}

void Daemon::start_session(Pending& p, const wire::Hello& hello) {
  wire::Welcome refusal;
  Token token;
  std::memcpy(token.data(), hello.token, token.size());
  if (by_token_.count(token)) {
    refusal.status = wire::kWelcomeBadSession;
    refusal.message = "a session with this client token already exists";
    refuse(p, refusal);
    return;
  }
  const std::string identity =
      client_identity(hello.has_proof != 0, p.cert_subject, p.uid, p.stream->fd());
  const ClientLimits limits = limits_for(opt_.isolation, identity);
  if (limits.sessions >= 0) {
    int64_t live = 0;
    for (const auto& [pid, w] : workers_) live += w.identity == identity && w.control_fd >= 0;
    if (live >= limits.sessions) {
      refusal.status = wire::kWelcomeBusy;
      refusal.message = session_limit_text(identity, limits.sessions);
      refuse(p, refusal);
      return;
    }
  }
  if (opt_.max_sessions > 0 && workers_.size() >= static_cast<size_t>(opt_.max_sessions)) {
    refusal.status = wire::kWelcomeBusy;
    refusal.message = "the backend is serving its limit of " +
                      std::to_string(opt_.max_sessions) + " sessions; try again later";
    refuse(p, refusal);
    return;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    refusal.status = wire::kWelcomeBusy;
    refusal.message = std::string("the backend cannot start a session: socketpair: ") +
                      std::strerror(errno);
    refuse(p, refusal);
    return;
  }
  const uint64_t session_id = next_session_++;
  const int conn_fd = p.stream->fd();
  // The worker's counter block (stats.h); -1: the session runs without figures.
  const int stats_fd = stats::create_block_fd();
  const int conn_aux_fd = p.stream->aux_fd();  // an shm: connection's shared memory
  std::string spawn_error;
  pid_t pid = -1;
  {
    SignalsBlocked blocked;  // until the child has reset its handlers (run_worker)
    if (!opt_.worker_exe.empty()) {
      SpawnSpec spec;
      spec.exe = opt_.worker_exe;
      spec.control_fd = sv[1];
      spec.session_id = session_id;
      spec.max_connections = limits.connections;
      spec.gpu_memory_limit = limits.gpu_memory;
      spec.upload_limit = limits.upload_bytes;
      spec.identity = identity;
      spec.clear_memory = opt_.clear_device_memory;
      spec.dumpable = opt_.dumpable;
      spec.receive_spin_us = opt_.receive_spin_us;
      spec.module_cache_dir = opt_.module_cache.dir;
      spec.module_cache_bytes = opt_.module_cache.max_bytes;
      spec.module_cache_shared = opt_.module_cache.shared;
      spec.unset_env = kSecretEnvironment;
      spec.uid = opt_.worker_uid;
      spec.gid = opt_.worker_gid;
      spec.rlimits = opt_.isolation.rlimits;
      if (stats_fd >= 0) spec.extra_fds.emplace_back("stats", stats_fd);
      spec.in_child = [&] { close_daemon_fds_in_child(sv[1], stats_fd); };  // conn: sent below
      pid = spawn_worker(spec, &spawn_error);
      if (pid > 0) {
        Status ss = send_connection(sv[0], conn_fd, p.peer, p.payload, conn_aux_fd);
        if (!ss) {
          ::kill(pid, SIGKILL);  // reaped by reap(); it never served anyone
          pid = -1;
          spawn_error = "cannot hand the connection to its worker: " + ss.message();
        }
      }
    } else {
      pid = ::fork();
      if (pid < 0) spawn_error = std::string("fork: ") + std::strerror(errno);
    }
    if (pid == 0) {
      close_daemon_fds_in_child(sv[1], conn_fd, conn_aux_fd);
      forget_secrets_in_child(/*keep_tls=*/false);
      ::close(sv[0]);
      WorkerStart ws;
      ws.control_fd = sv[1];
      ws.conn_fd = conn_fd;
      ws.conn_aux_fd = conn_aux_fd;
      ws.peer = p.peer;
      ws.hello = hello;
      ws.session_id = session_id;
      ws.identity = identity;
      ws.max_connections = limits.connections;
      ws.gpu_memory_limit = limits.gpu_memory;
      ws.upload_limit = limits.upload_bytes;
      ws.clear_memory = opt_.clear_device_memory;
      ws.receive_spin_us = opt_.receive_spin_us;
      ws.stats_fd = stats_fd;
      ws.module_cache_dir = opt_.module_cache.dir;
      ws.module_cache_bytes = opt_.module_cache.max_bytes;
      ws.module_cache_shared = opt_.module_cache.shared;
      run_worker(std::move(ws));
    }
  }
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    if (stats_fd >= 0) ::close(stats_fd);
    refusal.status = wire::kWelcomeBusy;
    GV_ERROR("cannot start a worker for " + p.peer + ": " + spawn_error);
    refusal.message = "the backend cannot start a session: " + spawn_error;
    refuse(p, refusal);
    return;
  }
  WorkerRec w;
  w.pid = pid;
  w.session_id = session_id;
  w.token = token;
  w.client = ClientInfo::from_hello(hello, session_id).describe();
  w.identity = identity;
  w.control_fd = sv[0];
  w.started = Clock::now();
  GV_INFO("session " + std::to_string(session_id) + ": worker " + std::to_string(pid) +
          " serves " + w.client + " from " + p.peer + " (identity " + identity + ")");
  SessionStart ss{session_id, pid, hello.pid, printable(hello.hostname, 255),
                  printable(hello.program, 512), identity, p.peer, {}};
  for (const auto& name : hello.plugins) ss.plugins.push_back(printable(name, 64));
  observer_.session_started(ss, stats_fd);  // takes stats_fd
  workers_.emplace(pid, std::move(w));
  by_token_[token] = pid;
  p.done = true;  // our copy of the connection closes; the worker has its own
}

// In a freshly forked worker: closes the daemon's own descriptors (listeners, other clients'
// connections, other workers' control sockets, the signal pipe), so a worker holds nothing of
// other sessions. Only these: descriptors the daemon did not open belong to someone else in
// the process (the dynamic loader's LD_DEBUG_OUTPUT file, a sanitizer's log), and closing
// them lets a client socket take their number and receive their writes.
void Daemon::close_daemon_fds_in_child(int keep_a, int keep_b, int keep_c) {
  auto close_fd = [&](int fd) {
    if (fd >= 0 && fd != keep_a && fd != keep_b && fd != keep_c) ::close(fd);
  };
  close_fd(sig_r_);
  close_fd(sig_w_);
  for (const auto& l : listeners_) close_fd(l->fd());
  for (const auto& p : pending_) {
    close_fd(p->stream->fd());
    close_fd(p->stream->aux_fd());
  }
  for (const auto& [pid, w] : workers_) close_fd(w.control_fd);
  for (int fd : observer_.fds()) close_fd(fd);
  close_fd(spare_.fd);
}

// In a freshly forked worker or relay: the token (and, in a worker, the TLS key) are the
// daemon's business; a worker runs a client's requests and should not hold them.
void Daemon::forget_secrets_in_child(bool keep_tls) {
  if (!opt_.auth_key.empty()) OPENSSL_cleanse(opt_.auth_key.data(), opt_.auth_key.size());
  opt_.auth_key.clear();
  if (!keep_tls) opt_.tls.reset();
  // Other sessions' tokens join their sessions (join_session): a forked child (a worker without
  // exec, a relay) must not hold them, nor the handshakes under way (their Hellos and proofs).
  for (auto& [token, pid] : by_token_)
    OPENSSL_cleanse(const_cast<uint8_t*>(token.data()), token.size());
  by_token_.clear();
  for (auto& [pid, w] : workers_) OPENSSL_cleanse(w.token.data(), w.token.size());
  for (auto& p : pending_)
    if (p && !p->payload.empty()) OPENSSL_cleanse(p->payload.data(), p->payload.size());
}

void Daemon::join_session(Pending& p, const wire::Hello& hello) {
  wire::Welcome refusal;
  refusal.status = wire::kWelcomeBadSession;
  Token token;
  std::memcpy(token.data(), hello.token, token.size());
  auto it = by_token_.find(token);
  if (it == by_token_.end()) {
    refusal.message = "no session for this connection's token (its primary connection has "
                      "closed, or the backend restarted)";
    refuse(p, refusal);
    return;
  }
  WorkerRec& w = workers_.at(it->second);
  Status s = send_connection(w.control_fd, p.stream->fd(), p.peer, p.payload,
                             p.stream->aux_fd());
  if (!s) {
    refusal.status = s.code() == Code::kOverloaded ? wire::kWelcomeBusy : wire::kWelcomeBadSession;
    refusal.message = "cannot join session " + std::to_string(w.session_id) + ": " + s.message();
    refuse(p, refusal);
    return;
  }
  GV_DEBUG("passed " + p.peer + " to session " + std::to_string(w.session_id) + " (worker " +
           std::to_string(w.pid) + ")");
  p.done = true;
}

void Daemon::shutdown() {
  listeners_.clear();  // stop accepting; removes the Unix socket files
  pending_.clear();
  if (!workers_.empty())
    GV_INFO("stopping " + std::to_string(workers_.size()) + " session(s)");
  for (auto& [pid, w] : workers_) ::kill(pid, SIGTERM);
  for (pid_t r : relays_) ::kill(r, SIGTERM);  // their connections end with the workers anyway
  if (spare_.fd >= 0) ::close(spare_.fd);       // the spare's wait ends too
  spare_ = {};
  auto wait_until = [this](Clock::time_point deadline) {
    while (!workers_.empty()) {
      reap();
      if (workers_.empty()) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{sig_r_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
      unsigned char buf[64];
      while (::read(sig_r_, buf, sizeof buf) > 0) {
      }
    }
  };
  wait_until(Clock::now() + kStopGrace);
  for (auto& [pid, w] : workers_) {
    GV_WARN("worker " + std::to_string(pid) + " did not stop within 5 s: killing it");
    ::kill(pid, SIGKILL);
  }
  wait_until(Clock::now() + kKillWait);
  for (auto& [pid, w] : workers_)
    GV_ERROR("worker " + std::to_string(pid) + " is still running after SIGKILL");
  GV_INFO("stopped");
}

}  // namespace

bool listener_needs_auth(const DaemonOptions& opt, const Endpoint& ep) {
  if (!opt.auth_key.empty() || opt.auth_everywhere) return true;
  return !is_local(ep) && !opt.insecure;
}

Status check_access_policy(const DaemonOptions& opt) {
  for (const Endpoint& ep : opt.listen) {
    if (ep.tls && !opt.tls)
      return invalid("cannot listen on " + ep.to_string() + ": a tls:// listener needs a " +
                     "certificate and its key (\"tls_cert\" and \"tls_key\" in the config)");
    if (!listener_needs_auth(opt, ep) || !opt.auth_key.empty()) continue;
    if (ep.tls && opt.tls->verifies_clients()) continue;
    if (opt.auth_everywhere)
      return invalid("refusing to start: \"secure_application\" is true, so every listener " +
                     std::string("needs authentication, and ") + ep.to_string() +
                     " has none: configure a token (\"token_file\" in the config or " +
                     "GVIRTUS_TOKEN_FILE) or listen with tls:// and \"tls_client_ca\"");
    return invalid("refusing to listen on " + ep.to_string() +
                   " without authentication: other hosts can reach it. Configure a token " +
                   "(\"token_file\" in the config, or GVIRTUS_TOKEN_FILE), or TLS with client " +
                   "certificates (tls:// with \"tls_cert\", \"tls_key\" and \"tls_client_ca\"), " +
                   "or pass --insecure to serve it without authentication on a network you " +
                   "trust (docs/security.md)");
  }
  return Status::ok();
}

int run_daemon(const DaemonOptions& opt) {
  if (opt.listen.empty()) {
    GV_ERROR("nothing to listen on");
    return 1;
  }
  Daemon d(opt);
  return d.run();
}

}  // namespace gvirtus::backend
