// Stream::set_read_ahead on a socket stream (the worker's serve loop): frames sent back to back
// are read in one receive and handed out piece by piece, in order; large reads go straight into
// the caller's buffer; a poller is told that bytes wait (buffered), and the non-blocking read
// takes them first.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "common/transport.h"

namespace gvirtus {
namespace {

void send_all(Stream& s, const std::vector<uint8_t>& bytes) {
  struct iovec iov = {const_cast<uint8_t*>(bytes.data()), bytes.size()};
  ASSERT_TRUE(s.send(&iov, 1));
}

std::vector<uint8_t> counting(size_t n, uint8_t from) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(ReadAhead, SmallReadsComeInOrderFromOneReceive) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  b->set_read_ahead(64);
  const std::vector<uint8_t> sent = counting(40, 1);
  send_all(*a, sent);
  uint8_t got[40] = {};
  ASSERT_TRUE(b->recv(got, 8));
  // The rest arrived with the first receive: waiting bytes, though the socket is empty now.
  EXPECT_TRUE(b->buffered());
  ASSERT_TRUE(b->recv(got + 8, 32));
  EXPECT_FALSE(b->buffered());
  EXPECT_EQ(std::memcmp(got, sent.data(), sizeof got), 0);
}

TEST(ReadAhead, LargeReadTakesTheBufferedBytesThenTheSocket) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  b->set_read_ahead(64);
  const std::vector<uint8_t> sent = counting(4000, 7);
  send_all(*a, sent);
  std::vector<uint8_t> got(sent.size());
  ASSERT_TRUE(b->recv(got.data(), 10));    // fills the 64-byte buffer
  ASSERT_TRUE(b->recv(got.data() + 10, 3000));  // 54 buffered, the rest straight from the socket
  ASSERT_TRUE(b->recv(got.data() + 3010, 990));
  EXPECT_EQ(got, sent);
}

TEST(ReadAhead, NonBlockingReadTakesBufferedBytesFirst) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  b->set_read_ahead(64);
  send_all(*a, {1, 2, 3, 4});
  uint8_t first = 0;
  ASSERT_TRUE(b->recv(&first, 1));
  EXPECT_EQ(first, 1);
  uint8_t rest[8] = {};
  EXPECT_EQ(b->recv_nowait(rest, sizeof rest), 3);
  EXPECT_EQ(rest[0], 2);
  EXPECT_EQ(rest[2], 4);
  EXPECT_EQ(b->recv_nowait(rest, sizeof rest), -1);  // nothing more: EAGAIN
}

TEST(ReadAhead, PeerClosingMidMessageIsReported) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  b->set_read_ahead(64);
  send_all(*a, {1, 2, 3});
  a.reset();
  uint8_t got[8];
  Status s = b->recv(got, sizeof got);
  EXPECT_EQ(s.code(), Code::kDisconnected);
  EXPECT_NE(s.message().find("in the middle of a message"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gvirtus
