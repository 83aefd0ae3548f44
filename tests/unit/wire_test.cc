// The wire format: header and handshake round trips, and corrupt input failing cleanly.
#include "common/wire.h"

#include <gtest/gtest.h>

#include <random>

#include "expect_fault.h"
#include "test_streams.h"

namespace gvirtus::wire {
namespace {

FrameHeader sample_header() {
  FrameHeader h;
  h.length = 1234;
  h.kind = static_cast<uint16_t>(Kind::kReply);
  h.flags = 0;
  h.call_id = 1001;
  h.request_id = 0x0102030405060708ull;
  h.status = -7;
  h.aux = 719;
  return h;
}

TEST(WireHeader, RoundTripAndLittleEndianLayout) {
  FrameHeader h = sample_header();
  uint8_t b[kHeaderSize];
  encode_header(h, b);
  // The documented layout (docs/protocol.md): magic "GVF1", then length at offset 4, ...
  EXPECT_EQ(0, std::memcmp(b, "GVF1", 4));
  EXPECT_EQ(b[4], 1234 & 0xff);
  EXPECT_EQ(b[5], 1234 >> 8);
  EXPECT_EQ(b[8], static_cast<uint8_t>(Kind::kReply));
  EXPECT_EQ(b[16], 0x08);
  EXPECT_EQ(b[23], 0x01);
  FrameHeader d;
  ASSERT_TRUE(decode_header(b, kMaxPayload, &d));
  EXPECT_EQ(d.length, h.length);
  EXPECT_EQ(d.kind, h.kind);
  EXPECT_EQ(d.call_id, h.call_id);
  EXPECT_EQ(d.request_id, h.request_id);
  EXPECT_EQ(d.status, h.status);
  EXPECT_EQ(d.aux, h.aux);
}

TEST(WireHeader, RejectsBadMagicKindFlagsAndLength) {
  uint8_t b[kHeaderSize];
  FrameHeader d;
  FrameHeader h = sample_header();

  encode_header(h, b);
  b[0] ^= 1;
  EXPECT_EQ(decode_header(b, kMaxPayload, &d).code(), Code::kProtocol);

  for (uint16_t kind : {0, 9, 0xffff}) {
    h = sample_header();
    h.kind = kind;
    encode_header(h, b);
    EXPECT_EQ(decode_header(b, kMaxPayload, &d).code(), Code::kProtocol) << kind;
  }

  h = sample_header();
  h.flags = 16;  // no such flag (NoReply is 1, LibraryDeferred 2, Laned 4, PageableSource 8)
  encode_header(h, b);
  EXPECT_EQ(decode_header(b, kMaxPayload, &d).code(), Code::kProtocol);
  h.flags = kFlagPageableSource;
  encode_header(h, b);
  EXPECT_TRUE(decode_header(b, kMaxPayload, &d).ok());

  h = sample_header();
  h.length = kMaxHelloPayload + 1;
  encode_header(h, b);
  Status s = decode_header(b, kMaxHelloPayload, &d);
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("over the limit"), std::string::npos);
  EXPECT_TRUE(decode_header(b, kMaxPayload, &d));
  h.length = 0xffffffffu;
  encode_header(h, b);
  EXPECT_EQ(decode_header(b, kMaxPayload, &d).code(), Code::kProtocol);
}

Hello full_hello() {
  Hello h = testing::test_hello(0x5a);
  h.plugins = {"cudart", "cublas", ""};
  h.program = std::string(4096, 'p');
  h.hostname = std::string(255, 'h');
  return h;
}

TEST(WireHello, RoundTrip) {
  Hello h = full_hello();
  Writer w;
  encode_hello(h, w);
  Reader r(w.data(), w.size());
  Hello d = decode_hello(r);
  EXPECT_EQ(d.major, kProtocolMajor);
  EXPECT_EQ(d.minor, kProtocolMinor);
  EXPECT_EQ(0, std::memcmp(d.token, h.token, sizeof h.token));
  EXPECT_EQ(d.primary, 1);
  EXPECT_EQ(d.pid, h.pid);
  EXPECT_EQ(d.thread, h.thread);
  EXPECT_EQ(d.hostname, h.hostname);
  EXPECT_EQ(d.program, h.program);
  EXPECT_EQ(d.plugins, h.plugins);
}

TEST(WireHello, EveryTruncationFailsCleanly) {
  Writer w;
  encode_hello(full_hello(), w);
  for (size_t n = 0; n < w.size(); ++n) {
    Reader r(w.data(), n);
    EXPECT_FAULT(decode_hello(r), "payload too short") << "truncated to " << n << " bytes";
  }
}

TEST(WireHello, TrailingBytesAreRejected) {
  Writer w;
  encode_hello(full_hello(), w);
  w.put<uint8_t>(0);
  Reader r(w.data(), w.size());
  EXPECT_FAULT(decode_hello(r), "1 unexpected bytes at the end of the payload");
}

TEST(WireHello, OverBoundFieldsAreRejected) {
  auto decode = [](const Hello& h) {
    Writer w;
    encode_hello(h, w);
    Reader r(w.data(), w.size());
    decode_hello(r);
  };
  Hello h = full_hello();
  h.hostname = std::string(256, 'h');
  EXPECT_FAULT(decode(h), "string of 256 bytes is over its bound of 255");
  h = full_hello();
  h.program = std::string(4097, 'p');
  EXPECT_FAULT(decode(h), "string of 4097 bytes is over its bound of 4096");
  h = full_hello();
  h.plugins = std::vector<std::string>(65, "x");
  EXPECT_FAULT(decode(h), "too many plugins in Hello");
  h = full_hello();
  h.plugins = {std::string(65, 'x')};
  EXPECT_FAULT(decode(h), "string of 65 bytes is over its bound of 64");
  h = full_hello();
  h.primary = wire::kHelloStatus + 1;  // 2 is a status query (protocol 3.1); 3 means nothing
  EXPECT_FAULT(decode(h), "primary flag is not 0, 1 or 2");
}

TEST(WireHello, OtherMajorStopsAfterTheVersion) {
  // A client of another major may lay out the rest differently; only the version is read so
  // the server can refuse it by version.
  Writer w;
  w.put<uint16_t>(kProtocolMajor + 1);
  w.put<uint16_t>(3);
  w.put<uint32_t>(0xdeadbeef);  // whatever a future version sends
  Reader r(w.data(), w.size());
  Hello h = decode_hello(r);
  EXPECT_EQ(h.major, kProtocolMajor + 1);
  EXPECT_EQ(h.minor, 3);
}

TEST(WireHello, RandomAndMutatedBytesNeverCrash) {
  std::mt19937 rng(12345);
  Writer good;
  encode_hello(full_hello(), good);
  int decoded = 0, refused = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> b;
    if (iter % 2 == 0) {
      b.resize(rng() % 600);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      if (b.size() >= 2 && iter % 4 == 0) {  // make the version right so decoding goes on
        b[0] = kProtocolMajor;
        b[1] = 0;
      }
    } else {
      b = good.buffer();
      int flips = 1 + rng() % 4;
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    }
    Reader r(b.data(), b.size());
    try {
      Hello h = decode_hello(r);
      ++decoded;
      if (h.major == kProtocolMajor) {
        EXPECT_LE(h.hostname.size(), 255u);
        EXPECT_LE(h.program.size(), 4096u);
        EXPECT_LE(h.plugins.size(), 64u);
      }
    } catch (const DecodeError&) {
      ++refused;
    }
  }
  EXPECT_GT(decoded, 0);
  EXPECT_GT(refused, 0);
}

TEST(WireWelcome, RoundTripAndTruncation) {
  Welcome m;
  m.status = kWelcomeUnknownPlugin;
  m.message = "no plugin \"x\"";
  m.worker_pid = 777;
  m.session_id = 1ull << 40;
  Writer w;
  encode_welcome(m, w);
  Reader r(w.data(), w.size());
  Welcome d = decode_welcome(r);
  EXPECT_EQ(d.status, m.status);
  EXPECT_EQ(d.message, m.message);
  EXPECT_EQ(d.worker_pid, m.worker_pid);
  EXPECT_EQ(d.session_id, m.session_id);
  for (size_t n = 0; n < w.size(); ++n) {
    Reader t(w.data(), n);
    EXPECT_FAULT(decode_welcome(t), "payload too short") << n;
  }
}

TEST(WireWelcome, CarriesTheCudaVersion) {
  Welcome m;
  m.cuda_version = 12080;
  Writer w;
  encode_welcome(m, w);
  Reader r(w.data(), w.size());
  EXPECT_EQ(decode_welcome(r).cuda_version, 12080u);
}

TEST(WireHello, ProofAndCudaVersionRoundTrip) {
  Hello h;
  h.cuda_version = 13010;
  h.has_proof = true;
  for (size_t i = 0; i < kProofSize; ++i) h.proof[i] = static_cast<uint8_t>(i * 3);
  Writer w;
  encode_hello(h, w);
  Reader r(w.data(), w.size());
  Hello d = decode_hello(r);
  EXPECT_EQ(d.cuda_version, 13010u);
  ASSERT_TRUE(d.has_proof);
  EXPECT_EQ(std::memcmp(d.proof, h.proof, kProofSize), 0);
  // A proof flag other than 0 or 1 is a violation.
  std::vector<uint8_t> bad(w.data(), w.data() + w.size());
  bad[bad.size() - kProofSize - 1] = 2;
  Reader rb(bad.data(), bad.size());
  EXPECT_FAULT(decode_hello(rb), "proof flag is neither 0 nor 1");
}

TEST(WireAuth, AuthStartAndChallengeRoundTripAndTruncation) {
  AuthStart a;
  for (size_t i = 0; i < kNonceSize; ++i) a.client_nonce[i] = static_cast<uint8_t>(i + 1);
  Writer wa;
  encode_auth_start(a, wa);
  EXPECT_EQ(wa.size(), 4 + kNonceSize);
  Reader ra(wa.data(), wa.size());
  EXPECT_EQ(std::memcmp(decode_auth_start(ra).client_nonce, a.client_nonce, kNonceSize), 0);
  for (size_t n = 0; n < wa.size(); ++n) {
    Reader t(wa.data(), n);
    EXPECT_FAULT(decode_auth_start(t), "payload too short") << n;
  }
  Challenge c;
  c.has_token = 1;
  for (size_t i = 0; i < kNonceSize; ++i) c.server_nonce[i] = static_cast<uint8_t>(200 - i);
  for (size_t i = 0; i < kProofSize; ++i) c.server_proof[i] = static_cast<uint8_t>(i ^ 0x5a);
  Writer wc;
  encode_challenge(c, wc);
  EXPECT_EQ(wc.size(), 5 + kNonceSize + kProofSize);
  Reader rc(wc.data(), wc.size());
  Challenge d = decode_challenge(rc);
  EXPECT_EQ(d.has_token, 1);
  EXPECT_EQ(std::memcmp(d.server_nonce, c.server_nonce, kNonceSize), 0);
  EXPECT_EQ(std::memcmp(d.server_proof, c.server_proof, kProofSize), 0);
  for (size_t n = 0; n < wc.size(); ++n) {
    Reader t(wc.data(), n);
    EXPECT_FAULT(decode_challenge(t), "payload too short") << n;
  }
}

TEST(WireReader, BoundsAndOptionals) {
  Writer w;
  w.put<uint32_t>(5);
  int v = 3;
  w.put_opt(&v);
  w.put_opt<int>(nullptr);
  w.put<uint8_t>(2);  // a bad presence flag
  Reader r(w.data(), w.size());
  EXPECT_EQ(r.get<uint32_t>(), 5u);
  int out = 0;
  EXPECT_TRUE(r.get_opt(&out));
  EXPECT_EQ(out, 3);
  EXPECT_FALSE(r.get_opt(&out));
  EXPECT_FAULT(r.get_opt(&out), "presence flag is neither 0 nor 1");
  EXPECT_FAULT(r.get<uint8_t>(), "payload too short: wanted 1 bytes, 0 left");
  EXPECT_NO_THROW(r.expect_end());

  Writer s;
  s.put<uint32_t>(0xffffffffu);  // a string length far past the payload
  Reader rs(s.data(), s.size());
  EXPECT_FAULT(rs.get_string(1u << 30),
               "string of 4294967295 bytes is over its bound of 1073741824");
  Reader rb(s.data(), s.size());
  EXPECT_FAULT(rb.get_string(16), "over its bound of 16");  // over its bound before any read
  Reader rl(s.data(), s.size());
  EXPECT_FAULT(rl.get_bytes(5), "payload too short: wanted 5 bytes, 4 left");
}

}  // namespace
}  // namespace gvirtus::wire
