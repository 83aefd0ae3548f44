// Host sides of graph memcpy nodes (the worker's part; client: src/frontend/cudart/graph_host.h).
// A node that reads or writes the application's host memory copies from or to a staging buffer
// of the worker instead: page-locked memory owned by the session, named by an id of its own.
// The client fills the buffers of host-to-device nodes before each launch (gvStagingWrite) and
// reads those of device-to-host nodes after a synchronisation that covers the launch
// (gvStagingRead). Each buffer has an event recorded after every launch that uses it
// (gvGraphLaunchStaged), so a write waits for the launch still reading the buffer and a read
// for the launch that fills it.
//
// Wire (docs/callbacks.md, "Graphs with host memory"):
//   gvStagingAlloc     u64 size                                   -> u64 id
//   gvStagingFree      u64 id                                     -> -
//   gvStagingWrite     u64 id, u64 offset, the bytes              -> -
//   gvStagingRead      u64 id, u64 offset, u64 n, u8 mode         -> n bytes (mode 0: if the
//                      last launch is done, else cudaErrorNotReady; 1: after waiting; 2: now)
//   gvGraphLaunchStaged u64 exec, u64 stream, u32 n, n × u64 id   -> -
//   gvGraphAddStagedMemcpyNode u64 graph, u32 n, n × u64 node, u8 direction (0 to the device,
//        1 to the host), u64 id, u64 offset, u64 device pointer, u64 pitch, u64 rows per slice,
//        cudaPos position, u64 width (bytes), u64 height, u64 depth   -> u64 node
//   gvCaptureStagedCopy u64 stream, u8 direction, u64 device pointer, u64 pitch, u64 width,
//        u64 height  -> u8 captured, then (if captured) u64 id, u64 capture id
//   gvStagingFromDevice u64 id, u64 offset, u64 device pointer, u64 pitch, u64 width,
//        u64 rows, u64 stream  -> -  (3.4: an asynchronous device-to-host copy into the buffer,
//        packed rows, enqueued on the stream with the buffer's event recorded behind it; the
//        client reads it at a synchronisation, docs/async-copies.md)
//   gvStagingToDevice u64 id, u64 offset, u64 device pointer, u64 pitch, u64 width, u64 rows,
//        u64 stream  -> -  (3.4: the reverse, from bytes gvStagingWrite put there)
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backend/cuda/support.h"
#include "backend/cudart/graphs.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

// One buffer at most this large; a session holds at most this much and this many.
constexpr uint64_t kMaxStagingBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxSessionStaging = uint64_t{8} << 30;
constexpr size_t kMaxStagings = 1u << 16;
constexpr uint32_t kMaxNodeList = 1u << 20;

// gvStagingRead modes: if the last launch is done (else cudaErrorNotReady), after waiting for
// it, or as the buffer is now (a host node inside the launch, whose device-to-host nodes ahead
// of it have written their buffers).
constexpr uint8_t kReadIfDone = 0, kReadWait = 1, kReadNow = 2;

// Runs f on a thread of its own whose capture mode is relaxed, on the caller's device. Page-
// locked allocation and freeing are "potentially unsafe" calls, which a thread in the default
// (global) capture mode may not make while any global-mode capture runs in the process: they
// would fail and invalidate the application's capture (staging buffers are made while a stream
// is being captured).
// Without a thread to spare (a worker at its nproc limit: ~Staging runs it, and must not throw),
// on the calling thread, its capture mode relaxed for the while.
template <class F>
void run_relaxed(F f) {
  int dev = 0;
  const bool have_dev = cudaGetDevice(&dev) == cudaSuccess;
  std::thread t;
  try {
    t = std::thread([&] {
      cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
      cudaThreadExchangeStreamCaptureMode(&mode);
      if (have_dev) cudaSetDevice(dev);
      f();
    });
  } catch (const std::system_error&) {
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    cudaThreadExchangeStreamCaptureMode(&mode);
    f();
    cudaThreadExchangeStreamCaptureMode(&mode);
    return;
  }
  t.join();
}

// An event destroyed when its last user lets go (or never, once the process is ending).
struct Event {
  cudaEvent_t e = nullptr;
  bool leak = false;
  ~Event() {
    if (e && !leak) cudaEventDestroy(e);
  }
};

struct Staging {
  uint8_t* buf = nullptr;
  uint64_t size = 0;
  // Recorded after each launch (or copy) that uses the buffer, on `device`. Requests of other
  // connections use it at once: each takes its own reference under mu, so that one made again
  // for another device (staged_copy) lives on until they are done with the old one.
  std::mutex mu;
  std::shared_ptr<Event> busy;
  int device = 0;
  std::shared_ptr<Event> event() {
    std::lock_guard<std::mutex> g(mu);
    return busy;
  }
  ~Staging() {
    if (!busy && !buf) return;
    run_relaxed([this] {
      if (busy && busy->e) cudaEventSynchronize(busy->e);
      busy.reset();
      if (buf) cudaFreeHost(buf);
    });
  }
};

struct StagingState {
  std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<Staging>> live;
  uint64_t next = 1;
  uint64_t bytes = 0;
  // The session is over and its worker exits: no CUDA calls (nor threads) while tearing down;
  // the process's end frees the page-locked memory.
  ~StagingState() {
    for (auto& [id, s] : live) {
      s->buf = nullptr;
      if (s->busy) s->busy->leak = true;
      s->busy = nullptr;
    }
  }
};

StagingState& state(CallContext& ctx) { return ctx.session.state<StagingState>(); }

// A new buffer and its id; 0 with ctx.status set if it cannot be had.
uint64_t allocate(CallContext& ctx, uint64_t size, std::shared_ptr<Staging>* out = nullptr) {
  if (size == 0) throw SessionFault("staging buffer of 0 bytes");
  StagingState& st = state(ctx);
  {
    std::lock_guard<std::mutex> g(st.mu);
    if (size > kMaxStagingBytes || st.live.size() >= kMaxStagings ||
        size > kMaxSessionStaging - st.bytes) {
      ctx.status = cudaErrorMemoryAllocation;
      return 0;
    }
    st.bytes += size;  // reserved; given back below on failure
  }
  auto s = std::make_shared<Staging>();
  s->size = size;
  cudaError_t e = cudaSuccess;
  run_relaxed([&] {
    void* p = nullptr;
    e = cudaHostAlloc(&p, static_cast<size_t>(size), cudaHostAllocPortable);
    if (e != cudaSuccess) return;
    s->buf = static_cast<uint8_t*>(p);
    cudaEvent_t ev = nullptr;
    e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e == cudaSuccess) {
      s->busy = std::make_shared<Event>();
      s->busy->e = ev;
    }
    if (cudaGetDevice(&s->device) != cudaSuccess) s->device = 0;
  });
  std::lock_guard<std::mutex> g(st.mu);
  if (e != cudaSuccess) {
    st.bytes -= size;
    ctx.status = e;
    return 0;
  }
  const uint64_t id = st.next++;
  st.live.emplace(id, s);
  if (out) *out = s;
  return id;
}

std::shared_ptr<Staging> find(CallContext& ctx, uint64_t id) {
  StagingState& st = state(ctx);
  std::lock_guard<std::mutex> g(st.mu);
  auto it = st.live.find(id);
  if (it == st.live.end()) throw SessionFault("staging buffer " + std::to_string(id) + " unknown");
  return it->second;
}

void check_range(const Staging& s, uint64_t offset, uint64_t n, const char* what) {
  if (n == 0 || offset > s.size || n > s.size - offset)
    throw SessionFault(std::string(what) + ": " + std::to_string(n) + " bytes at " +
                       std::to_string(offset) + " of a " + std::to_string(s.size) +
                       "-byte staging buffer");
}

void* dptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

}  // namespace

void handle_gvStagingAlloc(CallContext& ctx) {
  uint64_t size = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  uint64_t id = allocate(ctx, size);
  if (id) ctx.out.put<uint64_t>(id);
}

void handle_gvStagingFree(CallContext& ctx) {
  uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::shared_ptr<Staging> s;
  StagingState& st = state(ctx);
  {
    std::lock_guard<std::mutex> g(st.mu);
    auto it = st.live.find(id);
    if (it == st.live.end()) throw SessionFault("gvStagingFree of an unknown staging buffer");
    s = std::move(it->second);
    st.live.erase(it);
    st.bytes -= s->size;
  }
  release_order(ctx);  // the last owner waits for the buffer's last launch
}

void handle_gvStagingWrite(CallContext& ctx) {
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t offset = ctx.in.get<uint64_t>();
  const uint64_t n = ctx.in.remaining();
  const uint8_t* bytes = n ? ctx.in.get_bytes(static_cast<size_t>(n)) : nullptr;
  std::shared_ptr<Staging> s = find(ctx, id);
  check_range(*s, offset, n, "gvStagingWrite");
  release_order(ctx);  // may wait for a launch still reading the buffer
  ctx.status = cudaEventSynchronize(s->event()->e);
  if (ctx.status == cudaSuccess) std::memcpy(s->buf + offset, bytes, static_cast<size_t>(n));
}

void handle_gvStagingRead(CallContext& ctx) {
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t offset = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.get<uint64_t>();
  uint8_t wait = ctx.in.get<uint8_t>();
  ctx.in.expect_end();
  if (wait > kReadNow) throw SessionFault("gvStagingRead mode " + std::to_string(wait));
  if (n > wire::kMaxPayload) throw SessionFault("gvStagingRead of " + std::to_string(n) + " bytes");
  std::shared_ptr<Staging> s = find(ctx, id);
  check_range(*s, offset, n, "gvStagingRead");
  if (wait == kReadWait) {
    release_order(ctx);
    ctx.status = cudaEventSynchronize(s->event()->e);
  } else if (wait == kReadIfDone) {
    ctx.status = cudaEventQuery(s->event()->e);
  }
  if (ctx.status == cudaSuccess) ctx.out.put_bytes(s->buf + offset, static_cast<size_t>(n));
}

void handle_gvGraphLaunchStaged(CallContext& ctx) {
  uint64_t exec = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  uint32_t n = ctx.in.get<uint32_t>();
  if (n > kMaxStagings)
    throw SessionFault("gvGraphLaunchStaged with " + std::to_string(n) + " buffers");
  std::vector<uint64_t> ids(n);
  for (auto& id : ids) id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::vector<std::shared_ptr<Staging>> bufs;
  bufs.reserve(n);
  for (uint64_t id : ids) bufs.push_back(find(ctx, id));
  cudaGraphExec_t x;
  cudaStream_t s;
  if (!graphexec_in(ctx, exec, &x) || !stream_in(ctx, stream, &s)) return;
  // Launched into a capture, the graph would become a node of another graph, whose launches
  // nobody would fill or deliver: refused (docs/callbacks.md).
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  ctx.status = cudaStreamIsCapturing(s, &cs);
  if (ctx.status != cudaSuccess) return;
  if (cs != cudaStreamCaptureStatusNone) {
    ctx.status = cudaErrorNotSupported;
    return;
  }
  ctx.status = cudaGraphLaunch(x, s);
  for (auto& b : bufs) {
    if (ctx.status != cudaSuccess) break;
    ctx.status = cudaEventRecord(b->event()->e, s);
  }
}

void handle_gvGraphAddStagedMemcpyNode(CallContext& ctx) {
  uint64_t graph = ctx.in.get<uint64_t>();
  uint32_t ndeps = ctx.in.get<uint32_t>();
  if (ndeps > kMaxNodeList) throw SessionFault("dependencies: " + std::to_string(ndeps) + " nodes");
  std::vector<uint64_t> dep_ids(ndeps);
  for (auto& d : dep_ids) d = ctx.in.get<uint64_t>();
  uint8_t dir = ctx.in.get<uint8_t>();
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t offset = ctx.in.get<uint64_t>();
  uint64_t dev = ctx.in.get<uint64_t>();
  uint64_t pitch = ctx.in.get<uint64_t>();
  uint64_t ysize = ctx.in.get<uint64_t>();
  cudaPos pos = ctx.in.get<cudaPos>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  uint64_t depth = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (dir > 1) throw SessionFault("staged memcpy node direction " + std::to_string(dir));
  if (width == 0 || height == 0 || depth == 0 || width > kMaxStagingBytes ||
      height > kMaxStagingBytes || depth > kMaxStagingBytes ||
      width * height > kMaxStagingBytes / depth)
    throw SessionFault("staged memcpy node of " + std::to_string(width) + " x " +
                       std::to_string(height) + " x " + std::to_string(depth));
  std::shared_ptr<Staging> s = find(ctx, id);
  check_range(*s, offset, width * height * depth, "gvGraphAddStagedMemcpyNode");
  cudaGraph_t g;
  if (!graph_in(ctx, graph, &g)) return;
  std::vector<cudaGraphNode_t> deps(ndeps);
  for (uint32_t i = 0; i < ndeps; ++i)
    if (!graphnode_in(ctx, dep_ids[i], &deps[i])) return;
  // The staging side is packed: rows of `width` bytes, `height` rows a slice.
  cudaMemcpy3DParms p = {};
  cudaPitchedPtr staged = {s->buf + offset, static_cast<size_t>(width),
                           static_cast<size_t>(width), static_cast<size_t>(height)};
  cudaPitchedPtr device = {dptr(dev), static_cast<size_t>(pitch), static_cast<size_t>(width),
                           static_cast<size_t>(ysize)};
  if (dir == 0) {
    p.srcPtr = staged;
    p.dstPtr = device;
    p.dstPos = pos;
    p.kind = cudaMemcpyHostToDevice;
  } else {
    p.srcPtr = device;
    p.srcPos = pos;
    p.dstPtr = staged;
    p.kind = cudaMemcpyDeviceToHost;
  }
  p.extent = {static_cast<size_t>(width), static_cast<size_t>(height), static_cast<size_t>(depth)};
  cudaGraphNode_t node = nullptr;
  const cudaGraphNode_t* d = deps.empty() ? nullptr : deps.data();
  if (height == 1 && depth == 1 && pos.x == 0 && pos.y == 0 && pos.z == 0) {
    // A 1D node, as the application's cudaGraphAddMemcpyNode1D makes.
    ctx.status = cudaGraphAddMemcpyNode1D(&node, g, d, ndeps, p.dstPtr.ptr, p.srcPtr.ptr,
                                          static_cast<size_t>(width), p.kind);
  } else {
    ctx.status = cudaGraphAddMemcpyNode(&node, g, d, ndeps, &p);
  }
  if (ctx.status == cudaSuccess) ctx.out.put<uint64_t>(graphnode_out(ctx, node));
}

void handle_gvCaptureStagedCopy(CallContext& ctx) {
  uint64_t stream = ctx.in.get<uint64_t>();
  uint8_t dir = ctx.in.get<uint8_t>();
  uint64_t dev = ctx.in.get<uint64_t>();
  uint64_t pitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t height = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (dir > 1) throw SessionFault("captured staged copy direction " + std::to_string(dir));
  if (width == 0 || height == 0 || width > kMaxStagingBytes || height > kMaxStagingBytes)
    throw SessionFault("captured staged copy of " + std::to_string(height) + " rows of " +
                       std::to_string(width) + " bytes");
  if (height > 1 && pitch < width) throw SessionFault("captured staged copy pitch below width");
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  unsigned long long capture = 0;
  ctx.status = cudaStreamGetCaptureInfo(s, &cs, &capture, nullptr, nullptr, nullptr, nullptr);
  if (ctx.status != cudaSuccess) return;
  if (cs == cudaStreamCaptureStatusNone) {
    ctx.out.put<uint8_t>(0);  // not capturing: the client copies as usual
    return;
  }
  if (cs != cudaStreamCaptureStatusActive) {
    ctx.status = cudaErrorStreamCaptureInvalidated;
    return;
  }
  if (width * height > kMaxStagingBytes) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  std::shared_ptr<Staging> buf;
  uint64_t id = allocate(ctx, width * height, &buf);
  if (!id) return;
  const size_t w = static_cast<size_t>(width), h = static_cast<size_t>(height);
  const size_t dp = static_cast<size_t>(height > 1 ? pitch : width);
  // One row is a 1D copy, as the application's own (a 1D memcpy node, which
  // cudaGraphExecUpdate and the exec-node calls treat as such).
  if (h == 1)
    ctx.status = dir == 0 ? cudaMemcpyAsync(dptr(dev), buf->buf, w, cudaMemcpyHostToDevice, s)
                          : cudaMemcpyAsync(buf->buf, dptr(dev), w, cudaMemcpyDeviceToHost, s);
  else
    ctx.status = dir == 0 ? cudaMemcpy2DAsync(dptr(dev), dp, buf->buf, w, w, h,
                                              cudaMemcpyHostToDevice, s)
                          : cudaMemcpy2DAsync(buf->buf, w, dptr(dev), dp, w, h,
                                              cudaMemcpyDeviceToHost, s);
  if (ctx.status != cudaSuccess) {
    StagingState& st = state(ctx);
    std::lock_guard<std::mutex> g(st.mu);
    st.live.erase(id);
    st.bytes -= buf->size;
    return;
  }
  ctx.out.put<uint8_t>(1);
  ctx.out.put<uint64_t>(id);
  ctx.out.put<uint64_t>(capture);
}

namespace {

// An asynchronous copy between a staging buffer (packed rows) and device memory on a stream
// (gvStagingFromDevice / gvStagingToDevice). Everything is checked before anything is
// enqueued: the buffer and the packed range it is given, the shape (a hostile pitch or size ends
// the session), the stream (an unknown one is cudaErrorInvalidResourceHandle, as for any call).
// A capturing stream is refused as the copy chunks are (refuse_capture): the client never sends
// these while a capture may be active. The buffer's event is recorded behind the copy.
void staged_copy(CallContext& ctx, bool to_device, const char* what) {
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t offset = ctx.in.get<uint64_t>();
  uint64_t dev = ctx.in.get<uint64_t>();
  uint64_t pitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>();
  uint64_t rows = ctx.in.get<uint64_t>();
  uint64_t stream = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (width == 0 || rows == 0 || width > kMaxStagingBytes || rows > kMaxStagingBytes ||
      width * rows > kMaxStagingBytes)
    throw SessionFault(std::string(what) + " of " + std::to_string(rows) + " rows of " +
                       std::to_string(width) + " bytes");
  if (rows > 1 && pitch < width) throw SessionFault(std::string(what) + " pitch below width");
  std::shared_ptr<Staging> s = find(ctx, id);
  check_range(*s, offset, width * rows, what);
  cudaStream_t st;
  if (!stream_in(ctx, stream, &st)) return;
  // Stream 0 is the legacy stream, which cannot capture (and which a capture query must not
  // touch while another stream captures), as for the copy chunks.
  if (stream != 0 && (ctx.status = refuse_capture(st)) != cudaSuccess) return;
  // The event must belong to the stream's device: made again there if the buffer was last
  // used on another one, once that use is over. With one device there is nothing to ask.
  static const int devices = [] {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
  }();
  int last_device;
  {
    std::lock_guard<std::mutex> g(s->mu);
    last_device = s->device;
  }
  int sdev = last_device;
  if (devices > 1 && (ctx.status = cudaStreamGetDevice(st, &sdev)) != cudaSuccess) return;
  if (sdev != last_device) {
    cudaEvent_t fresh = nullptr;
    {
      cuda::KeepCurrentContext keep;  // the client's context, not the device's primary one
      if ((ctx.status = cudaSetDevice(sdev)) != cudaSuccess) return;
      ctx.status = cudaEventCreateWithFlags(&fresh, cudaEventDisableTiming);
    }
    if (ctx.status != cudaSuccess) return;
    release_order(ctx);
    cudaEventSynchronize(s->event()->e);  // the last use, on the other device, is over
    auto made = std::make_shared<Event>();
    made->e = fresh;
    std::lock_guard<std::mutex> g(s->mu);
    s->busy = std::move(made);  // the old one goes with its last user
    s->device = sdev;
  } else if (!to_device) {
    // The buffer's last use may be a copy to the device that has not read it yet (on another
    // stream): this copy waits for it on the GPU, not here.
    if ((ctx.status = cudaStreamWaitEvent(st, s->event()->e, 0)) != cudaSuccess) return;
  }
  uint8_t* buf = s->buf + offset;
  const size_t w = static_cast<size_t>(width), h = static_cast<size_t>(rows);
  const size_t p = static_cast<size_t>(rows > 1 ? pitch : width);
  if (to_device)
    ctx.status = h == 1 ? cudaMemcpyAsync(dptr(dev), buf, w, cudaMemcpyHostToDevice, st)
                        : cudaMemcpy2DAsync(dptr(dev), p, buf, w, w, h, cudaMemcpyHostToDevice, st);
  else
    ctx.status = h == 1 ? cudaMemcpyAsync(buf, dptr(dev), w, cudaMemcpyDeviceToHost, st)
                        : cudaMemcpy2DAsync(buf, w, dptr(dev), p, w, h, cudaMemcpyDeviceToHost, st);
  if (ctx.status == cudaSuccess) ctx.status = cudaEventRecord(s->event()->e, st);
}

}  // namespace

void handle_gvStagingFromDevice(CallContext& ctx) {
  staged_copy(ctx, false, "gvStagingFromDevice");
}

void handle_gvStagingToDevice(CallContext& ctx) { staged_copy(ctx, true, "gvStagingToDevice"); }

}  // namespace gvirtus::backend::cudart
