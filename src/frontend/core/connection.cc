// StreamConnection: framing, request ids, reply checks and the handshake on one Stream.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/auth.h"
#include "common/log.h"
#include "frontend/core/call_stats.h"
#include "frontend/core/deadline_watch.h"
#include "frontend/core/session.h"

namespace gvirtus::client {

namespace {

size_t iov_total(const struct iovec* iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; ++i) n += iov[i].iov_len;
  return n;
}

}  // namespace

StreamConnection::StreamConnection(Session* session, std::unique_ptr<Stream> stream, bool primary)
    : session_(session), stream_(std::move(stream)), primary_(primary) {}

StreamConnection::~StreamConnection() = default;

void StreamConnection::gather_sends() {
  if (!SendQueue::wanted(*stream_)) return;
  Session* session = session_;
  queue_ = std::make_unique<SendQueue>(stream_.get(),
                                       [session](const std::string& why) { session->mark_lost(why); });
}

void StreamConnection::abandon_after_fork() { (void)queue_.release(); }

Status StreamConnection::send_through_queue(wire::FrameHeader h, const struct iovec* body,
                                            int cnt, bool lend_last) {
  h.length = static_cast<uint32_t>(iov_total(body, cnt));
  uint8_t hdr[wire::kHeaderSize];
  wire::encode_header(h, hdr);
  if ((h.flags & wire::kFlagNoReply) &&
      (lend_last && cnt > 0 ? queue_->lend(hdr, sizeof hdr, body, cnt - 1, body[cnt - 1].iov_base,
                                           body[cnt - 1].iov_len)
                            : queue_->post(hdr, sizeof hdr, body, cnt)))
    return Status::ok();
  return with_leading_iovec({hdr, sizeof hdr}, body, cnt, [&](const struct iovec* v, int n) {
    return queue_->send_now(v, n);
  });
}

bool StreamConnection::fail(const std::string& reason) {
  session_->mark_lost(reason);
  return false;
}

uint32_t StreamConnection::unanswered() const {
  uint64_t n = noreply_sent_ - noreply_answered_;
  return n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
}

template <class TakeTicket>
bool StreamConnection::send_with(uint32_t call_id, uint16_t flags, const struct iovec* body,
                                 int cnt, uint64_t* request_id, TakeTicket take_ticket,
                                 bool lend_last) {
  if (session_->lost()) return false;
  size_t len = iov_total(body, cnt);
  if (len > wire::kMaxPayload) {
    // A caller bug, not a transport failure: the server would refuse the frame. This call fails;
    // the session goes on.
    GV_ERROR("request for call " + std::to_string(call_id) + " has " + std::to_string(len) +
             " bytes, over the frame limit of " + std::to_string(wire::kMaxPayload) +
             "; the call fails");
    return false;
  }
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  h.flags = flags;
  h.call_id = call_id;
  h.request_id = next_request_id_++;
  // Taken last, once nothing can stop the frame from being sent: the worker waits for every
  // ticket, so one handed out and never sent would stall the session.
  take_ticket(&h);
  Status st = queue_ ? send_through_queue(h, body, cnt, lend_last)
                     : send_frame(*stream_, h, body, cnt);
  if (!st.is_ok()) return fail("send: " + st.message());
  count_call(call_id, !(flags & wire::kFlagNoReply));
  if (flags & wire::kFlagNoReply) {
    ++noreply_sent_;
  } else {
    awaiting_.push_back({h.request_id, call_id, noreply_sent_});
  }
  if (request_id) *request_id = h.request_id;
  return true;
}

bool StreamConnection::send_request(uint32_t call_id, uint16_t flags, const struct iovec* body,
                                    int cnt, uint64_t* request_id) {
  return send_with(call_id, flags, body, cnt, request_id, [this](wire::FrameHeader* h) {
    last_ticket_ = auxiliary_ ? 0 : session_->next_global_ticket();
    wire::set_ticket(h, last_ticket_);
  });
}

bool StreamConnection::send_lent(uint32_t call_id, const struct iovec* fields, int cnt,
                                 const void* data, size_t n, uint64_t* request_id) {
  constexpr int kMaxFields = 7;
  if (cnt < 0 || cnt > kMaxFields) return false;
  struct iovec v[kMaxFields + 1];
  for (int i = 0; i < cnt; ++i) v[i] = fields[i];
  v[cnt] = {const_cast<void*>(data), n};
  return send_with(
      call_id, wire::kFlagNoReply, v, cnt + 1, request_id,
      [this](wire::FrameHeader* h) {
        last_ticket_ = auxiliary_ ? 0 : session_->next_global_ticket();
        wire::set_ticket(h, last_ticket_);
      },
      /*lend_last=*/true);
}

bool StreamConnection::send_laned(uint32_t call_id, uint16_t flags, uint64_t lane,
                                  const struct iovec* body, int cnt, uint64_t* request_id) {
  constexpr int kMaxBody = 7;
  if (lane == 0 || auxiliary_ || server_minor_ < wire::kLanedMinor || cnt < 0 || cnt > kMaxBody)
    return send_request(call_id, flags, body, cnt, request_id);
  // The lane's dependencies go first in the payload (docs/protocol.md, "Lanes"); they are
  // known only with the ticket, so the header's slot is filled then.
  uint8_t deps[wire::kLaneDepsSize];
  struct iovec v[kMaxBody + 1];
  v[0] = {deps, sizeof deps};
  for (int i = 0; i < cnt; ++i) v[i + 1] = body[i];
  return send_with(call_id, flags, v, cnt + 1, request_id, [&](wire::FrameHeader* h) {
    wire::LaneDeps d;
    if (session_->next_laned_ticket(lane, &last_ticket_, &d)) {
      h->flags |= wire::kFlagLaned;
      wire::encode_lane_deps(d, deps);
    } else {
      v[0].iov_len = 0;  // goes as a global request after all
    }
    wire::set_ticket(h, last_ticket_);
  });
}

bool StreamConnection::drain_payload() {
  char scratch[4096];
  while (payload_left_ > 0) {
    size_t n = payload_left_ < sizeof scratch ? payload_left_ : sizeof scratch;
    Status st = stream_->recv(scratch, n);
    if (!st.is_ok()) return fail("receive: " + st.message());
    payload_left_ -= static_cast<uint32_t>(n);
  }
  return true;
}

bool StreamConnection::recv_reply_header(uint64_t request_id, wire::FrameHeader* h) {
  if (session_->lost()) return false;
  if (queue_) {
    // Frames queued after the request whose reply comes now: sent before this thread blocks
    // in a read (send_queue.h, flush).
    Status st = queue_->flush();
    if (!st.is_ok()) return fail("send: " + st.message());
  }
  if (!drain_payload()) return false;
  if (awaiting_head_ >= awaiting_.size() || awaiting_[awaiting_head_].request_id != request_id)
    return fail("internal error: waiting for a reply to request " + std::to_string(request_id) +
                " that is not the oldest outstanding one");
  Awaiting want = awaiting_[awaiting_head_];
  Status st = recv_header(*stream_, wire::kMaxPayload, h);
  if (!st.is_ok()) return fail("receive: " + st.message());
  // Output frames (device printf from a synchronisation) come before the reply: onto the
  // application's stdout, through its stdio buffer as natively.
  while (h->kind == static_cast<uint16_t>(wire::Kind::kOutput)) {
    std::vector<char> text(h->length);
    if (h->length && !stream_->recv(text.data(), text.size()).is_ok())
      return fail("receive: output from the backend cut short");
    if (!text.empty()) {
      if (h->call_id == wire::kOutputStderr) {
        std::fflush(stdout);  // what the program printed before comes first
        std::fwrite(text.data(), 1, text.size(), stderr);
      } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
    }
    st = recv_header(*stream_, wire::kMaxPayload, h);
    if (!st.is_ok()) return fail("receive: " + st.message());
  }
  if (h->kind == static_cast<uint16_t>(wire::Kind::kGoodbye)) {
    std::string reason(h->length < 4096 ? h->length : 4096, '\0');
    if (!reason.empty() && stream_->recv(&reason[0], reason.size()).is_ok())
      return fail("the backend closed the connection: " + reason);
    return fail("the backend closed the connection");
  }
  if (h->kind != static_cast<uint16_t>(wire::Kind::kReply))
    return fail("protocol error: expected a Reply, got frame kind " + std::to_string(h->kind));
  if (h->request_id != want.request_id || h->call_id != want.call_id)
    return fail("protocol error: reply for request " + std::to_string(h->request_id) + " (call " +
                std::to_string(h->call_id) + "), expected request " +
                std::to_string(want.request_id) + " (call " + std::to_string(want.call_id) + ")");
  if ((h->flags & ~wire::kFlagLibraryDeferred) != 0)
    return fail("protocol error: reply with unknown flags " + std::to_string(h->flags));
  payload_left_ = h->length;
  noreply_answered_ = want.noreply_before;
  if (++awaiting_head_ == awaiting_.size()) {
    awaiting_.clear();
    awaiting_head_ = 0;
  }
  return true;
}

bool StreamConnection::recv_payload(void* dst, size_t n) {
  if (session_->lost()) return false;
  if (n > payload_left_)
    return fail("protocol error: reply payload shorter than expected (" +
                std::to_string(payload_left_) + " bytes left, " + std::to_string(n) + " wanted)");
  if (n == 0) return true;
  Status st = stream_->recv(dst, n);
  if (!st.is_ok()) return fail("receive: " + st.message());
  payload_left_ -= static_cast<uint32_t>(n);
  return true;
}

namespace {

constexpr char kLate[] = "no Welcome from the backend in time";

// Reads one handshake frame (header and payload, at most kMaxHelloPayload). The handshake's
// DeadlineWatch ends it at the timeout.
Status read_handshake_frame(Stream& s, wire::FrameHeader* h, std::vector<uint8_t>* payload) {
  Status st = recv_header(s, wire::kMaxHelloPayload, h);
  if (!st.is_ok()) return st;
  payload->assign(h->length, 0);
  if (!payload->empty()) return s.recv(payload->data(), payload->size());
  return Status::ok();
}

Status send_handshake_frame(Stream& s, wire::Kind kind, const wire::Writer& body) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(kind);
  struct iovec iov = {const_cast<uint8_t*>(body.data()), body.size()};
  return send_frame(s, h, &iov, 1);
}

Status decode_welcome_frame(const std::vector<uint8_t>& payload, wire::Welcome* out) {
  try {
    wire::Reader r(payload.data(), payload.size());
    *out = wire::decode_welcome(r);
  } catch (const wire::DecodeError& e) {
    return protocol_error(std::string("malformed Welcome: ") + e.what());
  }
  return Status::ok();
}

std::string version_text(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

std::string cuda_text(uint32_t v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// The handshake's frames, in order (StreamConnection::handshake bounds them in time).
Status exchange_hello(Stream& stream, wire::Hello hello, wire::Welcome* out,
                      const std::string& auth_key, const std::string& auth_source) {
  wire::FrameHeader rh;
  std::vector<uint8_t> payload;
  Status st;
  if (!auth_key.empty()) {
    // Token authentication: the backend proves itself first, then the Hello carries ours.
    wire::AuthStart a;
    if (!auth::random_bytes(a.client_nonce, sizeof a.client_nonce))
      return failed("cannot draw a random nonce");
    wire::Writer w;
    wire::encode_auth_start(a, w);
    st = send_handshake_frame(stream, wire::Kind::kAuthStart, w);
    if (!st.is_ok()) return st;
    st = read_handshake_frame(stream, &rh, &payload);
    if (!st.is_ok()) return st;
    if (rh.kind == static_cast<uint16_t>(wire::Kind::kWelcome))
      return decode_welcome_frame(payload, out);  // refused before any challenge (its message)
    if (rh.kind != static_cast<uint16_t>(wire::Kind::kChallenge))
      return protocol_error("expected a Challenge, got frame kind " + std::to_string(rh.kind));
    wire::Challenge c;
    try {
      wire::Reader r(payload.data(), payload.size());
      c = wire::decode_challenge(r);
    } catch (const wire::DecodeError& e) {
      return protocol_error(std::string("malformed Challenge: ") + e.what());
    }
    if (c.major != wire::kProtocolMajor)
      return protocol_error("the backend speaks protocol " + version_text(c.major, c.minor) +
                            ", this client " +
                            version_text(wire::kProtocolMajor, wire::kProtocolMinor));
    auto goodbye = [&](const std::string& why) {
      wire::Writer g;
      g.put_bytes(why.data(), why.size());
      (void)send_handshake_frame(stream, wire::Kind::kGoodbye, g);
    };
    if (!c.has_token) {
      const std::string why =
          "the backend has no token configured, so it cannot prove it is the backend meant; "
          "this client has one (" + auth_source + "): configure the same token on the backend, "
          "or remove it here";
      goodbye("client refused: the backend has no token");
      return Status(Code::kProtocol, why);
    }
    uint8_t want[wire::kProofSize];
    auth::server_proof(auth_key, a.client_nonce, c.server_nonce, want);
    if (!auth::proof_equal(want, c.server_proof)) {
      goodbye("client refused: the backend's token proof does not match the client's token");
      return Status(Code::kProtocol,
                    "authentication failed: the backend does not know this client's token (" +
                        auth_source + "): a different token on each side, or not the backend "
                        "meant");
    }
    auth::client_proof(auth_key, c.server_nonce, a.client_nonce, hello.proof);
    hello.has_proof = true;
  }

  wire::Writer w;
  wire::encode_hello(hello, w);
  st = send_handshake_frame(stream, wire::Kind::kHello, w);
  if (!st.is_ok()) return st;
  st = read_handshake_frame(stream, &rh, &payload);
  if (!st.is_ok()) return st;
  if (rh.kind != static_cast<uint16_t>(wire::Kind::kWelcome))
    return protocol_error("expected a Welcome, got frame kind " + std::to_string(rh.kind));
  st = decode_welcome_frame(payload, out);
  if (!st.is_ok()) return st;
  if (out->major != wire::kProtocolMajor && out->status == wire::kWelcomeOk)
    return protocol_error("the backend speaks protocol " + version_text(out->major, out->minor) +
                          ", this client " +
                          version_text(wire::kProtocolMajor, wire::kProtocolMinor));
  if (out->status == wire::kWelcomeOk && out->cuda_version / 1000 != wire::kCudaVersion / 1000)
    return protocol_error("CUDA version mismatch: the backend was built for CUDA " +
                          cuda_text(out->cuda_version) + ", this client for CUDA " +
                          cuda_text(wire::kCudaVersion));
  return Status::ok();
}

}  // namespace

Status StreamConnection::handshake(wire::Hello hello, int timeout_ms, wire::Welcome* out,
                                   const std::string& auth_key, const std::string& auth_source) {
  // The whole exchange ends at the timeout, however the backend sends (or trickles) its frames;
  // at the deadline the stream is shut down, and the connection is lost with it.
  DeadlineWatch watch(*stream_,
                      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
  Status st = exchange_hello(*stream_, std::move(hello), out, auth_key, auth_source);
  if (watch.end()) return Status(Code::kTimeout, kLate);
  return st;
}

}  // namespace gvirtus::client
