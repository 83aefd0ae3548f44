// Host memory the client shares with this worker (shm: connections; the client side is
// src/frontend/core/shared_host.cc; docs/zero-copy.md, payloads in docs/protocol.md).
//
// gvShmHostRegister: the client passed a memfd on the connection's socket; the worker checks
// that it is a sealed memory file of the announced size, maps it and page-locks it, and answers
// the block's id. gvMemcpyShared: one copy between a device address and a range of such a
// block, enqueued on its stream (and waited for when the client asks). gvShmHostUnregister:
// the block is dropped once nothing can touch it any more.
//
// Trust: the memory is the client's and it may write to it at any time; the worker never reads
// it, only the GPU does. Every range is checked against the block's size as the worker mapped
// it, which the seals fix: a client that cannot shrink the file cannot make an access fault.
// A descriptor that is not such a file, a size that does not match, a range outside its block
// or unknown flags end the session; over the per-session limits the client is answered
// cudaErrorMemoryAllocation and uses ordinary memory.
#include <cuda_runtime_api.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/cudart/support.h"
#include "backend/worker.h"
#include "common/log.h"
#include "common/shared_host_wire.h"

namespace gvirtus::backend::cudart {

namespace sh = ::gvirtus::shared_host_wire;

namespace {

// Per session: at most this many blocks, and at most a quarter of the machine's memory in all
// (the worker page-locks them, and page-locked memory cannot be swapped out).
constexpr size_t kMaxBlocks = 4096;
// How long the worker waits for the descriptor of a gvShmHostRegister (it was sent first).
constexpr int kFdWaitMs = 1000;

uint64_t max_shared_bytes() {
  static const uint64_t v = [] {
    // The operator's bound (the backend's environment reaches its workers): bytes per session,
    // 0 to share nothing (every client then keeps ordinary memory).
    if (const char* e = std::getenv("GVIRTUS_SHARED_HOST_LIMIT")) {
      char* end = nullptr;
      unsigned long long x = std::strtoull(e, &end, 10);
      if (end != e && *end == '\0') return static_cast<uint64_t>(x);
      log::once(log::Level::kWarn, "shared-host-limit",
                std::string("GVIRTUS_SHARED_HOST_LIMIT=") + e +
                    " is not a number of bytes: using the default");
    }
    long pages = ::sysconf(_SC_PHYS_PAGES);
    long page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return uint64_t{1} << 32;
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 4;
  }();
  return v;
}

// The mapping keeps the memory; the descriptor is closed once mapped (a session holds no
// descriptors for its blocks).
struct Block {
  uint8_t* map = nullptr;
  size_t len = 0;
  bool pinned = false;
  // Events after the async copies that may still touch the memory (the synchronous ones are
  // done when their handler returns). REQUIRES: mu
  std::mutex mu;
  std::vector<cudaEvent_t> pending;
  Block() = default;
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ~Block() {
    if (map) ::munmap(map, len);
  }
};

class Table {
 public:
  // 0 when over the limits.
  uint64_t add(std::shared_ptr<Block> b) {
    std::lock_guard<std::mutex> g(mu_);
    if (blocks_.size() >= kMaxBlocks || b->len > max_shared_bytes() - bytes_) return 0;
    uint64_t id = next_++;
    bytes_ += b->len;
    blocks_.emplace(id, std::move(b));
    return id;
  }
  bool fits(size_t len) {
    std::lock_guard<std::mutex> g(mu_);
    return blocks_.size() < kMaxBlocks && len <= max_shared_bytes() - bytes_;
  }
  std::shared_ptr<Block> find(uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = blocks_.find(id);
    return it == blocks_.end() ? nullptr : it->second;
  }
  std::shared_ptr<Block> take(uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = blocks_.find(id);
    if (it == blocks_.end()) return nullptr;
    std::shared_ptr<Block> b = std::move(it->second);
    blocks_.erase(it);
    bytes_ -= b->len;
    return b;
  }

 private:
  std::mutex mu_;
  uint64_t next_ = 1;
  uint64_t bytes_ = 0;
  std::map<uint64_t, std::shared_ptr<Block>> blocks_;
};

struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

// At most this many events per block; past it the oldest is waited for.
constexpr size_t kMaxPending = 256;

// Remembers that an async copy on s may still touch b's memory: an event after it, which an
// unregister waits for. Events already passed are dropped here, so the list stays short.
// Where no event can be had, waits for the stream instead (correct, only slower).
void track(Block& b, cudaStream_t s) {
  cudaEvent_t ev = nullptr;
  if (cudaEventCreateWithFlags(&ev, cudaEventDisableTiming) != cudaSuccess ||
      cudaEventRecord(ev, s) != cudaSuccess) {
    cudaGetLastError();
    if (ev) cudaEventDestroy(ev);
    cudaStreamSynchronize(s);
    return;
  }
  std::lock_guard<std::mutex> g(b.mu);
  auto& p = b.pending;
  size_t k = 0;
  for (cudaEvent_t e : p) {
    if (cudaEventQuery(e) == cudaErrorNotReady) {
      p[k++] = e;
    } else {
      cudaEventDestroy(e);
    }
  }
  p.resize(k);
  if (p.size() >= kMaxPending) {
    cudaEventSynchronize(p.front());
    cudaEventDestroy(p.front());
    p.erase(p.begin());
  }
  p.push_back(ev);
}

// Waits for every copy that may still touch b's memory. The first failure, if any.
cudaError_t drain(Block& b) {
  std::lock_guard<std::mutex> g(b.mu);
  cudaError_t first = cudaSuccess;
  for (cudaEvent_t e : b.pending) {
    cudaError_t r = cudaEventSynchronize(e);
    if (r != cudaSuccess && first == cudaSuccess) first = r;
    cudaEventDestroy(e);
  }
  b.pending.clear();
  return first;
}

}  // namespace

void handle_gvShmHostRegister(CallContext& ctx) {
  const uint64_t len = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  FdGuard fd{ctx.conn.take_passed_fd(kFdWaitMs)};
  if (fd.fd < 0) throw SessionFault("gvShmHostRegister without a passed memory descriptor");
  struct stat st{};
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw SessionFault("gvShmHostRegister: the passed descriptor is not a memory file");
  const int seals = ::fcntl(fd.fd, F_GET_SEALS);
  if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
    throw SessionFault("gvShmHostRegister: the passed memory is not sealed against resizing");
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (len == 0 || len % page != 0 || static_cast<uint64_t>(st.st_size) != len)
    throw SessionFault("gvShmHostRegister: " + std::to_string(len) +
                       " bytes announced, the memory holds " + std::to_string(st.st_size));
  Table& t = ctx.session.state<Table>();
  if (!t.fits(len)) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (m == MAP_FAILED) {
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  auto b = std::make_shared<Block>();
  b->map = static_cast<uint8_t*>(m);
  b->len = len;
  cudaError_t e = cudaHostRegister(m, len, cudaHostRegisterPortable);
  if (e == cudaSuccess) {
    b->pinned = true;
  } else {
    // Still correct, only slower (the driver stages the copies): keep the block, and keep our
    // failure out of the client's cudaGetLastError.
    cudaGetLastError();
    log::once(log::Level::kInfo, "shared-host-pin",
              std::string("shared host memory could not be page-locked (") + cudaGetErrorName(e) +
                  "): copies from it are staged by the driver");
  }
  uint64_t id = t.add(b);
  if (id == 0) {
    if (b->pinned) {
      cudaHostUnregister(m);
      cudaGetLastError();
    }
    ctx.status = cudaErrorMemoryAllocation;
    return;
  }
  ctx.out.put<uint64_t>(id);
}

void handle_gvShmHostUnregister(CallContext& ctx) {
  const uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::shared_ptr<Block> b = ctx.session.state<Table>().take(id);
  if (!b) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  // Other connections' copies that found the block before it left the table hold it only
  // until their copy is enqueued and tracked; then every copy still in flight is waited for,
  // so no DMA touches the memory once it is unmapped (the last reference, below).
  release_order(ctx);
  while (b.use_count() > 1) std::this_thread::sleep_for(std::chrono::microseconds(50));
  ctx.status = drain(*b);
  if (b->pinned) {
    cudaHostUnregister(b->map);
    cudaGetLastError();
  }
}

void handle_gvMemcpyShared(CallContext& ctx) {
  const uint64_t region = ctx.in.get<uint64_t>();
  const uint64_t offset = ctx.in.get<uint64_t>();
  const uint64_t hpitch = ctx.in.get<uint64_t>();
  const uint64_t dev = ctx.in.get<uint64_t>();
  const uint64_t dpitch = ctx.in.get<uint64_t>();
  const uint64_t width = ctx.in.get<uint64_t>();
  const uint64_t rows = ctx.in.get<uint64_t>();
  const uint64_t stream = ctx.in.get<uint64_t>();
  const uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  if (flags & ~sh::kCopyFlags)
    throw SessionFault("gvMemcpyShared with unknown flags " + std::to_string(flags));
  if (width == 0 || rows == 0) throw SessionFault("gvMemcpyShared of no bytes");
  if (rows > 1 && (hpitch < width || dpitch < width))
    throw SessionFault("gvMemcpyShared with a pitch below its width");
  // The host extent: (rows - 1) * hpitch + width, without wrapping.
  if (rows > 1 && hpitch > (UINT64_MAX - width) / (rows - 1))
    throw SessionFault("gvMemcpyShared whose host rows wrap around");
  if (rows > 1 && dpitch > (UINT64_MAX - width) / (rows - 1))
    throw SessionFault("gvMemcpyShared whose device rows wrap around");
  const uint64_t extent = (rows - 1) * hpitch + width;
  std::shared_ptr<Block> b = ctx.session.state<Table>().find(region);
  if (!b) {
    // Unregistered (freed) or never registered: the memory is not the worker's to touch.
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  if (offset > b->len || extent > b->len - offset)
    throw SessionFault("gvMemcpyShared of " + std::to_string(extent) + " bytes at offset " +
                       std::to_string(offset) + " of a block of " + std::to_string(b->len));
  cudaStream_t s;
  if (!stream_in(ctx, stream, &s)) return;
  if (stream != 0 && (ctx.status = refuse_capture(s)) != cudaSuccess) return;
  uint8_t* host = b->map + offset;
  void* d = reinterpret_cast<void*>(static_cast<uintptr_t>(dev));
  const bool to_host = flags & sh::kCopyToHost;
  cudaError_t e;
  if (rows == 1) {
    e = to_host ? cudaMemcpyAsync(host, d, width, cudaMemcpyDeviceToHost, s)
                : cudaMemcpyAsync(d, host, width, cudaMemcpyHostToDevice, s);
  } else {
    e = to_host
            ? cudaMemcpy2DAsync(host, hpitch, d, dpitch, width, rows, cudaMemcpyDeviceToHost, s)
            : cudaMemcpy2DAsync(d, dpitch, host, hpitch, width, rows, cudaMemcpyHostToDevice, s);
  }
  if (e == cudaSuccess && (flags & sh::kCopyWait)) {
    release_order(ctx);
    e = cudaStreamSynchronize(s);
    b.reset();  // done: an unregister may go on
  } else if (e == cudaSuccess) {
    track(*b, s);  // an unregister waits for it
    b.reset();
  }
  ctx.status = e;
}

}  // namespace gvirtus::backend::cudart
