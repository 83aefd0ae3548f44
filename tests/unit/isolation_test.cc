// Isolation and quotas (docs/security.md): workers are fresh process images that hold nothing
// of other sessions (their memory scanned through /proc/PID/mem, with a positive control on
// the process that must hold the secret), the config's isolation keys, sessions per identity,
// connections per session, --devices, worker resource limits and worker_user.
#include <dirent.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <functional>
#include <thread>
#include <vector>

#include "backend/devices.h"
#include "backend/limits.h"
#include "backend_process.h"
#include "common/config.h"
#include "common/tls.h"
#include "cudart_calls.h"
#include "fake_backend.h"
#include "frontend/core/callback_slot.h"
#include "frontend/core/session.h"
#include "frontend/cudart/callback_thread.h"
#include "test_env.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;
using testenv::TempDir;
using testing::Backend;
using testing::free_tcp_port;
using testing::pid_gone;
using testing::Raw;
using testing::test_hello;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The backend's children once there are `want` of them, each exec'd as a worker or a TLS relay
// (the daemon starts a spare relay after each TLS handshake, tls_relay.h: it may be between its
// fork and its exec for a moment) and each passing `ready`; polled for up to 5 s. What it last
// saw if that never happens.
std::vector<pid_t> settled_children(pid_t parent, size_t want,
                                    const std::function<bool(pid_t)>& ready = {}) {
  std::vector<pid_t> kids;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    kids = testing::child_pids(parent);
    bool all = kids.size() == want;
    for (pid_t p : kids) {
      const std::string cmdline = testing::proc_text("/proc/" + std::to_string(p) + "/cmdline");
      all = all && (contains(cmdline, std::string("\0--worker\0", 10)) ||
                    contains(cmdline, std::string("\0--tls-relay\0", 13))) &&
            (!ready || ready(p));
    }
    if (all) break;
  }
  return kids;
}

// Whether `needle` occurs anywhere in the readable memory of process pid (its /proc/PID/maps
// regions read through /proc/PID/mem). *scanned: bytes read, so a scan that read nothing
// cannot pass for one that found nothing.
bool memory_contains(pid_t pid, const std::string& needle, size_t* scanned) {
  *scanned = 0;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return false;
  std::string line;
  std::vector<char> buf(1 << 20);
  bool found = false;
  while (!found && std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) != 3 || perms[0] != 'r')
      continue;
    if (contains(line, "[vvar") || contains(line, "[vsyscall]")) continue;
    std::string carry;  // the last bytes of the previous chunk: matches across chunks
    for (unsigned long at = lo; at < hi && !found;) {
      size_t want = std::min<unsigned long>(buf.size(), hi - at);
      ssize_t n = pread(mem, buf.data(), want, static_cast<off_t>(at));
      if (n <= 0) break;
      *scanned += static_cast<size_t>(n);
      std::string chunk = carry + std::string(buf.data(), static_cast<size_t>(n));
      found = contains(chunk, needle);
      carry = chunk.substr(chunk.size() > needle.size() ? chunk.size() - needle.size() : 0);
      at += static_cast<unsigned long>(n);
    }
  }
  close(mem);
  return found;
}

std::string random_bytes(size_t n) {
  std::random_device rd;
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rd() & 0xff);
  return s;
}

wire::Hello hello_with_token(const std::string& token, bool primary = true) {
  wire::Hello h = test_hello(0, primary);
  std::memcpy(h.token, token.data(), sizeof h.token);
  return h;
}

// A backend started with a config file, listening on TCP (loopback) and a Unix socket.
struct Rig {
  TempDir dir;
  std::string tcp, sock;
  std::unique_ptr<Backend> backend;
  Rig() {
    tcp = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    sock = "unix:" + dir.path() + "/gv.sock";
  }
  void start(const std::string& config, std::vector<std::string> args = {},
             std::vector<std::string> env = {}) {
    std::string cfg = dir.write("backend.json", config);
    args.insert(args.begin(), {"--config", cfg, "--listen", tcp, "--listen", sock});
    backend = std::make_unique<Backend>(args, -1, env);
  }
  // start() with a TLS listener too, on a fresh loopback port (*tls), and `keys`, more config
  // keys; its certificate (key file mode 0600) is signed by a CA made for it (ca_file()).
  bool start_tls(const std::string& keys, std::string* tls) {
    const std::string d = dir.path();
    if (!make_test_certificate(d, "ca", "", "") ||
        !make_test_certificate(d, "server", "IP:127.0.0.1", "ca"))
      return false;
    *tls = "tls://127.0.0.1:" + std::to_string(free_tcp_port());
    start("{" + keys + ", \"tls_cert\": \"" + d + "/server.pem\", \"tls_key\": \"" + d +
              "/server.key\"}",
          {"--listen", *tls});
    return true;
  }
  std::string ca_file() const { return dir.path() + "/ca.pem"; }
  // Options of a client session that connects to the TCP listener.
  client::SessionOptions tcp_client_options() const {
    const std::string ep_text = tcp;
    return testing::test_session_options(
        [ep_text](std::unique_ptr<Stream>* out, std::string* where) {
          Endpoint ep;
          Status s = parse_endpoint(ep_text, &ep);
          if (!s) return s;
          *where = ep_text;
          return connect_stream(ep, out);
        });
  }
};

std::unique_ptr<Raw> open_session(const std::string& ep, const std::string& token,
                                  wire::Welcome* w) {
  auto r = std::make_unique<Raw>(ep);
  *w = r->handshake(hello_with_token(token));
  return r;
}

// ---- the config's isolation keys ----

TEST(IsolationConfig, ParsesDevicesRlimitsAndLimits) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"devices": [0, 2], "worker_user": "nobody",
      "worker_rlimits": {"nofile": 512, "core": 0},
      "limits": {"default": {"sessions": 4, "connections": 8},
                 "clients": {"token": {"sessions": 1}, "uid:1000": {"connections": 2}}}})",
                                "f.json", &c));
  EXPECT_EQ(c.isolation.devices, "0,2");
  EXPECT_EQ(c.isolation.worker_user, "nobody");
  ASSERT_EQ(c.isolation.rlimits.size(), 2u);
  EXPECT_EQ(c.isolation.default_limits.sessions, 4);
  EXPECT_EQ(c.isolation.default_limits.connections, 8);
  ClientLimits t = backend::limits_for(c.isolation, "token");
  EXPECT_EQ(t.sessions, 1);
  EXPECT_EQ(t.connections, 8);  // from the default
  ClientLimits u = backend::limits_for(c.isolation, "uid:1000");
  EXPECT_EQ(u.sessions, 4);
  EXPECT_EQ(u.connections, 2);
  ClientLimits other = backend::limits_for(c.isolation, "host:10.0.0.1");
  EXPECT_EQ(other.sessions, 4);
  // Certificate holders: their own entry, else "certificate", else the default.
  Config e;
  ASSERT_TRUE(parse_config_json(R"({"limits": {"default": {"sessions": 4},
      "clients": {"certificate": {"sessions": 2}, "cert:CN=alice": {"sessions": 1}}}})",
                                "f.json", &e));
  EXPECT_EQ(backend::limits_for(e.isolation, "cert:CN=alice").sessions, 1);
  EXPECT_EQ(backend::limits_for(e.isolation, "cert:CN=bob").sessions, 2);
  EXPECT_EQ(backend::limits_for(e.isolation, "token").sessions, 4);
  EXPECT_EQ(backend::client_identity(true, "CN=alice", -1, -1), "cert:CN=alice");
  EXPECT_EQ(backend::client_identity(true, "", -1, -1), "token");
  EXPECT_EQ(backend::client_identity(false, "", 1000, -1), "uid:1000");
  EXPECT_EQ(backend::client_identity(false, std::string("CN=a\nb", 6), -1, -1), "cert:CN=a?b");
  EXPECT_FALSE(c.isolation.dumpable);  // the default
  Config d;
  ASSERT_TRUE(parse_config_json(R"({"devices": "1", "dumpable": true})", "f.json", &d));
  EXPECT_EQ(d.isolation.devices, "1");
  EXPECT_TRUE(d.isolation.dumpable);
  EXPECT_EQ(backend::limits_for(d.isolation, "token").sessions, -1);  // no limit
}

TEST(IsolationConfig, RefusesBadValues) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      // gpu_memory and upload_bytes: memory_quota_test.cc (QuotaConfig).
      {R"({"limits": {"clients": {"token": {"upload_bytes": 1}}}})", "at least"},
      {R"({"limits": {"default": {"sesions": 1}}})", "unknown key \"sesions\""},
      {R"({"limits": {"default": {"connections": 0}}})", "at least 1"},
      {R"({"limits": {"default": {"sessions": -1}}})", "sessions"},
      {R"({"limits": {"defaults": {}}})", "unknown key \"defaults\""},
      {R"({"limits": []})", "limits"},
      {R"({"devices": "0,,2"})", "devices"},
      {R"({"devices": "0,0"})", "twice"},
      {R"({"devices": "gpu0"})", "not a GPU ordinal"},
      {R"({"devices": [-1]})", "devices"},
      {R"({"worker_rlimits": {"files": 1}})", "unknown limit \"files\""},
      {R"({"worker_rlimits": {"nofile": "many"}})", "nofile"},
      {R"({"worker_user": ""})", "worker_user"},
      {R"({"dumpable": 1})", "dumpable"},
  };
  for (const auto& k : cases) {
    Config c;
    Status s = parse_config_json(k.json, "f.json", &c);
    EXPECT_FALSE(s) << k.json;
    EXPECT_TRUE(contains(s.message(), k.says)) << k.json << ": " << s.message();
  }
  EXPECT_TRUE(check_device_list("0,2,7"));
  EXPECT_FALSE(check_device_list(""));
  EXPECT_FALSE(check_device_list("1024"));
}

// ---- workers are fresh images holding nothing of other sessions ----

TEST(Isolation, WorkerIsAnExecutedImageInWorkerMode) {
  Rig t;
  t.start(R"({"dumpable": true})");  // /proc/PID/exe of the worker is read
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w;
  auto c = open_session(t.tcp, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  ASSERT_TRUE(c->ping(1));
  const std::string wpid = std::to_string(w.worker_pid);
  std::string cmdline = testing::proc_text("/proc/" + wpid + "/cmdline");
  EXPECT_TRUE(contains(cmdline, std::string("--worker\0--control-fd", 22))) << cmdline;
  char exe[PATH_MAX] = {}, want[PATH_MAX] = {};
  ASSERT_GT(readlink(("/proc/" + wpid + "/exe").c_str(), exe, sizeof exe - 1), 0);
  ASSERT_NE(realpath(GVIRTUS_BIN_DIR "/gvirtus-backend", want), nullptr);
  EXPECT_STREQ(exe, want);
  // A different image from the daemon's: exec, not a fork.
  std::vector<pid_t> kids = testing::child_pids(t.backend->pid());
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0], static_cast<pid_t>(w.worker_pid));
  EXPECT_NE(testing::proc_text("/proc/" + wpid + "/cmdline"),
            testing::proc_text("/proc/" + std::to_string(t.backend->pid()) + "/cmdline"));
  c->close();
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
  EXPECT_TRUE(contains(t.backend->log(), "exited normally")) << t.backend->log();
}

// The byte limits of the client's identity reach its worker, which enforces them: without a
// GPU, cudaMalloc within the quota answers the runtime's own error (no device), over it the
// quota's cudaErrorMemoryAllocation, before CUDA is asked (docs/security.md, "GPU memory
// quota").
TEST(Isolation, GpuMemoryQuotaReachesTheWorker) {
  Rig t;
  t.start(R"({"limits": {"default": {"gpu_memory": 1048576, "upload_bytes": 16777216}}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w;
  auto c = open_session(t.sock, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  const std::string cmdline =
      testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/cmdline");
  EXPECT_TRUE(contains(cmdline, std::string("--gpu-memory\0" "1048576\0", 21))) << cmdline;
  EXPECT_TRUE(contains(cmdline, std::string("--upload-bytes\0" "16777216\0", 24))) << cmdline;
  auto malloc_status = [&](uint64_t bytes, uint64_t id) {
    wire::Writer pw;
    pw.put<uint64_t>(bytes);
    EXPECT_TRUE(c->send(testing::request_frame(cudart::kCall_cudaMalloc, id, pw.buffer())));
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    EXPECT_TRUE(c->read_frame(&h, &p));
    EXPECT_EQ(h.request_id, id);
    return h.status;
  };
  EXPECT_EQ(malloc_status(2u << 20, 1), 2);  // over: cudaErrorMemoryAllocation
  // Within: the runtime's own answer (no device here; success on a GPU machine).
  EXPECT_NE(malloc_status(4096, 2), 2);
  c->close();
}

// A forked worker would inherit the daemon's table of live sessions (every token).
TEST(Isolation, WorkerHoldsNoOtherSessionsToken) {
  Rig t;
  t.start(R"({"dumpable": true})");  // this test reads the processes' memory
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  const std::string ta = random_bytes(16), tb = random_bytes(16);
  wire::Welcome wa, wb;
  auto a = open_session(t.tcp, ta, &wa);
  ASSERT_EQ(wa.status, wire::kWelcomeOk) << wa.message;
  auto b = open_session(t.sock, tb, &wb);
  ASSERT_EQ(wb.status, wire::kWelcomeOk) << wb.message;
  ASSERT_TRUE(a->ping(1));
  ASSERT_TRUE(b->ping(1));
  size_t scanned = 0;
  // Controls: each worker holds its own token, the daemon both.
  EXPECT_TRUE(memory_contains(static_cast<pid_t>(wa.worker_pid), ta, &scanned));
  EXPECT_TRUE(memory_contains(static_cast<pid_t>(wb.worker_pid), tb, &scanned));
  EXPECT_TRUE(memory_contains(t.backend->pid(), ta, &scanned));
  EXPECT_TRUE(memory_contains(t.backend->pid(), tb, &scanned));
  // The test: neither holds the other's.
  EXPECT_FALSE(memory_contains(static_cast<pid_t>(wb.worker_pid), ta, &scanned));
  EXPECT_GT(scanned, 1u << 20);
  EXPECT_FALSE(memory_contains(static_cast<pid_t>(wa.worker_pid), tb, &scanned));
  EXPECT_GT(scanned, 1u << 20);
}

// A client session of its own (random token) to a tls:// endpoint, trusting ca_file.
std::unique_ptr<client::Session> tls_session(const std::string& tls, const std::string& ca_file) {
  client::SessionOptions o = testing::test_session_options(
      [tls, ca_file](std::unique_ptr<Stream>* out, std::string* where) {
        Endpoint ep;
        Status s = parse_endpoint(tls, &ep);
        if (!s) return s;
        *where = tls;
        TlsClientOptions opt;
        opt.ca_file = ca_file;
        opt.handshake_timeout_ms = 5000;
        return connect_tls(ep, opt, out);
      });
  o.handshake_timeout_ms = 5000;
  const std::string token = random_bytes(16);
  std::memcpy(o.identity.token, token.data(), sizeof o.identity.token);
  return std::make_unique<client::Session>(std::move(o));
}

// A Ping on the calling thread's connection of s.
bool ping(client::Session& s) {
  client::Connection* c = s.connection(false);
  uint64_t id = 0;
  wire::FrameHeader h;
  return c && c->send_request(client::kCallPing, 0, nullptr, 0, &id) &&
         c->recv_reply_header(id, &h) && h.status == 0;
}

// The same over TLS: each connection has a relay process (tls_relay.h). A relay forked from
// the daemon would hold the daemon's table of live sessions; an exec'd one holds only the
// bytes of its own connection.
TEST(Isolation, TlsRelaysAndWorkersHoldNoOtherSessionsToken) {
  Rig t;
  std::string tls;
  ASSERT_TRUE(t.start_tls(R"("dumpable": true)", &tls));  // the processes' memory is read
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  auto session = [&] { return tls_session(tls, t.ca_file()); };
  auto a = session();
  ASSERT_TRUE(ping(*a)) << a->error();
  auto b = session();  // its relay and worker start while a's session is live
  ASSERT_TRUE(ping(*b)) << b->error();
  const std::string ta(reinterpret_cast<const char*>(a->identity().token), 16);
  const std::string tb(reinterpret_cast<const char*>(b->identity().token), 16);
  std::vector<pid_t> relays, workers;
  for (pid_t p : settled_children(t.backend->pid(), 5)) {
    std::string cmdline = testing::proc_text("/proc/" + std::to_string(p) + "/cmdline");
    if (contains(cmdline, std::string("\0--worker\0", 10)))
      workers.push_back(p);
    else
      relays.push_back(p);
  }
  for (pid_t p : relays)  // exec'd in relay mode, not forks of the daemon
    EXPECT_TRUE(contains(testing::proc_text("/proc/" + std::to_string(p) + "/cmdline"),
                         std::string("\0--tls-relay\0", 13)));
  ASSERT_EQ(relays.size(), 3u);  // a's, b's, and the spare waiting for the next connection
  ASSERT_EQ(workers.size(), 2u);
  size_t scanned = 0;
  EXPECT_TRUE(memory_contains(t.backend->pid(), ta, &scanned));  // controls
  EXPECT_TRUE(memory_contains(t.backend->pid(), tb, &scanned));
  // b's relay and worker: those holding b's token (its Hello went through them).
  int b_side = 0;
  for (pid_t p : relays) {
    if (!memory_contains(p, tb, &scanned)) continue;
    ++b_side;
    EXPECT_FALSE(memory_contains(p, ta, &scanned)) << "relay " << p << " holds a's token";
    EXPECT_GT(scanned, 1u << 20);
  }
  for (pid_t p : workers) {
    if (!memory_contains(p, tb, &scanned)) continue;
    ++b_side;
    EXPECT_FALSE(memory_contains(p, ta, &scanned)) << "worker " << p << " holds a's token";
    EXPECT_GT(scanned, 1u << 20);
  }
  EXPECT_EQ(b_side, 2);  // the control: b's relay and b's worker were found and scanned
}

// A TLS relay is for the daemon only: by hand it exits with status 2 and says why.
TEST(Isolation, TlsRelayModeByHandRefuses) {
  std::string cmd = std::string(GVIRTUS_BIN_DIR) + "/gvirtus-backend --tls-relay --net-fd 987" +
                    " 2>&1; echo \"exit $?\"";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  EXPECT_TRUE(contains(out, "bad argument --net-fd")) << out;
  EXPECT_TRUE(contains(out, "exit 2")) << out;
}

TEST(Isolation, WorkerHoldsNoAuthenticationToken) {
  Rig t;
  // A fresh random token, so no other copy of it (this test's source) can be found.
  std::string token;
  for (char c : random_bytes(24)) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(c));
    token += hex;
  }
  std::string file = t.dir.write("token", token + "\n", 0600);
  t.start(R"({"dumpable": true})", {}, {"GVIRTUS_TOKEN_FILE=" + file});  // memory is read
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  client::SessionOptions o = t.tcp_client_options();
  o.auth_key = token;
  o.auth_source = "the test's token";
  o.handshake_timeout_ms = 5000;
  client::Session s(std::move(o));
  client::Connection* c = s.connection(false);
  ASSERT_NE(c, nullptr) << s.error();
  uint64_t id = 0;
  ASSERT_TRUE(c->send_request(client::kCallPing, 0, nullptr, 0, &id));
  wire::FrameHeader h;
  ASSERT_TRUE(c->recv_reply_header(id, &h));
  std::vector<pid_t> kids = testing::child_pids(t.backend->pid());
  ASSERT_EQ(kids.size(), 1u);
  size_t scanned = 0;
  EXPECT_TRUE(memory_contains(t.backend->pid(), token, &scanned));  // control
  EXPECT_FALSE(memory_contains(kids[0], token, &scanned));
  EXPECT_GT(scanned, 1u << 20);
  // Nor the path to it: the worker's environment lost GVIRTUS_TOKEN_FILE.
  std::string env = testing::proc_text("/proc/" + std::to_string(kids[0]) + "/environ");
  EXPECT_FALSE(contains(env, "GVIRTUS_TOKEN_FILE")) << env;
  EXPECT_TRUE(contains(env, "GVIRTUS_LOGLEVEL=debug"));
}

// Worker mode is for the daemon only: started by hand with a missing or bad descriptor it
// exits with status 2 and says why, without serving anything.
TEST(Isolation, WorkerModeByHandRefuses) {
  auto run = [](const std::string& args) {
    std::string cmd = std::string(GVIRTUS_BIN_DIR) + "/gvirtus-backend --worker " + args +
                      " 2>&1; echo \"exit $?\"";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    return out;
  };
  std::string none = run("");
  EXPECT_TRUE(contains(none, "no --control-fd")) << none;
  EXPECT_TRUE(contains(none, "exit 2")) << none;
  std::string closed = run("--control-fd 987 --session 1");
  EXPECT_TRUE(contains(closed, "bad argument --control-fd")) << closed;
  EXPECT_TRUE(contains(closed, "exit 2")) << closed;
  std::string junk = run("--control-fd 0 --fd =5");
  EXPECT_TRUE(contains(junk, "bad argument --fd")) << junk;
  // stdin is no control socket: the primary connection never comes.
  std::string pipe_in = run("--control-fd 0 --session 1 </dev/null");
  EXPECT_TRUE(contains(pipe_in, "no primary connection")) << pipe_in;
  EXPECT_TRUE(contains(pipe_in, "exit 1")) << pipe_in;
}

// ---- limits ----

TEST(Limits, SessionsPerIdentity) {
  Rig t;
  t.start(R"({"limits": {"default": {"sessions": 3},
                         "clients": {"host:127.0.0.1": {"sessions": 1}}}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w1, w2, w3;
  auto first = open_session(t.tcp, random_bytes(16), &w1);
  ASSERT_EQ(w1.status, wire::kWelcomeOk) << w1.message;
  auto second = open_session(t.tcp, random_bytes(16), &w2);
  EXPECT_EQ(w2.status, wire::kWelcomeBusy);
  EXPECT_TRUE(contains(w2.message, "session limit")) << w2.message;
  EXPECT_TRUE(contains(w2.message, "host:127.0.0.1")) << w2.message;
  // Another identity (the Unix peer's uid) has the default's 3.
  auto other = open_session(t.sock, random_bytes(16), &w3);
  EXPECT_EQ(w3.status, wire::kWelcomeOk) << w3.message;
  // Once the first session ends, its identity may start another.
  first->close();
  ASSERT_TRUE(pid_gone(static_cast<pid_t>(w1.worker_pid), 5s));
  // The daemon learns of the end from the worker's control socket or SIGCHLD, a moment later.
  wire::Welcome w4;
  std::unique_ptr<Raw> again;
  for (auto end = Clock::now() + 5s; Clock::now() < end;) {
    again = open_session(t.tcp, random_bytes(16), &w4);
    if (w4.status == wire::kWelcomeOk) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(w4.status, wire::kWelcomeOk) << w4.message;
}

TEST(Limits, ConnectionsPerSession) {
  Rig t;
  t.start(R"({"limits": {"default": {"connections": 2}}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  const std::string token = random_bytes(16);
  wire::Welcome w;
  auto primary = open_session(t.tcp, token, &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  auto second = std::make_unique<Raw>(t.tcp);
  ASSERT_EQ(second->handshake(hello_with_token(token, false)).status, wire::kWelcomeOk);
  ASSERT_TRUE(second->ping(1));
  Raw third(t.tcp);
  wire::Welcome w3 = third.handshake(hello_with_token(token, false));
  EXPECT_EQ(w3.status, wire::kWelcomeBusy);
  EXPECT_TRUE(contains(w3.message, "connection limit")) << w3.message;
  EXPECT_TRUE(third.closed_by_peer());
  // The session goes on; a connection closing frees its place.
  EXPECT_TRUE(primary->ping(2));
  second.reset();
  bool joined = false;
  for (auto end = Clock::now() + 5s; !joined && Clock::now() < end;) {
    Raw again(t.tcp);
    joined = again.handshake(hello_with_token(token, false)).status == wire::kWelcomeOk &&
             again.ping(3);
    if (!joined) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(joined);
}

// The client's side: a thread whose connection is one too many gets no connection (its calls
// fail), the session is not lost, the other threads go on, and once a connection frees up the
// refused thread gets one at its next try.
TEST(Limits, RefusedExtraConnectionFailsOnlyItsThread) {
  Rig t;
  t.start(R"({"limits": {"default": {"connections": 2}}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  client::SessionOptions o = t.tcp_client_options();
  const std::string token = random_bytes(16);
  std::memcpy(o.identity.token, token.data(), sizeof o.identity.token);
  client::Session s(std::move(o));
  auto ping = [&] {
    client::Connection* c = s.connection(false);
    uint64_t id = 0;
    wire::FrameHeader h;
    return c && c->send_request(client::kCallPing, 0, nullptr, 0, &id) &&
           c->recv_reply_header(id, &h) && h.status == 0;
  };
  ASSERT_TRUE(ping()) << s.error();  // the primary
  // A second thread holds the session's second connection until told to end.
  std::mutex mu;
  std::condition_variable cv;
  bool second_ok = false, second_ready = false, release = false;
  std::thread second([&] {
    bool ok = ping();
    std::unique_lock<std::mutex> l(mu);
    second_ok = ok;
    second_ready = true;
    cv.notify_all();
    cv.wait(l, [&] { return release; });
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return second_ready; });
  }
  ASSERT_TRUE(second_ok) << s.error();
  // A third thread: refused, alone. Its second try within the pause does not reach the backend.
  bool third_first = true, third_again = true;
  std::thread([&] {
    third_first = ping();
    third_again = ping();
  }).join();
  EXPECT_FALSE(third_first);
  EXPECT_FALSE(third_again);
  EXPECT_FALSE(s.lost()) << s.error();
  EXPECT_EQ(s.refused_connections(), 1u);
  EXPECT_TRUE(contains(t.backend->log(), "connection limit")) << t.backend->log();
  EXPECT_TRUE(ping()) << s.error();  // the primary's thread goes on
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
    cv.notify_all();
  }
  second.join();  // its connection closes as the thread ends
  // The refused place is free again: a thread gets it (the worker sees the close a moment later).
  bool joined = false;
  for (auto end = Clock::now() + 5s; !joined && Clock::now() < end;) {
    std::thread([&] { joined = ping(); }).join();
    if (!joined) std::this_thread::sleep_for(std::chrono::milliseconds(
        client::Session::kRefusedRetryMs / 2));
  }
  EXPECT_TRUE(joined) << s.error();
  EXPECT_FALSE(s.lost()) << s.error();
}

// The host-callback thread's connection refused as one too many: the call that needed the
// thread fails with cudaErrorDevicesUnavailable, the session goes on, and the next such call
// tries again (a new thread, a new connection) instead of failing for good.
TEST(Limits, RefusedCallbackThreadFailsItsCallAndTriesAgain) {
  {
    // The callback thread is one per process: once an earlier test of this process started
    // it, no connection is asked for here. ctest runs each test in a process of its own.
    client::CallbackThreadSlot& slot = client::callback_thread_slot();
    std::lock_guard<std::mutex> g(slot.mu);
    if (slot.state != 0)
      GTEST_SKIP() << "this process already has its host-callback thread (an earlier test "
                      "started it); run this test alone";
  }
  Rig t;
  t.start(R"({"limits": {"default": {"connections": 1}}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  client::SessionOptions o = t.tcp_client_options();
  const std::string token = random_bytes(16);
  std::memcpy(o.identity.token, token.data(), sizeof o.identity.token);
  client::Session s(std::move(o));
  client::Session* before = client::swap_session_for_testing(&s);
  ASSERT_TRUE(ping(s)) << s.error();  // the primary: the session's one connection
  EXPECT_EQ(cudart::ensure_callback_thread(), cudaErrorDevicesUnavailable);
  EXPECT_EQ(s.refused_connections(), 1u);
  EXPECT_EQ(cudart::ensure_callback_thread(), cudaErrorDevicesUnavailable);
  EXPECT_EQ(s.refused_connections(), 2u);  // it asked again
  EXPECT_FALSE(s.lost()) << s.error();
  EXPECT_TRUE(ping(s)) << s.error();
  client::swap_session_for_testing(before);
}

// ---- devices, resource limits, user ----

// The check against the host's GPUs (devices.h), on a stand-in for the driver's folder.
TEST(Isolation, DevicesAreCheckedAgainstTheHostsGpus) {
  TempDir d;
  d.write("0000:17:00.0", "");
  d.write("0000:65:00.0", "");
  bool unchecked = true;
  EXPECT_TRUE(backend::check_devices_present("1,0", d.path(), &unchecked));
  EXPECT_FALSE(unchecked);
  Status s = backend::check_devices_present("0,2", d.path(), &unchecked);
  EXPECT_FALSE(s);
  EXPECT_TRUE(contains(s.message(), "there is no GPU 2: this host has 2 GPU(s) (0-1)"))
      << s.message();
  EXPECT_TRUE(backend::check_devices_present("5", d.path() + "/none", &unchecked));
  EXPECT_TRUE(unchecked);
}

TEST(Isolation, DevicesFlagReachesTheWorkersCudaVisibleDevices) {
  Rig t;
  t.start(R"({"devices": "0", "dumpable": true})", {"--devices", "1,0"});  // environ is read
  size_t gpus = 0;
  bool checked = false;
  if (DIR* dir = opendir(backend::kDriverGpuDir)) {
    checked = true;
    while (dirent* e = readdir(dir)) gpus += e->d_name[0] != '.';
    closedir(dir);
  }
  if (checked && gpus < 2) {
    // A host with the driver and fewer than two GPUs: GPU 1 does not exist, refused at start.
    EXPECT_EQ(t.backend->exit_code(), 2);
    EXPECT_TRUE(contains(t.backend->log(), "there is no GPU 1")) << t.backend->log();
    return;
  }
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w;
  auto c = open_session(t.tcp, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  std::string env = testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/environ");
  EXPECT_TRUE(contains(env, std::string("\0CUDA_VISIBLE_DEVICES=1,0\0", 26)) ||
              env.rfind("CUDA_VISIBLE_DEVICES=1,0", 0) == 0)
      << env;
  // Ordinals are nvidia-smi's (and NVML's): PCI bus order.
  EXPECT_TRUE(contains(env, std::string("\0CUDA_DEVICE_ORDER=PCI_BUS_ID\0", 30)) ||
              env.rfind("CUDA_DEVICE_ORDER=PCI_BUS_ID", 0) == 0)
      << env;
  Rig bad;
  bad.start("{}", {"--devices", "0,x"});
  EXPECT_EQ(bad.backend->exit_code(), 2);
  EXPECT_TRUE(contains(bad.backend->log(), "--devices")) << bad.backend->log();
}

// Device memory clearing (cudart/clearing.h) is a worker switch: on by default when another
// host can connect, off on loopback, and as the config says when it says.
TEST(Isolation, ClearDeviceMemorySwitchReachesTheWorker) {
  auto worker_args = [](const std::string& config, std::vector<std::string> args) {
    Rig t;
    t.start(config, std::move(args));
    EXPECT_TRUE(t.backend->ready()) << t.backend->log();
    wire::Welcome w;
    auto c = open_session(t.tcp, random_bytes(16), &w);
    EXPECT_EQ(w.status, wire::kWelcomeOk) << w.message;
    return testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/cmdline");
  };
  const std::string on("--clear-memory\0" "1", 16);
  EXPECT_FALSE(contains(worker_args("{}", {}), on));
  EXPECT_TRUE(contains(worker_args(R"({"clear_device_memory": true})", {}), on));
  const std::string any = "tcp://0.0.0.0:" + std::to_string(free_tcp_port());
  EXPECT_TRUE(contains(worker_args("{}", {"--listen", any, "--insecure"}), on));
  EXPECT_FALSE(
      contains(worker_args(R"({"clear_device_memory": false})", {"--listen", any, "--insecure"}),
               on));
  Config c;
  Status s = parse_config_json(R"({"clear_device_memory": "yes"})", "f.json", &c);
  EXPECT_FALSE(s);
  EXPECT_TRUE(contains(s.message(), "clear_device_memory")) << s.message();
}

// "receive_spin_us" reaches the workers and the TLS relays as --receive-spin-us (how long they
// look for the next request before they sleep, docs/backend.md "Waiting for requests"); 0
// passes no switch, and a value that is not a whole number from 0 to 1000 is refused.
TEST(Settings, ReceiveSpinReachesWorkersAndRelays) {
  Rig t;
  std::string tls;
  ASSERT_TRUE(t.start_tls(R"("receive_spin_us": 45)", &tls));
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  auto a = tls_session(tls, t.ca_file());
  ASSERT_TRUE(ping(*a)) << a->error();
  const std::string spin("\0--receive-spin-us\0" "45\0", 22);
  std::vector<pid_t> kids = settled_children(t.backend->pid(), 3);
  ASSERT_EQ(kids.size(), 3u);  // the relay, the spare relay and the worker
  int relays = 0;
  for (pid_t p : kids) {
    const std::string cmdline = testing::proc_text("/proc/" + std::to_string(p) + "/cmdline");
    EXPECT_TRUE(contains(cmdline, spin)) << cmdline;
    relays += contains(cmdline, std::string("\0--tls-relay\0", 13));
  }
  EXPECT_EQ(relays, 2);

  Rig u;
  u.start(R"({"receive_spin_us": 0})");
  ASSERT_TRUE(u.backend->ready()) << u.backend->log();
  wire::Welcome w;
  auto c = open_session(u.tcp, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  const std::string cmdline =
      testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/cmdline");
  EXPECT_TRUE(contains(cmdline, std::string("\0--worker\0", 10))) << cmdline;
  EXPECT_FALSE(contains(cmdline, "--receive-spin-us")) << cmdline;

  for (const char* bad : {R"({"receive_spin_us": -1})", R"({"receive_spin_us": 1001})",
                          R"({"receive_spin_us": 2.5})", R"({"receive_spin_us": "30"})"}) {
    Config cfg;
    Status s = parse_config_json(bad, "f.json", &cfg);
    EXPECT_FALSE(s) << bad;
    EXPECT_TRUE(contains(s.message(), "receive_spin_us")) << s.message();
  }
  Config ok;
  ASSERT_TRUE(parse_config_json(R"({"receive_spin_us": 1000})", "f.json", &ok));
  EXPECT_EQ(ok.receive_spin_us, 1000);
  ASSERT_TRUE(parse_config_json(R"({})", "f.json", &ok));
  EXPECT_EQ(ok.receive_spin_us, -1);  // not set: the daemon chooses
}

TEST(Isolation, WorkerRlimitsAreSet) {
  Rig t;
  t.start(R"({"worker_rlimits": {"nofile": 777, "core": 0}})");
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w;
  auto c = open_session(t.tcp, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  ASSERT_TRUE(c->ping(1));
  std::string limits = testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/limits");
  std::istringstream in(limits);
  std::string line;
  bool seen = false;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    seen = true;
    std::istringstream v(line.substr(std::strlen("Max open files")));
    std::string soft, hard;
    v >> soft >> hard;
    EXPECT_EQ(soft, "777") << line;
    EXPECT_EQ(hard, "777") << line;
  }
  EXPECT_TRUE(seen) << limits;
  // The daemon keeps its own.
  std::string daemon = testing::proc_text("/proc/" + std::to_string(t.backend->pid()) + "/limits");
  EXPECT_FALSE(contains(daemon, " 777 ")) << daemon;
}

// Whether process `pid` may be traced and dumped by its user: the kernel gives the /proc files
// of a non-dumpable process to root instead of the process's user. -1 when it cannot tell (the
// process runs as root).
int dumpable(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::istringstream status(testing::proc_text(dir + "/status"));
  std::string line;
  long uid = -1;
  while (std::getline(status, line))
    if (line.compare(0, 4, "Uid:") == 0) uid = std::strtol(line.c_str() + 4, nullptr, 10);
  struct stat st{};
  if (uid <= 0 || ::stat((dir + "/environ").c_str(), &st) != 0) return -1;
  return st.st_uid == static_cast<uid_t>(uid) ? 1 : 0;
}

// Backend processes are not dumpable by default, so a worker cannot read another's memory
// through /proc or process_vm_readv even as the same user; "dumpable": true allows it.
TEST(Isolation, BackendProcessesAreNotDumpableUnlessConfigured) {
  // Run as root, the workers need another user for the ownership of /proc to tell.
  const bool root = geteuid() == 0;
  struct passwd* pw = getpwnam("nobody");
  if (root && !pw) {
    GTEST_SKIP() << "no user \"nobody\" to run workers as";
  }
  for (bool configured : {false, true}) {
    Rig t;
    std::string cfg = std::string("{\"dumpable\": ") + (configured ? "true" : "false");
    if (root) cfg += R"(, "worker_user": "nobody")";
    t.start(cfg + "}");
    ASSERT_TRUE(t.backend->ready()) << t.backend->log();
    wire::Welcome w;
    auto c = open_session(t.tcp, random_bytes(16), &w);
    ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
    ASSERT_TRUE(c->ping(1));
    EXPECT_EQ(dumpable(static_cast<pid_t>(w.worker_pid)), configured ? 1 : 0) << cfg;
    if (!root) {
      EXPECT_EQ(dumpable(t.backend->pid()), configured ? 1 : 0) << "the daemon";
    }
  }
}

TEST(Isolation, WorkerUser) {
  struct passwd* pw = getpwnam("nobody");
  if (!pw) GTEST_SKIP() << "no user \"nobody\" on this machine";
  Rig t;
  t.start(R"({"worker_user": "nobody"})");
  if (geteuid() != 0) {
    // Only root can change a worker's user: the backend says so instead of starting.
    EXPECT_EQ(t.backend->exit_code(), 2);
    EXPECT_TRUE(contains(t.backend->log(), "worker_user")) << t.backend->log();
    return;
  }
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  wire::Welcome w;
  auto c = open_session(t.tcp, random_bytes(16), &w);
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  ASSERT_TRUE(c->ping(1));
  std::string status = testing::proc_text("/proc/" + std::to_string(w.worker_pid) + "/status");
  std::string uid_line = "Uid:\t" + std::to_string(pw->pw_uid) + "\t" +
                         std::to_string(pw->pw_uid);
  EXPECT_TRUE(contains(status, uid_line)) << status;
}

// A TLS relay reads the key as the daemon's user (root), then becomes the worker user before it
// parses anything the network sends; not dumpable (the spare, which holds the key while it
// waits, included), so a worker of the same user cannot read the key.
TEST(Isolation, TlsRelayRunsAsTheWorkerUser) {
  struct passwd* pw = getpwnam("nobody");
  if (!pw) GTEST_SKIP() << "no user \"nobody\" on this machine";
  if (geteuid() != 0) GTEST_SKIP() << "only root can change a relay's user";
  Rig t;
  std::string tls;
  ASSERT_TRUE(t.start_tls(R"("worker_user": "nobody")", &tls));
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  auto s = tls_session(tls, t.ca_file());
  ASSERT_TRUE(ping(*s)) << s->error() << t.backend->log();
  const std::string uid_line = "Uid:\t" + std::to_string(pw->pw_uid) + "\t" +
                               std::to_string(pw->pw_uid);
  // Its relay, and the spare one once that has loaded the key; and the worker.
  const auto as_worker_user = [&](pid_t p) {
    return contains(testing::proc_text("/proc/" + std::to_string(p) + "/status"), uid_line);
  };
  int relays = 0;
  for (pid_t p : settled_children(t.backend->pid(), 3, as_worker_user)) {
    if (!contains(testing::proc_text("/proc/" + std::to_string(p) + "/cmdline"),
                  std::string("\0--tls-relay\0", 13)))
      continue;
    ++relays;
    std::string status = testing::proc_text("/proc/" + std::to_string(p) + "/status");
    EXPECT_TRUE(contains(status, uid_line)) << status;
    EXPECT_EQ(dumpable(p), 0) << status;
  }
  EXPECT_EQ(relays, 2);
}

}  // namespace
}  // namespace gvirtus
