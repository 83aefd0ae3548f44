// The server loop of one connection, and the session / connection state handlers see.
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "backend/handshake.h"
#include "backend/output.h"
#include "backend/quota_calls.h"
#include "backend/serve_times.h"
#include "backend/stats.h"
#include "backend/upload_quota.h"
#include "backend/worker.h"
#include "common/transport_shm.h"
#include "common/log.h"

namespace gvirtus::backend {
namespace {

// Stands for the handler of a call whose library plugin could not be loaded: the payload is read
// and dropped, the reply carries the plugin's `unavailable` status.
void refuse_call(CallContext&) {}
const HandlerEntry kRefusedEntry = {0, "(library unavailable)", &refuse_call};

constexpr uint32_t kMaxGoodbye = 4096;

// Set once cudaHostAlloc has failed because CUDA cannot work in this process (no GPU, no
// driver). From then on buffers are plain memory without asking again.
std::atomic<bool> g_pinned_unusable{false};

const char* kind_name(uint16_t k) {
  switch (static_cast<wire::Kind>(k)) {
    case wire::Kind::kHello: return "Hello";
    case wire::Kind::kWelcome: return "Welcome";
    case wire::Kind::kRequest: return "Request";
    case wire::Kind::kReply: return "Reply";
    case wire::Kind::kGoodbye: return "Goodbye";
    case wire::Kind::kOutput: return "Output";
    case wire::Kind::kAuthStart: return "AuthStart";
    case wire::Kind::kChallenge: return "Challenge";
  }
  return "unknown";
}

// Errors that mean this process has no usable CUDA at all (no driver, no device), as opposed
// to a failure of one allocation or of the client's context.
bool cuda_unusable(cudaError_t e) {
  switch (e) {
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorInitializationError:
    case cudaErrorDevicesUnavailable:
    case cudaErrorStubLibrary:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorNotSupported:
    case cudaErrorOperatingSystem:
      return true;
    default:
      return false;
  }
}

// When a request is done (replied, or its connection ended: a handler that throws ends this
// connection; the session's other connections go on): gives its place in the session-wide
// order back, and ends its count in Session::gpu_waiters if it waited on the GPU.
struct TurnGuard {
  CallContext& ctx;
  ~TurnGuard() {
    ctx.in_handler = false;
    release_order(ctx);
    if (ctx.gpu_waiting) ctx.session.gpu_wait_ended();
  }
};

std::string call_text(const wire::FrameHeader& h, const HandlerEntry* e) {
  std::string s = "call " + std::to_string(h.call_id);
  if (e && e->name) s += " (" + std::string(e->name) + ")";
  return s;
}

}  // namespace

ClientInfo ClientInfo::from_hello(const wire::Hello& hello, uint64_t session_id) {
  ClientInfo c;
  c.pid = hello.pid;
  c.host = printable(hello.hostname, 255);
  c.program = printable(hello.program, 512);
  c.session_id = session_id;
  return c;
}

std::string ClientInfo::describe() const {
  return "client pid " + std::to_string(pid) + " on host " + host + " (program " + program + ")";
}

namespace {

// A driver function with the ABI of CUDA 12.0 (cuCtxGetDevice has another one in 13.0),
// through the runtime: the backend does not link libcuda.so.1 (cuda/support.h).
template <typename F>
F driver_function(const char* name) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
  if (cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &q) != cudaSuccess ||
      q != cudaDriverEntryPointSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return reinterpret_cast<F>(p);
}

// Whether the calling thread's current context is its device's primary context, or it has
// none yet (the runtime makes the primary one current). Page-locked memory belongs to the
// context current when it is allocated and goes when that context is destroyed: a buffer a
// connection keeps must not come from a context the client may destroy (cuCtxDestroy of one it
// created), or its next copy would write into memory that is gone.
bool primary_context_current() {
  using GetCurrent = CUresult (*)(CUcontext*);
  using GetDevice = CUresult (*)(CUdevice*);
  using Retain = CUresult (*)(CUcontext*, CUdevice);
  using Release = CUresult (*)(CUdevice);
  static const auto get_current = driver_function<GetCurrent>("cuCtxGetCurrent");
  static const auto get_device = driver_function<GetDevice>("cuCtxGetDevice");
  static const auto retain = driver_function<Retain>("cuDevicePrimaryCtxRetain");
  static const auto release = driver_function<Release>("cuDevicePrimaryCtxRelease");
  if (!get_current || !get_device || !retain || !release) return true;  // no driver
  CUcontext current = nullptr;
  if (get_current(&current) != CUDA_SUCCESS || current == nullptr) return true;
  CUdevice device = 0;
  if (get_device(&device) != CUDA_SUCCESS) return false;
  CUcontext primary = nullptr;
  if (retain(&primary, device) != CUDA_SUCCESS) return false;
  release(device);
  return primary == current;
}

}  // namespace

HostBuffer HostBuffer::allocate(size_t size, bool try_pinned) {
  HostBuffer b;
  if (size == 0) size = 1;
  if (try_pinned && !g_pinned_unusable.load() && primary_context_current()) {
    void* p = nullptr;
    cudaError_t e = cudaHostAlloc(&p, size, cudaHostAllocPortable);
    if (e == cudaSuccess) {
      b.data_ = static_cast<uint8_t*>(p);
      b.size_ = size;
      b.pinned_ = true;
      return b;
    }
    // Our failure must not show up in the client's cudaGetLastError on this thread.
    cudaGetLastError();
    if (cuda_unusable(e)) {
      g_pinned_unusable.store(true);
      log::once(log::Level::kInfo, "pinned-staging",
                std::string("page-locked staging buffers unavailable (") + cudaGetErrorName(e) +
                    "): using ordinary memory");
    } else {
      // Out of memory, or the client's context is in an error state: this buffer is plain,
      // the next one tries again (after a cudaDeviceReset, say).
      GV_DEBUG(std::string("cudaHostAlloc of ") + std::to_string(size) + " bytes: " +
               cudaGetErrorName(e) + "; using ordinary memory");
    }
  }
  b.data_ = static_cast<uint8_t*>(std::malloc(size));
  if (b.data_) b.size_ = size;
  return b;
}

void HostBuffer::reset() {
  if (data_) {
    if (pinned_) {
      cudaFreeHost(data_);
      cudaGetLastError();
    } else {
      std::free(data_);
    }
  }
  data_ = nullptr;
  size_ = 0;
  pinned_ = false;
}

HostBuffer::~HostBuffer() { reset(); }

HostBuffer::HostBuffer(HostBuffer&& o) noexcept
    : data_(o.data_), size_(o.size_), pinned_(o.pinned_) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.pinned_ = false;
}

HostBuffer& HostBuffer::operator=(HostBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(pinned_, o.pinned_);
  }
  return *this;
}

uint8_t* ConnState::payload_buffer(size_t n) {
  payload_in_staging_ = false;
  payload_pinned_ = false;
  if (n <= kSmallPayload) {
    if (small_.size() < n) small_.resize(n);
    return small_.data();
  }
  if (n <= kStagingSize) {
    if (!staging_) staging_ = HostBuffer::allocate(kStagingSize, session_.options().pinned_buffers);
    if (!staging_) return nullptr;
    payload_in_staging_ = true;
    payload_pinned_ = staging_.pinned();
    return staging_.data();
  }
  // Rare (a large fatbinary, say): a buffer for this request only.
  large_.reset(new (std::nothrow) uint8_t[n]);
  return large_.get();
}

void ConnState::end_request() {
  payload_in_staging_ = false;
  payload_pinned_ = false;
  large_.reset();
}

HostBuffer ConnState::take_staging() {
  if (!payload_in_staging_) return HostBuffer();
  payload_in_staging_ = false;
  return std::move(staging_);
}

void ConnState::return_staging(HostBuffer b) {
  if (!staging_ && b && b.size() >= kStagingSize) staging_ = std::move(b);
}

uint8_t* ConnState::d2h_buffer(size_t n) {
  if (n > wire::kMaxPayload) return nullptr;
  if (d2h_.size() < n) {
    // Grow in steps so that small copies do not pin a whole chunk, and chunked ones allocate
    // once.
    size_t size = n <= kSmallPayload ? kSmallPayload : std::max(n, kStagingSize);
    d2h_ = HostBuffer();
    d2h_ = HostBuffer::allocate(size, session_.options().pinned_buffers);
    if (!d2h_) return nullptr;
  }
  return d2h_.data();
}

void ConnState::defer(uint32_t library, int32_t status) {
  if (library == 0) {
    if (deferred_ == 0) deferred_ = status;
    return;
  }
  for (auto& d : library_deferred_)
    if (d.first == library) return;  // the first failure is kept
  library_deferred_.emplace_back(library, status);
}

int32_t ConnState::take_deferred(uint32_t library) {
  int32_t e = 0;
  if (library == 0) {
    std::swap(e, deferred_);
    return e;
  }
  for (size_t i = 0; i < library_deferred_.size(); ++i) {
    if (library_deferred_[i].first == library) {
      e = library_deferred_[i].second;
      library_deferred_.erase(library_deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  return e;
}

int ConnState::take_passed_fd(int timeout_ms) {
  return stream_ ? shm_take_fd(*stream_, timeout_ms) : -1;
}

bool ConnState::peer_closed() const {
  if (!stream_ || stream_->fd() < 0) return false;
  struct pollfd p = {stream_->fd(), POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

namespace {
// Gives the connection its reply writer back, emptied, when a request is done. One that grew
// past kSmallPayload (a rare large reply) is let go rather than kept.
class ReplyWriterBack {
 public:
  ReplyWriterBack(wire::Writer& home, wire::Writer& lent) : home_(home), lent_(lent) {}
  ~ReplyWriterBack() {
    if (lent_.buffer().capacity() > kSmallPayload) {
      home_ = wire::Writer();
      return;
    }
    lent_.clear();
    home_ = std::move(lent_);
  }
  ReplyWriterBack(const ReplyWriterBack&) = delete;
  ReplyWriterBack& operator=(const ReplyWriterBack&) = delete;

 private:
  wire::Writer& home_;
  wire::Writer& lent_;
};
}  // namespace

namespace {
std::atomic<int> g_receive_spin_micros{0};
}  // namespace

void set_receive_spin_micros(int micros) {
  g_receive_spin_micros.store(micros > 0 ? micros : 0, std::memory_order_relaxed);
}

Status serve_connection(Session& session, ConnState& conn, Stream& stream, const Registry& reg) {
  conn.stream_ = &stream;
  // A header and a small payload, and frames the client sent back to back, in one receive
  // (this stream is never handed on from here).
  stream.set_read_ahead(kSmallPayload);
  // A client's next request usually follows its reply within microseconds: looking for it
  // without sleeping for a while saves the wake-up of this thread (docs/backend.md, "Waiting
  // for requests"). Socket streams only: shm's rings spin by themselves.
  stream.set_receive_spin(g_receive_spin_micros.load(std::memory_order_relaxed));
  stats::ConnectionScope counted;  // operators' figures (stats.h)
  stats::RequestBatch requests;
  ServeTimes times(conn.id());     // GVIRTUS_SERVE_TIMES=1 (serve_times.h)
  for (;;) {
    wire::FrameHeader h;
    Status s = recv_header(stream, wire::kMaxPayload, &h);
    if (!s) return s;
    if (h.kind == static_cast<uint16_t>(wire::Kind::kGoodbye)) {
      if (h.length > kMaxGoodbye)
        return protocol_error("Goodbye of " + std::to_string(h.length) + " bytes");
      std::string reason(h.length, '\0');
      s = stream.recv(reason.data(), reason.size());
      if (!s) return s;
      GV_DEBUG("connection " + std::to_string(conn.id()) + ": client says goodbye: " +
               printable(reason));
      return Status::ok();
    }
    if (h.kind != static_cast<uint16_t>(wire::Kind::kRequest))
      return protocol_error(std::string("unexpected ") + kind_name(h.kind) +
                            " frame after the handshake");

    const HandlerEntry* entry = reg.find(h.call_id);
    int32_t refused = 0;
    if (!entry) {
      // A library plugin that could not be loaded: every call answers the library's own
      // status, and the client's stderr hears why once (the worker's stderr goes there).
      std::string why;
      bool first = false;
      if (!reg.unavailable(h.call_id, &refused, &why, &first))
        return protocol_error("unknown call id " + std::to_string(h.call_id));
      if (first) {
        std::fprintf(stderr, "gvirtus: the backend cannot serve this library: %s\n", why.c_str());
        std::fflush(stderr);
      }
      entry = &kRefusedEntry;
    }
    // Large payloads count against the session's pending upload bytes until the reply is sent
    // (upload_quota.h): over its limit, this connection stops reading until others are done.
    UploadHold upload;
    if (const uint64_t t = session.options().ordered ? wire::ticket(h) : 0;
        t != 0 && h.length > kSmallPayload &&
        !upload.take(h.length, [&] { return session.turn_reached(t); },
                     [&] { return conn.peer_closed(); }))
      return disconnected("the client closed the connection while " + call_text(h, entry) +
                          " waited for room under the session's upload limit");
    uint8_t* buf = conn.payload_buffer(h.length);
    if (!buf && h.length > 0)
      return failed("no memory for a payload of " + std::to_string(h.length) + " bytes");
    s = stream.recv(buf, h.length);
    if (!s)
      return disconnected("connection closed in the middle of " + call_text(h, entry) + ": " +
                          s.message());
    requests.count(h.length);
    times.mark(ServeTimes::kReading);

    // A laned launch or stream synchronisation (docs/protocol.md, "Lanes"): its dependencies
    // lead the payload.
    wire::LaneDeps deps;
    const bool laned = (h.flags & wire::kFlagLaned) != 0;
    if (laned) {
      if (!(entry->flags & kEntryLane))
        return protocol_error(call_text(h, entry) + ": the laned flag on a call that is not a "
                              "launch or a stream synchronisation");
      if (h.length < wire::kLaneDepsSize)
        return protocol_error(call_text(h, entry) + ": laned request of " +
                              std::to_string(h.length) + " bytes, shorter than its dependencies");
      deps = wire::decode_lane_deps(buf);
    }
    const size_t skip = laned ? wire::kLaneDepsSize : 0;
    CallContext ctx{session, conn, h, wire::Reader(buf + skip, h.length - skip),
                    std::move(conn.reply_)};
    ReplyWriterBack writer_back{conn.reply_, ctx.out};
    if (laned && session.options().ordered && wire::ticket(h) == 0)
      return protocol_error(call_text(h, entry) + ": laned request without a ticket");
    if (const uint64_t ticket = session.options().ordered ? wire::ticket(h) : 0) {
      // A dependency names an earlier ticket (a distance back, 0 for none); one reaching to
      // ticket 0 or before is a lie that would let the request run out of order.
      if (laned && (deps.lane_back >= ticket || deps.global_back >= ticket))
        return protocol_error(call_text(h, entry) + ": ticket " + std::to_string(ticket) +
                              " depends on a ticket before the first (" +
                              std::to_string(deps.lane_back) + ", " +
                              std::to_string(deps.global_back) + " back)");
      const Session::Turn turn =
          laned ? session.wait_lane(ticket, deps.lane_back ? ticket - deps.lane_back : 0,
                                    deps.global_back ? ticket - deps.global_back : 0, conn)
                : session.wait_turn(ticket, conn);
      switch (turn) {
        case Session::Turn::kReady:
          break;
        case Session::Turn::kPassed:
          return protocol_error(call_text(h, entry) + ": ticket " + std::to_string(ticket) +
                                " was already used");
        case Session::Turn::kClosed:
          return disconnected("the client closed the connection while " + call_text(h, entry) +
                              " waited for its turn");
      }
      ctx.ticket = ticket;
    }
    times.mark(ServeTimes::kTurn);
    TurnGuard turn{ctx};
    ctx.in_handler = true;
    if (entry->flags & kEntryWaits) release_order(ctx);
    try {
      quota::run(reg, *entry, ctx);  // entry->fn, with the GPU memory quota's accounting
    } catch (const wire::DecodeError& e) {
      return protocol_error(call_text(h, entry) + ": malformed request: " + e.what());
    } catch (const SessionFault& e) {
      return protocol_error(call_text(h, entry) + ": " + e.what());
    } catch (const std::exception& e) {
      return failed(call_text(h, entry) + ": handler failed: " + e.what());
    } catch (...) {
      return failed(call_text(h, entry) + ": handler threw an unknown exception");
    }
    times.mark(ServeTimes::kHandler);
    ctx.in_handler = false;
    if (refused) ctx.status = refused;
    GV_TRACE(call_text(h, entry) + " request " + std::to_string(h.request_id) + " -> " +
             std::to_string(ctx.status));

    release_order(ctx);
    const uint32_t library = reg.library_of(h.call_id);
    if (h.flags & wire::kFlagNoReply) {
      if (ctx.status != 0) conn.defer(library, ctx.status);
      conn.end_request();
      times.mark(ServeTimes::kReplying);
      continue;
    }
    // What the call printed (device printf or a device assert's message at a synchronisation)
    // goes out before its reply; call_id says which stream (wire::kOutputStdout / Stderr).
    // While another request waits on the GPU, that one's reply takes it (Session::gpu_waiters).
    const bool printed = (ctx.gpu_waiting || session.gpu_waiters() == 0) &&
                         output_pending(session.output(), session.error_output());
    for (auto [capture, which] : {std::make_pair(session.output(), wire::kOutputStdout),
                                  std::make_pair(session.error_output(), wire::kOutputStderr)}) {
      if (!capture || !printed) continue;
      std::string text;
      capture->take(&text);
      for (size_t off = 0; off < text.size(); off += wire::kCopyChunk) {
        wire::FrameHeader o;
        o.kind = static_cast<uint16_t>(wire::Kind::kOutput);
        o.call_id = which;
        struct iovec piece = {&text[off], std::min<size_t>(wire::kCopyChunk, text.size() - off)};
        s = send_frame(stream, o, &piece, 1);
        if (!s) return s;
      }
    }
    wire::FrameHeader r;
    r.kind = static_cast<uint16_t>(wire::Kind::kReply);
    r.call_id = h.call_id;
    r.request_id = h.request_id;
    r.status = ctx.status;
    r.aux = conn.take_deferred(library);
    if (library != 0 && r.aux != 0) r.flags = wire::kFlagLibraryDeferred;
    requests.flush();  // before the reply: a client that asks for the figures next sees them
    struct iovec body[2] = {{ctx.out.buffer().data(), ctx.out.size()},
                            {const_cast<void*>(ctx.bulk), ctx.bulk ? ctx.bulk_len : 0}};
    s = send_frame(stream, r, body, 2);
    stats::count_reply(ctx.out.size() + body[1].iov_len);
    conn.end_request();
    times.mark(ServeTimes::kReplying);
    if (!s) {
      if (s.code() == Code::kInvalid)
        return failed("reply to " + call_text(h, entry) + ": " + s.message());
      return s;
    }
  }
}

void Session::conn_closed(ConnState& c) {
  std::vector<std::function<void(uint64_t)>> hooks;
  {
    std::lock_guard<std::mutex> g(hooks_mu_);
    hooks = close_hooks_;
  }
  for (auto& h : hooks) h(c.id());
}

void Session::on_conn_closed(std::function<void(uint64_t conn)> hook) {
  std::lock_guard<std::mutex> g(hooks_mu_);
  close_hooks_.push_back(std::move(hook));
}

Session::Turn Session::wait_turn(uint64_t ticket, const ConnState& conn) {
  return turns_.wait(ticket, [&conn] { return conn.peer_closed(); });
}

Session::Turn Session::wait_lane(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep,
                                 const ConnState& conn) {
  return turns_.wait_lane(ticket, lane_dep, global_dep, [&conn] { return conn.peer_closed(); });
}

void release_order(CallContext& ctx) {
  if (ctx.ticket == 0) return;
  ctx.session.release_turn(ctx.ticket);
  ctx.ticket = 0;
  if (ctx.in_handler && !ctx.gpu_waiting) {  // it is about to wait on the GPU
    ctx.gpu_waiting = true;
    ctx.session.gpu_wait_began();
  }
}

}  // namespace gvirtus::backend
