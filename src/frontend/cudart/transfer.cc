// The copy engine (transfer.h) behind the cudaMemcpy* exports of memcpy.cc. Payloads:
// docs/frontend.md.
#include "frontend/cudart/transfer.h"

#include <cstring>
#include <vector>

#include "frontend/cudart/copy_plan.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {

namespace {

constexpr size_t kWindow = 4;  // device-to-host chunk requests in flight

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

// Host -> device. dst is a device address; src the host base; s.hpitch the host row pitch.
cudaError_t to_device(uint64_t dst, const uint8_t* src, const CopyShape& s, uint64_t stream) {
  std::vector<CopyPiece> pieces = plan_copy(s, wire::kCopyChunk);
  client::Connection* before = client::current_connection();
  const bool clean_start = !before || before->unanswered() == 0;
  std::vector<uint8_t> packed;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const CopyPiece& p = pieces[i];
    client::Call c(id(Call::kCall_gvMemcpyH2DChunk));
    put_chunk_fields(c.args(), dst + p.dev_off, p.rows > 1 ? s.dpitch : p.width, p.width, p.rows,
                     stream);
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

// Device -> host. src is a device address; dst the host base; s.hpitch the host row pitch.
cudaError_t to_host(uint8_t* dst, uint64_t src, const CopyShape& s, uint64_t stream) {
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
      put_chunk_fields(w, src + p.dev_off, p.rows > 1 ? s.dpitch : p.width, p.width, p.rows,
                       stream);
      struct iovec iov = {const_cast<uint8_t*>(w.data()), w.size()};
      if (!conn->send_request(id(Call::kCall_gvMemcpyD2HChunk), 0, &iov, 1, &ids[sent % kWindow]))
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
      for (size_t r = 0; r < height; ++r) std::memmove(d + r * dpitch, s + r * spitch, width);
      return cudaSuccess;
    }
    case Dir::kHostToDevice:
      shape.dpitch = dpitch;
      shape.hpitch = spitch;
      if (!shape_ok(shape)) return fail(cudaErrorInvalidValue);
      return to_device(to_wire(dst), static_cast<const uint8_t*>(src), shape, t.stream);
    case Dir::kDeviceToHost:
      shape.dpitch = spitch;
      shape.hpitch = dpitch;
      if (!shape_ok(shape)) return fail(cudaErrorInvalidValue);
      return to_host(static_cast<uint8_t*>(dst), to_wire(src), shape, t.stream);
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
  if (e == cudaSuccess && !t.async_api) managed::after_synchronisation();
  return e;
}

cudaError_t raw_to_device(uint64_t dst, const void* src, size_t n) {
  CopyShape s;
  s.width = n;
  s.dpitch = s.hpitch = n;
  return to_device(dst, static_cast<const uint8_t*>(src), s, 0);
}

cudaError_t raw_to_host(void* dst, uint64_t src, size_t n) {
  CopyShape s;
  s.width = n;
  s.dpitch = s.hpitch = n;
  return to_host(static_cast<uint8_t*>(dst), src, s, 0);
}

}  // namespace gvirtus::cudart
