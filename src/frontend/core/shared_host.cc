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

#include "common/transport_shm.h"
#include "frontend/core/session.h"

namespace gvirtus::client::shared_host {
namespace {

struct Block {
  size_t len = 0;
  uint64_t region = 0;
  pid_t pid = 0;  // the process whose session knows the region (a fork()ed child's does not)
  const void* owner = nullptr;  // that session (another one, in tests, does not know it)
};

const void* current_session() { return &active_session(); }

std::mutex& mu() {
  static auto* m = new std::mutex;
  return *m;
}
// Application blocks by base address. REQUIRES: mu()
std::map<uintptr_t, Block>& blocks() {
  static auto* m = new std::map<uintptr_t, Block>;
  return *m;
}
// Staging areas not in use, of this process's session. REQUIRES: mu()
std::vector<Staging>& free_staging() {
  static auto* v = new std::vector<Staging>;
  static pid_t owner = ::getpid();
  if (owner != ::getpid()) {
    // A fork()ed child: its session knows none of the parent's areas (left mapped, unused).
    owner = ::getpid();
    v->clear();
  }
  return *v;
}

bool enabled() {
  static const bool on = [] {
    const char* e = std::getenv("GVIRTUS_SHARED_HOST");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

// The calling thread's connection's stream, if it can pass descriptors (an shm: connection).
Stream* fd_stream() {
  auto* c = dynamic_cast<StreamConnection*>(connection());
  Stream* s = c ? c->stream() : nullptr;
  return s && s->aux_fd() >= 0 ? s : nullptr;
}

size_t page_round(size_t n) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (n == 0 || n > SIZE_MAX - (page - 1)) return 0;
  return (n + page - 1) / page * page;
}

// A sealed memfd of len bytes, mapped here, registered with the worker. The seals are what
// the worker checks before it maps the memory: the size can no longer change under it.
void* make_block(size_t len, uint64_t* region) {
  Stream* stream = fd_stream();
  if (!stream) return nullptr;
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
  bool ok = static_cast<bool>(shm_send_fd(*stream, fd));
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
  return enabled() && fd_stream() != nullptr;
}

void* allocate(size_t bytes, size_t* mapped) {
  size_t len = page_round(bytes);
  if (len == 0 || !available()) return nullptr;
  uint64_t region = 0;
  void* p = make_block(len, &region);
  if (!p) return nullptr;
  std::lock_guard<std::mutex> g(mu());
  blocks()[reinterpret_cast<uintptr_t>(p)] = Block{len, region, ::getpid(), current_session()};
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
  *status = b.pid == ::getpid() && b.owner == current_session() ? unregister(b.region) : 0;
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
  // In a fork()ed child the block is ordinary (shared) memory to its own session.
  if (it->second.pid != ::getpid() || it->second.owner != current_session()) return false;
  out->region = it->second.region;
  out->offset = off;
  return true;
}

Staging acquire_staging() {
  const void* owner = current_session();
  {
    std::lock_guard<std::mutex> g(mu());
    auto& pool = free_staging();
    while (!pool.empty()) {
      Staging s = pool.back();
      pool.pop_back();
      if (s.owner == owner) return s;
      // Of another session (tests swap sessions): unknown to ours.
      ::munmap(s.base, kStagingSlots * kStagingSlotBytes);
    }
  }
  Staging s;
  if (!available()) return s;
  uint64_t region = 0;
  void* p = make_block(kStagingSlots * kStagingSlotBytes, &region);
  if (!p) return s;
  s.base = static_cast<uint8_t*>(p);
  s.region = region;
  s.owner = owner;
  return s;
}

void forget_staging_for_testing() {
  std::lock_guard<std::mutex> g(mu());
  for (const Staging& s : free_staging()) ::munmap(s.base, kStagingSlots * kStagingSlotBytes);
  free_staging().clear();
}

void release_staging(const Staging& s) {
  if (!s.base) return;
  std::lock_guard<std::mutex> g(mu());
  free_staging().push_back(s);
}

bool send_copy(Connection* conn, const Where& host, uint64_t hpitch, uint64_t dev,
               uint64_t dpitch, uint64_t width, uint64_t rows, uint64_t stream, uint32_t flags,
               uint64_t* rid, bool no_reply) {
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
  return conn->send_request(kCallCopy, no_reply ? wire::kFlagNoReply : 0, &iov, 1, rid);
}

}  // namespace gvirtus::client::shared_host
