// A few seconds of fuzzing through serve_bytes() on every build: valid conversations, then
// random bytes and mutations of them. The same entry point serves the libFuzzer target
// (tests/fuzz/server_fuzz.cc). What must hold: no crash, a known ending, and whatever the
// server sent is a well-formed sequence of frames answering requests that were made.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/log.h"
#include "test_streams.h"

namespace gvirtus::backend {
namespace {

using testing::append;
using testing::request_frame;

std::vector<uint8_t> hello_for_fuzz() {
  wire::Hello h = testing::test_hello(1);
  h.plugins = {"fuzz"};
  return testing::hello_frame(h);
}

template <typename... T>
std::vector<uint8_t> args(T... v) {
  wire::Writer w;
  (w.put(v), ...);
  return w.buffer();
}

// Valid conversations that reach every fuzz handler.
std::vector<std::vector<uint8_t>> seeds() {
  std::vector<std::vector<uint8_t>> out;
  const uint64_t stream1 = (uint64_t{1} << 56) | 1;  // the first id the session hands out
  std::vector<uint8_t> s = hello_for_fuzz();
  append(&s, request_frame(kCallPing, 1));
  wire::Writer echo;
  echo.put_string("hello fuzz");
  append(&s, request_frame(9001, 2, echo.buffer()));
  append(&s, request_frame(9002, 3, args(uint32_t{100})));
  append(&s, request_frame(9003, 4, args(uint8_t{1})));
  append(&s, request_frame(9004, 5, args(uint8_t{1}, stream1)));
  append(&s, request_frame(9005, 6, args(uint8_t{1}, stream1)));
  append(&s, request_frame(9004, 7, args(uint8_t{1}, stream1)));  // stale now
  append(&s, request_frame(9006, 8, args(int32_t{719}), wire::kFlagNoReply));
  append(&s, request_frame(9009, 9));
  append(&s, request_frame(kCallPing, 10));
  out.push_back(s);

  std::vector<uint8_t> up = hello_for_fuzz();
  std::vector<uint8_t> data(kSmallPayload + 100, 0x33);
  wire::Writer w;
  w.put<uint64_t>(data.size());
  w.put_bytes(data.data(), data.size());
  w.put<uint8_t>(1);
  append(&up, request_frame(9008, 1, w.buffer()));
  append(&up, request_frame(9007, 2));
  out.push_back(up);

  std::vector<uint8_t> bye = hello_for_fuzz();
  wire::FrameHeader g;
  g.kind = static_cast<uint16_t>(wire::Kind::kGoodbye);
  append(&bye, testing::frame_bytes(g, {'b', 'y', 'e'}));
  out.push_back(bye);
  return out;
}

// Checks what the server sent: a Welcome, then Replies whose request ids were asked for.
void check_replies(const std::vector<uint8_t>& in, const std::vector<uint8_t>& out) {
  size_t off = 0;
  bool first = true;
  while (off + wire::kHeaderSize <= out.size()) {
    wire::FrameHeader h;
    ASSERT_TRUE(wire::decode_header(out.data() + off, wire::kMaxPayload, &h));
    if (first) {
      EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kWelcome));
      first = false;
    } else {
      ASSERT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
      // The request id and call id were in the input somewhere (echoed, not invented).
      uint8_t needle[12];
      std::memcpy(needle, &h.call_id, 4);
      std::memcpy(needle + 4, &h.request_id, 8);
      EXPECT_NE(std::search(in.begin(), in.end(), needle, needle + 12), in.end());
    }
    off += wire::kHeaderSize + h.length;
  }
}

void run_one(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  Status s = serve_bytes(in.data(), in.size(), &out);
  Code c = s.code();
  EXPECT_TRUE(c == Code::kOk || c == Code::kDisconnected || c == Code::kProtocol ||
              c == Code::kFailed || c == Code::kUnimplemented)
      << s.to_string();
  check_replies(in, out);
}

class ServeFuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
  }
  void TearDown() override { log::set_level(saved_); }
  log::Level saved_;
};

TEST_F(ServeFuzz, SeedsBehaveAsIntended) {
  auto s = seeds();
  std::vector<uint8_t> out;
  // The long conversation: every reply arrives and the input just ends.
  Status st = serve_bytes(s[0].data(), s[0].size(), &out);
  EXPECT_EQ(st.code(), Code::kDisconnected) << st.to_string();
  size_t frames = 0, off = 0;
  int32_t last_aux = -1, stale_status = -1;
  while (off < out.size()) {
    wire::FrameHeader h;
    ASSERT_TRUE(wire::decode_header(out.data() + off, wire::kMaxPayload, &h));
    if (h.request_id == 7) stale_status = h.status;
    if (h.request_id == 9) last_aux = h.aux;
    off += wire::kHeaderSize + h.length;
    ++frames;
  }
  EXPECT_EQ(frames, 1u + 9u);  // Welcome and nine replies (request 8 was NoReply)
  EXPECT_EQ(stale_status, 400);
  EXPECT_EQ(last_aux, 719);
  // The upload, then a handler that throws: the session ends with a failure.
  st = serve_bytes(s[1].data(), s[1].size(), &out);
  EXPECT_EQ(st.code(), Code::kFailed) << st.to_string();
  EXPECT_TRUE(serve_bytes(s[2].data(), s[2].size(), nullptr));
  // A Hello asking for a plugin this table lacks is refused.
  wire::Hello h = testing::test_hello(1);
  std::vector<uint8_t> refused = testing::hello_frame(h);  // asks for "cudart"
  EXPECT_EQ(serve_bytes(refused.data(), refused.size()).code(), Code::kUnimplemented);
}

TEST_F(ServeFuzz, RandomAndMutatedInputForAFewSeconds) {
  std::mt19937_64 rng(20261125);
  auto corpus = seeds();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  size_t runs = 0;
  while (std::chrono::steady_clock::now() < until && !HasFailure()) {
    std::vector<uint8_t> in;
    int how = static_cast<int>(rng() % 8);
    if (how == 0) {
      in.resize(rng() % 512);
      for (auto& b : in) b = static_cast<uint8_t>(rng());
    } else if (how == 1) {  // a valid Hello, then noise
      in = hello_for_fuzz();
      size_t n = rng() % 512;
      for (size_t i = 0; i < n; ++i) in.push_back(static_cast<uint8_t>(rng()));
    } else {
      in = corpus[rng() % corpus.size()];
      int edits = 1 + static_cast<int>(rng() % 6);
      for (int e = 0; e < edits && !in.empty(); ++e) {
        size_t at = rng() % in.size();
        switch (rng() % 6) {
          case 0: in[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 1: in[at] = static_cast<uint8_t>(rng()); break;
          case 2: in.resize(at); break;
          case 3: {  // an interesting 32-bit value, e.g. a length or a call id
            static const uint32_t kVals[] = {0, 1, 0x7fffffff, 0xffffffff, wire::kMaxPayload,
                                             wire::kMaxPayload + 1, 9001, 9008, 65536};
            uint32_t v = kVals[rng() % (sizeof kVals / sizeof kVals[0])];
            if (at + 4 <= in.size()) std::memcpy(&in[at], &v, 4);
            break;
          }
          case 4: {  // duplicate a slice
            size_t len = std::min<size_t>(rng() % 64, in.size() - at);
            std::vector<uint8_t> slice(in.begin() + at, in.begin() + at + len);
            in.insert(in.begin() + (rng() % in.size()), slice.begin(), slice.end());
            break;
          }
          case 5: {  // splice in the tail of another seed
            const auto& other = corpus[rng() % corpus.size()];
            size_t from = rng() % other.size();
            in.resize(at);
            in.insert(in.end(), other.begin() + from, other.end());
            break;
          }
        }
      }
    }
    run_one(in);
    ++runs;
  }
  EXPECT_GT(runs, 1000u);
}

}  // namespace
}  // namespace gvirtus::backend
