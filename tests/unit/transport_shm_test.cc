// The shm: transport (transport_shm.h): streams through shared rings, the setup over a Unix
// socket, the daemon's non-blocking use, the handoff of both descriptors, a dead peer, and a
// hostile client that writes over the shared header.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "common/transport.h"
#include "common/transport_shm.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;

Status send_bytes(Stream& s, const void* p, size_t n) {
  struct iovec iov = {const_cast<void*>(p), n};
  return s.send(&iov, 1);
}

struct ShmPair {
  std::unique_ptr<Stream> backend, client;
};

ShmPair make_pair(uint64_t ring = 1u << 16) {
  ShmPair p;
  Status s = shm_stream_pair(&p.backend, &p.client, ring);
  EXPECT_TRUE(s) << s.to_string();
  return p;
}

// A word of the shared header (offsets: docs/protocol.md, "Shared memory").
uint64_t* word64(Stream& s, size_t off) {
  size_t bytes = 0;
  auto* m = static_cast<uint8_t*>(shm_mapping(s, &bytes));
  return reinterpret_cast<uint64_t*>(m + off);
}

TEST(TransportShm, ListenerAndConnectCarryBytesBothWays) {
  char tmpl[] = "/tmp/gvshmXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Endpoint ep;
  ASSERT_TRUE(parse_endpoint("shm:" + dir + "/s", &ep));
  std::unique_ptr<Listener> l;
  ASSERT_TRUE(listen_on(ep, &l));
  EXPECT_EQ(l->describe(), "shm:" + dir + "/s");
  auto accepted = std::async(std::launch::async, [&] {
    std::unique_ptr<Stream> st;
    EXPECT_TRUE(l->accept(&st));
    return st;
  });
  std::unique_ptr<Stream> c;
  Status s = connect_stream(ep, &c);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_EQ(accepted.wait_for(5s), std::future_status::ready);
  auto b = accepted.get();
  ASSERT_TRUE(b);
  EXPECT_GE(b->aux_fd(), 0);
  EXPECT_EQ(b->peer().rfind("shm peer pid ", 0), 0u) << b->peer();
  ASSERT_TRUE(send_bytes(*c, "ping", 4));
  char buf[4];
  ASSERT_TRUE(b->recv(buf, 4));
  EXPECT_EQ(std::string(buf, 4), "ping");
  ASSERT_TRUE(send_bytes(*b, "pong", 4));
  ASSERT_TRUE(c->recv(buf, 4));
  EXPECT_EQ(std::string(buf, 4), "pong");
  c.reset();
  b.reset();
  l.reset();
  rmdir(dir.c_str());
}

TEST(TransportShm, AUnixClientOnAnShmListenerGetsAClearError) {
  // And the reverse: an shm client on a plain Unix listener is told so, not left hanging.
  char tmpl[] = "/tmp/gvshmXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Endpoint uep, sep;
  ASSERT_TRUE(parse_endpoint("unix:" + dir + "/u", &uep));
  ASSERT_TRUE(parse_endpoint("shm:" + dir + "/u", &sep));
  std::unique_ptr<Listener> l;
  ASSERT_TRUE(listen_on(uep, &l));
  auto accepted = std::async(std::launch::async, [&] {
    std::unique_ptr<Stream> st;
    EXPECT_TRUE(l->accept(&st));
    st->shutdown();  // a backend that does not answer with shared memory
    return st;
  });
  std::unique_ptr<Stream> c;
  Status s = connect_stream(sep, &c);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("shm"), std::string::npos) << s.message();
  accepted.get();
  l.reset();
  rmdir(dir.c_str());
}

TEST(TransportShm, BulkLargerThanTheRingArrivesIntactInOddPieces) {
  ShmPair p = make_pair(1u << 16);  // 64 KiB rings: the 24 MiB wrap many times
  testing::expect_large_writev_in_odd_pieces(*p.client, *p.backend);
}

// Both directions at once, messages of every size from one byte to three rings, read back in
// pieces of other sizes: the positions each side remembers of the other, and the waits for
// room, never lose, repeat or reorder a byte (a 4 KiB ring wraps thousands of times).
TEST(TransportShm, BothWaysAtOnceInRandomPiecesArriveIntact) {
  ShmPair p = make_pair(1u << 12);
  constexpr size_t kTotal = 3u << 20;
  auto pattern = [](size_t i, uint8_t salt) { return static_cast<uint8_t>((i * 131 + salt) >> 3); };
  auto pump = [&](Stream& out, uint8_t salt, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> buf(3u << 12);
    for (size_t sent = 0; sent < kTotal;) {
      size_t n = std::min<size_t>(kTotal - sent, 1 + rng() % buf.size());
      for (size_t k = 0; k < n; ++k) buf[k] = pattern(sent + k, salt);
      // Two pieces per send now and then, as frames go (header, payload).
      size_t cut = rng() % 2 ? n / 3 : n;
      struct iovec v[2] = {{buf.data(), cut}, {buf.data() + cut, n - cut}};
      if (!out.send(v, cut == n ? 1 : 2)) return false;
      sent += n;
    }
    return true;
  };
  auto drain = [&](Stream& in, uint8_t salt, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> buf(5000);
    for (size_t got = 0; got < kTotal;) {
      size_t n = std::min<size_t>(kTotal - got, 1 + rng() % buf.size());
      if (!in.recv(buf.data(), n)) return false;
      for (size_t k = 0; k < n; ++k)
        if (buf[k] != pattern(got + k, salt)) return false;
      got += n;
    }
    return true;
  };
  auto up = std::async(std::launch::async, [&] { return pump(*p.client, 1, 11); });
  auto down = std::async(std::launch::async, [&] { return pump(*p.backend, 2, 12); });
  auto at_backend = std::async(std::launch::async, [&] { return drain(*p.backend, 1, 13); });
  EXPECT_TRUE(drain(*p.client, 2, 14));
  EXPECT_TRUE(at_backend.get());
  EXPECT_TRUE(up.get());
  EXPECT_TRUE(down.get());
}

TEST(TransportShm, PeerThatDiesIsDisconnectedNotAHang) {
  ShmPair p = make_pair();
  ASSERT_TRUE(send_bytes(*p.client, "x", 1));
  auto reader = std::async(std::launch::async, [&] {
    uint8_t buf[4];
    return p.backend->recv(buf, 4);  // one byte, then the peer is gone
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(reader.wait_for(0s), std::future_status::timeout);
  p.client.reset();  // closes its socket: as a process that died
  ASSERT_EQ(reader.wait_for(3s), std::future_status::ready);
  Status s = reader.get();
  EXPECT_EQ(s.code(), Code::kDisconnected) << s.to_string();
  EXPECT_NE(s.message().find("middle"), std::string::npos) << s.message();
}

TEST(TransportShm, WriterBlockedOnAFullRingSeesADeadReader) {
  ShmPair p = make_pair(1u << 12);
  std::vector<uint8_t> big(1u << 20);
  auto sender = std::async(std::launch::async, [&] {
    return send_bytes(*p.client, big.data(), big.size());
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(sender.wait_for(0s), std::future_status::timeout);
  p.backend.reset();
  ASSERT_EQ(sender.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(sender.get().code(), Code::kDisconnected);
}

// A writer that finds the ring full waits until half of it (at most 64 KiB) is free again, then
// writes on: not for every message the reader takes out (docs/protocol.md, "Shared memory").
TEST(TransportShm, WriterOnAFullRingWaitsForHalfOfItThenGoesOn) {
  ShmPair p = make_pair(1u << 12);
  std::vector<uint8_t> fill(1u << 12, 1);
  ASSERT_TRUE(send_bytes(*p.client, fill.data(), fill.size()));
  auto sender = std::async(std::launch::async, [&] { return send_bytes(*p.client, "z", 1); });
  std::this_thread::sleep_for(50ms);  // it finds the ring full
  EXPECT_EQ(sender.wait_for(0s), std::future_status::timeout);
  std::vector<uint8_t> got(1u << 12);
  ASSERT_TRUE(p.backend->recv(got.data(), 1000));
  // 1000 bytes of room: less than half the ring. It stays asleep, also past its 100 ms looks.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sender.wait_for(0s), std::future_status::timeout);
  ASSERT_TRUE(p.backend->recv(got.data() + 1000, 1100));
  ASSERT_EQ(sender.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(sender.get());
  ASSERT_TRUE(p.backend->recv(got.data() + 2100, (1u << 12) - 2100));
  EXPECT_EQ(got, fill);
  char z = 0;
  ASSERT_TRUE(p.backend->recv(&z, 1));
  EXPECT_EQ(z, 'z');
}

// But two sides that both send, each reading only after, never sleep on each other's wait for
// half a ring: here the reader took 1000 bytes, then sends a reply larger than its own ring,
// while the writer waits for room for its last byte (docs/protocol.md, "Shared memory").
TEST(TransportShm, TwoSidesThatBothSendNeverSleepOnEachOther) {
  ShmPair p = make_pair(1u << 12);
  std::vector<uint8_t> fill(1u << 12, 7), reply((1u << 12) + 1, 9);
  auto client = std::async(std::launch::async, [&] {
    if (!send_bytes(*p.client, fill.data(), fill.size())) return 1;  // ring 0 full
    if (!send_bytes(*p.client, "z", 1)) return 2;  // the ring is full: waits for room
    std::vector<uint8_t> got(reply.size());
    if (!p.client->recv(got.data(), got.size()) || got != reply) return 3;
    return 0;
  });
  auto backend = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(50ms);
    std::vector<uint8_t> got(fill.size() + 1);
    if (!p.backend->recv(got.data(), 1000)) return 1;
    // Ring 1 fills: this send sleeps until the client reads, which it does once its 'z' is in.
    if (!send_bytes(*p.backend, reply.data(), reply.size())) return 2;
    if (!p.backend->recv(got.data() + 1000, got.size() - 1000) || got.back() != 'z') return 3;
    return 0;
  });
  const bool done = client.wait_for(5s) == std::future_status::ready &&
                    backend.wait_for(5s) == std::future_status::ready;
  if (!done) {  // wake both, so that the test ends
    p.client->shutdown();
    p.backend->shutdown();
  }
  ASSERT_TRUE(done) << "both sides asleep";
  EXPECT_EQ(client.get(), 0);
  EXPECT_EQ(backend.get(), 0);
}

// A send whose last pieces are empty is done once the others are in the ring, also when they
// filled it exactly: there is nothing left to wait for room for.
TEST(TransportShm, EmptyLastPiecesDoNotWaitForRoom) {
  ShmPair p = make_pair(1u << 12);
  std::vector<uint8_t> fill(1u << 12, 3);
  struct iovec iov[3] = {{fill.data(), fill.size()}, {fill.data(), 0}, {nullptr, 0}};
  auto sender = std::async(std::launch::async, [&] { return p.client->send(iov, 3); });
  const bool returned = sender.wait_for(2s) == std::future_status::ready;
  std::vector<uint8_t> got(fill.size());
  ASSERT_TRUE(p.backend->recv(got.data(), got.size()));  // (lets a waiting send end)
  EXPECT_EQ(got, fill);
  EXPECT_TRUE(returned) << "waited with every byte written";
  EXPECT_TRUE(sender.get());
}

TEST(TransportShm, ShutdownWakesBlockedRecvAndSend) {
  ShmPair p = make_pair(1u << 12);
  auto reader = std::async(std::launch::async, [&] {
    uint8_t b[8];
    return p.backend->recv(b, sizeof b);
  });
  std::vector<uint8_t> big(1u << 20);
  auto sender = std::async(std::launch::async, [&] {
    return send_bytes(*p.backend, big.data(), big.size());
  });
  std::this_thread::sleep_for(50ms);
  p.backend->shutdown();
  ASSERT_EQ(reader.wait_for(2s), std::future_status::ready);
  ASSERT_EQ(sender.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(reader.get().code(), Code::kDisconnected);
  EXPECT_EQ(sender.get().code(), Code::kDisconnected);
  // The peer learns of it too, after whatever the ring still held.
  Status s;
  std::vector<uint8_t> sink(4096);
  for (int i = 0; i < 16384 && s; ++i) s = p.client->recv(sink.data(), 1);
  EXPECT_EQ(s.code(), Code::kDisconnected);
}

TEST(TransportShm, PollLoopGetsADoorbellAndReadsPieceByPiece) {
  // The daemon: recv_nowait until EAGAIN, then poll(fd()) for POLLIN.
  ShmPair p = make_pair();
  char buf[16];
  errno = 0;
  EXPECT_EQ(p.backend->recv_nowait(buf, sizeof buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  pollfd pf{p.backend->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pf, 1, 0), 0);
  ASSERT_TRUE(send_bytes(*p.client, "hello", 5));
  ASSERT_EQ(::poll(&pf, 1, 2000), 1);
  EXPECT_EQ(p.backend->recv_nowait(buf, 3), 3);
  EXPECT_EQ(p.backend->recv_nowait(buf + 3, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 5), "hello");
  // A refusal: fits without waiting, then our direction ends; the client reads both.
  EXPECT_TRUE(p.backend->send_nowait("no", 2));
  p.backend->shut_write();
  ASSERT_TRUE(p.client->recv(buf, 2));
  EXPECT_EQ(std::string(buf, 2), "no");
  EXPECT_EQ(p.client->recv(buf, 1).code(), Code::kDisconnected);
  // send_nowait never waits: more than the ring holds is refused whole.
  std::vector<uint8_t> big((1u << 16) + 1);
  EXPECT_FALSE(p.client->send_nowait(big.data(), big.size()));
}

TEST(TransportShm, BufferedArmsTheDoorbellForAClientThatPolls) {
  ShmPair p = make_pair();
  EXPECT_FALSE(p.client->buffered());
  std::thread t([&] {
    std::this_thread::sleep_for(30ms);
    EXPECT_TRUE(send_bytes(*p.backend, "w", 1));
  });
  pollfd pf{p.client->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pf, 1, 2000), 1);
  t.join();
  EXPECT_TRUE(p.client->buffered());
  char c;
  ASSERT_TRUE(p.client->recv(&c, 1));
  EXPECT_EQ(c, 'w');
}

TEST(TransportShm, HandoffToAnotherOwnerGoesOnMidStream) {
  // The daemon reads the Hello, then a worker takes both descriptors and reads what follows.
  ShmPair p = make_pair();
  ASSERT_TRUE(send_bytes(*p.client, "HELLOnext", 9));
  char buf[9];
  ASSERT_EQ(p.backend->recv_nowait(buf, 5), 5);
  int sock = dup(p.backend->fd());
  int mem = dup(p.backend->aux_fd());
  p.backend.reset();  // the daemon's copy closes; the connection lives on in the worker's
  std::unique_ptr<Stream> worker;
  Status s = stream_from_fds(sock, mem, "worker", &worker);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_TRUE(worker->recv(buf, 4));
  EXPECT_EQ(std::string(buf, 4), "next");
  ASSERT_TRUE(send_bytes(*worker, "welcome", 7));
  ASSERT_TRUE(p.client->recv(buf, 7));
  EXPECT_EQ(std::string(buf, 7), "welcome");
}

TEST(TransportShm, ClientCannotResizeTheSharedMemory) {
  ShmPair p = make_pair();
  // A truncated memfd would SIGBUS the backend: the backend sealed it.
  EXPECT_NE(ftruncate(p.client->aux_fd(), 0), 0);
  EXPECT_NE(ftruncate(p.client->aux_fd(), 1 << 30), 0);
  // And a worker refuses a memfd that is not sealed.
  int fd = memfd_create("x", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096 + 2 * 4096), 0);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::unique_ptr<Stream> w;
  EXPECT_EQ(stream_from_fds(sv[0], fd, "w", &w).code(), Code::kProtocol);
  close(sv[1]);
}

TEST(TransportShm, HostileHeadPastTheRingEndsTheSessionOnly) {
  ShmPair p = make_pair();
  // The client's producer position of ring 0 (client -> backend) claims more than a ring.
  *word64(*p.client, 256) = (1u << 16) + 1;
  char buf[8];
  Status s = p.backend->recv(buf, 8);
  EXPECT_EQ(s.code(), Code::kProtocol) << s.to_string();
  errno = 0;
  EXPECT_EQ(p.backend->recv_nowait(buf, 8), -1);
  EXPECT_EQ(errno, EPROTO);
}

TEST(TransportShm, HostileTailEndsTheSessionOnly) {
  ShmPair p = make_pair();
  EXPECT_TRUE(send_bytes(*p.backend, "a", 1));  // the backend has seen the room there is
  // The client's consumer position of ring 1 (backend -> client) runs ahead of what was sent.
  *word64(*p.client, 512 + 128) = 12345;
  // The backend looks at it only when the room it last saw is not enough (a lie meanwhile
  // garbles nothing but what the client reads): then the session ends.
  EXPECT_TRUE(send_bytes(*p.backend, "x", 1));
  std::vector<char> more(1u << 16, 'y');
  EXPECT_FALSE(p.backend->send_nowait(more.data(), more.size()));
  Status s = send_bytes(*p.backend, more.data(), more.size());
  EXPECT_EQ(s.code(), Code::kProtocol) << s.to_string();
}

// Positions a client wrote before the backend's stream was made (a connection handed to the
// worker is made again from the shared header) are checked like later ones: a large send or
// receive ends the session instead of reading or writing past the ring.
TEST(TransportShm, PositionsScribbledBeforeTheStreamIsMadeEndTheSessionOnly) {
  for (bool sending : {true, false}) {
    EXPECT_EXIT(
        {
          ShmPair p = make_pair(1u << 12);
          *word64(*p.client, 512 + 128) = uint64_t{1} << 40;  // ring 1's consumer tail
          *word64(*p.client, 256) = uint64_t{1} << 40;        // ring 0's producer head
          std::unique_ptr<Stream> w;
          if (!shm_stream_from_fds(dup(p.backend->fd()), dup(p.backend->aux_fd()), "w", &w))
            _exit(3);
          std::vector<uint8_t> big(4u << 20, 0xab);
          Status r = sending ? send_bytes(*w, big.data(), big.size())
                             : w->recv(big.data(), big.size());
          _exit(r.code() == Code::kProtocol ? 0 : 4);
        },
        ::testing::ExitedWithCode(0), "")
        << (sending ? "send" : "receive");
  }
}

TEST(TransportShm, ScribbledHeaderNeverCrashesOrHangsTheBackend) {
  // A client writes random words over the whole header (positions and wait words of both
  // rings) while the backend sends and receives: every call ends, in success or an error.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 30; ++round) {
    ShmPair p = make_pair(1u << 12);
    size_t bytes = 0;
    auto* m = static_cast<uint8_t*>(shm_mapping(*p.client, &bytes));
    ASSERT_NE(m, nullptr);
    for (int k = 0; k < 4; ++k) {
      size_t off = 256 + 8 * (rng() % 64);
      uint64_t v = rng();
      if (rng() & 1) v &= 0x3fff;  // small values too: plausible-looking lies
      std::memcpy(m + off, &v, 8);
    }
    p.client->shutdown();  // so a backend that waits for the client learns it is gone
    char buf[64];
    auto t0 = std::chrono::steady_clock::now();
    (void)p.backend->recv(buf, sizeof buf);
    std::vector<uint8_t> out(3 * 4096);
    (void)send_bytes(*p.backend, out.data(), out.size());
    (void)p.backend->recv_nowait(buf, sizeof buf);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "round " << round;
  }
}

TEST(TransportShm, IdleReaderSleeps) {
  // A blocked receiver must not burn a CPU: measured as its thread's CPU time over a wait.
  ShmPair p = make_pair();
  std::promise<double> cpu;
  std::thread t([&] {
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    char c;
    EXPECT_TRUE(p.backend->recv(&c, 1));
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    cpu.set_value((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  });
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(send_bytes(*p.client, "z", 1));
  t.join();
  EXPECT_LT(cpu.get_future().get(), 0.05);  // spinning would be ~0.5 s
}

}  // namespace
}  // namespace gvirtus
