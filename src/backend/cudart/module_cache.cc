#include "backend/cudart/module_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "common/log.h"

namespace gvirtus::backend::cudart {

namespace {

constexpr const char kTmpPrefix[] = "tmp.";
// Temporary files of a worker that died while writing are removed once this old.
constexpr time_t kStaleTmpSeconds = 3600;

struct State {
  std::mutex mu;
  ModuleCacheConfig config;
  std::string scope;  // directory name under config.dir
  std::atomic<uint64_t> tmp_serial{0};
};

State& state() {
  static auto* s = new State;
  return *s;
}

std::string path_of(const State& s, const std::string& name) {
  return s.config.dir + "/" + s.scope + "/" + name;
}

bool read_all(int fd, uint8_t* p, uint64_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<uint64_t>(r);
  }
  return true;
}

bool write_all(int fd, const uint8_t* p, uint64_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<uint64_t>(w);
  }
  return true;
}

bool is_digest_name(const char* n) {
  if (std::strlen(n) != 64) return false;
  for (const char* c = n; *c; ++c)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return false;
  return true;
}

struct Entry {
  std::string path;
  uint64_t size;
  timespec mtime;
};

// Every module file of every scope, and stale temporary files removed on the way.
void list_entries(const std::string& dir, std::vector<Entry>* out) {
  DIR* top = ::opendir(dir.c_str());
  if (!top) return;
  const time_t now = ::time(nullptr);
  while (dirent* d = ::readdir(top)) {
    if (d->d_name[0] == '.') continue;
    const std::string sub = dir + "/" + d->d_name;
    DIR* inner = ::opendir(sub.c_str());
    if (!inner) continue;
    while (dirent* f = ::readdir(inner)) {
      const std::string p = sub + "/" + f->d_name;
      struct stat st{};
      if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (std::strncmp(f->d_name, kTmpPrefix, sizeof kTmpPrefix - 1) == 0) {
        if (now - st.st_mtime > kStaleTmpSeconds) ::unlink(p.c_str());
        continue;
      }
      if (!is_digest_name(f->d_name)) continue;
      out->push_back({p, static_cast<uint64_t>(st.st_size), st.st_mtim});
    }
    ::closedir(inner);
  }
  ::closedir(top);
}

void evict(const State& s) {
  std::vector<Entry> entries;
  list_entries(s.config.dir, &entries);
  uint64_t total = 0;
  for (const Entry& e : entries) total += e.size;
  if (total <= s.config.max_bytes) return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec
                                            : a.mtime.tv_nsec < b.mtime.tv_nsec;
  });
  for (const Entry& e : entries) {
    if (total <= s.config.max_bytes) break;
    // Another worker may have removed it first; a reader that has it open keeps its copy.
    if (::unlink(e.path.c_str()) == 0 || errno == ENOENT) total -= e.size;
  }
}

}  // namespace

std::string module_cache_scope(const std::string& identity, bool shared) {
  if (shared) return "shared";
  const std::string label = "gvirtus module cache scope\n" + identity;
  return "id-" + hex(sha256(label.data(), label.size())).substr(0, 32);
}

void set_module_cache(const ModuleCacheConfig& config) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  s.config = config;
  s.scope.clear();
  if (config.dir.empty() || config.max_bytes == 0) {
    s.config.dir.clear();
    return;
  }
  s.scope = module_cache_scope(config.identity, config.shared);
  const std::string sub = config.dir + "/" + s.scope;
  if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) {
    GV_WARN("module cache " + sub + ": " + std::strerror(errno) + "; modules are not cached");
    s.config.dir.clear();
  }
}

bool module_cache_enabled() {
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  return !s.config.dir.empty();
}

std::unique_ptr<uint8_t[]> module_cache_get(const Digest& digest, uint64_t size) {
  State& s = state();
  std::string path;
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.config.dir.empty() || size == 0 || size > s.config.max_bytes) return nullptr;
    path = path_of(s, hex(digest));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return nullptr;
  std::unique_ptr<uint8_t[]> buf;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == size) {
    buf.reset(new (std::nothrow) uint8_t[size]);
    if (buf && (!read_all(fd, buf.get(), size) || sha256(buf.get(), size) != digest)) {
      GV_WARN("module cache: " + path + " does not hold what its name says; removed");
      ::unlink(path.c_str());
      buf.reset();
    }
  }
  if (buf) ::futimens(fd, nullptr);  // recently used: evicted last
  ::close(fd);
  return buf;
}

void module_cache_put(const uint8_t* data, uint64_t size) {
  State& s = state();
  std::string dir, final_path;
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.config.dir.empty() || size == 0 || size > s.config.max_bytes) return;
    dir = s.config.dir + "/" + s.scope;
    final_path = path_of(s, hex(sha256(data, size)));
  }
  struct stat st{};
  if (::stat(final_path.c_str(), &st) == 0) return;  // another session wrote it first
  const std::string tmp = dir + "/" + kTmpPrefix + std::to_string(::getpid()) + "." +
                          std::to_string(s.tmp_serial.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    GV_WARN("module cache: cannot create " + tmp + ": " + std::strerror(errno));
    return;
  }
  bool ok = write_all(fd, data, size);
  ok = ::close(fd) == 0 && ok;
  // rename is atomic: a reader sees the whole file or none.
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    GV_WARN("module cache: cannot write " + final_path + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return;
  }
  std::lock_guard<std::mutex> g(s.mu);
  evict(s);
}

}  // namespace gvirtus::backend::cudart
