// Host callbacks: the worker's half (see cudart/callbacks.h and docs/callbacks.md). The client
// side is src/frontend/cudart/callbacks.cc.
//
// Wire (hand-written and internal calls, docs/protocol.md "Host callbacks"):
//   1750 cudaLaunchHostFunc     u64 stream, u64 fn, u64 userData                 -> -
//   1751 cudaStreamAddCallback  u64 stream, u64 fn, u64 userData, u32 flags      -> -
//   2910 gvCallbackAttach       -                                                -> -
//   2911 gvCallbackWait         u64 done id (0: none)  -> u64 id, u8 kind, u64 fn, u64 userData,
//                                                         u64 stream, i32 status
#include "backend/cudart/callbacks.h"

#include <chrono>
#include <string>

#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

// How often a waiting gvCallbackWait looks whether its client hung up (the server thread is
// not reading its socket meanwhile).
constexpr auto kPeerPoll = std::chrono::milliseconds(100);

void CUDART_CB stream_trampoline(cudaStream_t, cudaError_t status, void* user) {
  auto* f = static_cast<HostFn*>(user);
  f->hub->run(*f, static_cast<int32_t>(status));
  if (f->once) delete f;
}

}  // namespace

bool host_node_params(CallContext& ctx, uint64_t fn, uint64_t user, cudaHostNodeParams* out) {
  if (fn == 0) {
    ctx.status = cudaErrorInvalidValue;
    return false;
  }
  CallbackHub& hub = callback_hub(ctx);
  auto f = std::make_unique<HostFn>();
  f->hub = &hub;
  f->fn = fn;
  f->user = user;
  f->kind = kHostFunc;
  HostFn* kept = hub.keep(std::move(f));
  if (!kept) {
    ctx.status = cudaErrorMemoryAllocation;
    return false;
  }
  *out = cudaHostNodeParams{host_fn_trampoline, kept};
  return true;
}

void CUDART_CB host_fn_trampoline(void* user) {
  auto* f = static_cast<HostFn*>(user);
  f->hub->run(*f, 0);
  if (f->once) delete f;
}

void CallbackHub::run(const HostFn& f, int32_t status) {
  std::unique_lock<std::mutex> g(mu_);
  if (closed_) return;
  ReadyCallback r;
  r.id = next_id_++;
  r.fn = f.fn;
  r.user = f.user;
  r.stream = f.stream;
  r.status = status;
  r.kind = f.kind;
  ready_.push_back(r);
  waiting_.insert(r.id);
  cv_.notify_all();
  cv_.wait(g, [&] { return closed_ || waiting_.count(r.id) == 0; });
}

void CallbackHub::attach(Session& session, uint64_t conn) {
  bool hook;
  {
    std::lock_guard<std::mutex> g(mu_);
    conn_ = conn;
    hook = !hooked_;
    hooked_ = true;
  }
  if (!hook) return;
  // The client is gone when its callback connection or its primary one closes: nobody will run
  // the callbacks, and trampolines must not hold the GPU streams (or the worker's exit).
  session.on_conn_closed([this](uint64_t c) {
    bool mine;
    {
      std::lock_guard<std::mutex> g(mu_);
      mine = c == 0 || c == conn_;
    }
    if (mine) close();
  });
}

bool CallbackHub::wait(CallContext& ctx, uint64_t done, ReadyCallback* out) {
  std::unique_lock<std::mutex> g(mu_);
  if (closed_) return false;
  if (ctx.conn.id() != conn_)
    throw SessionFault("gvCallbackWait on connection " + std::to_string(ctx.conn.id()) +
                       ", which is not the session's callback connection");
  if (done != 0) {
    if (running_.erase(done) == 0)
      throw SessionFault("reports callback " + std::to_string(done) +
                         " done, which it was not running");
    waiting_.erase(done);
    cv_.notify_all();
  }
  for (;;) {
    if (closed_) return false;
    if (!ready_.empty()) {
      *out = ready_.front();
      ready_.pop_front();
      running_.insert(out->id);
      return true;
    }
    cv_.wait_for(g, kPeerPoll);
    if (closed_ || !ready_.empty()) continue;
    g.unlock();
    bool gone = ctx.conn.peer_closed();
    if (gone) close();
    g.lock();
  }
}

void CallbackHub::close() {
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  ready_.clear();
  running_.clear();
  waiting_.clear();
  cv_.notify_all();
}

bool CallbackHub::closed() const {
  std::lock_guard<std::mutex> g(mu_);
  return closed_;
}

HostFn* CallbackHub::keep(std::unique_ptr<HostFn> f) {
  std::lock_guard<std::mutex> g(mu_);
  if (kept_.size() >= kMaxKept) return nullptr;
  kept_.push_back(std::move(f));
  return kept_.back().get();
}

CallbackHub& callback_hub(CallContext& ctx) { return ctx.session.state<CallbackHub>(); }

cudaError_t launch_host_fn(CallContext& ctx, cudaStream_t s, std::unique_ptr<HostFn> f) {
  CallbackHub& hub = callback_hub(ctx);
  f->hub = &hub;
  // A host function enqueued on a capturing stream becomes a node of the graph and runs at
  // every launch of it: its record must outlive this call. The legacy stream is never captured
  // (and asking about it during another stream's global capture would be an error itself).
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (s != nullptr && s != cudaStreamLegacy && cudaStreamIsCapturing(s, &cs) != cudaSuccess) {
    cudaGetLastError();
    cs = cudaStreamCaptureStatusNone;
  }
  HostFn* raw;
  if (cs == cudaStreamCaptureStatusNone) {
    f->once = true;
    raw = f.release();
  } else {
    f->once = false;
    raw = hub.keep(std::move(f));
    if (!raw) return cudaErrorMemoryAllocation;
  }
  cudaError_t e = cudaLaunchHostFunc(s, host_fn_trampoline, raw);
  if (e != cudaSuccess && raw->once) delete raw;
  return e;
}

void handle_cudaLaunchHostFunc(CallContext& ctx) {
  uint64_t stream = ctx.in.get<uint64_t>();
  uint64_t fn = ctx.in.get<uint64_t>();
  uint64_t user = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  if (fn == 0) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  auto f = std::make_unique<HostFn>();
  f->fn = fn;
  f->user = user;
  f->kind = kHostFunc;
  ctx.status = launch_host_fn(ctx, s, std::move(f));
}

void handle_cudaStreamAddCallback(CallContext& ctx) {
  uint64_t stream = ctx.in.get<uint64_t>();
  uint64_t fn = ctx.in.get<uint64_t>();
  uint64_t user = ctx.in.get<uint64_t>();
  uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  if (fn == 0) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  auto* f = new HostFn();
  f->hub = &callback_hub(ctx);
  f->fn = fn;
  f->user = user;
  f->stream = stream;  // handed back to the client's function as its cudaStream_t
  f->kind = kStreamCallback;
  f->once = true;  // stream callbacks cannot be captured
  ctx.status = cudaStreamAddCallback(s, stream_trampoline, f, flags);
  if (ctx.status != cudaSuccess) delete f;
}

void handle_gvCallbackAttach(CallContext& ctx) {
  ctx.in.expect_end();
  callback_hub(ctx).attach(ctx.session, ctx.conn.id());
}

void handle_gvCallbackWait(CallContext& ctx) {
  uint64_t done = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  ReadyCallback r;
  if (!callback_hub(ctx).wait(ctx, done, &r)) {
    // The session is ending; the client's callback thread stops.
    ctx.status = cudaErrorDevicesUnavailable;
    return;
  }
  ctx.out.put<uint64_t>(r.id);
  ctx.out.put<uint8_t>(r.kind);
  ctx.out.put<uint64_t>(r.fn);
  ctx.out.put<uint64_t>(r.user);
  ctx.out.put<uint64_t>(r.stream);
  ctx.out.put<int32_t>(r.status);
}

}  // namespace gvirtus::backend::cudart
