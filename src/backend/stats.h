// Per-session figures that a worker keeps and the daemon reads: a small shared-memory block per
// worker (docs/backend.md, "Observing sessions"). The daemon creates it (memfd, sealed against
// resizing, so a worker cannot make the daemon's reads fault) and the worker receives it as a
// descriptor, inherited across fork or passed across exec. The worker's server threads update it
// with relaxed atomics (no lock per call); the daemon only reads numbers from it and trusts none
// of them beyond displaying them.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gvirtus::backend::stats {

constexpr uint32_t kBlockMagic = 0x53535647;  // "GVSS"
constexpr uint32_t kBlockVersion = 2;
// Devices whose memory the block can report; a worker on a host with more reports the first.
constexpr size_t kMaxDevices = 32;
// A device memory figure that is not known (no GPU, no NVML, the worker not found in NVML's
// process list).
constexpr uint64_t kUnknown = ~uint64_t{0};

// The shared layout. Only plain lock-free atomics, so that both sides may map it.
struct Block {
  uint32_t magic;
  uint32_t version;
  // Written together on every call by any server thread: kept on one cache line.
  alignas(64) std::atomic<uint64_t> calls;      // requests carried out
  std::atomic<uint64_t> bytes_in;               // request frames received, headers included
  std::atomic<uint64_t> bytes_out;              // reply frames sent, headers included
  alignas(64) std::atomic<uint64_t> connections_open;   // connections being served now
  std::atomic<uint64_t> connections_total;      // connections served since the session began
  std::atomic<uint64_t> libraries;              // bit i: library_plugins()[i] loaded
  // GPU memory the session holds on each device, bytes, as its quota ledger counts it
  // (memory_quota.h; kUnknown: not measured). devices is stored last, with release.
  std::atomic<uint32_t> devices;                // entries of gpu_memory that are meaningful
  std::atomic<uint64_t> gpu_memory[kMaxDevices];
  std::atomic<uint64_t> gpu_memory_peak;        // the most held at once, every device
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "the block is shared between processes");

// What the daemon reads out of a block: a copy, each field read once.
struct Snapshot {
  uint64_t calls = 0, bytes_in = 0, bytes_out = 0;
  uint64_t connections_open = 0, connections_total = 0;
  uint64_t libraries = 0;
  uint32_t devices = 0;  // at most kMaxDevices
  uint64_t gpu_memory[kMaxDevices] = {};
  uint64_t gpu_memory_peak = 0;
};

// ---- daemon side ----

// A new block (all zeros, magic and version set) as a sealed memfd; -1 on failure (the session
// then runs without figures). The descriptor is close-on-exec: a worker started by exec must
// have it passed on explicitly.
int create_block_fd();

// The daemon's read-only view of one worker's block. Move-only.
class View {
 public:
  View() = default;
  // Maps fd read-only; the descriptor may be closed afterwards. Invalid if mapping fails.
  explicit View(int fd);
  ~View();
  View(View&& o) noexcept;
  View& operator=(View&& o) noexcept;
  View(const View&) = delete;
  View& operator=(const View&) = delete;
  explicit operator bool() const { return block_ != nullptr; }
  Snapshot read() const;  // zeros when invalid

 private:
  const Block* block_ = nullptr;
};

// ---- worker side ----

// Maps the block the daemon made (fd) for this process's counters; the descriptor is closed.
// Until then (and in tests, the embedded backend and fuzzing, which never call it) every
// count below does nothing.
void attach(int fd);

// The block of this process, or nullptr. For the hooks below.
Block* block();

// Request frames received by one connection's thread (each counted as its handler is about
// to run, with `payload` + 32 header bytes): added to the block every 64 requests, at flush()
// (before each reply) and at the end. The block's counters are shared by every
// connection thread of the worker; a write per request from each would pass their cache line
// back and forth between CPUs on every launch.
class RequestBatch {
 public:
  RequestBatch() = default;
  RequestBatch(const RequestBatch&) = delete;
  RequestBatch& operator=(const RequestBatch&) = delete;
  ~RequestBatch() { flush(); }
  void count(uint32_t payload) {
    ++calls_;
    bytes_in_ += payload + 32u;
    if (calls_ >= 64) flush();
  }
  void flush() {
    if (calls_ == 0) return;
    if (Block* b = block()) {
      b->calls.fetch_add(calls_, std::memory_order_relaxed);
      b->bytes_in.fetch_add(bytes_in_, std::memory_order_relaxed);
    }
    calls_ = bytes_in_ = 0;
  }

 private:
  uint64_t calls_ = 0, bytes_in_ = 0;
};
// A reply or output frame of `payload` bytes sent.
inline void count_reply(size_t payload) {
  if (Block* b = block()) b->bytes_out.fetch_add(payload + 32u, std::memory_order_relaxed);
}
// Counts a connection as open for as long as it lives (serve_connection's scope).
struct ConnectionScope {
  ConnectionScope();
  ~ConnectionScope();
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;
};
// The library plugin `name` ("cublas") was loaded in this worker.
void library_loaded(const char* name);

}  // namespace gvirtus::backend::stats
