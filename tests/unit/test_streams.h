// Test helpers for the transport seam: a Stream that breaks after N bytes, and frame builders.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/transport.h"
#include "common/wire.h"

namespace gvirtus::testing {

// Wraps a Stream and drops the connection once `limit` bytes have passed in the chosen
// direction: the send or recv that would cross it delivers the bytes up to the limit, then the
// inner stream is shut down and the call fails with kDisconnected, as a peer that vanished
// mid-message.
class FaultyStream : public Stream {
 public:
  enum class Dir { kSend, kRecv };
  FaultyStream(std::unique_ptr<Stream> inner, Dir dir, size_t limit)
      : inner_(std::move(inner)), dir_(dir), left_(limit) {}

  Status send(const struct iovec* iov, int iovcnt) override {
    if (dir_ != Dir::kSend) return inner_->send(iov, iovcnt);
    std::vector<struct iovec> v;
    bool cut = false;
    for (int i = 0; i < iovcnt && !cut; ++i) {
      size_t n = iov[i].iov_len;
      if (n > left_) {
        n = left_;
        cut = true;
      }
      v.push_back({iov[i].iov_base, n});
      left_ -= n;
    }
    if (!v.empty()) {
      Status s = inner_->send(v.data(), static_cast<int>(v.size()));
      if (!s) return s;
    }
    if (cut) return drop();
    return Status::ok();
  }

  Status recv(void* buf, size_t n) override {
    if (dir_ != Dir::kRecv) return inner_->recv(buf, n);
    if (n > left_) {
      if (left_ > 0) inner_->recv(buf, left_);
      left_ = 0;
      return drop();
    }
    left_ -= n;
    return inner_->recv(buf, n);
  }

  void shutdown() override { inner_->shutdown(); }
  std::string peer() const override { return "faulty(" + inner_->peer() + ")"; }

 private:
  Status drop() {
    inner_->shutdown();
    return disconnected("fault injected: connection dropped");
  }
  std::unique_ptr<Stream> inner_;
  Dir dir_;
  size_t left_;
};

// A loopback TCP port that was free a moment ago (the kernel's pick for port 0).
// A loopback TCP port nobody listens on, for a backend a test starts. Taken below the kernel's
// ephemeral range (ip_local_port_range), at random: a port the kernel hands out (bind to port
// 0, or the local end of any outgoing connection of the tests running in parallel) could be
// taken again before the backend binds it, and the backend then fails with "Address already
// in use". Falls back to the kernel's choice if no such port binds.
inline int free_tcp_port() {
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    int lo = 0, hi = 0;
    if (std::fscanf(f, "%d %d", &lo, &hi) == 2 && lo > 2048) low = lo;
    std::fclose(f);
  }
  const int first = std::max(1024, low - 12000);
  static std::atomic<uint64_t> draws{0};
  uint64_t x = static_cast<uint64_t>(getpid()) * 0x9e3779b97f4a7c15ull ^
               static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 64; ++attempt) {
    x ^= draws.fetch_add(1) + 0x632be59bd9b4e019ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    const int port = first + static_cast<int>(x % static_cast<uint64_t>(low - first));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A frame as bytes: header (length filled in) and payload.
inline std::vector<uint8_t> frame_bytes(wire::FrameHeader h, const std::vector<uint8_t>& payload) {
  h.length = static_cast<uint32_t>(payload.size());
  std::vector<uint8_t> out(wire::kHeaderSize);
  wire::encode_header(h, out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A backend a test plays that stops or trickles: accepts a connection on l and reads its Hello
// (nullptr if none came).
inline std::unique_ptr<Stream> accept_hello(Listener& l) {
  std::unique_ptr<Stream> s;
  if (!l.accept(&s)) return nullptr;
  wire::FrameHeader h;
  if (!recv_header(*s, wire::kMaxHelloPayload, &h)) return nullptr;
  std::vector<uint8_t> hello(h.length);
  if (!hello.empty() && !s->recv(hello.data(), hello.size())) return nullptr;
  return s;
}

// The Welcome frame of a backend that accepts.
inline std::vector<uint8_t> welcome_bytes() {
  wire::Writer w;
  wire::encode_welcome(wire::Welcome{}, w);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
  return frame_bytes(h, std::vector<uint8_t>(w.data(), w.data() + w.size()));
}

// Sends bytes[at..] one byte every `every`, until all are sent, `gone` is set (the client gave
// up) or a send fails; then waits for `gone`.
inline void trickle(Stream& s, const std::vector<uint8_t>& bytes, size_t at,
                    const std::atomic<bool>& gone, std::chrono::milliseconds every) {
  for (; at < bytes.size() && !gone.load(); ++at) {
    std::this_thread::sleep_for(every);
    struct iovec one = {const_cast<uint8_t*>(bytes.data()) + at, 1};
    if (!s.send(&one, 1)) break;
  }
  while (!gone.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

inline wire::Hello test_hello(uint8_t token_byte = 7, bool primary = true) {
  wire::Hello h;
  std::memset(h.token, token_byte, sizeof h.token);
  h.primary = primary ? 1 : 0;
  h.pid = 4242;
  h.thread = 99;
  h.hostname = "testhost";
  h.program = "unit-test";
  h.plugins = {"cudart"};
  return h;
}

inline std::vector<uint8_t> hello_frame(const wire::Hello& hello) {
  wire::Writer w;
  wire::encode_hello(hello, w);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kHello);
  return frame_bytes(h, w.buffer());
}

inline std::vector<uint8_t> request_frame(uint32_t call_id, uint64_t request_id,
                                          const std::vector<uint8_t>& payload = {},
                                          uint16_t flags = 0) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.call_id = call_id;
  h.request_id = request_id;
  h.flags = flags;
  return frame_bytes(h, payload);
}

inline void append(std::vector<uint8_t>* out, const std::vector<uint8_t>& more) {
  out->insert(out->end(), more.begin(), more.end());
}

// Sends three buffers, 24 MiB in all (far more than any socket buffer or shared ring, so the
// sender loops over partial writes), while `to` reads them back in pieces of awkward sizes;
// checks every byte. Stream kinds share it (transport_test, transport_shm_test).
inline void expect_large_writev_in_odd_pieces(Stream& from, Stream& to) {
  using namespace std::chrono_literals;
  std::vector<uint8_t> a(5u << 20), b(1), c(19u << 20);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i * 13);
  b[0] = 0xab;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 7 + 1);
  auto sender = std::async(std::launch::async, [&] {
    struct iovec iov[4] = {{a.data(), a.size()}, {nullptr, 0}, {b.data(), 1}, {c.data(), c.size()}};
    return from.send(iov, 4);
  });
  std::vector<uint8_t> got(a.size() + 1 + c.size());
  size_t off = 0, piece = 1;
  while (off < got.size()) {
    size_t n = std::min(piece, got.size() - off);
    ASSERT_TRUE(to.recv(got.data() + off, n));
    off += n;
    piece = piece * 3 + 1;
    if (piece > (3u << 20)) piece = 7;
  }
  ASSERT_EQ(sender.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(sender.get());
  EXPECT_EQ(0, std::memcmp(got.data(), a.data(), a.size()));
  EXPECT_EQ(got[a.size()], 0xab);
  EXPECT_EQ(0, std::memcmp(got.data() + a.size() + 1, c.data(), c.size()));
}

}  // namespace gvirtus::testing
