// The worker process: serves one client session, one thread per connection, and exits when
// the client's primary connection closes or the client breaks the protocol.
#include "backend/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/cuda/support.h"
#include "backend/cudart/clearing.h"
#include "backend/cudart/module_cache.h"
#include "backend/cudart/support.h"
#include "backend/handshake.h"
#include "backend/limits.h"
#include "backend/quota_calls.h"
#include "backend/upload_quota.h"
#include "backend/output.h"
#include "backend/plugins.h"
#include "backend/stats.h"
#include "common/log.h"

namespace gvirtus::backend {
namespace {
constexpr uint16_t kNeededPluginsMinor = 9;  // clients that name only what their program needs
}  // namespace

bool preload_wanted(const wire::Hello& hello) {
  const char* v = std::getenv("GVIRTUS_PRELOAD_PLUGINS");
  if (v && std::strcmp(v, "0") == 0) return false;
  if (v && std::strcmp(v, "1") == 0) return true;
  return hello.minor >= kNeededPluginsMinor;
}

namespace {

// The worker-wide objects; created once in run_worker and never destroyed (the process ends
// with _exit while threads may still be inside them).
Session* g_session = nullptr;
const Registry* g_registry = nullptr;
// The session's connection limit ("connections" in the config's "limits"; -1: none) and the
// connections now open.
int64_t g_max_connections = -1;
std::string g_identity;
std::atomic<int64_t> g_open_connections{0};

[[noreturn]] void end_worker(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  // _exit: no static destructors racing the other connection threads; the kernel and the
  // driver release the CUDA context and every allocation with the process.
  _exit(code);
}

// Tells the client why its session ends, if the words fit in the socket without waiting: a
// client that is not reading must not hold up the exit.
void try_goodbye(Stream& s, const std::string& reason) {
  std::string text = reason.substr(0, 1024);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kGoodbye);
  h.length = static_cast<uint32_t>(text.size());
  uint8_t hdr[wire::kHeaderSize];
  wire::encode_header(h, hdr);
  std::string frame(reinterpret_cast<const char*>(hdr), sizeof hdr);
  frame += text;
  (void)s.send_nowait(frame.data(), frame.size());
}

void serve_thread(std::unique_ptr<Stream> stream, uint64_t conn_id, uint64_t client_thread) {
  Session& session = *g_session;
  const bool primary = conn_id == 0;
  const std::string name = "connection " + std::to_string(conn_id) + " (" + stream->peer() +
                           ", client thread " + std::to_string(client_thread) + ")";
  wire::Welcome w;
  w.status = wire::kWelcomeOk;
  w.message = "welcome";
  w.worker_pid = static_cast<uint32_t>(getpid());
  w.session_id = session.client().session_id;
  w.connection_id = conn_id;
  ConnState conn(session, conn_id);
  Status s = send_welcome(*stream, w);
  if (s) {
    GV_DEBUG(name + " opened");
    s = serve_connection(session, conn, *stream, *g_registry);
  }
  session.conn_closed(conn);
  g_open_connections.fetch_sub(1);
  if (s.is_ok() || s.code() == Code::kDisconnected) {
    std::string how = s.is_ok() ? "closed" : s.message();
    if (primary) {
      GV_INFO("session ends: " + session.client().describe() + ": primary " + name + ": " + how);
      end_worker(kWorkerExitClosed);
    }
    GV_DEBUG(name + " ended: " + how);
    return;
  }
  GV_ERROR("ending the session of " + session.client().describe() + ": " + name + ": " +
           s.message());
  try_goodbye(*stream, "the backend ended the session: " + s.message());
  end_worker(s.code() == Code::kProtocol ? kWorkerExitFault : kWorkerExitInternal);
}

// A secondary connection over the session's limit is refused with a Welcome that names the
// limit; its client thread's call fails, the session goes on.
bool over_connection_limit(Stream& stream) {
  if (g_max_connections < 0) return false;
  if (g_open_connections.fetch_add(1) < g_max_connections) return false;
  g_open_connections.fetch_sub(1);
  wire::Welcome w;
  w.status = wire::kWelcomeBusy;
  w.message = connection_limit_text(g_identity, g_max_connections);
  GV_INFO("refused " + stream.peer() + ": " + w.message);
  Status s = send_welcome(stream, w);
  (void)s;
  return true;
}

bool start_connection(std::unique_ptr<Stream> stream, uint64_t client_thread) {
  if (g_max_connections < 0) g_open_connections.fetch_add(1);
  uint64_t id = g_session->next_connection_id();
  try {
    std::thread(serve_thread, std::move(stream), id, client_thread).detach();
    return true;
  } catch (const std::system_error& e) {
    g_open_connections.fetch_sub(1);
    GV_ERROR(std::string("cannot start a thread for a connection: ") + e.what());
    return false;
  }
}

void reset_signals() {
  struct sigaction sa{};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGHUP}) sigaction(sig, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The library plugins the client's Hello names are loaded on a thread of their own when the
// session starts, while the client goes on: natively the dynamic loader maps a program's
// libraries before main, and the worker's load on the first call makes that call (cublasCreate)
// wait tens of milliseconds. A call that arrives meanwhile waits for the same load. A client of
// protocol 3.9 or later names only the libraries its program's objects need
// (frontend/core/needed_plugins.h); an older one names every frontend it has loaded, and
// `gvirtus run` preloads all of them into every program, so its worker loads them only with
// GVIRTUS_PRELOAD_PLUGINS=1 (about 200 MB of memory per worker for all of them;
// docs/backend.md). GVIRTUS_PRELOAD_PLUGINS=0: never ahead.
// NVML is made ready on the same thread when a library was named: the GPU memory quota
// measures each library object's creation with it (quota_calls.h), and its first use made the
// session's first cublasCreate take 16-20 ms; with NVML ready, 2.9-3.6 (native 2.4-3.0, H100).
void preload_plugins(const wire::Hello& hello) {
  if (!preload_wanted(hello)) return;
  const std::vector<std::string>& names = hello.plugins;
  try {
    std::thread([names] {
      try {
        if (g_registry->preload(names)) quota::prepare_measurement();
      } catch (const std::exception& e) {
        // Out of memory, say: the plugin loads on its first call instead.
        GV_WARN(std::string("loading the library plugins ahead failed: ") + e.what());
      }
    }).detach();
  } catch (const std::system_error& e) {
    GV_WARN(std::string("library plugins load on their first call: no thread (") + e.what() + ")");
  }
}

}  // namespace

const Registry& registry() {
  // Filling the tables touches no CUDA, so the daemon may call this before it forks.
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    cudart::register_plugin(*reg);
    cuda::register_plugin(*reg);
    // Library plugins (cuBLAS, cuDNN, ...) load in the worker on their first call.
    size_t n = 0;
    const LibraryPlugin* lp = library_plugins(&n);
    for (size_t i = 0; i < n; ++i) reg->add_library_plugin(lp[i], &load_library_plugin);
    return reg;
  }();
  return *r;
}

void run_worker(WorkerStart start) {
  reset_signals();
  log::set_component("worker " + std::to_string(getpid()));
  stats::attach(start.stats_fd);
  ClientInfo client = ClientInfo::from_hello(start.hello, start.session_id);
  g_session = new Session(client);
  g_registry = &registry();
  g_max_connections = start.max_connections;
  g_identity = start.identity;
  cudart::set_clear_new_memory(start.clear_memory);
  set_receive_spin_micros(start.receive_spin_us);
  quota::set_limit(start.gpu_memory_limit);          // quota_calls.h
  upload_budget().set_limit(start.upload_limit);     // upload_quota.h
  cudart::set_module_cache({start.module_cache_dir, start.module_cache_bytes,
                            start.module_cache_shared, start.identity});
  // Device printf output (written to stdout by the driver) goes back to the client.
  auto* output = new OutputCapture;
  Status os = output->start();
  if (os)
    g_session->set_output(output);
  else
    GV_WARN("device printf output stays on the backend's stdout: " + os.message());
  // Device assert messages (stderr): the worker's own log lines keep the real stderr.
  int log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (log_fd >= 0) {
    log::set_fd(log_fd);
    auto* errors = new OutputCapture;
    Status es = errors->start(STDERR_FILENO);
    if (es)
      g_session->set_error_output(errors);
    else
      GV_WARN("device assert messages stay on the backend's stderr: " + es.message());
  }
  GV_INFO("session " + std::to_string(start.session_id) + ": serving " + client.describe());

  std::unique_ptr<Stream> primary;
  Status ps = stream_from_fds(start.conn_fd, start.conn_aux_fd, start.peer, &primary);
  if (!ps) {
    GV_ERROR("session " + std::to_string(start.session_id) + ": " + ps.message());
    end_worker(kWorkerExitInternal);
  }
  if (over_connection_limit(*primary))
    end_worker(kWorkerExitClosed);
  if (!start_connection(std::move(primary), start.hello.thread))
    end_worker(kWorkerExitInternal);
  preload_plugins(start.hello);

  // Secondary connections of this session arrive from the daemon.
  for (;;) {
    int fd = -1;
    std::string peer;
    std::vector<uint8_t> payload;
    int aux_fd = -1;
    Status s = recv_connection(start.control_fd, &fd, &peer, &payload, &aux_fd);
    if (s.code() == Code::kDisconnected) {
      GV_WARN("lost the daemon (" + s.message() + "); serving this session until it ends");
      break;
    }
    if (!s) {
      GV_ERROR(s.message());
      continue;
    }
    wire::Hello hello;
    wire::Welcome refusal;
    std::unique_ptr<Stream> stream;
    Status ss = stream_from_fds(fd, aux_fd, peer, &stream);
    if (!ss) {
      GV_WARN("dropped a connection of this session from " + peer + ": " + ss.message());
      continue;
    }
    if (!check_hello(payload.data(), payload.size(), *g_registry, &hello, &refusal)) {
      GV_ERROR("the daemon passed a connection with a bad Hello: " + refusal.message);
      continue;
    }
    if (over_connection_limit(*stream)) continue;
    if (!start_connection(std::move(stream), hello.thread))
      GV_WARN("dropped a connection of this session from " + peer);
  }
  close(start.control_fd);
  for (;;) pause();  // the connection threads end the process
}

}  // namespace gvirtus::backend
