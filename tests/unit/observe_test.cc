// Observability (docs/backend.md, "Observing sessions"): `gvirtus status` against the real
// daemon, the Prometheus endpoint scraped over HTTP (and attacked), the session-end log line, and
// the shared counter block's defences against its worker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/control.h"
#include "backend/stats.h"
#include "backend_process.h"
#include "cli/options.h"
#include "cli/status.h"
#include "common/endpoint.h"
#include "common/session_status.h"
#include "common/transport.h"
#include "expect_fault.h"
#include "test_env.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Backend;
using testing::free_tcp_port;
using testing::hello_frame;
using testing::Raw;
using testing::test_hello;
using testenv::TempDir;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Sends raw bytes to host:port and reads until the server closes (or timeout_ms passes).
// *closed tells whether the server closed.
std::string http_exchange(int port, const std::string& request, int timeout_ms = 3000,
                          bool* closed = nullptr) {
  Raw r("tcp://127.0.0.1:" + std::to_string(port));
  std::vector<uint8_t> b(request.begin(), request.end());
  r.send(b);
  std::string got;
  auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (closed) *closed = false;
  while (Clock::now() < end) {
    pollfd p{r.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(r.fd(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Each line of the exposition text: a HELP or TYPE comment, or `name{labels} value`.
bool valid_exposition(const std::string& body, std::string* bad) {
  static const std::regex help(R"(# HELP gvirtus_[a-z_]+ .+)");
  static const std::regex type(R"(# TYPE gvirtus_[a-z_]+ (counter|gauge))");
  static const std::regex sample(
      R"(gvirtus_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*")(,[a-z_]+="([^"\\]|\\.)*")*\})? [0-9]+)");
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (std::regex_match(line, help) || std::regex_match(line, type) ||
        std::regex_match(line, sample))
      continue;
    *bad = line;
    return false;
  }
  return !body.empty() && body.back() == '\n';
}

// A backend on a Unix socket and TCP, with metrics on another port.
class Observe : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp_ = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    unix_ = "unix:" + dir_.path() + "/gv.sock";
    metrics_port_ = free_tcp_port();
    backend_ = std::make_unique<Backend>(std::vector<std::string>{
        "--listen", unix_, "--listen", tcp_, "--metrics",
        "http://127.0.0.1:" + std::to_string(metrics_port_)});
    ASSERT_TRUE(backend_->ready()) << backend_->log();
  }

  // A status query over `ep` with raw bytes: the Welcome, then the status Reply.
  BackendStatus query(const std::string& ep, int32_t* welcome_status = nullptr) {
    Raw r(ep);
    wire::Hello h = test_hello(1, false);
    h.primary = wire::kHelloStatus;
    wire::Welcome w = r.handshake(h);
    if (welcome_status) *welcome_status = w.status;
    BackendStatus b;
    if (w.status != wire::kWelcomeOk) return b;
    wire::FrameHeader fh;
    std::vector<uint8_t> p;
    EXPECT_TRUE(r.read_frame(&fh, &p));
    EXPECT_EQ(fh.kind, static_cast<uint16_t>(wire::Kind::kReply));
    EXPECT_EQ(fh.call_id, wire::kCallStatus);
    wire::Reader rd(p.data(), p.size());
    b = decode_status(rd);
    EXPECT_TRUE(r.closed_by_peer());  // one answer, then the daemon closes
    return b;
  }

  std::string scrape() {
    std::string r = http_exchange(metrics_port_, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t at = r.find("\r\n\r\n");
    EXPECT_TRUE(contains(r, "HTTP/1.1 200 OK")) << r;
    EXPECT_TRUE(contains(r, "Content-Type: text/plain; version=0.0.4")) << r;
    return at == std::string::npos ? "" : r.substr(at + 4);
  }

  // Waits (bounded) until the status shows the session of client pid 4242 with `calls` calls
  // and replies sent for all of them (a reply is counted just after it is sent).
  SessionStatus wait_for_calls(uint64_t calls) {
    SessionStatus found;
    auto end = Clock::now() + 5s;
    while (Clock::now() < end) {
      BackendStatus b = query(unix_);
      for (const auto& s : b.sessions)
        if (s.client_pid == 4242) found = s;
      if (found.calls == calls && found.bytes_out == 32 * calls) break;
      std::this_thread::sleep_for(20ms);
    }
    return found;
  }

  TempDir dir_;
  std::string tcp_, unix_;
  int metrics_port_ = 0;
  std::unique_ptr<Backend> backend_;
};

TEST_F(Observe, StatusListsALiveSessionWithItsClientAndCountersThatGrow) {
  EXPECT_TRUE(query(unix_).sessions.empty());
  Raw client(unix_);
  wire::Welcome w = client.handshake(test_hello(9));
  ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(client.ping(id));

  SessionStatus s = wait_for_calls(3);
  EXPECT_EQ(s.calls, 3u);
  EXPECT_EQ(s.bytes_in, 3u * 32);  // three empty Ping requests: headers only
  EXPECT_EQ(s.bytes_out, 3u * 32);
  EXPECT_EQ(s.worker_pid, w.worker_pid);
  EXPECT_EQ(s.session_id, w.session_id);
  EXPECT_EQ(s.host, "testhost");
  EXPECT_EQ(s.program, "unit-test");
  EXPECT_EQ(s.identity, "uid:" + std::to_string(getuid()));  // Unix peer, no token
  EXPECT_EQ(s.connections, 1u);
  ASSERT_EQ(s.plugins.size(), 1u);
  EXPECT_EQ(s.plugins[0], "cudart");
  EXPECT_TRUE(s.loaded.empty());  // no library plugin was called
  EXPECT_TRUE(s.gpu_memory.empty());

  // More calls, a second connection: the figures follow.
  Raw second(unix_);
  ASSERT_EQ(second.handshake(test_hello(9, false)).status, wire::kWelcomeOk);
  ASSERT_TRUE(second.ping(1));
  ASSERT_TRUE(client.ping(4));
  s = wait_for_calls(5);
  EXPECT_EQ(s.calls, 5u);
  EXPECT_EQ(s.connections, 2u);

  // The same through the command's own code, over TCP.
  setenv("GVIRTUS_ENDPOINT", tcp_.c_str(), 1);
  BackendStatus b;
  std::string where;
  Status st = cli::fetch_status(&b, &where, 5000);
  ASSERT_TRUE(st) << st.to_string();
  ASSERT_EQ(b.sessions.size(), 1u);
  EXPECT_EQ(b.daemon_pid, static_cast<uint32_t>(backend_->pid()));
  std::string text = cli::format_status(b, where);
  EXPECT_TRUE(contains(text, "pid 4242 on testhost: unit-test")) << text;
  EXPECT_TRUE(contains(text, "calls       5")) << text;
  EXPECT_TRUE(contains(text, "worker pid " + std::to_string(w.worker_pid))) << text;
}

TEST_F(Observe, SessionEndIsOneStructuredLogLineWithTotals) {
  {
    Raw client(unix_);
    wire::Welcome w = client.handshake(test_hello(5));
    ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
    for (uint64_t id = 1; id <= 2; ++id) ASSERT_TRUE(client.ping(id));
  }
  std::string line;
  auto end = Clock::now() + 5s;
  while (Clock::now() < end && line.empty()) {
    std::istringstream in(backend_->log());
    std::string l;
    while (std::getline(in, l))
      if (contains(l, "session-end ")) line = l;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(line.empty()) << backend_->log();
  for (const char* part : {"session=1 ", "client_pid=4242 ", "host=testhost ", "program=unit-test ",
                           "calls=2 ", "bytes_in=64 ", "bytes_out=64 ", "connections=1 ",
                           "reason=closed ", "exit=\"exited normally\""})
    EXPECT_TRUE(contains(line, part)) << part << " not in: " << line;
  EXPECT_TRUE(contains(backend_->log(), "session-start session=1 ")) << backend_->log();
}

TEST_F(Observe, MetricsAreValidExpositionTextWithTheCounters) {
  Raw client(tcp_);
  ASSERT_EQ(client.handshake(test_hello(3)).status, wire::kWelcomeOk);
  for (uint64_t id = 1; id <= 4; ++id) ASSERT_TRUE(client.ping(id));
  ASSERT_EQ(wait_for_calls(4).calls, 4u);
  std::string body = scrape();
  std::string bad;
  EXPECT_TRUE(valid_exposition(body, &bad)) << "bad line: " << bad << "\n" << body;
  EXPECT_TRUE(contains(body, "\ngvirtus_sessions 1\n")) << body;
  EXPECT_TRUE(contains(body, "\ngvirtus_calls_total 4\n")) << body;
  EXPECT_TRUE(contains(body, "\ngvirtus_connections 1\n")) << body;
  EXPECT_TRUE(contains(body, "gvirtus_session_calls_total{session=\"1\",")) << body;
  EXPECT_TRUE(contains(
      body, "client_pid=\"4242\",host=\"testhost\",identity=\"host:127.0.0.1\"} 4\n"))
      << body;
  // A refused handshake is counted by reason.
  {
    Raw bad_client(tcp_);
    wire::Hello h = test_hello(4);
    h.plugins = {"no-such-plugin"};
    EXPECT_EQ(bad_client.handshake(h).status, wire::kWelcomeUnknownPlugin);
  }
  body = scrape();
  EXPECT_TRUE(contains(body, "gvirtus_handshakes_refused_total{reason=\"plugin\"} 1\n")) << body;
  // After the session ends its calls stay in the counter; the gauge drops.
  client.close();
  auto end = Clock::now() + 5s;
  while (Clock::now() < end && !contains(body, "\ngvirtus_sessions 0\n")) {
    std::this_thread::sleep_for(20ms);
    body = scrape();
  }
  EXPECT_TRUE(contains(body, "\ngvirtus_sessions 0\n")) << body;
  EXPECT_TRUE(contains(body, "\ngvirtus_calls_total 4\n")) << body;
  EXPECT_TRUE(contains(body, "gvirtus_sessions_ended_total{reason=\"closed\"} 1\n")) << body;
}

TEST_F(Observe, HostileMetricsRequestsDoNotStallTheDaemon) {
  // Slow scrapers that never finish their request, as many as are served at once.
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 16; ++i) {
    slow.push_back(std::make_unique<Raw>("tcp://127.0.0.1:" + std::to_string(metrics_port_)));
    slow.back()->send({'G', 'E'});
  }
  // Clients go on being served meanwhile, promptly.
  auto t0 = Clock::now();
  {
    Raw client(unix_);
    ASSERT_EQ(client.handshake(test_hello(8)).status, wire::kWelcomeOk);
    ASSERT_TRUE(client.ping(1));
    EXPECT_EQ(query(tcp_).sessions.size(), 1u);
  }
  EXPECT_LT(Clock::now() - t0, 2s);
  slow.clear();

  // Huge, garbage, wrong method, wrong path: each answered with an error and closed.
  bool closed = false;
  std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(64 << 10, 'a') + "\r\n\r\n";
  EXPECT_TRUE(contains(http_exchange(metrics_port_, huge, 3000, &closed), " 431 "));
  EXPECT_TRUE(closed);
  EXPECT_TRUE(contains(http_exchange(metrics_port_, std::string("\x01\x02\x00zz\r\n\r\n", 9)),
                       " 400 "));
  EXPECT_TRUE(contains(http_exchange(metrics_port_, "POST /metrics HTTP/1.1\r\n\r\n"), " 405 "));
  EXPECT_TRUE(contains(http_exchange(metrics_port_, "GET /secret HTTP/1.1\r\n\r\n"), " 404 "));
  // A request line with no end, sent slowly, is dropped at the deadline (5 s).
  {
    Raw dribble("tcp://127.0.0.1:" + std::to_string(metrics_port_));
    auto start = Clock::now();
    bool dropped = false;
    while (Clock::now() - start < 8s) {
      if (!dribble.send({'x'})) {
        dropped = true;
        break;
      }
      pollfd p{dribble.fd(), POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        char c;
        if (::recv(dribble.fd(), &c, 1, 0) <= 0) {
          dropped = true;
          break;
        }
      }
    }
    EXPECT_TRUE(dropped);
    EXPECT_LT(Clock::now() - start, 7s);
  }
  // And the endpoint still works.
  std::string body = scrape();
  EXPECT_TRUE(contains(body, "gvirtus_metrics_bad_requests_total ")) << body;
  EXPECT_FALSE(contains(body, "gvirtus_metrics_bad_requests_total 0\n")) << body;
}

// The status query goes through the same access checks as a session: with a token configured,
// a query without the token's proof is refused and learns nothing.
TEST(ObserveAccess, StatusQueryWithoutTheTokenIsRefused) {
  TempDir dir;
  std::string token = dir.write("token", "0123456789abcdef0123456789abcdef\n", 0600);
  std::string cfg = dir.write("backend.json", "{\"token_file\": \"" + token + "\"}");
  std::string tcp = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
  Backend b({"--config", cfg, "--listen", tcp});
  ASSERT_TRUE(b.ready()) << b.log();
  Raw r(tcp);
  wire::Hello h = test_hello(1, false);
  h.primary = wire::kHelloStatus;
  wire::Welcome w = r.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized) << w.message;
  wire::FrameHeader fh;
  std::vector<uint8_t> p;
  EXPECT_FALSE(r.read_frame(&fh, &p));  // no status follows

  // With the token (the command's own handshake), it is answered.
  setenv("GVIRTUS_ENDPOINT", tcp.c_str(), 1);
  setenv("GVIRTUS_TOKEN_FILE", token.c_str(), 1);
  BackendStatus s;
  std::string where;
  Status st = cli::fetch_status(&s, &where, 5000);
  EXPECT_TRUE(st) << st.to_string();
  unsetenv("GVIRTUS_TOKEN_FILE");
}

// The daemon maps each worker's block; the worker holds a writable descriptor to it.
TEST(StatsBlock, AWorkerCannotShrinkItsBlockUnderTheDaemon) {
  int fd = backend::stats::create_block_fd();
  ASSERT_GE(fd, 0);
  int worker_copy = dup(fd);
  backend::stats::View view(fd);
  close(fd);
  ASSERT_TRUE(static_cast<bool>(view));
  EXPECT_NE(ftruncate(worker_copy, 0), 0);  // sealed: the daemon's reads cannot fault
  EXPECT_NE(ftruncate(worker_copy, 1 << 20), 0);
  // What the worker writes is read back, and a lying device count is bounded.
  void* p = mmap(nullptr, sizeof(backend::stats::Block), PROT_READ | PROT_WRITE, MAP_SHARED,
                 worker_copy, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* b = static_cast<backend::stats::Block*>(p);
  b->calls.store(7);
  b->devices.store(0xffffffffu);
  backend::stats::Snapshot s = view.read();
  EXPECT_EQ(s.calls, 7u);
  EXPECT_EQ(s.devices, backend::stats::kMaxDevices);
  munmap(p, sizeof(backend::stats::Block));
  close(worker_copy);
}

TEST(StatsBlock, AnUnsealedDescriptorIsNotMapped) {
  int fd = memfd_create("x", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  backend::stats::View view(fd);
  EXPECT_FALSE(static_cast<bool>(view));
  close(fd);
}

// A backend that welcomes the query and then stops in the middle of its answer (in the frame
// header, or in the body), or trickles it a byte at a time, cannot hold `gvirtus status`: it
// fails at its deadline, over a Unix socket and over shared memory.
TEST(StatusCommand, ABackendThatStopsOrTricklesMidAnswerTimesOut) {
  struct Case {
    const char* scheme;
    size_t cut;     // bytes of the answer's frame sent at once
    bool trickle;   // then one more byte every 50 ms
  };
  const Case cases[] = {{"unix:", 5, false},
                        {"unix:", wire::kHeaderSize + 10, false},
                        {"unix:", wire::kHeaderSize, true},
                        {"shm:", 5, false},
                        {"shm:", wire::kHeaderSize, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.scheme) + " cut " + std::to_string(c.cut) +
                 (c.trickle ? " trickle" : ""));
    TempDir dir;
    std::string ep = c.scheme + dir.path() + "/b.sock";
    Endpoint e;
    ASSERT_TRUE(parse_endpoint(ep, &e));
    std::unique_ptr<Listener> l;
    ASSERT_TRUE(listen_on(e, &l));
    std::atomic<bool> gone{false};  // fetch_status has returned
    std::thread server([&l, &gone, c] {
      struct pollfd p = {l->fd(), POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return;  // the client never came: the test fails below
      std::unique_ptr<Stream> s = testing::accept_hello(*l);
      if (!s) return;
      const std::vector<uint8_t> welcome = testing::welcome_bytes();
      struct iovec iov = {const_cast<uint8_t*>(welcome.data()), welcome.size()};
      if (!s->send(&iov, 1)) return;
      // The status answer's header says 1000 bytes follow; only part of the frame comes.
      std::vector<uint8_t> frame(wire::kHeaderSize + 1000);
      wire::FrameHeader ah;
      ah.kind = static_cast<uint16_t>(wire::Kind::kReply);
      ah.call_id = wire::kCallStatus;
      ah.length = 1000;
      wire::encode_header(ah, frame.data());
      struct iovec part = {frame.data(), c.cut};
      if (!s->send(&part, 1)) return;
      testing::trickle(*s, frame, c.trickle ? c.cut : frame.size(), gone, 50ms);
    });
    setenv("GVIRTUS_ENDPOINT", ep.c_str(), 1);
    BackendStatus b;
    std::string where;
    auto t0 = Clock::now();
    Status st = cli::fetch_status(&b, &where, 300);
    const auto took = Clock::now() - t0;
    gone.store(true);
    EXPECT_FALSE(st);
    EXPECT_EQ(st.code(), Code::kTimeout) << st.to_string();
    EXPECT_LT(took, 2s);
    server.join();
  }
  unsetenv("GVIRTUS_ENDPOINT");
}

TEST(StatusCommand, ParsesItsOptions) {
  cli::Options o;
  ASSERT_TRUE(cli::parse_args({"status", "--endpoint", "unix:/x"}, &o));
  EXPECT_EQ(o.command, cli::Command::kStatus);
  EXPECT_EQ(o.endpoint, "unix:/x");
  EXPECT_FALSE(cli::parse_args({"status", "extra"}, &o));
  // Nothing configured: no private backend to ask, and it says so.
  unsetenv("GVIRTUS_ENDPOINT");
  unsetenv("GVIRTUS_CONFIG");
  setenv("GVIRTUS_HOME", "/nonexistent", 1);
  ASSERT_TRUE(cli::parse_args({"status"}, &o));
  EXPECT_EQ(cli::status_command(o), 1);
}

TEST(StatusWire, RoundTripsAndRefusesHostileAnswers) {
  BackendStatus b;
  b.now_unix_ms = 123;
  b.daemon_pid = 9;
  SessionStatus s;
  s.session_id = 4;
  s.host = "h";
  s.plugins = {"cudart", "cublas"};
  s.loaded = {"cublas"};
  s.gpu_memory = {{0, 1u << 20}};
  s.calls = 77;
  b.sessions.push_back(s);
  wire::Writer w;
  encode_status(b, w);
  wire::Reader r(w.data(), w.size());
  BackendStatus d = decode_status(r);
  ASSERT_EQ(d.sessions.size(), 1u);
  EXPECT_EQ(d.sessions[0].calls, 77u);
  EXPECT_EQ(d.sessions[0].loaded, s.loaded);
  EXPECT_EQ(d.sessions[0].gpu_memory, s.gpu_memory);
  // Every truncation throws; so does a session count beyond the bound.
  for (size_t n = 0; n < w.size(); ++n) {
    wire::Reader t(w.data(), n);
    EXPECT_FAULT(decode_status(t), "payload too short") << n;
  }
  std::vector<uint8_t> lie(w.data(), w.data() + w.size());
  uint32_t many = 0xffffffffu;
  std::memcpy(lie.data() + 12, &many, 4);
  wire::Reader t(lie.data(), lie.size());
  EXPECT_FAULT(decode_status(t), "too many sessions in a status answer");
}

}  // namespace
}  // namespace gvirtus
