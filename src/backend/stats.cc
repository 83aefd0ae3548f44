// stats.h: the shared counter block of a worker.
#include "backend/stats.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "backend/plugins.h"

namespace gvirtus::backend::stats {
namespace {

// Whole pages, so that nothing else shares the mapping.
size_t mapped_size() {
  long page = sysconf(_SC_PAGESIZE);
  size_t p = page > 0 ? static_cast<size_t>(page) : 4096;
  return (sizeof(Block) + p - 1) / p * p;
}

std::atomic<Block*> g_block{nullptr};

}  // namespace

int create_block_fd() {
  int fd = memfd_create("gvirtus-session-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  const size_t size = mapped_size();
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    close(fd);
    return -1;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return -1;
  }
  auto* b = new (p) Block{};
  b->magic = kBlockMagic;
  b->version = kBlockVersion;
  munmap(p, size);
  // The worker keeps a writable descriptor; it must not be able to shrink the file under the
  // daemon's mapping (the daemon's next read would fault with SIGBUS).
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

View::View(int fd) {
  if (fd < 0) return;
  const size_t size = mapped_size();
  // The seals are what make reading the mapping safe: refuse a descriptor without them.
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) return;
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return;
  block_ = static_cast<const Block*>(p);
}

View::~View() {
  if (block_) munmap(const_cast<Block*>(block_), mapped_size());
}

View::View(View&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }

View& View::operator=(View&& o) noexcept {
  if (this != &o) {
    if (block_) munmap(const_cast<Block*>(block_), mapped_size());
    block_ = o.block_;
    o.block_ = nullptr;
  }
  return *this;
}

Snapshot View::read() const {
  Snapshot s;
  if (!block_) return s;
  constexpr auto r = std::memory_order_relaxed;
  s.calls = block_->calls.load(r);
  s.bytes_in = block_->bytes_in.load(r);
  s.bytes_out = block_->bytes_out.load(r);
  s.connections_open = block_->connections_open.load(r);
  s.connections_total = block_->connections_total.load(r);
  s.libraries = block_->libraries.load(r);
  // Written by the worker: bounded before it is used as a count.
  uint32_t n = block_->devices.load(std::memory_order_acquire);
  s.devices = n > kMaxDevices ? static_cast<uint32_t>(kMaxDevices) : n;
  for (uint32_t i = 0; i < s.devices; ++i) s.gpu_memory[i] = block_->gpu_memory[i].load(r);
  s.gpu_memory_peak = block_->gpu_memory_peak.load(r);
  return s;
}

void attach(int fd) {
  if (fd < 0) return;
  void* p = mmap(nullptr, mapped_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return;
  auto* b = static_cast<Block*>(p);
  if (b->magic != kBlockMagic || b->version != kBlockVersion) {
    munmap(p, mapped_size());
    return;
  }
  g_block.store(b, std::memory_order_release);
}

Block* block() { return g_block.load(std::memory_order_relaxed); }

ConnectionScope::ConnectionScope() {
  if (Block* b = block()) {
    b->connections_open.fetch_add(1, std::memory_order_relaxed);
    b->connections_total.fetch_add(1, std::memory_order_relaxed);
  }
}

ConnectionScope::~ConnectionScope() {
  if (Block* b = block()) b->connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void library_loaded(const char* name) {
  Block* b = block();
  if (!b || !name) return;
  size_t n = 0;
  const LibraryPlugin* lp = library_plugins(&n);
  for (size_t i = 0; i < n && i < 64; ++i)
    if (std::strcmp(lp[i].name, name) == 0)
      b->libraries.fetch_or(uint64_t{1} << i, std::memory_order_relaxed);
}

}  // namespace gvirtus::backend::stats
