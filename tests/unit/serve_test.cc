// The worker's serve loop over an in-process stream pair, with a handler table of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/log.h"
#include "test_streams.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;
using testing::request_frame;

constexpr uint32_t kEcho = 500, kFail = 501, kThrowDecode = 502, kFault = 503, kThrowStd = 504,
                   kBig = 505, kBulk = 506, kKeep = 507;

std::atomic<bool> g_big_pinned{false};
std::atomic<size_t> g_big_seen{0};

void echo(CallContext& c) {
  std::string s = c.in.get_string(100);
  c.in.expect_end();
  c.out.put_string(s);
}
void fail(CallContext& c) { c.status = c.in.get<int32_t>(); }
void throw_decode(CallContext& c) { c.in.get<uint64_t>(); }  // empty payload: DecodeError
void fault(CallContext&) { throw SessionFault("forged something"); }
void throw_std(CallContext&) { throw std::runtime_error("oops"); }
void big(CallContext& c) {
  size_t n = c.in.remaining();
  const uint8_t* p = c.in.get_bytes(n);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i];
  g_big_seen = n;
  g_big_pinned = c.conn.payload_pinned();
  c.out.put<uint64_t>(sum);
}
void bulk(CallContext& c) {
  uint32_t n = c.in.get<uint32_t>();
  uint8_t* p = c.conn.d2h_buffer(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i);
  c.out.put<uint32_t>(n);
  c.bulk = p;
  c.bulk_len = n;
}
// Takes the staging buffer and checks the payload bytes survive the next big request.
HostBuffer g_kept;
const uint8_t* g_kept_ptr = nullptr;
void keep(CallContext& c) {
  size_t n = c.in.remaining();
  g_kept_ptr = c.in.get_bytes(n);
  g_kept = c.conn.take_staging();
  c.out.put<uint8_t>(g_kept ? 1 : 0);
}

const HandlerEntry kHandlers[] = {
    {kEcho, "Echo", &echo},       {kFail, "Fail", &fail},         {kThrowDecode, "Decode", &throw_decode},
    {kFault, "Fault", &fault},    {kThrowStd, "Throw", &throw_std}, {kBig, "Big", &big},
    {kBulk, "Bulk", &bulk},       {kKeep, "Keep", &keep},
};

const Registry& test_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    reg->add_plugin("test", kHandlers, sizeof kHandlers / sizeof kHandlers[0]);
    return reg;
  }();
  return *r;
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
    std::unique_ptr<Stream> server;
    ASSERT_TRUE(stream_pair(&client_, &server));
    server_ = std::move(server);
    result_ = std::async(std::launch::async, [this] {
      ConnState conn(session_, 0);
      return serve_connection(session_, conn, *server_, test_registry());
    });
  }
  void TearDown() override {
    client_.reset();
    if (result_.valid()) result_.wait_for(5s);
    log::set_level(saved_);
  }
  void send(const std::vector<uint8_t>& bytes) {
    struct iovec iov = {const_cast<uint8_t*>(bytes.data()), bytes.size()};
    ASSERT_TRUE(client_->send(&iov, 1));
  }
  // Reads one reply; returns its header and payload.
  wire::FrameHeader reply(std::vector<uint8_t>* payload = nullptr) {
    wire::FrameHeader h;
    Status s = recv_header(*client_, wire::kMaxPayload, &h);
    EXPECT_TRUE(s) << s.to_string();
    std::vector<uint8_t> p(h.length);
    if (s) {
      EXPECT_TRUE(client_->recv(p.data(), p.size()));
    }
    if (payload) *payload = std::move(p);
    return h;
  }
  Status ended() {
    EXPECT_EQ(result_.wait_for(5s), std::future_status::ready);
    return result_.get();
  }

  log::Level saved_;
  Session session_{ClientInfo{}, SessionOptions{false}};
  std::unique_ptr<Stream> client_, server_;
  std::future<Status> result_;
};

std::vector<uint8_t> i32(int32_t v) {
  wire::Writer w;
  w.put(v);
  return w.buffer();
}

TEST_F(Serve, PingAndEchoReplyInOrder) {
  wire::Writer w;
  w.put_string("hello");
  std::vector<uint8_t> bytes = request_frame(kCallPing, 1);
  testing::append(&bytes, request_frame(kEcho, 2, w.buffer()));
  send(bytes);
  wire::FrameHeader h = reply();
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(h.call_id, kCallPing);
  EXPECT_EQ(h.request_id, 1u);
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.length, 0u);
  std::vector<uint8_t> p;
  h = reply(&p);
  EXPECT_EQ(h.request_id, 2u);
  wire::Reader r(p.data(), p.size());
  EXPECT_EQ(r.get_string(100), "hello");
  client_.reset();
  EXPECT_EQ(ended().code(), Code::kDisconnected);
}

// The connection lends one reply writer to every request in turn: each reply carries its own
// fields only, whatever the requests before it wrote (a longer reply, a NoReply request's).
TEST_F(Serve, RepliesCarryOnlyTheirOwnFields) {
  const std::string longer(90, 'L');
  std::vector<uint8_t> bytes;
  uint64_t id = 0;
  for (const std::string& text : {longer, std::string("x"), longer, std::string("yz")}) {
    wire::Writer w;
    w.put_string(text);
    testing::append(&bytes, request_frame(kEcho, ++id, w.buffer()));
    testing::append(&bytes, request_frame(kEcho, ++id, w.buffer(), wire::kFlagNoReply));
  }
  testing::append(&bytes, request_frame(kCallPing, ++id));
  send(bytes);
  for (const std::string& text : {longer, std::string("x"), longer, std::string("yz")}) {
    std::vector<uint8_t> p;
    reply(&p);
    ASSERT_EQ(p.size(), 4 + text.size());
    wire::Reader r(p.data(), p.size());
    EXPECT_EQ(r.get_string(100), text);
  }
  wire::FrameHeader h = reply();
  EXPECT_EQ(h.call_id, kCallPing);
  EXPECT_EQ(h.length, 0u);
  client_.reset();
  EXPECT_EQ(ended().code(), Code::kDisconnected);
}

TEST_F(Serve, NoReplyFailureIsDeferredToTheNextReplyOnly) {
  std::vector<uint8_t> bytes = request_frame(kFail, 1, i32(0), wire::kFlagNoReply);
  testing::append(&bytes, request_frame(kFail, 2, i32(719), wire::kFlagNoReply));
  testing::append(&bytes, request_frame(kFail, 3, i32(300), wire::kFlagNoReply));  // not first
  testing::append(&bytes, request_frame(kFail, 4, i32(5)));  // a reply: its own status
  testing::append(&bytes, request_frame(kCallPing, 5));
  send(bytes);
  wire::FrameHeader h = reply();
  EXPECT_EQ(h.request_id, 4u);
  EXPECT_EQ(h.status, 5);
  EXPECT_EQ(h.aux, 719);
  h = reply();
  EXPECT_EQ(h.request_id, 5u);
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.aux, 0);  // cleared once reported
}

TEST_F(Serve, GoodbyeEndsCleanly) {
  wire::FrameHeader g;
  g.kind = static_cast<uint16_t>(wire::Kind::kGoodbye);
  send(testing::frame_bytes(g, {'b', 'y', 'e'}));
  EXPECT_TRUE(ended());
}

TEST_F(Serve, UnknownCallIdEndsTheSession) {
  send(request_frame(4242, 1));
  Status s = ended();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("unknown call id 4242"), std::string::npos) << s.message();
}

TEST_F(Serve, MalformedArgumentsEndTheSession) {
  send(request_frame(kThrowDecode, 1));
  Status s = ended();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("Decode"), std::string::npos) << s.message();
}

TEST_F(Serve, TrailingBytesInPingEndTheSession) {
  send(request_frame(kCallPing, 1, {0}));
  EXPECT_EQ(ended().code(), Code::kProtocol);
}

TEST_F(Serve, SessionFaultEndsTheSession) {
  send(request_frame(kFault, 1));
  Status s = ended();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("forged something"), std::string::npos) << s.message();
}

TEST_F(Serve, HandlerExceptionEndsTheSession) {
  send(request_frame(kThrowStd, 1));
  Status s = ended();
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("oops"), std::string::npos) << s.message();
}

TEST_F(Serve, WrongFrameKindEndsTheSession) {
  send(testing::hello_frame(testing::test_hello()));
  Status s = ended();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("Hello"), std::string::npos) << s.message();
}

TEST_F(Serve, OversizeLengthEndsTheSession) {
  std::vector<uint8_t> bytes = request_frame(kCallPing, 1);
  uint32_t len = wire::kMaxPayload + 1;
  std::memcpy(bytes.data() + 4, &len, 4);
  send(bytes);
  EXPECT_EQ(ended().code(), Code::kProtocol);
}

TEST_F(Serve, ClosedMidFrameIsDisconnected) {
  std::vector<uint8_t> bytes = request_frame(kBig, 1, std::vector<uint8_t>(1000, 1));
  bytes.resize(500);
  send(bytes);
  client_.reset();
  Status s = ended();
  EXPECT_EQ(s.code(), Code::kDisconnected);
  EXPECT_NE(s.message().find("middle"), std::string::npos) << s.message();
}

TEST_F(Serve, LargePayloadsAndBulkReplies) {
  for (size_t n : {size_t{100}, kSmallPayload, kSmallPayload + 1, size_t{3u << 20},
                   kStagingSize, kStagingSize + 1}) {
    std::vector<uint8_t> data(n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum += data[i] = static_cast<uint8_t>(i * 31);
    auto sender = std::async(std::launch::async, [&] { send(request_frame(kBig, n, data)); });
    std::vector<uint8_t> p;
    wire::FrameHeader h = reply(&p);
    sender.wait();
    EXPECT_EQ(h.request_id, n);
    EXPECT_EQ(g_big_seen.load(), n);
    EXPECT_FALSE(g_big_pinned.load());  // pinned buffers are off in this session
    wire::Reader r(p.data(), p.size());
    EXPECT_EQ(r.get<uint64_t>(), sum) << n;
  }
  wire::Writer w;
  w.put<uint32_t>(5u << 20);
  send(request_frame(kBulk, 1, w.buffer()));
  std::vector<uint8_t> p;
  reply(&p);
  ASSERT_EQ(p.size(), 4u + (5u << 20));
  EXPECT_EQ(p[4 + 1000], static_cast<uint8_t>(1000));
}

TEST_F(Serve, TakenStagingOutlivesTheCall) {
  std::vector<uint8_t> data(kSmallPayload + 10, 0x5a);
  send(request_frame(kKeep, 1, data));
  std::vector<uint8_t> p;
  reply(&p);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], 1);  // the payload was in the staging buffer and was handed over
  ASSERT_TRUE(g_kept);
  // Another large payload goes to a fresh staging buffer, not over the kept bytes.
  std::vector<uint8_t> other(kSmallPayload + 10, 0x11);
  send(request_frame(kBig, 2, other));
  reply();
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(g_kept_ptr[i], 0x5a) << i;
  g_kept = HostBuffer();
  // A small payload has no staging buffer to hand over.
  send(request_frame(kKeep, 3, {1, 2, 3}));
  reply(&p);
  EXPECT_EQ(p[0], 0);
}

TEST(ServeFaults, PeerVanishingMidReplyIsDisconnected) {
  log::Level saved = log::level();
  log::set_level(log::Level::kOff);
  std::unique_ptr<Stream> client, server;
  ASSERT_TRUE(stream_pair(&client, &server));
  // The server's stream breaks after 40 bytes of output: mid-way through the second reply.
  testing::FaultyStream faulty(std::move(server), testing::FaultyStream::Dir::kSend, 40);
  std::vector<uint8_t> bytes = request_frame(kCallPing, 1);
  wire::Writer w;
  w.put_string("0123456789");
  testing::append(&bytes, request_frame(kEcho, 2, w.buffer()));
  struct iovec iov = {bytes.data(), bytes.size()};
  ASSERT_TRUE(client->send(&iov, 1));
  Session session(ClientInfo{}, SessionOptions{false});
  ConnState conn(session, 0);
  Status s = serve_connection(session, conn, faulty, test_registry());
  EXPECT_EQ(s.code(), Code::kDisconnected) << s.to_string();
  log::set_level(saved);
}

}  // namespace
}  // namespace gvirtus::backend
