// Staged module images (image_staging.h). Wire, gvDrvImageChunk: u64 total, u64 offset, u64 n,
// then n bytes; no reply fields. A chunk at offset 0 starts a new image on its connection (an
// unfinished one is dropped); the others must continue it exactly (offset = bytes received so
// far, offset + n <= total), n > 0, total <= kMaxStagedImageBytes: anything else ends the
// session. The session's staged bytes together are bounded by kMaxStagedImageBytes too: a new
// image over that answers CUDA_ERROR_OUT_OF_MEMORY (an honest client loading big modules from
// several threads at once may meet it).
#include "backend/cuda/image_staging.h"

#include <cuda.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "backend/worker.h"
#include "common/image_staging.h"

namespace gvirtus::backend::cuda {
namespace {

struct Staged {
  // Reserved for total + 1 bytes (the NUL) and filled as chunks come: pages are touched only
  // as bytes arrive.
  std::unique_ptr<std::vector<char>> buf;
  uint64_t total = 0, filled = 0;
};

struct StagedImages {
  std::mutex mu;
  uint64_t bytes = 0;                             // REQUIRES: mu; sum of totals below
  std::unordered_map<uint64_t, Staged> by_conn;   // REQUIRES: mu
  void drop_locked(uint64_t conn) {
    auto it = by_conn.find(conn);
    if (it == by_conn.end()) return;
    bytes -= it->second.total;
    by_conn.erase(it);
  }
};

}  // namespace

void handle_gvDrvImageChunk(CallContext& ctx) {
  const uint64_t total = ctx.in.get<uint64_t>();
  const uint64_t offset = ctx.in.get<uint64_t>();
  const uint64_t n = ctx.in.get<uint64_t>();
  if (total == 0 || total > kMaxStagedImageBytes || n == 0 || offset > total || n > total - offset)
    throw SessionFault("image chunk of " + std::to_string(n) + " bytes at " +
                       std::to_string(offset) + " of " + std::to_string(total));
  const uint8_t* bytes = ctx.in.get_bytes(n);
  ctx.in.expect_end();
  StagedImages& st = ctx.session.state<StagedImages>();
  std::lock_guard<std::mutex> g(st.mu);
  const uint64_t conn = ctx.conn.id();
  if (offset == 0) {
    st.drop_locked(conn);
    if (total > kMaxStagedImageBytes - st.bytes) {
      ctx.status = CUDA_ERROR_OUT_OF_MEMORY;
      return;
    }
    Staged s;
    s.buf = std::make_unique<std::vector<char>>();
    s.buf->reserve(total + 1);
    s.total = total;
    st.bytes += total;
    st.by_conn.emplace(conn, std::move(s));
  }
  auto it = st.by_conn.find(conn);
  if (it == st.by_conn.end() || it->second.total != total || it->second.filled != offset)
    throw SessionFault("image chunk out of order");
  it->second.buf->insert(it->second.buf->end(), bytes, bytes + n);
  it->second.filled += n;
}

std::unique_ptr<std::vector<char>> take_staged_image(CallContext& ctx) {
  StagedImages& st = ctx.session.state<StagedImages>();
  std::lock_guard<std::mutex> g(st.mu);
  auto it = st.by_conn.find(ctx.conn.id());
  if (it == st.by_conn.end() || it->second.filled != it->second.total)
    throw SessionFault("load of a staged image that is not complete");
  std::unique_ptr<std::vector<char>> img = std::move(it->second.buf);
  img->push_back(0);
  // The buffer is the module's now: it stays as long as the module, outside this bound (as
  // inline images do).
  st.drop_locked(ctx.conn.id());
  return img;
}

}  // namespace gvirtus::backend::cuda
