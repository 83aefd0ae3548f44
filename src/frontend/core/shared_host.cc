// Host memory shared with the worker (shared_host.h, docs/zero-copy.md).
#include "frontend/core/shared_host.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace gvirtus::client::shared_host {
namespace {

struct Block {
  size_t len = 0;
  uint64_t region = 0;
};

std::mutex& mu() {
  static auto* m = new std::mutex;
  return *m;
}
// Application blocks by base address. REQUIRES: mu()
std::map<uintptr_t, Block>& blocks() {
  static auto* m = new std::map<uintptr_t, Block>;
  return *m;
}
// Staging areas not in use. REQUIRES: mu()
std::vector<Staging>& free_staging() {
  static auto* v = new std::vector<Staging>;
  return *v;
}

bool enabled() {
  static const bool on = [] {
    const char* e = std::getenv("GVIRTUS_SHARED_HOST");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

size_t page_round(size_t n) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (n == 0 || n > SIZE_MAX - (page - 1)) return 0;
  return (n + page - 1) / page * page;
}

// A sealed memfd of len bytes, mapped here, registered with the worker. The seals are what
// the worker checks before it maps the memory: the size can no longer change under it.
void* make_block(size_t len, uint64_t* region) {
  Connection* conn = connection();
  if (!conn || !conn->can_pass_fds()) return nullptr;
  int fd = ::memfd_create("gvirtus-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return nullptr;
  void* p = MAP_FAILED;
  if (::ftruncate(fd, static_cast<off_t>(len)) == 0 &&
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
    p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    ::close(fd);
    return nullptr;
  }
  bool ok = conn->pass_fd(fd);
  ::close(fd);  // the worker has its own duplicate; our mapping keeps the memory
  if (ok) {
    Call c(kCallRegister);
    c.args().put<uint64_t>(len);
    ok = c.invoke();
    if (ok) post_deferred_error(c.deferred());
    ok = ok && c.status() == 0 && c.result().remaining() == 8;
    if (ok) *region = c.result().get<uint64_t>();
  }
  if (!ok) {
    ::munmap(p, len);
    return nullptr;
  }
  return p;
}

int32_t unregister(uint64_t region) {
  Call c(kCallUnregister);
  c.args().put<uint64_t>(region);
  if (!c.invoke()) return -1;
  post_deferred_error(c.deferred());
  return c.status();
}

}  // namespace

bool available() {
  if (!enabled()) return false;
  Connection* conn = connection();
  return conn && conn->can_pass_fds();
}

void* allocate(size_t bytes, size_t* mapped) {
  size_t len = page_round(bytes);
  if (len == 0 || !available()) return nullptr;
  uint64_t region = 0;
  void* p = make_block(len, &region);
  if (!p) return nullptr;
  std::lock_guard<std::mutex> g(mu());
  blocks()[reinterpret_cast<uintptr_t>(p)] = Block{len, region};
  *mapped = len;
  return p;
}

bool release(void* p, int32_t* status) {
  Block b;
  {
    std::lock_guard<std::mutex> g(mu());
    auto it = blocks().find(reinterpret_cast<uintptr_t>(p));
    if (it == blocks().end()) return false;
    b = it->second;
    blocks().erase(it);
  }
  *status = unregister(b.region);
  ::munmap(p, b.len);
  return true;
}

bool locate(const void* p, size_t extent, Where* out) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> g(mu());
  auto& m = blocks();
  if (m.empty()) return false;
  auto it = m.upper_bound(a);
  if (it == m.begin()) return false;
  --it;
  uintptr_t off = a - it->first;
  if (off >= it->second.len || extent > it->second.len - off) return false;
  out->region = it->second.region;
  out->offset = off;
  return true;
}

Staging acquire_staging() {
  {
    std::lock_guard<std::mutex> g(mu());
    if (!free_staging().empty()) {
      Staging s = free_staging().back();
      free_staging().pop_back();
      return s;
    }
  }
  Staging s;
  if (!available()) return s;
  uint64_t region = 0;
  void* p = make_block(kStagingSlots * kStagingSlotBytes, &region);
  if (!p) return s;
  s.base = static_cast<uint8_t*>(p);
  s.region = region;
  return s;
}

void release_staging(const Staging& s) {
  if (!s.base) return;
  std::lock_guard<std::mutex> g(mu());
  free_staging().push_back(s);
}

bool send_copy(Connection* conn, const Where& host, uint64_t hpitch, uint64_t dev,
               uint64_t dpitch, uint64_t width, uint64_t rows, uint64_t stream, uint32_t flags,
               uint64_t* rid) {
  wire::Writer w;
  w.put<uint64_t>(host.region);
  w.put<uint64_t>(host.offset);
  w.put<uint64_t>(hpitch);
  w.put<uint64_t>(dev);
  w.put<uint64_t>(dpitch);
  w.put<uint64_t>(width);
  w.put<uint64_t>(rows);
  w.put<uint64_t>(stream);
  w.put<uint32_t>(flags);
  struct iovec iov = {const_cast<uint8_t*>(w.data()), w.size()};
  return conn->send_request(kCallCopy, 0, &iov, 1, rid);
}

}  // namespace gvirtus::client::shared_host
