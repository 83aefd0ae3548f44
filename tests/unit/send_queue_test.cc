// Gathered sends (frontend/core/send_queue.h): order, batching, the bounds, failures, and the
// frames of a thread that ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/transport.h"
#include "common/wire.h"
#include "frontend/core/lent_ranges.h"
#include "frontend/core/send_queue.h"

namespace gvirtus::client {
namespace {

using namespace std::chrono_literals;

// Wraps a stream: counts sends, and the first send waits until open() (so that frames pile up
// behind it), or every send fails when told to.
class GateStream : public Stream {
 public:
  explicit GateStream(Stream* inner) : inner_(inner) {}
  Status send(const struct iovec* iov, int cnt) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      ++sends_;
      entered_ = true;
      cv_.notify_all();
      cv_.wait(l, [&] { return open_; });
      if (fail_) return disconnected("injected send failure");
    }
    return inner_->send(iov, cnt);
  }
  Status recv(void* buf, size_t n) override { return inner_->recv(buf, n); }
  void shutdown() override { inner_->shutdown(); }
  std::string peer() const override { return "gate"; }
  bool costly_send() const override { return true; }

  void wait_entered() {
    std::unique_lock<std::mutex> l(mu_);
    ASSERT_TRUE(cv_.wait_for(l, 5s, [&] { return entered_; })) << "no send began";
  }
  void open(bool fail = false) {
    std::lock_guard<std::mutex> g(mu_);
    open_ = true;
    fail_ = fail;
    cv_.notify_all();
  }
  int sends() {
    std::lock_guard<std::mutex> g(mu_);
    return sends_;
  }

 private:
  Stream* inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false, fail_ = false, entered_ = false;
  int sends_ = 0;
};

std::vector<uint8_t> header_bytes(uint32_t call_id, uint64_t request_id, size_t len,
                                  uint16_t flags = wire::kFlagNoReply) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.flags = flags;
  h.call_id = call_id;
  h.request_id = request_id;
  h.length = static_cast<uint32_t>(len);
  std::vector<uint8_t> out(wire::kHeaderSize);
  wire::encode_header(h, out.data());
  return out;
}

// Posts request `i`: call id 100 + i, a body of (i % 50) + 1 bytes each worth i.
bool post_numbered(SendQueue& q, uint64_t i) {
  std::vector<uint8_t> body(i % 50 + 1, static_cast<uint8_t>(i));
  auto h = header_bytes(static_cast<uint32_t>(100 + i), i, body.size());
  struct iovec v = {body.data(), body.size()};
  return q.post(h.data(), h.size(), &v, 1);
}

// Posts requests 1..n while the queue's thread is stuck sending request 1 (the gate closed),
// so that 2..n wait in the queue behind it.
void post_behind_a_stuck_send(SendQueue& q, GateStream& gate, uint64_t n) {
  ASSERT_TRUE(post_numbered(q, 1));
  gate.wait_entered();
  for (uint64_t i = 2; i <= n; ++i) ASSERT_TRUE(post_numbered(q, i));
}

// Reads `count` frames from s and checks they are requests 1..count in order, as
// post_numbered made them.
void expect_numbered(Stream& s, uint64_t count) {
  for (uint64_t i = 1; i <= count; ++i) {
    wire::FrameHeader h;
    ASSERT_TRUE(recv_header(s, wire::kMaxPayload, &h)) << "frame " << i;
    EXPECT_EQ(h.request_id, i);
    EXPECT_EQ(h.call_id, 100 + i);
    ASSERT_EQ(h.length, i % 50 + 1);
    std::vector<uint8_t> body(h.length);
    ASSERT_TRUE(s.recv(body.data(), body.size()));
    EXPECT_EQ(body, std::vector<uint8_t>(h.length, static_cast<uint8_t>(i))) << "frame " << i;
  }
}

TEST(SendQueue, FramesQueuedBehindABusySendGoOutTogetherAndInOrder) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  std::string lost;
  {
    SendQueue q(&gate, [&](const std::string& why) { lost = why; });
    ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 200));
    EXPECT_EQ(q.frames_posted(), 200u);
    gate.open();
  }  // the destructor sends what is left before the thread ends
  EXPECT_EQ(gate.sends(), 2) << "199 frames queued behind a send must go out in one";
  EXPECT_TRUE(lost.empty()) << lost;
  expect_numbered(*b, 200);
}

TEST(SendQueue, ARequestThatWaitsGoesAfterWhatIsQueued) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  SendQueue q(&gate, [](const std::string&) {});
  ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 10));
  // From the application's thread, while the queue's thread still holds frame 1.
  std::thread waiter([&] {
    std::vector<uint8_t> body(11 % 50 + 1, 11);
    auto h = header_bytes(111, 11, body.size(), 0);
    struct iovec v[2] = {{h.data(), h.size()}, {body.data(), body.size()}};
    EXPECT_TRUE(q.send_now(v, 2));
  });
  std::this_thread::sleep_for(20ms);
  gate.open();
  waiter.join();
  expect_numbered(*b, 11);
}

// flush(), which the connection calls before it reads a reply: waits for the thread's send
// under way, sends what queued behind it, and with nothing queued sends nothing.
TEST(SendQueue, FlushWaitsForTheThreadAndSendsTheRest) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  SendQueue q(&gate, [](const std::string&) {});
  ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 10));
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    EXPECT_TRUE(q.flush());
    flushed = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(flushed.load()) << "flush returned while the thread's send was under way";
  gate.open();
  flusher.join();
  EXPECT_EQ(gate.sends(), 2);
  EXPECT_TRUE(q.flush());  // nothing queued: no send
  EXPECT_EQ(gate.sends(), 2);
  expect_numbered(*b, 10);
}

// Lent bytes (SendQueue::lend: an async host-to-device copy's page-locked source) go in their
// place among the queued frames, read from the lender's memory when they are sent; the span is
// in lent_ranges.h until then, and a failed send releases it too.
TEST(SendQueue, LentBytesGoInTheirPlaceAndAreReleasedOnceSent) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  std::vector<uint8_t> memory(100000);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 3);
  {
    SendQueue q(&gate, [](const std::string&) {});
    ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 2));
    const uint64_t fields = 0x1122334455667788ull;
    auto h = header_bytes(300, 3, sizeof fields + memory.size());
    struct iovec f = {const_cast<uint64_t*>(&fields), sizeof fields};
    ASSERT_TRUE(q.lend(h.data(), h.size(), &f, 1, memory.data(), memory.size()));
    ASSERT_TRUE(post_numbered(q, 4));
    EXPECT_EQ(lent::count(), 1u);
    // Written after lend() returned and before the send: the send reads the lender's memory.
    memory[0] = 0xab;
    gate.open();
    ASSERT_TRUE(q.flush());
    EXPECT_EQ(lent::count(), 0u);
  }
  expect_numbered(*b, 2);
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*b, wire::kMaxPayload, &h));
  EXPECT_EQ(h.request_id, 3u);
  ASSERT_EQ(h.length, 8 + memory.size());
  std::vector<uint8_t> body(h.length);
  ASSERT_TRUE(b->recv(body.data(), body.size()));
  uint64_t got_fields = 0;
  std::memcpy(&got_fields, body.data(), 8);
  EXPECT_EQ(got_fields, 0x1122334455667788ull);
  EXPECT_TRUE(std::equal(memory.begin(), memory.end(), body.begin() + 8));
  EXPECT_EQ(body[8], 0xab);
  ASSERT_TRUE(recv_header(*b, wire::kMaxPayload, &h));
  EXPECT_EQ(h.request_id, 4u);

  // A send that fails drops what is queued: the lent span is released, not kept.
  std::unique_ptr<Stream> c, d;
  ASSERT_TRUE(stream_pair(&c, &d));
  GateStream failing(c.get());
  std::string lost;
  SendQueue q(&failing, [&](const std::string& why) { lost = why; });
  ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, failing, 1));
  auto h2 = header_bytes(301, 2, memory.size());
  ASSERT_TRUE(q.lend(h2.data(), h2.size(), nullptr, 0, memory.data(), memory.size()));
  EXPECT_EQ(lent::count(), 1u);
  failing.open(/*fail=*/true);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (lent::count() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(lent::count(), 0u);
  EXPECT_FALSE(q.lend(h2.data(), h2.size(), nullptr, 0, memory.data(), memory.size()));
  EXPECT_EQ(lent::count(), 0u);
}

TEST(SendQueue, RefusesLargeFramesAndAFullQueue) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  SendQueue q(&gate, [](const std::string&) {});
  std::vector<uint8_t> big(SendQueue::kMaxFrame);  // with its header, one byte over
  auto h = header_bytes(7, 1, big.size());
  struct iovec v = {big.data(), big.size()};
  EXPECT_FALSE(q.post(h.data(), h.size(), &v, 1));
  EXPECT_EQ(q.frames_posted(), 0u);

  ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 1));
  std::vector<uint8_t> body(1000);
  size_t queued = 0;
  uint64_t n = 0;
  for (; n < 1000; ++n) {
    auto hh = header_bytes(8, 2 + n, body.size());
    struct iovec bv = {body.data(), body.size()};
    if (!q.post(hh.data(), hh.size(), &bv, 1)) break;
    queued += hh.size() + body.size();
  }
  EXPECT_LT(n, 1000u) << "the queue never filled";
  EXPECT_LE(queued, SendQueue::kMaxQueued);
  EXPECT_GT(queued + wire::kHeaderSize + body.size(), SendQueue::kMaxQueued);
  gate.open();
}

TEST(SendQueue, AFailedSendLosesTheSessionOnceAndQueuesNothingMore) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  GateStream gate(a.get());
  std::mutex mu;
  std::vector<std::string> lost;
  SendQueue q(&gate, [&](const std::string& why) {
    std::lock_guard<std::mutex> g(mu);
    lost.push_back(why);
  });
  ASSERT_NO_FATAL_FAILURE(post_behind_a_stuck_send(q, gate, 2));
  gate.open(/*fail=*/true);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    {
      std::lock_guard<std::mutex> g(mu);
      if (!lost.empty()) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the failure was never reported";
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(post_numbered(q, 3)) << "a queue whose send failed takes no more frames";
  std::lock_guard<std::mutex> g(mu);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].find("injected send failure"), std::string::npos) << lost[0];
}

TEST(SendQueue, OnlyStreamsWhoseSendsCostAreGathered) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));  // a socketpair: Unix-domain sockets
  EXPECT_TRUE(SendQueue::wanted(*a));
  GateStream gate(a.get());
  EXPECT_TRUE(SendQueue::wanted(gate));
  struct Cheap : GateStream {
    using GateStream::GateStream;
    bool costly_send() const override { return false; }
  } cheap(a.get());
  EXPECT_FALSE(SendQueue::wanted(cheap));
}

}  // namespace
}  // namespace gvirtus::client
