// Streams over TCP loopback, Unix sockets and socketpairs; listeners; framing; test streams.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "common/transport.h"
#include "common/transport_memory.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;

std::string temp_dir() {
  char tmpl[] = "/tmp/gvtransportXXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

using testing::free_tcp_port;

// A connected client/server pair over a real listener.
struct Pair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Stream> client, server;
};

Pair connect_pair(const std::string& text) {
  Pair p;
  Endpoint ep;
  EXPECT_TRUE(parse_endpoint(text, &ep));
  Status s = listen_on(ep, &p.listener);
  EXPECT_TRUE(s) << s.to_string();
  if (!s) return p;
  auto accepted = std::async(std::launch::async, [&] {
    std::unique_ptr<Stream> st;
    Status a = p.listener->accept(&st);
    EXPECT_TRUE(a) << a.to_string();
    return st;
  });
  s = connect_stream(ep, &p.client);
  EXPECT_TRUE(s) << s.to_string();
  EXPECT_EQ(accepted.wait_for(5s), std::future_status::ready);
  p.server = accepted.get();
  return p;
}

class StreamKinds : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "unix") {
      dir_ = temp_dir();
      pair_ = connect_pair("unix:" + dir_ + "/s.sock");
    } else if (GetParam() == "tcp") {
      pair_ = connect_pair("tcp://127.0.0.1:" + std::to_string(free_tcp_port()));
    } else {
      ASSERT_TRUE(stream_pair(&pair_.client, &pair_.server));
    }
    ASSERT_TRUE(pair_.client && pair_.server);
  }
  void TearDown() override {
    pair_ = Pair();
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  std::string dir_;
  Pair pair_;
};

TEST_P(StreamKinds, LargeWritevArrivesIntactInOddPieces) {
  testing::expect_large_writev_in_odd_pieces(*pair_.client, *pair_.server);
}

TEST_P(StreamKinds, EofIsDisconnected) {
  uint8_t x = 1;
  struct iovec iov = {&x, 1};
  ASSERT_TRUE(pair_.client->send(&iov, 1));
  pair_.client.reset();
  uint8_t buf[4];
  Status s = pair_.server->recv(buf, 4);  // one byte, then EOF
  EXPECT_EQ(s.code(), Code::kDisconnected) << s.to_string();
  EXPECT_NE(s.message().find("middle"), std::string::npos) << s.message();
  s = pair_.server->recv(buf, 1);
  EXPECT_EQ(s.code(), Code::kDisconnected);
}

TEST_P(StreamKinds, SendToClosedPeerFailsWithoutSigpipe) {
  pair_.server.reset();
  std::vector<uint8_t> big(8u << 20);
  struct iovec iov = {big.data(), big.size()};
  Status s;
  for (int i = 0; i < 4 && s; ++i) s = pair_.client->send(&iov, 1);  // the process survives
  EXPECT_EQ(s.code(), Code::kDisconnected) << s.to_string();
}

TEST_P(StreamKinds, ShutdownWakesBlockedRecv) {
  auto reader = std::async(std::launch::async, [&] {
    uint8_t b[8];
    return pair_.server->recv(b, sizeof b);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(reader.wait_for(0s), std::future_status::timeout);
  pair_.server->shutdown();
  ASSERT_EQ(reader.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(reader.get().code(), Code::kDisconnected);
  // And later calls fail at once.
  uint8_t b;
  struct iovec iov = {&b, 1};
  EXPECT_EQ(pair_.server->send(&iov, 1).code(), Code::kDisconnected);
  EXPECT_EQ(pair_.server->recv(&b, 1).code(), Code::kDisconnected);
}

TEST_P(StreamKinds, FramesRoundTrip) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.call_id = 1;
  h.request_id = 9;
  h.length = 12345;  // ignored: send_frame sets it from the body
  std::string p1 = "abc", p2 = "defgh";
  struct iovec body[2] = {{p1.data(), p1.size()}, {p2.data(), p2.size()}};
  ASSERT_TRUE(send_frame(*pair_.client, h, body, 2));
  wire::FrameHeader got;
  ASSERT_TRUE(recv_header(*pair_.server, wire::kMaxPayload, &got));
  EXPECT_EQ(got.length, 8u);
  EXPECT_EQ(got.request_id, 9u);
  char buf[8];
  ASSERT_TRUE(pair_.server->recv(buf, 8));
  EXPECT_EQ(std::string(buf, 8), "abcdefgh");
  // Over the receiver's bound: refused from the header alone.
  std::string big(100, 'x');
  struct iovec one = {big.data(), big.size()};
  ASSERT_TRUE(send_frame(*pair_.client, h, &one, 1));
  EXPECT_EQ(recv_header(*pair_.server, 99, &got).code(), Code::kProtocol);
}

TEST_P(StreamKinds, FdCanBeReleasedAndWrapped) {
  int fd = pair_.server->release_fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pair_.server->fd(), -1);
  auto wrapped = stream_from_fd(fd, "");
  EXPECT_FALSE(wrapped->peer().empty());
  uint8_t x = 42;
  struct iovec iov = {&x, 1};
  ASSERT_TRUE(pair_.client->send(&iov, 1));
  uint8_t y = 0;
  ASSERT_TRUE(wrapped->recv(&y, 1));
  EXPECT_EQ(y, 42);
}

TEST_P(StreamKinds, ReceiveTimeoutIsReported) {
  timeval tv{0, 100 * 1000};
  ASSERT_EQ(setsockopt(pair_.server->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  uint8_t b;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(pair_.server->recv(&b, 1).code(), Code::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

// A receive that polls first (set_receive_spin) gets what comes during the poll, sleeps for
// what comes after it, and still reports the end of the stream and a receive timeout.
TEST_P(StreamKinds, ASpinningReceiveGetsEarlyAndLateBytesAndSeesTheEnd) {
  pair_.server->set_receive_spin(200);
  uint8_t b[4] = {};
  // Late: long after the poll gave up, so only the sleeping receive can get it.
  auto late = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(50ms);
    const uint8_t x[2] = {1, 2};
    struct iovec v = {const_cast<uint8_t*>(x), 2};
    return pair_.client->send(&v, 1).is_ok();
  });
  ASSERT_TRUE(pair_.server->recv(b, 2).is_ok());
  ASSERT_TRUE(late.get());
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 2);
  // Early: within the poll (and in two pieces, the second while the first is being read).
  auto early = std::async(std::launch::async, [&] {
    const uint8_t x[2] = {3, 4};
    struct iovec v = {const_cast<uint8_t*>(x), 1};
    bool ok = pair_.client->send(&v, 1).is_ok();
    std::this_thread::sleep_for(20us);
    v.iov_base = const_cast<uint8_t*>(x + 1);
    return ok && pair_.client->send(&v, 1).is_ok();
  });
  ASSERT_TRUE(pair_.server->recv(b, 2).is_ok());
  ASSERT_TRUE(early.get());
  EXPECT_EQ(b[0], 3);
  EXPECT_EQ(b[1], 4);
  // A receive timeout still ends a wait that outlasts the poll.
  timeval tv{0, 50 * 1000};
  ASSERT_EQ(setsockopt(pair_.server->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  EXPECT_EQ(pair_.server->recv(b, 1).code(), Code::kTimeout);
  // The end of the stream, during the poll or after it.
  pair_.client->shut_write();
  EXPECT_EQ(pair_.server->recv(b, 1).code(), Code::kDisconnected);
}

INSTANTIATE_TEST_SUITE_P(Transport, StreamKinds, ::testing::Values("tcp", "unix", "pair"));

TEST(Transport, TcpPeerNamesTheAddress) {
  Pair p = connect_pair("tcp://127.0.0.1:" + std::to_string(free_tcp_port()));
  ASSERT_TRUE(p.server);
  EXPECT_EQ(p.server->peer().rfind("tcp://127.0.0.1:", 0), 0u) << p.server->peer();
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  getsockopt(p.server->fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
  EXPECT_NE(nodelay, 0);
  int ka = 0;
  getsockopt(p.client->fd(), SOL_SOCKET, SO_KEEPALIVE, &ka, &len);
  EXPECT_NE(ka, 0);
}

TEST(Transport, TryAcceptDoesNotWait) {
  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("tcp://127.0.0.1:" + std::to_string(free_tcp_port()), &ep));
  std::unique_ptr<Listener> l;
  ASSERT_TRUE(listen_on(ep, &l));
  std::unique_ptr<Stream> s;
  EXPECT_EQ(l->try_accept(&s).code(), Code::kTimeout);
  std::unique_ptr<Stream> c;
  ASSERT_TRUE(connect_stream(ep, &c));
  Status st;
  for (int i = 0; i < 100; ++i) {
    st = l->try_accept(&s);
    if (st.code() != Code::kTimeout) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(st) << st.to_string();
}

TEST(Transport, ConnectRefusedIsDisconnected) {
  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("tcp://127.0.0.1:" + std::to_string(free_tcp_port()), &ep));
  std::unique_ptr<Stream> s;
  EXPECT_EQ(connect_stream(ep, &s).code(), Code::kDisconnected);
  ASSERT_TRUE(parse_endpoint("unix:/nonexistent/dir/x.sock", &ep));
  EXPECT_EQ(connect_stream(ep, &s).code(), Code::kDisconnected);
}

TEST(Transport, TcpListenConflictIsReported) {
  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("tcp://127.0.0.1:" + std::to_string(free_tcp_port()), &ep));
  std::unique_ptr<Listener> a, b;
  ASSERT_TRUE(listen_on(ep, &a));
  Status s = listen_on(ep, &b);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find(ep.to_string()), std::string::npos) << s.message();
}

TEST(Transport, UnixStaleSocketIsReplacedLiveOneRefused) {
  std::string dir = temp_dir();
  std::string path = dir + "/s.sock";
  // A stale socket file: bound, then its process "died" (closed without unlinking).
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);

  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("unix:" + path, &ep));
  std::unique_ptr<Listener> l1, l2;
  Status s = listen_on(ep, &l1);
  ASSERT_TRUE(s) << s.to_string();
  s = listen_on(ep, &l2);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("another process is listening"), std::string::npos) << s.message();
  // The live listener still works after the refused attempt.
  std::unique_ptr<Stream> c;
  EXPECT_TRUE(connect_stream(ep, &c));
  l1.reset();
  EXPECT_NE(stat(path.c_str(), &st), 0) << "socket file left behind";
  rmdir(dir.c_str());
}

TEST(Transport, UnixPathThatIsNotASocketIsLeftAlone) {
  std::string dir = temp_dir();
  std::string path = dir + "/file";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("precious", f);
  fclose(f);
  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("unix:" + path, &ep));
  std::unique_ptr<Listener> l;
  Status s = listen_on(ep, &l);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("not a socket"), std::string::npos) << s.message();
  struct stat st{};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST(Transport, FaultyStreamDropsAfterNBytes) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  testing::FaultyStream faulty(std::move(a), testing::FaultyStream::Dir::kSend, 10);
  std::string data = "0123456789abcdef";
  struct iovec iov[2] = {{data.data(), 6}, {data.data() + 6, 10}};
  EXPECT_EQ(faulty.send(iov, 2).code(), Code::kDisconnected);
  char buf[16];
  ASSERT_TRUE(b->recv(buf, 10));
  EXPECT_EQ(std::string(buf, 10), "0123456789");
  EXPECT_EQ(b->recv(buf, 1).code(), Code::kDisconnected);
}

TEST(Transport, MemoryStream) {
  const uint8_t in[] = {1, 2, 3, 4, 5};
  MemoryStream m(in, sizeof in, 4);
  uint8_t b[3];
  ASSERT_TRUE(m.recv(b, 3));
  EXPECT_EQ(b[2], 3);
  EXPECT_EQ(m.recv(b, 3).code(), Code::kDisconnected);  // only two left
  EXPECT_EQ(m.recv(b, 1).code(), Code::kDisconnected);
  uint8_t out[6] = {9, 8, 7, 6, 5, 4};
  struct iovec iov = {out, sizeof out};
  ASSERT_TRUE(m.send(&iov, 1));
  EXPECT_EQ(m.sent().size(), 4u);  // kept up to the bound
  EXPECT_EQ(m.sent_bytes(), 6u);
}

}  // namespace
}  // namespace gvirtus
