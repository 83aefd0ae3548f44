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
      h->kind > static_cast<uint16_t>(Kind::kChallenge))
    return protocol_error("unknown frame kind " + std::to_string(h->kind));
  if (h->length > max_payload)
    return protocol_error("frame payload of " + std::to_string(h->length) +
                          " bytes is over the limit of " + std::to_string(max_payload));
  if (h->flags & ~static_cast<uint16_t>(kFlagNoReply | kFlagLibraryDeferred | kFlagLaned |
                                        kFlagPageableSource))
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
  w.put(h.cuda_version);
  w.put<uint8_t>(h.has_proof ? 1 : 0);
  if (h.has_proof) w.put_bytes(h.proof, sizeof h.proof);
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
  if (h.primary > kHelloStatus) throw DecodeError("primary flag is not 0, 1 or 2");
  h.pid = r.get<uint32_t>();
  h.thread = r.get<uint64_t>();
  h.hostname = r.get_string(255);
  h.program = r.get_string(4096);
  uint32_t n = r.get<uint32_t>();
  if (n > 64) throw DecodeError("too many plugins in Hello");
  for (uint32_t i = 0; i < n; ++i) h.plugins.push_back(r.get_string(64));
  h.cuda_version = r.get<uint32_t>();
  uint8_t has_proof = r.get<uint8_t>();
  if (has_proof > 1) throw DecodeError("proof flag is neither 0 nor 1");
  h.has_proof = has_proof != 0;
  if (h.has_proof) std::memcpy(h.proof, r.get_bytes(sizeof h.proof), sizeof h.proof);
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
  w.put(m.cuda_version);
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
  // A refusal for a version mismatch may come from a backend of another major: the fields
  // above are common to 1.x and 2.x; this one is new in 2.0.
  if (m.major == kProtocolMajor)
    m.cuda_version = r.get<uint32_t>();
  else
    m.cuda_version = r.remaining() >= 4 ? r.get<uint32_t>() : 0;
  return m;
}

void encode_auth_start(const AuthStart& a, Writer& w) {
  w.put(a.major);
  w.put(a.minor);
  w.put_bytes(a.client_nonce, sizeof a.client_nonce);
}

AuthStart decode_auth_start(Reader& r) {
  AuthStart a;
  a.major = r.get<uint16_t>();
  a.minor = r.get<uint16_t>();
  if (a.major != kProtocolMajor) return a;
  std::memcpy(a.client_nonce, r.get_bytes(sizeof a.client_nonce), sizeof a.client_nonce);
  r.expect_end();
  return a;
}

void encode_challenge(const Challenge& c, Writer& w) {
  w.put(c.major);
  w.put(c.minor);
  w.put(c.has_token);
  w.put_bytes(c.server_nonce, sizeof c.server_nonce);
  w.put_bytes(c.server_proof, sizeof c.server_proof);
}

Challenge decode_challenge(Reader& r) {
  Challenge c;
  c.major = r.get<uint16_t>();
  c.minor = r.get<uint16_t>();
  if (c.major != kProtocolMajor) return c;
  c.has_token = r.get<uint8_t>();
  if (c.has_token > 1) throw DecodeError("token flag is neither 0 nor 1");
  std::memcpy(c.server_nonce, r.get_bytes(sizeof c.server_nonce), sizeof c.server_nonce);
  std::memcpy(c.server_proof, r.get_bytes(sizeof c.server_proof), sizeof c.server_proof);
  r.expect_end();
  return c;
}

}  // namespace gvirtus::wire
