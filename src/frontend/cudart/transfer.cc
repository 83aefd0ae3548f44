// The copy engine (transfer.h) behind the cudaMemcpy* exports of memcpy.cc. Payloads:
// docs/frontend.md.
#include "frontend/cudart/transfer.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "frontend/core/answers.h"
#include "frontend/core/deliveries.h"
#include "frontend/core/host_memory_ops.h"
#include "frontend/cudart/copy_plan.h"
#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/launch_check.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"
#include "frontend/cudart/shared_copy.h"

namespace gvirtus::cudart {

namespace {

namespace deliveries = client::deliveries;

// The core names the runtime's calls it makes for asynchronous deliveries by number.
static_assert(deliveries::kCallStagingAlloc == static_cast<uint32_t>(Call::kCall_gvStagingAlloc));
static_assert(deliveries::kCallStagingFree == static_cast<uint32_t>(Call::kCall_gvStagingFree));
static_assert(deliveries::kCallStagingRead == static_cast<uint32_t>(Call::kCall_gvStagingRead));
static_assert(deliveries::kCallStagingWrite == static_cast<uint32_t>(Call::kCall_gvStagingWrite));
static_assert(deliveries::kCallStagingFromDevice ==
              static_cast<uint32_t>(Call::kCall_gvStagingFromDevice));
static_assert(deliveries::kCallStagingToDevice ==
              static_cast<uint32_t>(Call::kCall_gvStagingToDevice));

constexpr size_t kWindow = 4;  // device-to-host chunk requests in flight

// Bytes from the first of `rows` rows `pitch` apart to the end of the last.
uint64_t extent(uint64_t width, uint64_t rows, uint64_t pitch) {
  return (rows - 1) * pitch + width;
}

// Host memory this copy reads or writes: an asynchronous copy still to land there lands first
// (deliveries.h), so what is read is what the program would see natively, and what is written
// is not overwritten by it later. Memory written also waits for bytes lent from it to be sent.
bool settle_host(const void* p, uint64_t n) {
  return deliveries::wait_range(p, static_cast<size_t>(n));
}
bool settle_source(const void* p, uint64_t n) {
  return deliveries::wait_range_to_read(p, static_cast<size_t>(n));
}

enum class Dir { kHostToHost, kHostToDevice, kDeviceToHost, kDeviceToDevice };

// Decides the direction. A pointer this library knows to be a device pointer is never read or
// written here as host memory, whatever the caller's kind says.
cudaError_t direction(const void* dst, const void* src, cudaMemcpyKind kind, Dir* out) {
  bool dd = is_device(dst), sd = is_device(src);
  // Managed and mapped memory (managed.h) is both: any explicit kind is accepted for it, and
  // cudaMemcpyDefault treats it as device memory, the copy the worker holds.
  const bool dm = dd && managed::contains(dst), sm = sd && managed::contains(src);
  switch (kind) {
    case cudaMemcpyHostToHost:
      if ((dd && !dm) || (sd && !sm)) return cudaErrorInvalidValue;
      *out = Dir::kHostToHost;
      return cudaSuccess;
    case cudaMemcpyHostToDevice:
      if (sd && !sm) return cudaErrorInvalidValue;
      *out = Dir::kHostToDevice;
      return cudaSuccess;
    case cudaMemcpyDeviceToHost:
      if (dd && !dm) return cudaErrorInvalidValue;
      *out = Dir::kDeviceToHost;
      return cudaSuccess;
    case cudaMemcpyDeviceToDevice:
      *out = Dir::kDeviceToDevice;
      return cudaSuccess;
    case cudaMemcpyDefault:
      *out = dd ? (sd ? Dir::kDeviceToDevice : Dir::kHostToDevice)
                : (sd ? Dir::kDeviceToHost : Dir::kHostToHost);
      return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

void put_chunk_fields(wire::Writer& w, uint64_t dev, uint64_t pitch, uint64_t width, uint64_t rows,
                      uint64_t stream) {
  w.put<uint64_t>(dev);
  w.put<uint64_t>(pitch);
  w.put<uint64_t>(width);
  w.put<uint64_t>(rows);
  w.put<uint64_t>(stream);
}

// Writes the fields of a piece's chunk request (before its data) for a device pointer side.
struct PointerFields {
  uint64_t dev;  // device address of the copy's first byte
  const CopyShape& s;
  uint64_t stream;
  void operator()(wire::Writer& w, const CopyPiece& p) const {
    put_chunk_fields(w, dev + p.dev_off, p.rows > 1 ? s.dpitch : p.width, p.width, p.rows, stream);
  }
};

// The same for an array side (gvArray*Chunk): array id, byte column, row, slice, width, rows,
// stream. The plan was made with dpitch = width (CopyShape::dev_is_array).
struct ArrayFields {
  const CopyEnd& arr;
  uint64_t slice;  // from the end's position
  uint64_t width;  // of the copy, bytes
  uint64_t stream;
  void operator()(wire::Writer& w, const CopyPiece& p) const {
    w.put<uint64_t>(arr.base);
    w.put<uint64_t>(arr.x + p.dev_off % width);
    w.put<uint64_t>(arr.y + p.dev_off / width);
    w.put<uint64_t>(arr.z + slice);
    w.put<uint64_t>(p.width);
    w.put<uint64_t>(p.rows);
    w.put<uint64_t>(stream);
  }
};

// Host -> device. src is the host base; s.hpitch the host row pitch; `fields` writes each
// chunk request's header fields for call `call`.
// `flags`: header flags every chunk request carries (kFlagPageableSource).
template <class Fields>
cudaError_t to_device(Call call, const uint8_t* src, const CopyShape& s, const Fields& fields,
                      uint16_t flags = 0) {
  std::vector<CopyPiece> pieces = plan_copy(s, wire::kCopyChunk);
  client::Connection* before = client::current_connection();
  const bool clean_start = !before || before->unanswered() == 0;
  std::vector<uint8_t> packed;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const CopyPiece& p = pieces[i];
    client::Call c(id(call));
    c.add_flags(flags);
    fields(c.args(), p);
    const uint8_t* host = src + p.host_off;
    if (p.rows == 1 || s.hpitch == p.width) {
      c.attach(host, p.width * p.rows);
    } else {
      packed.resize(p.width * p.rows);
      for (uint64_t r = 0; r < p.rows; ++r)
        std::memcpy(packed.data() + r * p.width, host + r * s.hpitch, p.width);
      c.attach(packed.data(), packed.size());
    }
    if (i + 1 < pieces.size()) {
      if (!c.send_async()) return lost();
      continue;
    }
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    // With nothing outstanding before this copy, a deferred failure is one of its own chunks.
    if (e == cudaSuccess && clean_start && c.deferred() != 0)
      e = static_cast<cudaError_t>(c.deferred());
    return e;
  }
  return cudaSuccess;
}

// Device -> host. dst is the host base; s.hpitch the host row pitch; `fields` as for to_device.
template <class Fields>
cudaError_t to_host(Call call, uint8_t* dst, const CopyShape& s, const Fields& fields) {
  std::vector<CopyPiece> pieces = plan_copy(s, wire::kCopyChunk);
  client::Connection* conn = client::connection();
  if (!conn) return lost();
  uint64_t ids[kWindow] = {};
  size_t sent = 0, done = 0;
  bool stop = false;
  cudaError_t first = cudaSuccess;
  wire::Writer w;
  while (done < pieces.size()) {
    while (!stop && sent < pieces.size() && sent - done < kWindow) {
      const CopyPiece& p = pieces[sent];
      w.clear();
      fields(w, p);
      struct iovec iov = {const_cast<uint8_t*>(w.data()), w.size()};
      if (!conn->send_request(id(call), 0, &iov, 1, &ids[sent % kWindow]))
        return lost();
      ++sent;
    }
    if (done == sent) break;  // stopped after a failure and every reply is in
    const CopyPiece& p = pieces[done];
    wire::FrameHeader h;
    if (!conn->recv_reply_header(ids[done % kWindow], &h)) return lost();
    ++done;
    if (h.aux != 0) set_last_error(static_cast<cudaError_t>(h.aux));
    if (h.status != 0) {
      if (first == cudaSuccess) first = static_cast<cudaError_t>(h.status);
      stop = true;  // send no more; read the replies already asked for
      continue;
    }
    if (h.length != p.width * p.rows) {
      client::mark_session_lost("protocol error: device-to-host chunk of " +
                                std::to_string(h.length) + " bytes, expected " +
                                std::to_string(p.width * p.rows));
      return lost();
    }
    uint8_t* host = dst + p.host_off;
    if (p.rows == 1 || s.hpitch == p.width) {
      if (!conn->recv_payload(host, p.width * p.rows)) return lost();
    } else {
      for (uint64_t r = 0; r < p.rows; ++r)
        if (!conn->recv_payload(host + r * s.hpitch, p.width)) return lost();
    }
  }
  return fail(first);
}

cudaError_t device_to_device(uint64_t dst, uint64_t dpitch, uint64_t src, uint64_t spitch,
                             uint64_t width, uint64_t height, const Target& t, bool two_d) {
  bool with_stream = t.async_api || t.stream != 0;
  Call which = two_d ? (with_stream ? Call::kCall_cudaMemcpy2DAsync : Call::kCall_cudaMemcpy2D)
                     : (with_stream ? Call::kCall_cudaMemcpyAsync : Call::kCall_cudaMemcpy);
  client::Call c(id(which));
  c.args().put<uint64_t>(dst);
  if (two_d) c.args().put<uint64_t>(dpitch);
  c.args().put<uint64_t>(src);
  if (two_d) {
    c.args().put<uint64_t>(spitch);
    c.args().put<uint64_t>(width);
    c.args().put<uint64_t>(height);
  } else {
    c.args().put<uint64_t>(width);
  }
  if (with_stream) c.args().put<uint64_t>(t.stream);
  if (!c.invoke()) return lost();
  return finish(c);
}

// Whether an async copy may be going into a capture: some capture may be active, and the stream
// is not the legacy one (which cannot capture, and which a capture query must not touch while
// another stream captures).
bool may_be_captured(const Target& t) {
  return t.async_api && t.stream != 0 && t.stream != to_wire(cudaStreamLegacy) &&
         client::capture_may_be_active();
}

// A driver-API host copy that the worker refused on a capturing stream: a synchronous one (the
// async ones are captured above, also through libcuda.so.1). Says why once.
cudaError_t driver_refused(cudaError_t e) {
  if (e == cudaErrorStreamCaptureUnsupported)
    log::once(log::Level::kWarn, "driver-captured-host-copy",
              "a synchronous host copy through the driver API on a capturing stream: "
              "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, the capture invalidated (as natively); the "
              "asynchronous copies are captured");
  return e;
}

std::atomic<bool (*)(const void*)> g_probe{nullptr};  // set_page_locked_probe

bool page_locked(const void* p) {
  if (auto probe = g_probe.load(std::memory_order_acquire)) return probe(p);
  const client::HostMemoryOps* ops = client::host_memory_ops();
  return ops && ops->is_page_locked && ops->is_page_locked(p);
}

// Whether a copy between the device and host memory `host` goes the asynchronous way
// (deliveries.h): an async API, page-locked memory this process knows (cudaMallocHost /
// cudaHostAlloc / cudaHostRegister and the driver's forms: libcudart's table, which libcuda.so.1
// uses too) that is not mirrored (mapped memory, managed.h), a socket transport, outside any
// capture. Pageable memory keeps CUDA's rules for it: a device-to-host copy is complete when the
// call returns, a host-to-device one has read the memory.
bool async_pinned(const Target& t, const void* host, const CopyShape& s) {
  if (!t.async_api || may_be_captured(t) || !deliveries::enabled()) return false;
  const auto* last = static_cast<const uint8_t*>(host) + extent(s.width, s.height, s.hpitch) - 1;
  if (!page_locked(host) || !page_locked(last) || managed::contains(host)) return false;
  deliveries::set_sync_predicate(&managed::is_synchronisation);
  return true;
}

// Whether the source of a host-to-device copy is pageable memory, said to a backend that takes it
// (kFlagPageableSource: a small synchronous copy may then be answered once its bytes are staged,
// as natively). Not page-locked memory this process knows (a copy from that is complete when it
// returns), nor managed memory.
bool pageable_source(const void* host, const CopyShape& s) {
  if (!client::connection() || client::server_minor() < wire::kPageableSourceMinor) return false;
  const auto* last = static_cast<const uint8_t*>(host) + extent(s.width, s.height, s.hpitch) - 1;
  return !page_locked(host) && !page_locked(last) && !managed::contains(host);
}

cudaError_t copy_impl(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                      size_t height, cudaMemcpyKind kind, const Target& t, bool two_d) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (!dst || !src) return argument_error(cudaErrorInvalidValue);
  if (two_d && (width > dpitch || width > spitch)) return argument_error(cudaErrorInvalidPitchValue);
  Dir dir;
  cudaError_t e = direction(dst, src, kind, &dir);
  if (e != cudaSuccess) return argument_error(e);
  CopyShape shape;
  shape.width = width;
  shape.height = height;
  switch (dir) {
    case Dir::kHostToHost: {
      auto* d = static_cast<uint8_t*>(dst);
      auto* s = static_cast<const uint8_t*>(src);
      if (!settle_source(s, extent(width, height, spitch)) ||
          !settle_host(d, extent(width, height, dpitch)))
        return lost();
      for (size_t r = 0; r < height; ++r) std::memmove(d + r * dpitch, s + r * spitch, width);
      return cudaSuccess;
    }
    case Dir::kHostToDevice:
      shape.dpitch = dpitch;
      shape.hpitch = spitch;
      if (!shape_ok(shape)) return fail(cudaErrorInvalidValue);
      // On a capturing stream the copy becomes a graph node reading a worker staging buffer,
      // which each launch of the graph fills with these host bytes (graph_host.h); through the
      // driver API too, whose graph calls keep the same table (frontend/cuda/graph_host_hooks.h).
      if (may_be_captured(t)) {
        if (auto r = graph_host::capture_copy(t.stream, true, to_wire(dst), dpitch,
                                              static_cast<const uint8_t*>(src), spitch, width,
                                              height))
          return *r;
      }
      if (shared_copy(false, static_cast<uint8_t*>(const_cast<void*>(src)), shape, to_wire(dst), t,
                      &e))
        return t.driver ? driver_refused(e) : e;
      if (!settle_source(src, extent(width, height, spitch))) return lost();
      if (async_pinned(t, src, shape)) {
        // Rows inside an allocation this process knows, and no capture: the worker will
        // accept the copy, which then needs no reply (its bytes go after the call returns).
        const bool sure = memset_surely_accepted(dst, extent(width, height, dpitch));
        const int32_t r = deliveries::start_to_device(to_wire(dst), dpitch,
                                                      static_cast<const uint8_t*>(src), spitch,
                                                      width, height, t.stream, sure);
        if (r == deliveries::kLost) return lost();
        if (r != deliveries::kNotTaken) {
          e = static_cast<cudaError_t>(r);
          return e == cudaSuccess ? e : fail(e);
        }
      }
      e = to_device(Call::kCall_gvMemcpyH2DChunk, static_cast<const uint8_t*>(src), shape,
                    PointerFields{to_wire(dst), shape, t.stream},
                    pageable_source(src, shape) ? wire::kFlagPageableSource : 0);
      return t.driver ? driver_refused(e) : e;
    case Dir::kDeviceToHost:
      shape.dpitch = spitch;
      shape.hpitch = dpitch;
      if (!shape_ok(shape)) return fail(cudaErrorInvalidValue);
      if (may_be_captured(t)) {
        if (auto r = graph_host::capture_copy(t.stream, false, to_wire(src), spitch,
                                              static_cast<uint8_t*>(dst), dpitch, width, height))
          return *r;
      }
      if (shared_copy(true, static_cast<uint8_t*>(dst), shape, to_wire(src), t, &e))
        return t.driver ? driver_refused(e) : e;
      if (async_pinned(t, dst, shape)) {
        const int32_t r = deliveries::start(to_wire(src), spitch, static_cast<uint8_t*>(dst),
                                            dpitch, width, height, t.stream);
        if (r == deliveries::kLost) return lost();
        if (r != deliveries::kNotTaken) {
          e = static_cast<cudaError_t>(r);
          return e == cudaSuccess ? e : fail(e);
        }
      }
      if (!settle_host(dst, extent(width, height, dpitch))) return lost();
      e = to_host(Call::kCall_gvMemcpyD2HChunk, static_cast<uint8_t*>(dst), shape,
                  PointerFields{to_wire(src), shape, t.stream});
      return t.driver ? driver_refused(e) : e;
    case Dir::kDeviceToDevice:
      return device_to_device(to_wire(dst), dpitch, to_wire(src), spitch, width, height, t, two_d);
  }
  return fail(cudaErrorInvalidMemcpyDirection);
}

}  // namespace

cudaError_t copy(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                 size_t height, cudaMemcpyKind kind, const Target& t, bool two_d) {
  managed::before_device_work();
  cudaError_t e = copy_impl(dst, dpitch, src, spitch, width, height, kind, t, two_d);
  if (e == cudaSuccess && !t.async_api) {
    managed::after_synchronisation();
    // A synchronous copy waits for the blocking streams: their deliveries land (deliveries.h).
    if (!deliveries::deliver_finished()) return lost();
  }
  return e;
}

void set_page_locked_probe(bool (*probe)(const void* p)) {
  g_probe.store(probe, std::memory_order_release);
}

cudaError_t raw_to_device(uint64_t dst, const void* src, size_t n) {
  CopyShape s;
  s.width = n;
  s.dpitch = s.hpitch = n;
  return to_device(Call::kCall_gvMemcpyH2DChunk, static_cast<const uint8_t*>(src), s,
                   PointerFields{dst, s, 0});
}

cudaError_t raw_to_host(void* dst, uint64_t src, size_t n) {
  CopyShape s;
  s.width = n;
  s.dpitch = s.hpitch = n;
  return to_host(Call::kCall_gvMemcpyD2HChunk, static_cast<uint8_t*>(dst), s,
                 PointerFields{src, s, 0});
}

namespace {

void put_end(wire::Writer& w, const CopyEnd& e) {
  bool arr = e.kind == CopyEnd::Kind::kArray;
  w.put<uint64_t>(arr ? e.base : 0);
  w.put<uint64_t>(arr ? 0 : e.base);
  w.put<uint64_t>(e.pitch);
  w.put<uint64_t>(e.xsize);
  w.put<uint64_t>(e.ysize);
  w.put<uint64_t>(e.x);
  w.put<uint64_t>(e.y);
  w.put<uint64_t>(e.z);
}

// Both ends on the device: one request. peer: src_device, dst_device follow the extent.
cudaError_t device_3d(const Copy3D& c, const Target& t, const int* peer) {
  bool with_stream = t.async_api || t.stream != 0;
  Call which = peer ? (with_stream ? Call::kCall_cudaMemcpy3DPeerAsync : Call::kCall_cudaMemcpy3DPeer)
                    : (with_stream ? Call::kCall_cudaMemcpy3DAsync : Call::kCall_cudaMemcpy3D);
  client::Call call(id(which));
  wire::Writer& w = call.args();
  put_end(w, c.src);
  put_end(w, c.dst);
  w.put<uint64_t>(c.width);
  w.put<uint64_t>(c.height);
  w.put<uint64_t>(c.depth);
  if (peer) {
    w.put<int32_t>(peer[0]);
    w.put<int32_t>(peer[1]);
  }
  if (with_stream) w.put<uint64_t>(t.stream);
  if (!call.invoke()) return lost();
  return finish(call);
}

cudaError_t host_3d(const Copy3D& c) {
  for (uint64_t k = 0; k < c.depth; ++k)
    for (uint64_t r = 0; r < c.height; ++r) {
      uint64_t d = 0, s = 0;
      if (!row_address(c.dst, k, r, &d) || !row_address(c.src, k, r, &s))
        return fail(cudaErrorInvalidValue);
      if (!settle_source(from_wire<const void*>(s), c.width) ||
          !settle_host(from_wire<const void*>(d), c.width))
        return lost();
      std::memmove(from_wire<void*>(d), from_wire<const void*>(s), c.width);
    }
  return cudaSuccess;
}

// One side on the host, the other a device pointer or an array: slice by slice (or all slices
// as one 2D copy where they follow each other on both sides), through the chunk engine.
cudaError_t mixed_3d(const Copy3D& c, uint64_t stream) {
  const bool up = c.src.kind == CopyEnd::Kind::kHost;  // host -> device
  const CopyEnd& h = up ? c.src : c.dst;
  const CopyEnd& d = up ? c.dst : c.src;
  const bool arr = d.kind == CopyEnd::Kind::kArray;
  const bool merge = slices_merge(c);
  const uint64_t slices = merge ? 1 : c.depth;
  CopyShape shape;
  shape.width = c.width;
  shape.height = merge ? c.height * c.depth : c.height;
  shape.dpitch = arr ? c.width : d.pitch;
  shape.hpitch = h.pitch;
  shape.dev_is_array = arr;
  if (!shape_ok(shape)) return fail(cudaErrorInvalidValue);
  for (uint64_t k = 0; k < slices; ++k) {
    uint64_t host = 0, dev = 0;
    if (!row_address(h, k, 0, &host) || (!arr && !row_address(d, k, 0, &dev)))
      return fail(cudaErrorInvalidValue);
    const uint64_t n = extent(c.width, shape.height, h.pitch);
    if (!(up ? settle_source(from_wire<const void*>(host), n)
             : settle_host(from_wire<const void*>(host), n)))
      return lost();
    cudaError_t e;
    if (arr) {
      ArrayFields f{d, k, c.width, stream};
      e = up ? to_device(Call::kCall_gvArrayH2DChunk, from_wire<const uint8_t*>(host), shape, f)
             : to_host(Call::kCall_gvArrayD2HChunk, from_wire<uint8_t*>(host), shape, f);
    } else {
      PointerFields f{dev, shape, stream};
      e = up ? to_device(Call::kCall_gvMemcpyH2DChunk, from_wire<const uint8_t*>(host), shape, f)
             : to_host(Call::kCall_gvMemcpyD2HChunk, from_wire<uint8_t*>(host), shape, f);
    }
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t checked(const Copy3D& c) {
  switch (check_copy(c)) {
    case CopyCheck::kOk:
      return cudaSuccess;
    case CopyCheck::kInvalidPitch:
      return cudaErrorInvalidPitchValue;
    case CopyCheck::kInvalidValue:
      break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t classify_ends(cudaMemcpyKind kind, CopyEnd* src, CopyEnd* dst) {
  bool src_host, dst_host;
  switch (kind) {
    case cudaMemcpyHostToHost: src_host = dst_host = true; break;
    case cudaMemcpyHostToDevice: src_host = true; dst_host = false; break;
    case cudaMemcpyDeviceToHost: src_host = false; dst_host = true; break;
    case cudaMemcpyDeviceToDevice: src_host = dst_host = false; break;
    case cudaMemcpyDefault:
      src_host = src->kind != CopyEnd::Kind::kArray && !is_device(from_wire<const void*>(src->base));
      dst_host = dst->kind != CopyEnd::Kind::kArray && !is_device(from_wire<const void*>(dst->base));
      break;
    default:
      return cudaErrorInvalidMemcpyDirection;
  }
  for (auto [e, host] : {std::pair<CopyEnd*, bool>{src, src_host}, {dst, dst_host}}) {
    if (e->kind == CopyEnd::Kind::kArray) {
      if (host) return cudaErrorInvalidMemcpyDirection;
      continue;
    }
    const void* base = from_wire<const void*>(e->base);
    if (host && is_device(base) && !managed::contains(base)) return cudaErrorInvalidValue;
    e->kind = host ? CopyEnd::Kind::kHost : CopyEnd::Kind::kDevice;
  }
  return cudaSuccess;
}

cudaError_t copy_3d(const Copy3D& c, const Target& t) {
  if (c.width == 0 || c.height == 0 || c.depth == 0) return cudaSuccess;
  cudaError_t e = checked(c);
  if (e != cudaSuccess) return argument_error(e);
  const bool sh = c.src.kind == CopyEnd::Kind::kHost, dh = c.dst.kind == CopyEnd::Kind::kHost;
  if (sh && dh) return host_3d(c);
  managed::before_device_work();
  e = !sh && !dh ? device_3d(c, t, nullptr) : mixed_3d(c, t.stream);
  if (e == cudaSuccess && !t.async_api) {
    managed::after_synchronisation();
    if (!deliveries::deliver_finished()) return lost();
  }
  return e;
}

cudaError_t copy_3d_peer(const Copy3D& c, int src_device, int dst_device, const Target& t) {
  if (c.width == 0 || c.height == 0 || c.depth == 0) return cudaSuccess;
  cudaError_t e = checked(c);
  if (e != cudaSuccess) return argument_error(e);
  const int peer[2] = {src_device, dst_device};
  return device_3d(c, t, peer);
}

}  // namespace gvirtus::cudart
