// The client core against a fake backend: handshake, calls, request ids, deferred errors,
// refusal, loss (mid-call close, bad replies, Goodbye, handshake timeout), threads, fork.
#include "frontend/core/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/endpoint.h"
#include "common/transport.h"
#include "fake_backend.h"
#include "frontend/core/session.h"
#include "test_env.h"
#include "test_streams.h"

namespace gvirtus::testing {
namespace {

using client::Call;
using client::Session;
using std::chrono::steady_clock;
using testenv::TempDir;
using namespace std::chrono_literals;

constexpr uint32_t kEcho = 5000;    // fake call: replies with its payload, status = first byte
constexpr uint32_t kSilent = 5001;  // fake call: the server closes the connection instead

// Serves requests: Ping answers with the deferred error kept from NoReply requests (every
// NoReply request whose first byte is non-zero "fails" with that value); kEcho echoes.
void echo_server(Stream& s, const wire::Hello&) {
  int32_t deferred = 0;
  for (;;) {
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    if (!read_frame(s, &h, &p)) return;
    int32_t status = p.empty() ? 0 : p[0];
    if (h.call_id == kSilent) {
      s.shutdown();
      return;
    }
    if (h.flags & wire::kFlagNoReply) {
      if (status != 0 && deferred == 0) deferred = status;
      continue;
    }
    std::vector<uint8_t> out = h.call_id == kEcho && status == 0 ? p : std::vector<uint8_t>{};
    if (!send_reply(s, h, status, deferred, out)) return;
    deferred = 0;
  }
}

double seconds_since(steady_clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::now() - t).count();
}

TEST(Client, HandshakeAndCall) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);

  Call c(kEcho);
  c.args().put<uint8_t>(0);
  c.args().put<uint32_t>(0xdeadbeef);
  ASSERT_TRUE(c.invoke());
  EXPECT_EQ(c.status(), 0);
  EXPECT_EQ(c.result().get<uint8_t>(), 0);
  EXPECT_EQ(c.result().get<uint32_t>(), 0xdeadbeefu);
  c.result().expect_end();

  auto hellos = be.hellos();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].primary, 1);
  EXPECT_EQ(hellos[0].pid, 4242u);
  EXPECT_EQ(hellos[0].hostname, "testhost");
  EXPECT_EQ(hellos[0].program, "/bin/test");
  uint8_t token[16];
  std::memset(token, 0x5a, sizeof token);
  EXPECT_EQ(std::memcmp(hellos[0].token, token, 16), 0);
  ASSERT_EQ(hellos[0].plugins.size(), 1u);
  EXPECT_EQ(hellos[0].plugins[0], "cudart");
  EXPECT_FALSE(session.lost());
}

TEST(Client, AddedPluginIsAnnounced) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  session.add_plugin("cublas");
  session.add_plugin("cudart");  // already there: not twice
  ASSERT_NE(session.connection(), nullptr);
  auto hellos = be.hellos();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].plugins, (std::vector<std::string>{"cudart", "cublas"}));
}

TEST(Client, ConnectionIsPerThreadAndPrimaryFirst) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  client::Connection* mine = session.connection();
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(session.connection(), mine);  // same thread: same connection

  client::Connection* other = nullptr;
  std::thread t([&] { other = session.connection(); });
  t.join();
  EXPECT_NE(other, nullptr);
  EXPECT_NE(other, mine);
  auto hellos = be.hellos();
  ASSERT_EQ(hellos.size(), 2u);
  EXPECT_EQ(hellos[0].primary, 1);
  EXPECT_EQ(hellos[1].primary, 0);
  EXPECT_EQ(std::memcmp(hellos[0].token, hellos[1].token, 16), 0);

  // The other thread has exited: its connection is closed (the server sees EOF), the primary
  // stays open.
  auto t0 = steady_clock::now();
  while (be.finished() < 1 && seconds_since(t0) < 5)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(be.finished(), 1);
  EXPECT_EQ(session.connection(), mine);
  EXPECT_FALSE(session.lost());
}

TEST(Client, PrimaryOutlivesItsThread) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  std::thread t([&] { ASSERT_NE(session.connection(), nullptr); });  // this one is primary
  t.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(be.finished(), 0);               // the primary was not closed when its thread ended
  ASSERT_NE(session.connection(), nullptr);  // a secondary for this thread
  auto hellos = be.hellos();
  ASSERT_EQ(hellos.size(), 2u);
  EXPECT_EQ(hellos[1].primary, 0);
}

TEST(Client, RequestIdsIncreaseAndUnansweredCounts) {
  std::vector<uint64_t> ids;
  std::mutex mu;
  FakeBackend be([&](Stream& s, const wire::Hello& h) {
    (void)h;
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      {
        std::lock_guard<std::mutex> g(mu);
        ids.push_back(f.request_id);
      }
      if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  for (int i = 0; i < 3; ++i) {
    Call c(kEcho);
    ASSERT_TRUE(c.send_async());
  }
  EXPECT_EQ(session.current_connection()->unanswered(), 3u);
  Call c(kEcho);
  ASSERT_TRUE(c.invoke());
  EXPECT_EQ(session.current_connection()->unanswered(), 0u);
  std::lock_guard<std::mutex> g(mu);
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(Client, DeferredErrorArrivesInAux) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call bad(kEcho);
  bad.args().put<uint8_t>(98);  // "fails" with 98, no reply
  ASSERT_TRUE(bad.send_async());
  Call later(kEcho);
  later.args().put<uint8_t>(99);  // a second failure is not the first one
  ASSERT_TRUE(later.send_async());
  Call ping(client::kCallPing);
  ASSERT_TRUE(ping.invoke());
  EXPECT_EQ(ping.status(), 0);
  EXPECT_EQ(ping.deferred(), 98);
  Call again(client::kCallPing);
  ASSERT_TRUE(again.invoke());
  EXPECT_EQ(again.deferred(), 0);
}

TEST(Client, InvokeIntoReadsBulkStraightIntoTheBuffer) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call c(kEcho);
  c.args().put<uint8_t>(0);
  std::vector<uint8_t> bulk(1000);
  for (size_t i = 0; i < bulk.size(); ++i) bulk[i] = static_cast<uint8_t>(i * 7);
  c.attach(bulk.data(), bulk.size());
  std::vector<uint8_t> dst(2000, 0);
  ASSERT_TRUE(c.invoke_into(1, dst.data(), dst.size()));
  EXPECT_EQ(c.bulk_received(), 1000u);
  EXPECT_EQ(c.result().get<uint8_t>(), 0);
  EXPECT_TRUE(std::equal(bulk.begin(), bulk.end(), dst.begin()));

  // More bulk than the caller has room for is a protocol violation: the session is lost.
  Call d(kEcho);
  d.args().put<uint8_t>(0);
  d.attach(bulk.data(), bulk.size());
  EXPECT_FALSE(d.invoke_into(1, dst.data(), 10));
  EXPECT_TRUE(session.lost());
}

TEST(Client, RefusedHandshakeLosesTheSessionWithTheServerMessage) {
  wire::Welcome w;
  w.status = wire::kWelcomeUnknownPlugin;
  w.message = "plugin cudart is not available on this backend";
  FakeBackend be(echo_server, w);
  Session session(test_session_options(be.connector()));
  EXPECT_EQ(session.connection(), nullptr);
  EXPECT_TRUE(session.lost());
  EXPECT_NE(session.error().find("plugin cudart is not available"), std::string::npos);
  EXPECT_EQ(session.connection(), nullptr);  // no second attempt
  EXPECT_EQ(be.connections(), 1);
}

TEST(Client, ConnectFailureLosesTheSession) {
  Session session(test_session_options(
      [](std::unique_ptr<Stream>*, std::string*) { return disconnected("connection refused"); }));
  EXPECT_EQ(session.connection(), nullptr);
  EXPECT_TRUE(session.lost());
  EXPECT_NE(session.error().find("connection refused"), std::string::npos);
}

TEST(Client, HandshakeTimesOut) {
  FakeBackend be(echo_server, wire::Welcome{}, /*answer_hello=*/false);
  auto opts = test_session_options(be.connector());
  opts.handshake_timeout_ms = 200;
  Session session(std::move(opts));
  auto t0 = steady_clock::now();
  EXPECT_EQ(session.connection(), nullptr);
  EXPECT_LT(seconds_since(t0), 3.0);
  EXPECT_TRUE(session.lost());
  be.stop();
}

// A backend that sends the first bytes of its Welcome and then nothing, on a real socket (where
// the wait for the Welcome sees the first byte only): the handshake still ends at its timeout.
TEST(Client, APartialWelcomeStillTimesOut) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::thread server([fd = sv[1]] {
    char buf[256];
    (void)::recv(fd, buf, sizeof buf, 0);  // the Hello
    const char part[3] = {1, 2, 3};        // three bytes of a 24-byte header
    (void)::send(fd, part, sizeof part, MSG_NOSIGNAL);
    char end;
    (void)::recv(fd, &end, 1, 0);  // until the client gives up
    ::close(fd);
  });
  auto opts = test_session_options([fd = sv[0]](std::unique_ptr<Stream>* out, std::string* where) {
    *where = "socketpair";
    *out = stream_from_fd(fd, "socketpair");
    return Status::ok();
  });
  opts.handshake_timeout_ms = 300;
  {
    Session session(std::move(opts));
    auto t0 = steady_clock::now();
    EXPECT_EQ(session.connection(), nullptr);
    EXPECT_LT(seconds_since(t0), 3.0);
    EXPECT_TRUE(session.lost());
    EXPECT_NE(session.error().find("in time"), std::string::npos) << session.error();
  }
  server.join();
}

// A backend that trickles its Welcome a byte every 50 ms (each receive gets a byte well inside
// any per-receive timeout) over a Unix socket and over shared memory: the handshake still ends
// at its timeout, as the backend would take seconds to finish.
TEST(Client, ATrickledWelcomeStillTimesOut) {
  for (const char* scheme : {"unix:", "shm:"}) {
    SCOPED_TRACE(scheme);
    TempDir dir;
    Endpoint e;
    ASSERT_TRUE(parse_endpoint(scheme + dir.path() + "/b.sock", &e));
    std::unique_ptr<Listener> l;
    ASSERT_TRUE(listen_on(e, &l));
    std::atomic<bool> gone{false};  // the client gave up
    std::thread server([&l, &gone] {
      if (auto s = accept_hello(*l)) trickle(*s, welcome_bytes(), 0, gone, 50ms);
    });
    auto opts = test_session_options([&e](std::unique_ptr<Stream>* out, std::string* where) {
      *where = "test backend";
      return connect_stream(e, out);
    });
    opts.handshake_timeout_ms = 300;
    {
      Session session(std::move(opts));
      auto t0 = steady_clock::now();
      EXPECT_EQ(session.connection(), nullptr);
      EXPECT_LT(seconds_since(t0), 1.5);
      EXPECT_TRUE(session.lost());
      EXPECT_NE(session.error().find("in time"), std::string::npos) << session.error();
    }
    gone.store(true);
    server.join();
  }
}

TEST(Client, ServerClosingMidCallFailsFastOnEveryThread) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call ok(kEcho);
  ASSERT_TRUE(ok.invoke());

  auto t0 = steady_clock::now();
  Call c(kSilent);
  EXPECT_FALSE(c.invoke());
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_TRUE(session.lost());
  EXPECT_TRUE(client::session_lost());
  EXPECT_FALSE(session.error().empty());

  // Later calls fail at once, on this thread and on a new one, without reconnecting.
  int before = be.connections();
  Call again(kEcho);
  EXPECT_FALSE(again.invoke());
  std::thread t([&] {
    Call other(kEcho);
    EXPECT_FALSE(other.invoke());
    EXPECT_EQ(client::connection(), nullptr);
  });
  t.join();
  EXPECT_EQ(be.connections(), before);
}

TEST(Client, LossWakesAThreadBlockedInACall) {
  // The server never answers kEcho: the caller blocks until the session is lost elsewhere.
  FakeBackend be([](Stream& s, const wire::Hello&) {
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    while (read_frame(s, &h, &p)) {
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  std::atomic<bool> returned{false};
  bool result = true;
  std::thread t([&] {
    Call c(kEcho);
    result = c.invoke();
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned);
  session.mark_lost("test: backend declared dead");
  t.join();
  EXPECT_FALSE(result);
  EXPECT_EQ(session.error(), "test: backend declared dead");
}

void replying_with(wire::FrameHeader (*mangle)(wire::FrameHeader), const char* expect) {
  static wire::FrameHeader (*g_mangle)(wire::FrameHeader);
  g_mangle = mangle;
  FakeBackend be([](Stream& s, const wire::Hello&) {
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    if (!read_frame(s, &h, &p)) return;
    wire::FrameHeader r = g_mangle(h);
    send_frame(s, r, nullptr, 0);
    while (read_frame(s, &h, &p)) {
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call c(kEcho);
  EXPECT_FALSE(c.invoke());
  EXPECT_TRUE(session.lost());
  EXPECT_NE(session.error().find(expect), std::string::npos) << session.error();
}

wire::FrameHeader reply_to(wire::FrameHeader h) {
  wire::FrameHeader r;
  r.kind = static_cast<uint16_t>(wire::Kind::kReply);
  r.call_id = h.call_id;
  r.request_id = h.request_id;
  return r;
}

TEST(Client, ReplyForAnotherRequestLosesTheSession) {
  replying_with(
      [](wire::FrameHeader h) {
        auto r = reply_to(h);
        r.request_id += 1;
        return r;
      },
      "protocol error");
}

TEST(Client, ReplyForAnotherCallLosesTheSession) {
  replying_with(
      [](wire::FrameHeader h) {
        auto r = reply_to(h);
        r.call_id = 77;
        return r;
      },
      "protocol error");
}

TEST(Client, RequestFrameInsteadOfReplyLosesTheSession) {
  replying_with(
      [](wire::FrameHeader h) {
        auto r = reply_to(h);
        r.kind = static_cast<uint16_t>(wire::Kind::kRequest);
        return r;
      },
      "expected a Reply");
}

TEST(Client, GoodbyeLosesTheSessionWithItsReason) {
  FakeBackend be([](Stream& s, const wire::Hello&) {
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    if (!read_frame(s, &h, &p)) return;
    wire::FrameHeader g;
    g.kind = static_cast<uint16_t>(wire::Kind::kGoodbye);
    std::string why = "backend shutting down";
    struct iovec iov = {why.data(), why.size()};
    send_frame(s, g, &iov, 1);
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call c(kEcho);
  EXPECT_FALSE(c.invoke());
  EXPECT_NE(session.error().find("backend shutting down"), std::string::npos);
}

TEST(Client, LossIsPrintedOnce) {
  FakeBackend be(echo_server);
  auto opts = test_session_options(be.connector());
  opts.print_loss = true;
  Session session(std::move(opts));
  SessionOverride use(&session);
  ::testing::internal::CaptureStderr();
  Call c(kSilent);
  EXPECT_FALSE(c.invoke());
  for (int i = 0; i < 3; ++i) {
    Call d(kEcho);
    EXPECT_FALSE(d.invoke());
  }
  session.mark_lost("second reason");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("gvirtus: lost connection to backend fake://backend"), std::string::npos)
      << err;
  EXPECT_NE(err.find("cudaErrorDevicesUnavailable"), std::string::npos) << err;
}

TEST(Client, OversizeRequestFailsWithoutLosingTheSession) {
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  std::vector<uint8_t> big(wire::kMaxPayload + 1);
  Call c(kEcho);
  c.attach(big.data(), big.size());
  EXPECT_FALSE(c.invoke());
  EXPECT_FALSE(session.lost());
  Call ok(kEcho);
  EXPECT_TRUE(ok.invoke());
}

// Forks: the child's call must fail without being sent (nothing on the parent's sockets) and
// its session be lost; the child exits cleanly.
void expect_forked_child_lost(Session& session) {
  pid_t pid = ::fork();
  if (pid == 0) {
    Call c(kEcho);
    bool sent = c.invoke();
    ::_exit(!sent && session.lost() ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Client, ForkedChildCannotUseTheParentsSession) {
  client::process_session();  // registers the fork handlers
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  Call ok(kEcho);
  ASSERT_TRUE(ok.invoke());
  expect_forked_child_lost(session);
  // The parent's connection still works.
  Call again(kEcho);
  EXPECT_TRUE(again.invoke());
  EXPECT_FALSE(session.lost());
}

// Gathered sends (send_queue.h): the NoReply requests of a thread go through its connection's
// send thread; when the thread ends, every one of them still reaches the backend, in order,
// before its connection closes.
TEST(Client, GatheredRequestsOfAThreadThatEndsAllArriveInOrder) {
  std::mutex mu;
  std::vector<uint64_t> secondary;  // request ids on the thread's connection, in arrival order
  FakeBackend be([&](Stream& s, const wire::Hello& hello) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      if (!hello.primary) {
        std::lock_guard<std::mutex> g(mu);
        secondary.push_back(f.request_id);
      }
      if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  ASSERT_NE(session.connection(), nullptr);  // the primary, on this thread
  constexpr uint64_t kCount = 2000;
  std::thread([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      Call c(kEcho);
      c.args().put<uint64_t>(i);
      ASSERT_TRUE(c.send_async());
    }
    auto* conn = dynamic_cast<client::StreamConnection*>(session.current_connection());
    ASSERT_NE(conn, nullptr);
    ASSERT_NE(conn->send_queue(), nullptr) << "a socket connection gathers its sends";
    // Most went through the queue; one that found it full was sent by this thread itself.
    EXPECT_GT(conn->send_queue()->frames_posted(), 0u);
    EXPECT_LE(conn->send_queue()->frames_posted(), kCount);
  }).join();  // no reply was waited for: the frames may all still be queued here
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (be.finished() < 1 && steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(be.finished(), 1) << "the ended thread's connection never closed";
  std::lock_guard<std::mutex> g(mu);
  ASSERT_EQ(secondary.size(), kCount);
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(secondary[i], i + 1);
}

// A child forked while the parent's connection has a send thread: the child's copy of the
// session is lost without touching that thread (it does not exist in the child) and exits
// cleanly; the parent's requests all arrive.
TEST(Client, ForkWithASendThreadLeavesTheParentWhole) {
  client::process_session();  // registers the fork handlers
  std::atomic<int> noreply{0};
  FakeBackend be([&](Stream& s, const wire::Hello&) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      if (f.flags & wire::kFlagNoReply) {
        ++noreply;
        continue;
      }
      if (!send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  for (int i = 0; i < 100; ++i) {
    Call c(kEcho);
    ASSERT_TRUE(c.send_async());
  }
  expect_forked_child_lost(session);
  for (int i = 0; i < 100; ++i) {
    Call c(kEcho);
    ASSERT_TRUE(c.send_async());
  }
  Call again(kEcho);
  EXPECT_TRUE(again.invoke());  // goes after the 200 queued ones
  EXPECT_EQ(noreply.load(), 200);
  EXPECT_FALSE(session.lost());
}

TEST(Client, ForkedChildWithoutConnectionsGetsAFreshSession) {
  client::process_session();
  FakeBackend be(echo_server);
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  uint8_t parent_token[16];
  std::memcpy(parent_token, session.identity().token, 16);
  pid_t pid = ::fork();
  if (pid == 0) {
    bool fresh = !session.lost() && std::memcmp(parent_token, session.identity().token, 16) != 0;
    ::_exit(fresh ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Client, IdentityIsRandomPerProcessSession) {
  client::Identity a, b;
  ASSERT_TRUE(client::make_identity(&a));
  ASSERT_TRUE(client::make_identity(&b));
  EXPECT_NE(std::memcmp(a.token, b.token, 16), 0);
  EXPECT_EQ(a.pid, static_cast<uint32_t>(::getpid()));
  EXPECT_FALSE(a.program.empty());
}

}  // namespace
}  // namespace gvirtus::testing

namespace gvirtus::testing {
namespace {

// Every request of an application thread takes the next ticket, across all connections, in
// the order they are sent: NoReply ones included, so that the worker can keep the order.
TEST(Client, RequestsTakeSessionWideTicketsInSendOrder) {
  std::mutex mu;
  std::vector<std::pair<bool, uint64_t>> seen;  // (primary connection, ticket) in arrival order
  FakeBackend be([&](Stream& s, const wire::Hello& hello) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      {
        std::lock_guard<std::mutex> g(mu);
        seen.emplace_back(hello.primary, wire::ticket(f));
      }
      if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  for (int i = 0; i < 2; ++i) {
    Call c(kEcho);
    ASSERT_TRUE(c.send_async());  // tickets 1 and 2
  }
  std::thread([&] {
    Call c(kEcho);
    EXPECT_TRUE(c.invoke());  // ticket 3, on a new connection
  }).join();
  {
    Call c(kEcho);
    ASSERT_TRUE(c.invoke());  // ticket 4
  }
  std::lock_guard<std::mutex> g(mu);
  ASSERT_EQ(seen.size(), 4u);
  std::vector<uint64_t> primary, secondary;
  for (auto& [is_primary, t] : seen) (is_primary ? primary : secondary).push_back(t);
  EXPECT_EQ(primary, (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(secondary, (std::vector<uint64_t>{3}));
}

}  // namespace
}  // namespace gvirtus::testing

namespace gvirtus::testing {
namespace {

// Output frames before a reply go to the application's stdout, in order; the call still gets
// its reply.
TEST(Client, OutputFramesGoToStdoutBeforeTheReply) {
  FakeBackend be([&](Stream& s, const wire::Hello&) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      for (const char* text : {"line one\n", "line two\n"}) {
        wire::FrameHeader o;
        o.kind = static_cast<uint16_t>(wire::Kind::kOutput);
        struct iovec iov = {const_cast<char*>(text), std::strlen(text)};
        if (!send_frame(s, o, &iov, 1)) return;
      }
      if (!send_reply(s, f, 0, 0)) return;
    }
  });
  Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  ::testing::internal::CaptureStdout();
  Call c(kEcho);
  bool ok = c.invoke();
  std::fflush(stdout);
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(ok);
  EXPECT_EQ(c.status(), 0);
  EXPECT_EQ(out, "line one\nline two\n");
  EXPECT_FALSE(session.lost());
}

}  // namespace
}  // namespace gvirtus::testing
