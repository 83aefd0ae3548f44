#include "common/wire.h"

namespace gvirtus::wire {

void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  static_assert(sizeof(FrameHeader) == kHeaderSize, "FrameHeader must pack to 32 bytes");
  std::memcpy(out, &h, kHeaderSize);
}

Status decode_header(const uint8_t in[kHeaderSize], uint32_t max_payload, FrameHeader* h) {
  std::memcpy(h, in, kHeaderSize);
  if (h->magic != kFrameMagic) return protocol_error("bad frame magic");
  if (h->kind < static_cast<uint16_t>(Kind::kHello) ||
      h->kind > static_cast<uint16_t>(Kind::kOutput))
    return protocol_error("unknown frame kind " + std::to_string(h->kind));
  if (h->length > max_payload)
    return protocol_error("frame payload of " + std::to_string(h->length) +
                          " bytes is over the limit of " + std::to_string(max_payload));
  if (h->flags & ~static_cast<uint16_t>(kFlagNoReply))
    return protocol_error("unknown frame flags");
  return Status::ok();
}

const uint8_t* Reader::take(size_t n) {
  if (n > n_ - off_)
    throw DecodeError("payload too short: wanted " + std::to_string(n) + " bytes, " +
                      std::to_string(n_ - off_) + " left");
  const uint8_t* p = p_ + off_;
  off_ += n;
  return p;
}

std::string Reader::get_string(size_t max_len) {
  uint32_t len = get<uint32_t>();
  if (len > max_len)
    throw DecodeError("string of " + std::to_string(len) + " bytes is over its bound of " +
                      std::to_string(max_len));
  const uint8_t* p = take(len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

void Reader::expect_end() const {
  if (off_ != n_)
    throw DecodeError(std::to_string(n_ - off_) + " unexpected bytes at the end of the payload");
}

void encode_hello(const Hello& h, Writer& w) {
  w.put(h.major);
  w.put(h.minor);
  w.put_bytes(h.token, sizeof h.token);
  w.put(h.primary);
  w.put(h.pid);
  w.put(h.thread);
  w.put_string(h.hostname);
  w.put_string(h.program);
  w.put<uint32_t>(static_cast<uint32_t>(h.plugins.size()));
  for (const auto& p : h.plugins) w.put_string(p);
}

Hello decode_hello(Reader& r) {
  Hello h;
  h.major = r.get<uint16_t>();
  h.minor = r.get<uint16_t>();
  // A peer of another major version may lay out the rest differently: stop here and let the
  // caller refuse it by version, with a clear message, instead of a decode error.
  if (h.major != kProtocolMajor) return h;
  std::memcpy(h.token, r.get_bytes(sizeof h.token), sizeof h.token);
  h.primary = r.get<uint8_t>();
  if (h.primary > 1) throw DecodeError("primary flag is neither 0 nor 1");
  h.pid = r.get<uint32_t>();
  h.thread = r.get<uint64_t>();
  h.hostname = r.get_string(255);
  h.program = r.get_string(4096);
  uint32_t n = r.get<uint32_t>();
  if (n > 64) throw DecodeError("too many plugins in Hello");
  for (uint32_t i = 0; i < n; ++i) h.plugins.push_back(r.get_string(64));
  r.expect_end();
  return h;
}

void encode_welcome(const Welcome& m, Writer& w) {
  w.put(m.major);
  w.put(m.minor);
  w.put(m.status);
  w.put_string(m.message);
  w.put(m.worker_pid);
  w.put(m.session_id);
  w.put(m.connection_id);
}

Welcome decode_welcome(Reader& r) {
  Welcome m;
  m.major = r.get<uint16_t>();
  m.minor = r.get<uint16_t>();
  m.status = r.get<int32_t>();
  m.message = r.get_string(4096);
  m.worker_pid = r.get<uint32_t>();
  m.session_id = r.get<uint64_t>();
  m.connection_id = r.get<uint64_t>();
  return m;
}

}  // namespace gvirtus::wire
