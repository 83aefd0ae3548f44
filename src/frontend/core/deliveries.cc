// Asynchronous device-to-host copies delivered at synchronisations; see deliveries.h.
#include "frontend/core/deliveries.h"

#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/wire.h"
#include "frontend/core/lent_ranges.h"
#include "frontend/core/shared_host.h"

namespace gvirtus::client::deliveries {

namespace {

constexpr int32_t kNotReady = 600;          // cudaErrorNotReady
constexpr int32_t kMemoryAllocation = 2;    // cudaErrorMemoryAllocation
// gvStagingRead modes (backend/cudart/graph_staging.cc).
constexpr uint8_t kIfDone = 0, kWait = 1;
constexpr size_t kWindow = 4;  // reads in flight

// Buffers kept for reuse, and the bytes of pending deliveries.
struct Pool {
  std::mutex mu;
  std::multimap<uint64_t, uint64_t> free;  // size -> buffer id
  uint64_t free_bytes = 0;
  // Used by host-to-device copies since the last synchronisation (size, id): their copies may
  // not have run yet, so they join `free` only at the next one.
  std::vector<std::pair<uint64_t, uint64_t>> cooling;
  uint64_t cooling_bytes = 0;
  uint64_t pending_bytes = 0;
};
Pool& pool() {
  static auto* p = new Pool;  // never destroyed: deliveries may end in static destructors
  return *p;
}

void post_aux(const wire::FrameHeader& h) {
  if (h.aux != 0 && !(h.flags & wire::kFlagLibraryDeferred)) post_deferred_error(h.aux);
}
void post_aux(const Call& c) {
  if (c.deferred() != 0) post_deferred_error(c.deferred());
}

void free_on_worker(uint64_t id) {
  if (session_lost()) return;
  try {
    Call c(kCallStagingFree);
    c.args().put<uint64_t>(id);
    if (c.invoke()) post_aux(c);
  } catch (...) {
  }
}

// A staging buffer of the worker; back to the pool (or freed) when its last holder lets go.
struct Buffer {
  uint64_t id = 0, size = 0;
  // false: a copy into it may still run (dropped undelivered) or failed: freed, and the
  // worker's free waits for the copy.
  std::atomic<bool> reusable{true};
  bool cool = false;  // a host-to-device copy read it: to the cooling list
  Buffer(uint64_t i, uint64_t s) : id(i), size(s) {}
  ~Buffer() {
    if (id == 0) return;  // forgotten (reset_for_testing)
    if (reusable.load()) {
      std::lock_guard<std::mutex> g(pool().mu);
      Pool& p = pool();
      if (p.free_bytes + p.cooling_bytes + size <= kPoolBytes) {
        if (cool) {
          p.cooling.emplace_back(size, id);
          p.cooling_bytes += size;
        } else {
          p.free.emplace(size, id);
          p.free_bytes += size;
        }
        return;
      }
    }
    free_on_worker(id);
  }
};

// A synchronisation: the buffers host-to-device copies used are free for any use again.
void cool_down() {
  std::lock_guard<std::mutex> g(pool().mu);
  Pool& p = pool();
  for (auto& [size, id] : p.cooling) p.free.emplace(size, id);
  p.free_bytes += p.cooling_bytes;
  p.cooling.clear();
  p.cooling_bytes = 0;
}
std::atomic<bool> g_cooling{false};  // some buffer may be cooling

// One piece of a copy on its way: `rows` rows of `width` bytes packed in the buffer, for
// `host` (rows `hpitch` apart).
struct Delivery {
  std::shared_ptr<Buffer> buf;
  uint8_t* host = nullptr;
  uint64_t width = 0, rows = 1, hpitch = 0, stream = 0;
  std::mutex mu;        // held while its bytes are read and written into host memory
  bool landed = false;  // written (or dropped): nothing more to do (REQUIRES: mu)
  uint64_t bytes() const { return width * rows; }
  uintptr_t lo() const { return reinterpret_cast<uintptr_t>(host); }
  uintptr_t hi() const { return lo() + (rows - 1) * hpitch + width; }
  ~Delivery() {
    std::lock_guard<std::mutex> g(pool().mu);
    pool().pending_bytes -= bytes();
  }
};
using Ptr = std::shared_ptr<Delivery>;

struct Table {
  std::mutex mu;
  std::vector<Ptr> pending;  // in the order the copies were made
};
Table& table() {
  static auto* t = new Table;
  return *t;
}
std::atomic<size_t> g_count{0};  // pending.size(), read without the lock
std::atomic<bool (*)(uint32_t, int32_t)> g_sync{nullptr};
thread_local bool t_delivering = false;  // this thread is inside a delivery (its own calls)

// Removes d from the pending list (if still there); the reference goes after the lock.
void unlist(const Ptr& d) {
  Ptr keep;
  std::lock_guard<std::mutex> g(table().mu);
  auto& p = table().pending;
  auto it = std::find(p.begin(), p.end(), d);
  if (it == p.end()) return;
  keep = std::move(*it);
  p.erase(it);
  g_count.store(p.size(), std::memory_order_release);
}

std::vector<Ptr> snapshot() {
  std::lock_guard<std::mutex> g(table().mu);
  return table().pending;
}

// Reads d's buffer (gvStagingRead, `mode` for the first piece; the rest pipelined after it)
// and writes the bytes into the application's memory. 0, kNotReady (mode kIfDone: the copy
// still runs; nothing written), another CUDA error (nothing or part written), or kLost.
int32_t fetch(const Delivery& d, uint8_t mode) {
  Connection* conn = connection();
  if (!conn) return kLost;
  const uint64_t total = d.bytes();
  const bool packed = d.rows == 1 || d.hpitch == d.width;
  std::vector<uint8_t> tmp;
  if (!packed) tmp.resize(static_cast<size_t>(total));
  uint8_t* base = packed ? d.host : tmp.data();
  const uint64_t chunk = wire::kCopyChunk;
  const size_t n = static_cast<size_t>((total + chunk - 1) / chunk);
  uint64_t ids[kWindow] = {};
  size_t sent = 0, done = 0;
  int32_t first = 0;
  bool stop = false;
  wire::Writer w;
  std::vector<uint8_t> discard;
  while (done < n) {
    // The first read alone: its answer says whether the copy is done.
    const size_t window = done == 0 ? 1 : kWindow;
    while (!stop && sent < n && sent - done < window) {
      const uint64_t off = sent * chunk;
      w.clear();
      w.put<uint64_t>(d.buf->id);
      w.put<uint64_t>(off);
      w.put<uint64_t>(std::min(chunk, total - off));
      w.put<uint8_t>(sent == 0 ? mode : (mode == kIfDone ? kWait : mode));
      struct iovec iov = {const_cast<uint8_t*>(w.data()), w.size()};
      if (!conn->send_request(kCallStagingRead, 0, &iov, 1, &ids[sent % kWindow])) return kLost;
      ++sent;
    }
    if (done == sent) break;  // stopped after a failure and every reply is in
    const uint64_t off = done * chunk, k = std::min(chunk, total - off);
    wire::FrameHeader h;
    if (!conn->recv_reply_header(ids[done % kWindow], &h)) return kLost;
    ++done;
    post_aux(h);
    if (h.status != 0) {
      discard.resize(h.length);
      if (h.length && !conn->recv_payload(discard.data(), h.length)) return kLost;
      if (first == 0) first = h.status;
      stop = true;  // send no more; read the replies already asked for
      continue;
    }
    if (h.length != k) {
      mark_session_lost("protocol error: gvStagingRead reply of " + std::to_string(h.length) +
                        " bytes, expected " + std::to_string(k));
      return kLost;
    }
    if (!conn->recv_payload(base + off, static_cast<size_t>(k))) return kLost;
  }
  if (first != 0) return first;
  if (!packed)
    for (uint64_t r = 0; r < d.rows; ++r)
      std::memcpy(d.host + r * d.hpitch, tmp.data() + r * d.width, static_cast<size_t>(d.width));
  return 0;
}

// Lands d (waiting for its mutex): kIfDone or kWait. 0 (landed now or before), kNotReady, an
// error (dropped), kLost.
int32_t land(const Ptr& d, uint8_t mode) {
  int32_t e = 0;
  {
    std::lock_guard<std::mutex> g(d->mu);
    if (d->landed) return 0;
    e = fetch(*d, mode);
    if (e == kNotReady || e == kLost) return e;
    d->landed = true;
    if (e != 0) d->buf->reusable.store(false);
  }
  unlist(d);
  return e;
}

// A buffer of at least `bytes` (a power of two), from the pool or the worker. 0, a CUDA
// error, or kLost.
int32_t acquire(uint64_t bytes, std::shared_ptr<Buffer>* out) {
  uint64_t size = kMinBuffer;
  while (size < bytes) size <<= 1;
  {
    std::lock_guard<std::mutex> g(pool().mu);
    auto it = pool().free.find(size);
    if (it != pool().free.end()) {
      *out = std::make_shared<Buffer>(it->second, size);
      pool().free_bytes -= size;
      pool().free.erase(it);
      return 0;
    }
  }
  Call a(kCallStagingAlloc);
  a.args().put<uint64_t>(size);
  if (!a.invoke()) return kLost;
  post_aux(a);
  if (a.status() != 0) return a.status();
  uint64_t id = 0;
  try {
    id = a.result().get<uint64_t>();
    a.result().expect_end();
  } catch (const wire::DecodeError& x) {
    mark_session_lost(std::string("gvStagingAlloc: ") + x.what());
    return kLost;
  }
  *out = std::make_shared<Buffer>(id, size);
  return 0;
}

struct Piece {
  uint64_t dev, host_off, width, rows;
};

// The arguments of gvStagingFromDevice and gvStagingToDevice (the same layout): staging buffer
// id, offset in it (0), the piece's device address, device pitch, width, rows, stream.
void put_staging_copy(wire::Writer& w, uint64_t buffer, const Piece& p, uint64_t dpitch,
                      uint64_t stream) {
  w.put<uint64_t>(buffer);
  w.put<uint64_t>(0);
  w.put<uint64_t>(p.dev);
  w.put<uint64_t>(dpitch);
  w.put<uint64_t>(p.width);
  w.put<uint64_t>(p.rows);
  w.put<uint64_t>(stream);
}

// Cuts a copy into pieces of at most kPieceBytes: contiguous on both sides, pieces of bytes;
// else pieces of whole rows. False when a row alone is larger than a piece (not taken).
bool plan_pieces(uint64_t dev, uint64_t dpitch, uint64_t hpitch, uint64_t width, uint64_t rows,
                 std::vector<Piece>* pieces) {
  if (rows == 1 || (dpitch == width && hpitch == width)) {
    const uint64_t total = width * rows;
    for (uint64_t off = 0; off < total; off += kPieceBytes)
      pieces->push_back(Piece{dev + off, off, std::min(kPieceBytes, total - off), 1});
    return true;
  }
  if (width > kPieceBytes) return false;
  const uint64_t per = kPieceBytes / width;
  for (uint64_t r = 0; r < rows; r += per)
    pieces->push_back(Piece{dev + r * dpitch, r * hpitch, width, std::min(per, rows - r)});
  return true;
}

}  // namespace

bool enabled() {
  static const bool off = [] {
    const char* v = std::getenv("GVIRTUS_ASYNC_COPIES");
    return v != nullptr && std::string(v) == "0";
  }();
  // connection(): the backend's minor is known once connected.
  return !off && connection() != nullptr && server_minor() >= kMinor &&
         !shared_host::available();
}

void set_sync_predicate(bool (*synchronises)(uint32_t, int32_t)) {
  g_sync.store(synchronises, std::memory_order_release);
}

int32_t start(uint64_t dev, uint64_t dpitch, uint8_t* host, uint64_t hpitch, uint64_t width,
              uint64_t rows, uint64_t stream) {
  if (width == 0 || rows == 0) return 0;
  std::vector<Piece> pieces;
  if (!plan_pieces(dev, dpitch, hpitch, width, rows, &pieces)) return kNotTaken;
  const uint64_t total = width * rows;
  {
    std::lock_guard<std::mutex> g(pool().mu);
    if (total > kMaxPendingBytes - std::min(kMaxPendingBytes, pool().pending_bytes))
      return kNotTaken;
  }
  std::vector<Ptr> made;
  // A failure after some pieces were enqueued: those are dropped undelivered (natively a
  // failed copy writes nothing), their buffers freed once their copies are over.
  auto fail = [&](int32_t e) {
    for (const Ptr& d : made) d->buf->reusable.store(false);
    return e;
  };
  for (const Piece& p : pieces) {
    std::shared_ptr<Buffer> b;
    int32_t e = acquire(p.width * p.rows, &b);
    if (e == kLost) return fail(kLost);
    // No staging memory for the first piece: the copy goes the synchronous way instead.
    if (e == kMemoryAllocation && made.empty()) return kNotTaken;
    if (e != 0) return fail(e);
    Call c(kCallStagingFromDevice);
    put_staging_copy(c.args(), b->id, p, dpitch, stream);
    if (!c.invoke()) return fail(kLost);
    post_aux(c);
    if (c.status() != 0) return fail(c.status());  // b: nothing was enqueued into it
    auto d = std::make_shared<Delivery>();
    d->buf = std::move(b);
    d->host = host + p.host_off;
    d->width = p.width;
    d->rows = p.rows;
    d->hpitch = p.rows == 1 ? p.width : hpitch;
    d->stream = stream;
    {
      std::lock_guard<std::mutex> g(pool().mu);
      pool().pending_bytes += d->bytes();
    }
    made.push_back(std::move(d));
  }
  std::lock_guard<std::mutex> g(table().mu);
  auto& pend = table().pending;
  pend.insert(pend.end(), made.begin(), made.end());
  g_count.store(pend.size(), std::memory_order_release);
  return 0;
}

int32_t start_to_device(uint64_t dev, uint64_t dpitch, const uint8_t* host, uint64_t hpitch,
                        uint64_t width, uint64_t rows, uint64_t stream, bool sure) {
  if (width == 0 || rows == 0) return 0;
  std::vector<Piece> pieces;
  if (!plan_pieces(dev, dpitch, hpitch, width, rows, &pieces)) return kNotTaken;
  // With nothing outstanding before, a deferred failure on the copy's reply is one of its writes.
  Connection* before = current_connection();
  const bool clean = !before || before->unanswered() == 0;
  // Held until every piece is enqueued: each piece has a buffer of its own.
  std::vector<std::shared_ptr<Buffer>> held;
  std::vector<uint8_t> packed;
  for (const Piece& p : pieces) {
    std::shared_ptr<Buffer> b;
    const uint64_t n = p.width * p.rows;
    int32_t e = acquire(n, &b);
    if (e == kLost) return kLost;
    if (e == kMemoryAllocation && held.empty()) return kNotTaken;
    if (e != 0) return e;
    b->cool = true;
    held.push_back(b);
    // The bytes, packed, in pieces of a frame each; only the copy waits for its reply (a
    // failed write comes back as its deferred error).
    const uint8_t* src = host + p.host_off;
    const uint64_t chunk = wire::kCopyChunk;
    for (uint64_t off = 0; off < n; off += chunk) {
      const uint64_t k = std::min(chunk, n - off);
      Call w(kCallStagingWrite);
      w.args().put<uint64_t>(b->id);
      w.args().put<uint64_t>(off);
      if (p.rows == 1 && sure) {
        w.lend(src + off, static_cast<size_t>(k));
      } else if (p.rows == 1) {
        w.attach(src + off, static_cast<size_t>(k));
      } else {
        // Whole rows per frame (k is a multiple of the width when the chunk holds rows).
        packed.resize(static_cast<size_t>(k));
        for (uint64_t done = 0; done < k;) {
          const uint64_t at = off + done, r = at / p.width, col = at % p.width;
          const uint64_t take = std::min(p.width - col, k - done);
          std::memcpy(packed.data() + done, src + r * hpitch + col, static_cast<size_t>(take));
          done += take;
        }
        w.attach(packed.data(), packed.size());
      }
      if (!w.send_async()) return kLost;
    }
    Call c(kCallStagingToDevice);
    put_staging_copy(c.args(), b->id, p, dpitch, stream);
    if (sure) {
      if (!c.send_async()) return kLost;
      continue;
    }
    if (!c.invoke()) return kLost;
    // A write of this copy failed (the context is unusable): the copy's error.
    if (c.status() == 0 && c.deferred() != 0 && clean) return c.deferred();
    post_aux(c);
    if (c.status() != 0) return c.status();
  }
  g_cooling.store(true);
  return 0;
}

bool after_reply(uint32_t call_id, int32_t status) {
  if ((g_count.load(std::memory_order_acquire) == 0 && !g_cooling.load()) || t_delivering)
    return true;
  auto sync = g_sync.load(std::memory_order_acquire);
  if (!sync || !sync(call_id, status)) return true;
  return deliver_finished();
}

bool deliver_finished() {
  if (g_cooling.exchange(false)) cool_down();
  if (g_count.load(std::memory_order_acquire) == 0 || t_delivering) return true;
  t_delivering = true;
  bool ok = true;
  std::vector<uint64_t> running;  // streams with a copy not done: later ones are not either
  for (const Ptr& d : snapshot()) {
    if (std::find(running.begin(), running.end(), d->stream) != running.end()) continue;
    const int32_t e = land(d, kIfDone);
    if (e == kLost) {
      ok = false;
      break;
    }
    if (e == kNotReady) running.push_back(d->stream);
  }
  t_delivering = false;
  return ok;
}

bool wait_range(const void* p, size_t n) {
  lent::wait(p, n);
  return wait_range_to_read(p, n);
}

bool wait_range_to_read(const void* p, size_t n) {
  if (g_count.load(std::memory_order_acquire) == 0 || n == 0 || t_delivering) return true;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
  t_delivering = true;
  bool ok = true;
  for (const Ptr& d : snapshot()) {
    if (d->hi() <= lo || d->lo() >= hi) continue;
    if (land(d, kWait) == kLost) {
      ok = false;
      break;
    }
  }
  t_delivering = false;
  return ok;
}

void forget_range(const void* p, size_t n) {
  lent::wait(p, n);  // no send may read the memory once it is given back
  if (g_count.load(std::memory_order_acquire) == 0 || n == 0) return;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
  for (const Ptr& d : snapshot()) {
    if (d->hi() <= lo || d->lo() >= hi) continue;
    {
      std::lock_guard<std::mutex> g(d->mu);  // a delivery writing into it finishes first
      if (!d->landed) d->buf->reusable.store(false);
      d->landed = true;
    }
    unlist(d);
  }
}

void before_callback() {
  if (g_count.load(std::memory_order_acquire) == 0) return;
  for (const Ptr& d : snapshot()) {
    // A thread may hold it while waiting for its copy, which may be behind this very
    // callback: not waited for long (that copy cannot be one the callback must see, unless the
    // holder is just writing it, which takes a moment).
    std::unique_lock<std::mutex> g(d->mu, std::defer_lock);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (!g.try_lock()) {
      if (std::chrono::steady_clock::now() >= give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!g.owns_lock()) {
      log::once(log::Level::kWarn, "deliveries:callback-busy",
                "a host callback ran while another thread was waiting for an asynchronous "
                "device-to-host copy; that copy's bytes were not read for the callback");
      continue;
    }
    if (d->landed) continue;
    // Done copies only (a copy ahead of the callback on its stream is): their bytes are final.
    const int32_t e = fetch(*d, kIfDone);
    if (e == kLost) return;
    if (e == kNotReady) continue;
    d->landed = true;
    if (e != 0) d->buf->reusable.store(false);
    g.unlock();
    unlist(d);
  }
}

size_t pending() { return g_count.load(std::memory_order_acquire); }

size_t pooled() {
  std::lock_guard<std::mutex> g(pool().mu);
  return pool().free.size();
}

void reset_for_testing() {
  std::vector<Ptr> gone;
  {
    std::lock_guard<std::mutex> g(table().mu);
    gone.swap(table().pending);
    g_count.store(0);
  }
  for (const Ptr& d : gone) d->buf->id = 0;
  gone.clear();
  std::lock_guard<std::mutex> g(pool().mu);
  pool().free.clear();
  pool().free_bytes = 0;
  pool().cooling.clear();
  pool().cooling_bytes = 0;
}

}  // namespace gvirtus::client::deliveries
