// Copies over shared host memory (shared_copy.h).
#include "frontend/cudart/shared_copy.h"

#include <cstring>
#include <string>
#include <vector>

#include "frontend/core/parallel_copy.h"
#include "frontend/core/shared_host.h"
#include "frontend/cudart/launch_check.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

namespace sh = ::gvirtus::client::shared_host;

static_assert(static_cast<uint32_t>(Call::kCall_gvShmHostRegister) == sh::kCallRegister);
static_assert(static_cast<uint32_t>(Call::kCall_gvShmHostUnregister) == sh::kCallUnregister);
static_assert(static_cast<uint32_t>(Call::kCall_gvMemcpyShared) == sh::kCallCopy);

// Reads the reply to a gvMemcpyShared request: false if the session is lost. A deferred
// failure of an earlier NoReply request becomes the thread's last error, as for copy chunks.
bool read_reply(client::Connection* conn, uint64_t rid, cudaError_t* status) {
  wire::FrameHeader h;
  if (!conn->recv_reply_header(rid, &h)) return false;
  if (h.aux != 0) set_last_error(static_cast<cudaError_t>(h.aux));
  if (h.length != 0) {
    client::mark_session_lost("protocol error: a shared-memory copy answered with " +
                              std::to_string(h.length) + " bytes");
    return false;
  }
  *status = static_cast<cudaError_t>(h.status);
  return true;
}

// The copy's host rows lie in one shared block: one request, and no wait on the worker for an
// async API (the copy is only enqueued; the application's buffer is the copy's own end). An
// async copy the worker will surely accept (its device rows inside a known allocation, no
// capture) is not even answered, as a launch: the call returns at once, and a failure on the
// worker comes back with a later reply, as CUDA reports asynchronous errors.
cudaError_t direct(bool to_host, const sh::Where& w, const CopyShape& s, uint64_t dev,
                   const Target& t) {
  client::Connection* conn = client::connection();
  if (!conn) return lost();
  const bool one_row = s.height == 1;
  const uint64_t dext = one_row ? s.width : (s.height - 1) * s.dpitch + s.width;  // shape_ok
  const bool no_reply =
      t.async_api && memset_surely_accepted(reinterpret_cast<const void*>(dev), dext);
  uint32_t flags = (to_host ? sh::kCopyToHost : 0) | (t.async_api ? 0 : sh::kCopyWait);
  uint64_t rid = 0;
  if (!sh::send_copy(conn, w, one_row ? s.width : s.hpitch, dev, one_row ? s.width : s.dpitch,
                     s.width, s.height, t.stream, flags, &rid, no_reply))
    return lost();
  if (no_reply) return cudaSuccess;
  cudaError_t st = cudaSuccess;
  if (!read_reply(conn, rid, &st)) return lost();
  return fail(st);
}

// Pageable host memory: piece by piece through the staging area's slots. Up to kStagingSlots
// requests are in flight, so this thread fills (host -> device) or empties (device -> host)
// one slot while the worker copies another. Each request waits on the worker for its copy.
cudaError_t staged(bool to_host, uint8_t* host, const CopyShape& s, uint64_t dev,
                   const Target& t, const sh::Staging& st) {
  client::Connection* conn = client::connection();
  if (!conn) return lost();
  const std::vector<CopyPiece> pieces = plan_copy(s, sh::kStagingSlotBytes);
  const size_t n = pieces.size();
  constexpr size_t kSlots = sh::kStagingSlots;
  uint64_t rids[kSlots] = {};
  size_t sent = 0, done = 0;
  bool stop = false;
  cudaError_t first = cudaSuccess;
  auto slot = [&](size_t i) { return st.base + (i % kSlots) * sh::kStagingSlotBytes; };
  auto packed = [&](const CopyPiece& p) { return p.rows == 1 || s.hpitch == p.width; };
  auto send = [&](size_t i) {
    const CopyPiece& p = pieces[i];
    uint8_t* buf = slot(i);
    if (!to_host) {
      const uint8_t* src = host + p.host_off;
      if (packed(p)) {
        client::parallel_memcpy(buf, src, p.width * p.rows);
      } else {
        for (uint64_t r = 0; r < p.rows; ++r)
          std::memcpy(buf + r * p.width, src + r * s.hpitch, p.width);
      }
    }
    sh::Where w{st.region, (i % kSlots) * sh::kStagingSlotBytes};
    uint32_t flags = (to_host ? sh::kCopyToHost : 0) | sh::kCopyWait;
    return sh::send_copy(conn, w, p.width, dev + p.dev_off, p.rows > 1 ? s.dpitch : p.width,
                         p.width, p.rows, t.stream, flags, &rids[i % kSlots]);
  };
  // Reads the oldest reply; for device -> host, empties its slot into the application's buffer.
  auto receive = [&]() {
    const CopyPiece& p = pieces[done];
    cudaError_t e = cudaSuccess;
    if (!read_reply(conn, rids[done % kSlots], &e)) return false;
    if (e != cudaSuccess) {
      if (first == cudaSuccess) first = e;
      stop = true;  // send no more; read the replies already asked for
    } else if (to_host && first == cudaSuccess) {
      const uint8_t* buf = slot(done);
      uint8_t* dst = host + p.host_off;
      if (packed(p)) {
        client::parallel_memcpy(dst, buf, p.width * p.rows);
      } else {
        for (uint64_t r = 0; r < p.rows; ++r)
          std::memcpy(dst + r * s.hpitch, buf + r * p.width, p.width);
      }
    }
    ++done;
    return true;
  };
  while (done < n) {
    while (!stop && sent < n && sent - done < kSlots) {
      if (!send(sent)) return lost();
      ++sent;
    }
    if (done == sent) break;
    if (!receive()) return lost();
  }
  return fail(first);
}

}  // namespace

bool shared_copy(bool to_host, uint8_t* host, const CopyShape& shape, uint64_t dev,
                 const Target& t, cudaError_t* result) {
  const uint64_t extent = (shape.height - 1) * shape.hpitch + shape.width;  // shape_ok: fits
  sh::Where w;
  if (sh::locate(host, extent, &w)) {
    *result = direct(to_host, w, shape, dev, t);
    return true;
  }
  if (shape.width * shape.height < kStagedMinBytes || !sh::available()) return false;
  sh::Staging st = sh::acquire_staging();
  if (!st.base) return false;
  *result = staged(to_host, host, shape, dev, t, st);
  sh::release_staging(st);
  return true;
}

}  // namespace gvirtus::cudart
