// serve_bytes: the fuzzing entry point. The real handshake check and serve loop over a
// MemoryStream, with a handler table of the "core" plugin and the test plugin "fuzz", whose
// handlers use every facility real handlers use (Reader, handles, session state, staging and
// device-to-host buffers, NoReply failures, exceptions) but never CUDA.
#include <cstring>
#include <stdexcept>

#include "backend/control.h"
#include "backend/handshake.h"
#include "backend/worker.h"
#include "common/transport_memory.h"

namespace gvirtus::backend {
namespace {

constexpr size_t kKeepReplies = 1u << 20;
constexpr uint32_t kMaxFuzzBulk = 1u << 20;
constexpr int32_t kInvalidHandle = 400;  // the value of cudaErrorInvalidResourceHandle

HandleKind read_kind(wire::Reader& in) {
  uint8_t k = in.get<uint8_t>();
  if (k < 1 || k > 4) throw SessionFault("no handle kind " + std::to_string(k));
  return static_cast<HandleKind>(k);
}

// 9001: string (<= 4096) -> the same string.
void echo(CallContext& ctx) {
  std::string s = ctx.in.get_string(4096);
  ctx.in.expect_end();
  ctx.out.put_string(s);
}

// 9002: u32 n -> n bytes of device-to-host data from the connection's buffer.
void bulk(CallContext& ctx) {
  uint32_t n = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  if (n > kMaxFuzzBulk) throw SessionFault("bulk of " + std::to_string(n) + " bytes");
  uint8_t* p = ctx.conn.d2h_buffer(n);
  if (!p) throw std::runtime_error("no device-to-host buffer");
  for (uint32_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7);
  ctx.out.put<uint32_t>(n);
  ctx.bulk = p;
  ctx.bulk_len = n;
}

// 9003: u8 kind -> u64 new id.
void handle_new(CallContext& ctx) {
  HandleKind k = read_kind(ctx.in);
  ctx.in.expect_end();
  static const char kObject = 0;
  ctx.out.put<uint64_t>(ctx.session.handles().add(k, const_cast<char*>(&kObject)));
}

// 9004: u8 kind, u64 id -> status 0 if live, 400 if released; forged ends the session.
void handle_use(CallContext& ctx) {
  HandleKind k = read_kind(ctx.in);
  uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  void* obj = nullptr;
  if (!ctx.session.handles().lookup(k, id, &obj)) ctx.status = kInvalidHandle;
}

// 9005: u8 kind, u64 id -> releases it (same rules as 9004).
void handle_drop(CallContext& ctx) {
  HandleKind k = read_kind(ctx.in);
  uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  void* obj = nullptr;
  HandleTable& t = ctx.session.handles();
  if (!t.lookup(k, id, &obj) || !t.remove(k, id, &obj)) ctx.status = kInvalidHandle;
}

// 9006: i32 status -> that status (a NoReply failure becomes the deferred error).
void fail(CallContext& ctx) {
  ctx.status = ctx.in.get<int32_t>();
  ctx.in.expect_end();
}

// 9007: anything -> throws, as a handler with a bug would.
void throw_error(CallContext&) { throw std::runtime_error("fuzz handler throws on purpose"); }

// 9008: u64 n, n bytes, u8 keep -> checksum; keep=1 takes the staging buffer as an
// asynchronous copy would.
void upload(CallContext& ctx) {
  uint64_t n = ctx.in.get<uint64_t>();
  if (n > ctx.in.remaining()) throw wire::DecodeError("upload longer than its payload");
  const uint8_t* p = ctx.in.get_bytes(static_cast<size_t>(n));
  uint8_t keep = ctx.in.get<uint8_t>();
  ctx.in.expect_end();
  uint32_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum = sum * 31 + p[i];
  if (keep) {
    HostBuffer held = ctx.conn.take_staging();
    if (held && (p < held.data() || p + n > held.data() + held.size()))
      throw std::logic_error("payload is not in the staging buffer it was taken with");
  }
  ctx.out.put<uint32_t>(sum);
}

struct Counter {
  std::mutex mu;
  uint64_t n = 0;
};

// 9009: empty -> u64 calls so far in this session (per-session state).
void count(CallContext& ctx) {
  ctx.in.expect_end();
  Counter& c = ctx.session.state<Counter>();
  std::lock_guard<std::mutex> g(c.mu);
  ctx.out.put<uint64_t>(++c.n);
}

const HandlerEntry kFuzzHandlers[] = {
    {9001, "FuzzEcho", &echo},       {9002, "FuzzBulk", &bulk},
    {9003, "FuzzHandleNew", &handle_new}, {9004, "FuzzHandleUse", &handle_use},
    {9005, "FuzzHandleDrop", &handle_drop}, {9006, "FuzzFail", &fail},
    {9007, "FuzzThrow", &throw_error}, {9008, "FuzzUpload", &upload},
    {9009, "FuzzCount", &count},
};

const Registry& fuzz_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    register_core_plugin(*reg);
    reg->add_plugin("fuzz", kFuzzHandlers, sizeof kFuzzHandlers / sizeof kFuzzHandlers[0]);
    return reg;
  }();
  return *r;
}

}  // namespace

Status serve_bytes(const uint8_t* data, size_t size, std::vector<uint8_t>* replies) {
  MemoryStream stream(data, size, replies ? kKeepReplies : 0);
  auto finish = [&](Status s) {
    if (replies) replies->insert(replies->end(), stream.sent().begin(), stream.sent().end());
    return s;
  };
  // The daemon's part: the first frame must be a Hello within its bound.
  wire::FrameHeader h;
  Status s = recv_header(stream, wire::kMaxHelloPayload, &h);
  if (!s) return finish(s);
  if (h.kind != static_cast<uint16_t>(wire::Kind::kHello))
    return finish(protocol_error("the first frame must be a Hello"));
  std::vector<uint8_t> payload(h.length);
  s = stream.recv(payload.data(), payload.size());
  if (!s) return finish(s);
  wire::Hello hello;
  wire::Welcome w;
  if (!check_hello(payload.data(), payload.size(), fuzz_registry(), &hello, &w)) {
    send_welcome(stream, w);
    return finish(Status(w.status == wire::kWelcomeUnknownPlugin ? Code::kUnimplemented
                                                                 : Code::kProtocol,
                         w.message));
  }
  // The worker's part.
  Session session(ClientInfo::from_hello(hello, 1), SessionOptions{false, false});
  w = wire::Welcome{};
  w.worker_pid = 1;
  w.session_id = 1;
  s = send_welcome(stream, w);
  if (!s) return finish(s);
  ConnState conn(session, session.next_connection_id());
  return finish(serve_connection(session, conn, stream, fuzz_registry()));
}

}  // namespace gvirtus::backend
