// Session: identity, connections per thread, loss, fork.
#include "frontend/core/session.h"

#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "common/config.h"
#include "common/cpu_relax.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/tls.h"
#include "frontend/core/needed_plugins.h"

namespace gvirtus::client {

namespace {

// ---- identity ----

Status random_bytes(uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<size_t>(r);
  }
  if (got == n) return Status::ok();
  // Kernels without getrandom: fall back to the device.
  std::ifstream f("/dev/urandom", std::ios::binary);
  if (f.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n))) return Status::ok();
  return failed("no source of random bytes for the session token");
}

std::string program_path() {
  char buf[4097];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  return program_invocation_name ? program_invocation_name : "";  // <errno.h>, GNU
}

// ---- which sessions are alive (thread-exit cleanup must not touch a destroyed one) ----

std::mutex& registry_mu() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::unordered_map<uint64_t, Session*>& registry() {
  static auto* m = new std::unordered_map<uint64_t, Session*>;
  return *m;
}
std::atomic<uint64_t> g_next_serial{1};

// ---- the calling thread's connections ----
// A trivially destructible thread_local pointer (safe to read during process exit) plus a
// pthread key whose destructor closes the thread's connections when the thread ends. The key
// destructor does not run for the main thread at exit(), so the primary stays open until the
// process ends, whoever made it.
struct ThreadConns {
  struct Entry {
    uint64_t serial;
    StreamConnection* conn;
  };
  std::vector<Entry> entries;
};
thread_local ThreadConns* t_conns = nullptr;
pthread_key_t g_thread_key;
std::once_flag g_thread_key_once;

void thread_exit(void* p) {
  auto* tc = static_cast<ThreadConns*>(p);
  t_conns = nullptr;
  for (const auto& e : tc->entries) {
    std::lock_guard<std::mutex> g(registry_mu());
    auto it = registry().find(e.serial);
    if (it != registry().end()) it->second->release(e.conn);
  }
  delete tc;
}

ThreadConns* thread_conns(bool create) {
  if (t_conns || !create) return t_conns;
  std::call_once(g_thread_key_once, [] { pthread_key_create(&g_thread_key, thread_exit); });
  t_conns = new ThreadConns;
  pthread_setspecific(g_thread_key, t_conns);
  return t_conns;
}

StreamConnection* thread_lookup(uint64_t serial) {
  ThreadConns* tc = thread_conns(false);
  if (!tc) return nullptr;
  for (const auto& e : tc->entries)
    if (e.serial == serial) return e.conn;
  return nullptr;
}

void thread_forget(uint64_t serial) {
  ThreadConns* tc = thread_conns(false);
  if (!tc) return;
  for (size_t i = 0; i < tc->entries.size(); ++i) {
    if (tc->entries[i].serial == serial) {
      tc->entries.erase(tc->entries.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

}  // namespace

Status make_identity(Identity* out) {
  Status st = random_bytes(out->token, sizeof out->token);
  if (!st.is_ok()) return st;
  out->pid = static_cast<uint32_t>(::getpid());
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  out->hostname = host;
  out->program = program_path();
  if (out->program.size() > 4096) out->program.resize(4096);
  return Status::ok();
}

Connector endpoint_connector(const ClientSecurity& security) {
  return [security](std::unique_ptr<Stream>* out, std::string* where) -> Status {
    Endpoint ep;
    std::string source;
    Status st = resolve_client_endpoint(&ep, &source);
    if (!st.is_ok()) {
      return Status(st.code(),
                    "no GVirtuS backend configured: set GVIRTUS_ENDPOINT or use `gvirtus run` (" +
                        st.message() + ")");
    }
    *where = ep.to_string();
    if (ep.type == Endpoint::Type::kTcp && ep.tls) {
      TlsClientOptions t;
      t.ca_file = security.tls_ca;
      t.cert_file = security.tls_client_cert;
      t.key_file = security.tls_client_key;
      return connect_tls(ep, t, out);
    }
    return connect_stream(ep, out);
  };
}

// ---- Session ----

Session::Session(SessionOptions opts) : opts_(std::move(opts)), serial_(g_next_serial++) {
  std::lock_guard<std::mutex> g(registry_mu());
  registry()[serial_] = this;
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> g(registry_mu());
    registry().erase(serial_);
  }
  thread_forget(serial_);
  // Closed outside the lock: a connection's send thread, still sending what it holds, may
  // mark the session lost, which takes the lock and walks conns_.
  std::vector<std::unique_ptr<StreamConnection>> doomed;
  {
    std::lock_guard<std::mutex> g(mu_);
    doomed.swap(conns_);
    primary_ = nullptr;
  }
}

std::string Session::error() const {
  std::lock_guard<std::mutex> g(mu_);
  return error_;
}

std::string Session::where() const {
  std::lock_guard<std::mutex> g(mu_);
  return where_;
}

void Session::add_plugin(const std::string& name, const std::string& frontend) {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& p : opts_.plugins)
    if (p == name) return;
  opts_.plugins.push_back(name);
  frontends_.resize(opts_.plugins.size() - 1);
  frontends_.push_back(frontend);
}

std::vector<std::string> Session::announced_plugins() {
  std::vector<std::string> names, frontends;
  const unsigned long long loaded = objects_loaded();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (announced_for_ == opts_.plugins.size() && announced_loads_ == loaded) return announced_;
    names = opts_.plugins;
    frontends = frontends_;
  }
  frontends.resize(names.size());
  // The runtime and the driver are served by every backend: always named. A library frontend
  // is named when the program's own objects need its soname (needed_plugins.h). The scan takes
  // the dynamic loader's write lock: not under mu_, which a frontend's constructor (run by
  // dlopen, under the loader's lock) takes in add_plugin; and no dladdr here, as the caller may
  // hold connect_mu_, which a library's constructor making its first CUDA call waits for while
  // it holds the loader's lock (the paths were taken in add_plugin).
  std::vector<std::string> skip;
  for (const std::string& f : frontends)
    if (!f.empty()) skip.push_back(f);
  const std::vector<std::string> needed = needed_sonames(skip);
  std::vector<std::string> announced;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& path = frontends[i];
    const std::string soname = path.substr(path.find_last_of('/') + 1);
    if (path.empty() || names[i] == "cudart" || names[i] == "cuda" ||
        std::find(needed.begin(), needed.end(), soname) != needed.end())
      announced.push_back(names[i]);
  }
  std::lock_guard<std::mutex> g(mu_);
  announced_ = announced;
  announced_for_ = names.size();
  announced_loads_ = loaded;
  return announced;
}

void Session::mark_lost(const std::string& reason) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (lost_.load(std::memory_order_relaxed)) return;
    error_ = reason;
    lost_.store(true, std::memory_order_release);
    announce_pending_.store(true, std::memory_order_release);
    // Wake threads blocked on any connection; their calls then fail. Done under the lock so
    // that no connection is freed meanwhile (a thread exiting releases its own); shutdown()
    // does not block. The objects stay until their thread exits or the session ends.
    for (auto& c : conns_) c->stream()->shutdown();
  }
  announce();
}

void Session::announce() {
  if (!announce_pending_.exchange(false)) return;
  if (!opts_.print_loss) return;
  std::string line;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (where_.empty())
      line = "gvirtus: " + error_;
    else if (ever_connected_)
      line = "gvirtus: lost connection to backend " + where_ + ": " + error_;
    else
      line = "gvirtus: cannot connect to backend " + where_ + ": " + error_;
  }
  std::fprintf(stderr, "%s; CUDA calls now fail with cudaErrorDevicesUnavailable\n", line.c_str());
  std::fflush(stderr);
}

Status Session::open(std::unique_ptr<StreamConnection>* out, bool primary) {
  std::unique_ptr<Stream> stream;
  std::string where;
  Status st = opts_.connect(&stream, &where);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!where.empty()) where_ = where;
  }
  if (!st.is_ok()) return st;
  if (!stream) return failed("the connector returned no stream");

  wire::Hello hello;
  std::memcpy(hello.token, opts_.identity.token, sizeof hello.token);
  hello.primary = primary ? 1 : 0;
  hello.pid = opts_.identity.pid;
  hello.thread = static_cast<uint64_t>(::syscall(SYS_gettid));
  hello.hostname = opts_.identity.hostname;
  hello.program = opts_.identity.program;
  hello.plugins = announced_plugins();
  auto conn = std::make_unique<StreamConnection>(this, std::move(stream), primary);
  wire::Welcome welcome;
  st = conn->handshake(hello, opts_.handshake_timeout_ms, &welcome, opts_.auth_key,
                       opts_.auth_source);
  if (!st.is_ok()) return Status(st.code(), "handshake: " + st.message());
  if (welcome.status != wire::kWelcomeOk) {
    std::string msg = welcome.message.empty() ? "no reason given" : welcome.message;
    msg = "the backend refused the connection (status " + std::to_string(welcome.status) +
          "): " + msg;
    // One connection too many for a session that exists: only this one is refused.
    if (!primary && welcome.status == wire::kWelcomeBusy) return Status(Code::kOverloaded, msg);
    return failed(msg);
  }
  conn->set_id(welcome.connection_id);
  conn->set_server_minor(welcome.minor);
  conn->gather_sends();
  // A reply's header and its fields in one receive (and a Goodbye or Output frame behind it).
  conn->stream()->set_read_ahead(kReplyReadAhead);
  conn->stream()->set_receive_spin(reply_spin_micros());
  server_minor_.store(welcome.minor, std::memory_order_release);
  GV_DEBUG("connected to worker " + std::to_string(welcome.worker_pid) + ", session " +
           std::to_string(welcome.session_id) + (primary ? " (primary)" : ""));
  *out = std::move(conn);
  return Status::ok();
}

Connection* Session::current_connection() {
  if (lost()) {
    announce();
    return nullptr;
  }
  return thread_lookup(serial_);
}

namespace {
size_t counted(const std::vector<std::unique_ptr<StreamConnection>>& conns) {
  size_t n = 0;
  for (const auto& c : conns)
    if (!c->auxiliary()) ++n;
  return n;
}
}  // namespace

namespace {
// The calling thread's pause after a refused connection (Session::refused), per session.
struct RefusedPause {
  uint64_t serial = 0;
  std::chrono::steady_clock::time_point until{};
};
thread_local RefusedPause t_refused;
}  // namespace

void Session::refused(const std::string& reason) {
  t_refused.serial = serial_;
  t_refused.until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kRefusedRetryMs);
  if (refused_.fetch_add(1, std::memory_order_acq_rel) != 0 || !opts_.print_loss) return;
  std::fprintf(stderr,
               "gvirtus: %s; the calls of this thread (%ld) fail with "
               "cudaErrorDevicesUnavailable until another thread of this program ends; the "
               "program's other threads go on\n",
               reason.c_str(), static_cast<long>(::syscall(SYS_gettid)));
  std::fflush(stderr);
}

int Session::reply_spin_micros() {
  static const int micros = [] {
    // On one CPU the poll would only keep a backend on the same host from making the reply.
    const int fallback = one_cpu_only() ? 0 : kReplySpinMicros;
    const char* v = std::getenv("GVIRTUS_RECV_SPIN_US");
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 0 || n > kMaxReplySpinMicros) {
      log::once(log::Level::kWarn, "recv-spin",
                std::string("GVIRTUS_RECV_SPIN_US=") + v + " is not a number of microseconds up to " +
                    std::to_string(kMaxReplySpinMicros) + "; using " + std::to_string(fallback));
      return fallback;
    }
    return static_cast<int>(n);
  }();
  return micros;
}

Connection* Session::connection(bool auxiliary) {
  if (lost()) {
    announce();
    return nullptr;
  }
  if (StreamConnection* c = thread_lookup(serial_)) return c;
  if (t_refused.serial == serial_ && std::chrono::steady_clock::now() < t_refused.until)
    return nullptr;

  std::lock_guard<std::mutex> open_guard(connect_mu_);
  if (lost()) return nullptr;
  bool primary;
  {
    std::lock_guard<std::mutex> g(mu_);
    primary = primary_ == nullptr;
  }
  std::unique_ptr<StreamConnection> conn;
  Status st = open(&conn, primary);
  if (!st.is_ok() && !primary && st.code() == Code::kOverloaded) {
    refused(st.message());
    return nullptr;
  }
  if (!st.is_ok()) {
    mark_lost(st.message());
    return nullptr;
  }
  StreamConnection* raw = conn.get();
  // The primary is always counted: it defines the session.
  if (auxiliary && !primary) raw->set_auxiliary();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (lost_.load(std::memory_order_relaxed)) {
      raw->stream()->shutdown();  // lost while we connected: keep it only to free it later
    }
    if (primary) primary_ = raw;
    ever_connected_ = true;
    conns_.push_back(std::move(conn));
    open_.store(counted(conns_), std::memory_order_release);
  }
  thread_conns(true)->entries.push_back({serial_, raw});
  return lost() ? nullptr : raw;
}

void Session::release(StreamConnection* c) {
  std::unique_ptr<StreamConnection> doomed;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (c == primary_) return;  // the primary lives as long as the process
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].get() == c) {
        doomed = std::move(conns_[i]);
        conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(i));
        open_.store(counted(conns_), std::memory_order_release);
        break;
      }
    }
  }
  // Closing the socket tells the worker this thread is done; its server thread ends.
}

void Session::before_fork() {
  connect_mu_.lock();
  mu_.lock();
}

void Session::after_fork_parent() {
  mu_.unlock();
  connect_mu_.unlock();
}

void Session::after_fork_child() {
  // Only this thread exists now; the locks were taken in before_fork by this same thread.
  bool had_connections = !conns_.empty();
  if (had_connections) {
    // The sockets belong to the parent's session. Close the child's copies of the descriptors
    // (never shut them down: that would cut the parent's connections too). The objects go
    // (an shm: stream closes its copy of the shared memory and unmaps the rings), except where
    // another thread of the parent may have been inside one at the fork (a send thread in
    // SSL_write): freeing that half-updated copy (SSL_free) could crash the child, so it is
    // leaked. Without a descriptor to take back, the object is not touched either.
    for (auto& c : conns_) {
      c->abandon_after_fork();
      int fd = c->stream()->release_fd();
      if (fd >= 0) ::close(fd);
      if (fd >= 0 && c->stream()->destroyable_after_fork())
        c.reset();
      else
        (void)c.release();
    }
    conns_.clear();
    open_.store(0, std::memory_order_release);
    primary_ = nullptr;
    if (!lost_.load(std::memory_order_relaxed)) {
      error_ =
          "this process was forked from a CUDA process; the child cannot use the "
          "parent's GPU session";
      lost_.store(true, std::memory_order_release);
      // Printed on the child's first CUDA call, not here: a child that never touches CUDA
      // stays silent.
      announce_pending_.store(true, std::memory_order_release);
    }
  } else if (!lost_.load(std::memory_order_relaxed)) {
    // Nothing was connected: the child is a process of its own and gets its own session.
    Identity id;
    if (make_identity(&id).is_ok()) opts_.identity = id;
  }
  thread_forget(serial_);
  mu_.unlock();
  connect_mu_.unlock();
}

// ---- the process session ----

namespace {

std::atomic<Session*> g_override{nullptr};

void atfork_prepare() {
  if (Session* s = g_override.load()) s->before_fork();
  process_session().before_fork();
}
void atfork_parent() {
  process_session().after_fork_parent();
  if (Session* s = g_override.load()) s->after_fork_parent();
}
void atfork_child() {
  process_session().after_fork_child();
  if (Session* s = g_override.load()) s->after_fork_child();
}

Session* make_process_session() {
  log::init("client");
  SessionOptions o;
  ClientSecurity sec;
  Status sst = resolve_client_security(&sec);
  if (sst.is_ok() && !sec.token_file.empty())
    sst = auth::load_token_file(sec.token_file, sec.token_source, &o.auth_key);
  o.auth_source = sec.token_source;
  o.connect = endpoint_connector(sec);
  Status st = make_identity(&o.identity);
  auto* s = new Session(std::move(o));
  if (!sst.is_ok())
    s->mark_lost(sst.message());
  else if (!st.is_ok())
    s->mark_lost(st.message());
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
  return s;
}

}  // namespace

Session& process_session() {
  static Session* s = make_process_session();
  return *s;
}

Session* swap_session_for_testing(Session* s) { return g_override.exchange(s); }

Session& active_session() {
  if (Session* s = g_override.load(std::memory_order_acquire)) return *s;
  return process_session();
}

// ---- client.h ----

Connection* connection() {
  try {
    return active_session().connection();
  } catch (const std::exception& e) {
    active_session().mark_lost(std::string("internal error: ") + e.what());
    return nullptr;
  }
}

Connection* auxiliary_connection() {
  try {
    return active_session().connection(true);
  } catch (const std::exception& e) {
    active_session().mark_lost(std::string("internal error: ") + e.what());
    return nullptr;
  }
}

Connection* current_connection() { return active_session().current_connection(); }

bool session_lost() { return active_session().lost(); }

uint16_t server_minor() { return active_session().server_minor(); }

size_t open_connections() { return active_session().open_connections(); }

std::string session_error() { return active_session().error(); }

void add_plugin(const char* name) {
  try {
    // `name` is a string literal of the frontend's own (its constructor's call is a tail call:
    // the return address would be the dynamic loader's): its object is the frontend library.
    // The client core itself needs none of the libraries' sonames.
    active_session().add_plugin(name, object_path(name));
  } catch (...) {
  }
}

void mark_session_lost(const std::string& reason) {
  try {
    active_session().mark_lost(reason);
  } catch (...) {
  }
}

void unsupported(const char* name) {
  try {
    log::once(log::Level::kWarn, std::string("unsupported:") + name,
              std::string(name) + " is not supported by GVirtuS yet");
  } catch (...) {
  }
}

}  // namespace gvirtus::client

namespace gvirtus::client {

namespace {
void raise_to(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_acq_rel)) {
  }
}
}  // namespace

uint64_t Session::next_global_ticket() {
  const uint64_t t = next_ticket();
  // Kept as a maximum: of two global requests sent at the same time the later number stays, so
  // whatever a thread sends after its call returned depends on that call or a later global one.
  raise_to(last_global_, t);
  return t;
}

bool Session::next_laned_ticket(uint64_t lane, uint64_t* ticket, wire::LaneDeps* deps) {
  LaneSlot& slot = lanes_[(lane * 0x9e3779b97f4a7c15ull) >> 58];
  static_assert(kLaneSlots == 64, "the hash above yields 6 bits");
  std::lock_guard<std::mutex> g(slot.mu);
  // The last global ticket is read before this ticket is taken, so it is below it. A global
  // request taking its ticket at the same moment may be missed: it was not finished when this
  // launch began, so nothing orders the two in the application either (docs/protocol.md).
  const uint64_t global = last_global_.load(std::memory_order_acquire);
  const uint64_t t = next_ticket();
  const uint64_t prev = slot.last;
  slot.last = t;
  *ticket = t;
  const uint64_t lane_back = prev ? t - prev : 0;
  const uint64_t global_back = global ? t - global : 0;
  if (lane_back > UINT32_MAX || global_back > UINT32_MAX) {
    // Too far back to write: this one goes global (it waits for everything before it).
    raise_to(last_global_, t);
    return false;
  }
  deps->lane_back = static_cast<uint32_t>(lane_back);
  deps->global_back = static_cast<uint32_t>(global_back);
  return true;
}

}  // namespace gvirtus::client
