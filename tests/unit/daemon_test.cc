// The gvirtus-backend binary, spoken to raw over Unix and TCP sockets: handshake, refusals,
// secondary connections, sessions ended by hostile or vanished clients, limits, shutdown.
// Every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend/control.h"
#include "common/transport.h"
#include "backend_process.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::hello_frame;
using testing::request_frame;
using testing::test_hello;
using testing::Backend;
using testing::Raw;
using testing::free_tcp_port;
using testing::pid_gone;
using testing::kIoTimeoutMs;

// One backend listening on a Unix socket, shared memory and a TCP port, per test.
class Daemon : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(std::vector<std::string> extra, int inherit_fd = -1) {
    backend_.reset();
    tcp_ = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    char tmpl[] = "/tmp/gvsockXXXXXX";
    sock_dir_ = mkdtemp(tmpl);
    sock_path_ = sock_dir_ + "/gv.sock";
    unix_ = "unix:" + sock_path_;
    shm_ = "shm:" + sock_dir_ + "/gv.shm";
    std::vector<std::string> args = {"--listen", unix_, "--listen", tcp_, "--listen", shm_};
    args.insert(args.end(), extra.begin(), extra.end());
    backend_ = std::make_unique<Backend>(args, inherit_fd);
    ASSERT_TRUE(backend_->ready()) << backend_->log();
  }
  void TearDown() override {
    backend_.reset();
    unlink(sock_path_.c_str());
    unlink((sock_dir_ + "/gv.shm").c_str());
    rmdir(sock_dir_.c_str());
  }
  // A primary connection that completed its handshake.
  std::unique_ptr<Raw> session(const std::string& ep, uint8_t token, wire::Welcome* w) {
    auto r = std::make_unique<Raw>(ep);
    *w = r->handshake(test_hello(token));
    EXPECT_EQ(w->status, wire::kWelcomeOk) << w->message;
    return r;
  }

  std::unique_ptr<Backend> backend_;
  std::string tcp_, unix_, shm_, sock_dir_, sock_path_;
};

TEST_F(Daemon, HelloWelcomePingOverUnixAndTcp) {
  for (const std::string& ep : {unix_, tcp_}) {
    wire::Welcome w;
    auto c = session(ep, ep == unix_ ? 1 : 2, &w);
    EXPECT_GT(w.worker_pid, 0u);
    EXPECT_NE(static_cast<pid_t>(w.worker_pid), backend_->pid());
    EXPECT_GE(w.session_id, 1u);
    EXPECT_EQ(w.major, wire::kProtocolMajor);
    EXPECT_TRUE(c->ping(1)) << ep;
    EXPECT_TRUE(c->ping(2)) << ep;
  }
  EXPECT_NE(backend_->log().find("listening on " + unix_), std::string::npos);
}

TEST_F(Daemon, ShmSessionWithSecondariesOnEveryTransport) {
  // The primary on shared memory, then secondaries on shm and tcp: the daemon reads each Hello
  // from the rings and hands socket and memfd to the one worker.
  wire::Welcome w;
  auto primary = session(shm_, 90, &w);
  EXPECT_GT(w.worker_pid, 0u);
  EXPECT_TRUE(primary->ping(1));
  Raw second(shm_);
  wire::Welcome w2 = second.handshake(test_hello(90, /*primary=*/false));
  ASSERT_EQ(w2.status, wire::kWelcomeOk) << w2.message;
  EXPECT_EQ(w2.worker_pid, w.worker_pid);
  Raw third(tcp_);
  ASSERT_EQ(third.handshake(test_hello(90, false)).status, wire::kWelcomeOk);
  for (uint64_t i = 2; i < 200; ++i) {
    ASSERT_TRUE(primary->ping(i));
    ASSERT_TRUE(second.ping(i));
    ASSERT_TRUE(third.ping(i));
  }
  second.close();
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(primary->ping(500));
  primary->close();  // a dead client: its worker notices and exits
  EXPECT_TRUE(third.closed_by_peer());
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
  EXPECT_NE(backend_->log().find("listening on " + shm_), std::string::npos);
}

TEST_F(Daemon, ShmRefusalAndProtocolBreachReachTheClient) {
  {
    Raw c(shm_);
    wire::Hello h = test_hello(91);
    h.major = wire::kProtocolMajor + 1;
    wire::Welcome w = c.handshake(h);
    EXPECT_EQ(w.status, wire::kWelcomeBadVersion);
    EXPECT_TRUE(c.closed_by_peer());
  }
  wire::Welcome w;
  auto victim = session(shm_, 92, &w);
  ASSERT_TRUE(victim->ping(1));
  std::vector<uint8_t> junk(64, 0xee);  // not a frame
  ASSERT_TRUE(victim->send(junk));
  std::string said;
  EXPECT_TRUE(victim->closed_by_peer(&said));
  EXPECT_NE(said.find("the backend ended the session"), std::string::npos) << said;
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
  // And the daemon goes on.
  auto next = session(shm_, 93, &w);
  EXPECT_TRUE(next->ping(1));
}

TEST_F(Daemon, OtherProtocolVersionIsRefusedNamingBoth) {
  Raw c(unix_);
  wire::Hello h = test_hello(3);
  h.major = wire::kProtocolMajor + 1;
  h.minor = 4;
  wire::Welcome w = c.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeBadVersion);
  EXPECT_NE(w.message.find(std::to_string(wire::kProtocolMajor + 1) + ".4"), std::string::npos)
      << w.message;
  EXPECT_NE(w.message.find(std::to_string(wire::kProtocolMajor) + "." +
                           std::to_string(wire::kProtocolMinor)),
            std::string::npos)
      << w.message;
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(Daemon, UnknownPluginIsRefusedNamingIt) {
  Raw c(tcp_);
  wire::Hello h = test_hello(4);
  h.plugins = {"cudart", "cufantasy"};
  wire::Welcome w = c.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeUnknownPlugin);
  EXPECT_NE(w.message.find("cufantasy"), std::string::npos) << w.message;
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(Daemon, MalformedHelloIsRefused) {
  Raw c(unix_);
  std::vector<uint8_t> f = hello_frame(test_hello(5));
  f.push_back(0);  // a trailing byte inside the payload
  uint32_t len = static_cast<uint32_t>(f.size() - wire::kHeaderSize);
  std::memcpy(f.data() + 4, &len, 4);
  ASSERT_TRUE(c.send(f));
  wire::Welcome w;
  ASSERT_TRUE(c.welcome(&w));
  EXPECT_EQ(w.status, wire::kWelcomeMalformed);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(Daemon, OversizeHelloIsRefusedBeforeItIsRead) {
  Raw c(unix_);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kHello);
  h.length = wire::kMaxHelloPayload + 1;
  std::vector<uint8_t> b(wire::kHeaderSize);
  wire::encode_header(h, b.data());
  ASSERT_TRUE(c.send(b));
  wire::Welcome w;
  ASSERT_TRUE(c.welcome(&w));
  EXPECT_EQ(w.status, wire::kWelcomeMalformed);
  EXPECT_NE(w.message.find("over the limit"), std::string::npos) << w.message;
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(Daemon, SecondaryWithUnknownTokenIsRefused) {
  Raw c(tcp_);
  wire::Welcome w = c.handshake(test_hello(6, /*primary=*/false));
  EXPECT_EQ(w.status, wire::kWelcomeBadSession);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(Daemon, SecondaryJoinsTheSameWorker) {
  wire::Welcome w1;
  auto primary = session(unix_, 7, &w1);
  Raw second(tcp_);  // another transport, same session
  wire::Welcome w2 = second.handshake(test_hello(7, /*primary=*/false));
  ASSERT_EQ(w2.status, wire::kWelcomeOk) << w2.message;
  EXPECT_EQ(w2.worker_pid, w1.worker_pid);
  EXPECT_EQ(w2.session_id, w1.session_id);
  EXPECT_TRUE(second.ping(1));
  EXPECT_TRUE(primary->ping(1));
  // The secondary closing ends only its own thread.
  second.close();
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(primary->ping(2));
  // The primary closing ends the session: the worker exits and is reaped.
  primary->close();
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w1.worker_pid), 5s));
  // The token no longer names a session.
  Raw late(unix_);
  EXPECT_EQ(late.handshake(test_hello(7, false)).status, wire::kWelcomeBadSession);
}

TEST_F(Daemon, PrimaryClosingClosesSecondaries) {
  wire::Welcome w;
  auto primary = session(unix_, 8, &w);
  Raw second(unix_);
  ASSERT_EQ(second.handshake(test_hello(8, false)).status, wire::kWelcomeOk);
  primary->close();
  EXPECT_TRUE(second.closed_by_peer());
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
}

TEST_F(Daemon, GarbageAndSlowHandshakesDoNotDisturbOthers) {
  Raw garbage(unix_);
  std::vector<uint8_t> junk(100);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37 + 11);
  ASSERT_TRUE(garbage.send(junk));
  Raw slow(tcp_);  // half a header, then nothing
  std::vector<uint8_t> half = hello_frame(test_hello(9));
  half.resize(10);
  ASSERT_TRUE(slow.send(half));

  wire::Welcome w;
  auto good = session(unix_, 10, &w);
  EXPECT_TRUE(good->ping(1));
  EXPECT_TRUE(garbage.closed_by_peer());
}

TEST_F(Daemon, SlowHandshakeIsDroppedAtTheDeadline) {
  start({"--handshake-timeout-ms", "300"});
  Raw slow(unix_);
  std::vector<uint8_t> half = hello_frame(test_hello(11));
  half.resize(40);
  ASSERT_TRUE(slow.send(half));
  auto t0 = Clock::now();
  EXPECT_TRUE(slow.closed_by_peer(nullptr, 3000));
  EXPECT_GE(Clock::now() - t0, 200ms);
  wire::Welcome w;
  auto good = session(tcp_, 12, &w);
  EXPECT_TRUE(good->ping(1));
}

// A session that breaks the protocol ends (its worker exits, its connection closes); another
// session of the same backend carries on.
struct Breach {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* logged;  // in the backend log
};

std::vector<Breach> breaches() {
  std::vector<Breach> out;
  out.push_back({"unknown call id", request_frame(987654, 1), "unknown call id 987654"});
  std::vector<uint8_t> junk(64, 0xee);
  out.push_back({"garbage", junk, "bad frame magic"});
  std::vector<uint8_t> over = request_frame(backend::kCallPing, 1);
  uint32_t len = wire::kMaxPayload + 1;
  std::memcpy(over.data() + 4, &len, 4);
  out.push_back({"oversize length", over, "over the limit"});
  out.push_back({"second hello", hello_frame(test_hello(1)), "unexpected Hello"});
  out.push_back({"ping with arguments", request_frame(backend::kCallPing, 1, {1, 2, 3}),
                 "malformed request"});
  return out;
}

TEST_F(Daemon, ProtocolBreachEndsOnlyThatSession) {
  wire::Welcome wb;
  auto bystander = session(tcp_, 20, &wb);
  uint8_t token = 21;
  for (const Breach& b : breaches()) {
    SCOPED_TRACE(b.name);
    wire::Welcome w;
    auto victim = session(unix_, token++, &w);
    ASSERT_TRUE(victim->ping(1));
    ASSERT_TRUE(victim->send(b.bytes));
    std::string said;
    EXPECT_TRUE(victim->closed_by_peer(&said));
    EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
    // The client is told why, in a Goodbye frame, when it listens.
    EXPECT_NE(said.find("the backend ended the session"), std::string::npos) << said;
    EXPECT_TRUE(bystander->ping(token)) << "bystander after " << b.name;
  }
  std::string log = backend_->log();
  for (const Breach& b : breaches()) EXPECT_NE(log.find(b.logged), std::string::npos) << b.logged;
  // The log names the client and how each session ended.
  EXPECT_NE(log.find("client pid 4242 on host testhost"), std::string::npos);
  EXPECT_NE(log.find("the client broke the protocol"), std::string::npos);
  EXPECT_FALSE(pid_gone(static_cast<pid_t>(wb.worker_pid), 0ms));
}

TEST_F(Daemon, ClientVanishingMidFrameEndsItsWorker) {
  wire::Welcome w;
  auto c = session(tcp_, 30, &w);
  // A 32 MiB request of which 1 MiB arrives, then the client is gone.
  std::vector<uint8_t> f = request_frame(backend::kCallPing, 1);
  uint32_t len = 32u << 20;
  std::memcpy(f.data() + 4, &len, 4);
  f.resize(f.size() + (1u << 20), 0x42);
  ASSERT_TRUE(c->send(f));
  c->close();
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
  EXPECT_NE(backend_->log().find("in the middle of call 1 (Ping)"), std::string::npos);
}

TEST_F(Daemon, SessionLimitRefusesWithBusy) {
  start({"--max-sessions", "1"});
  wire::Welcome w;
  auto first = session(unix_, 40, &w);
  Raw second(unix_);
  wire::Welcome w2 = second.handshake(test_hello(41));
  EXPECT_EQ(w2.status, wire::kWelcomeBusy);
  EXPECT_NE(w2.message.find("limit of 1"), std::string::npos) << w2.message;
  // A secondary of the running session still joins.
  Raw joined(unix_);
  EXPECT_EQ(joined.handshake(test_hello(40, false)).status, wire::kWelcomeOk);
  joined.close();
  first->close();
  ASSERT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 5s));
  // Room again once the worker is reaped.
  bool accepted = false;
  for (int i = 0; i < 50 && !accepted; ++i) {
    Raw again(unix_);
    accepted = again.handshake(test_hello(42)).status == wire::kWelcomeOk;
    if (!accepted) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(accepted);
}

TEST_F(Daemon, SigtermStopsWorkersAndRemovesTheSocket) {
  wire::Welcome w;
  auto c = session(unix_, 50, &w);
  ASSERT_TRUE(c->ping(1));
  struct stat st{};
  ASSERT_EQ(stat(sock_path_.c_str(), &st), 0);
  ASSERT_EQ(kill(backend_->pid(), SIGTERM), 0);
  int status = backend_->wait_exit(10s);
  ASSERT_NE(status, -1) << "backend did not exit";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(stat(sock_path_.c_str(), &st), 0) << "socket file left behind";
  EXPECT_TRUE(pid_gone(static_cast<pid_t>(w.worker_pid), 2s));
  EXPECT_TRUE(c->closed_by_peer());
}

std::string fd_link(pid_t pid, int fd) {
  char buf[256];
  std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::vector<std::string> fd_links(pid_t pid) {
  std::vector<std::string> out;
  for (int fd = 0; fd < 1024; ++fd) {
    std::string l = fd_link(pid, fd);
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// The inode of the listening Unix socket bound at path, from /proc/net/unix.
std::string unix_listener_inode(const std::string& path) {
  std::ifstream f("/proc/net/unix");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string num, refs, proto, flags, type, st, inode, p;
    // Accepted connections carry the listener's path too; the listener has __SO_ACCEPTCON.
    if ((ls >> num >> refs >> proto >> flags >> type >> st >> inode >> p) && p == path &&
        flags == "00010000")
      return inode;
  }
  return "";
}

TEST_F(Daemon, WorkerHoldsNoDaemonSocketsButKeepsOtherDescriptors) {
  // A descriptor the backend inherits stands for one the runtime owns (the dynamic loader's
  // LD_DEBUG_OUTPUT file): a worker must keep it, or a client socket takes its number and
  // receives what is written to it.
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  const std::string pipe_link = fd_link(getpid(), p[1]);
  // The worker's descriptors are read (/proc/PID/fd): it must be dumpable.
  char cfg[] = "/tmp/gvdumpableXXXXXX";
  const int cfd = mkstemp(cfg);
  ASSERT_GE(cfd, 0);
  ASSERT_EQ(write(cfd, "{\"dumpable\": true}", 18), 18);
  close(cfd);
  start({"--config", cfg}, p[1]);
  unlink(cfg);
  close(p[1]);
  wire::Welcome other;
  auto first = session(tcp_, 70, &other);  // another session's worker: its control socket
  wire::Welcome w;
  auto c = session(unix_, 71, &w);
  Raw second(unix_);
  ASSERT_EQ(second.handshake(test_hello(71, false)).status, wire::kWelcomeOk);
  ASSERT_TRUE(second.ping(1));
  std::vector<std::string> links = fd_links(static_cast<pid_t>(w.worker_pid));
  EXPECT_NE(std::find(links.begin(), links.end(), pipe_link), links.end()) << pipe_link;
  std::string listener = unix_listener_inode(sock_path_);
  ASSERT_FALSE(listener.empty());
  EXPECT_EQ(std::find(links.begin(), links.end(), "socket:[" + listener + "]"), links.end());
  // stdin/out/err, the inherited pipe, the control socket, two connections: nothing else of
  // the daemon's (listeners, the other session's sockets, the signal pipe).
  size_t sockets = 0;
  for (const auto& l : links) sockets += l.rfind("socket:", 0) == 0;
  EXPECT_EQ(sockets, 3u);
  close(p[0]);
}

TEST(DaemonStart, LiveSocketIsNotTakenOver) {
  char tmpl[] = "/tmp/gvsockXXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string ep = "unix:" + dir + "/gv.sock";
  {
    Backend first({"--listen", ep});
    ASSERT_TRUE(first.ready());
    Backend second({"--listen", ep});
    EXPECT_FALSE(second.ready());
    EXPECT_EQ(second.wait_exit(5s), 1 << 8);  // exit code 1
    EXPECT_NE(second.log().find("another process is listening"), std::string::npos);
    Raw c(ep);  // the first one still serves
    EXPECT_EQ(c.handshake(test_hello(60)).status, wire::kWelcomeOk);
  }
  rmdir(dir.c_str());
}

TEST(DaemonStart, ListensWhereTheConfigFileSays) {
  char tmpl[] = "/tmp/gvcfgXXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string ep = "unix:" + dir + "/from-config.sock";
  std::string cfg = dir + "/gvirtus.json";
  {
    std::ofstream f(cfg);
    f << "{\"listen\": [\"" << ep << "\"], \"log_level\": \"warn\"}";
  }
  {
    Backend b({"--config", cfg});
    ASSERT_TRUE(b.ready()) << b.log();
    Raw c(ep);
    EXPECT_EQ(c.handshake(test_hello(80)).status, wire::kWelcomeOk);
    // GVIRTUS_LOGLEVEL=debug (set for every backend here) wins over the file's level.
    EXPECT_NE(b.log().find("listening on " + ep), std::string::npos) << b.log();
  }
  {
    std::ofstream f(cfg);
    f << "{\"listen\": \"tcp://nowhere\"}";
  }
  Backend bad({"--config", cfg});
  EXPECT_FALSE(bad.ready());
  EXPECT_EQ(bad.wait_exit(5s), 2 << 8);
  EXPECT_NE(bad.log().find(cfg), std::string::npos) << bad.log();
  unlink(cfg.c_str());
  rmdir(dir.c_str());
}

TEST(DaemonStart, BadArgumentsExitWithUsage) {
  Backend b({"--listen", "http://nowhere:1"});
  EXPECT_FALSE(b.ready());
  EXPECT_EQ(b.wait_exit(5s), 2 << 8);
  EXPECT_NE(b.log().find("--listen"), std::string::npos);
}

}  // namespace
}  // namespace gvirtus
