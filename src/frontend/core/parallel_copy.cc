// Large host memcpy over helper threads (parallel_copy.h).
#include "frontend/core/parallel_copy.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace gvirtus::client {
namespace {

// Below this a copy is not split: waking helpers costs more than it saves.
constexpr size_t kSplitMin = 1u << 20;
constexpr int kMaxThreads = 16;

int configured_threads() {
  const char* e = std::getenv("GVIRTUS_COPY_THREADS");
  if (!e || !*e) return 4;
  int v = std::atoi(e);
  return v < 1 ? 1 : (v > kMaxThreads ? kMaxThreads : v);
}

class Pool {
 public:
  explicit Pool(int helpers) : helpers_(helpers), pid_(::getpid()) {
    // Helpers take no signals: the application's handlers run on its own threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < helpers_; ++i) std::thread([this, i] { serve(i + 1); }).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  // false: the pool is busy or belongs to the parent of a fork; the caller copies alone.
  bool copy(uint8_t* dst, const uint8_t* src, size_t n) {
    if (::getpid() != pid_) return false;
    std::unique_lock<std::mutex> job(job_mu_, std::try_to_lock);
    if (!job.owns_lock()) return false;
    const int parts = helpers_ + 1;
    {
      std::lock_guard<std::mutex> g(mu_);
      dst_ = dst;
      src_ = src;
      n_ = n;
      parts_ = parts;
      left_ = helpers_;
      ++generation_;
    }
    cv_.notify_all();
    copy_part(dst, src, n, 0, parts);
    std::unique_lock<std::mutex> g(mu_);
    done_cv_.wait(g, [this] { return left_ == 0; });
    return true;
  }

 private:
  // Part k of `parts`, each a multiple of 64 bytes except the last.
  static void copy_part(uint8_t* dst, const uint8_t* src, size_t n, int k, int parts) {
    size_t per = (n / static_cast<size_t>(parts) + 63) & ~size_t{63};
    size_t begin = per * static_cast<size_t>(k);
    if (begin >= n) return;
    size_t len = k == parts - 1 ? n - begin : std::min(per, n - begin);
    std::memcpy(dst + begin, src + begin, len);
  }

  void serve(int k) {
    uint64_t seen = 0;
    for (;;) {
      uint8_t* dst;
      const uint8_t* src;
      size_t n;
      int parts;
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] { return generation_ != seen; });
        seen = generation_;
        dst = dst_;
        src = src_;
        n = n_;
        parts = parts_;
      }
      copy_part(dst, src, n, k, parts);
      std::lock_guard<std::mutex> g(mu_);
      if (--left_ == 0) done_cv_.notify_one();
    }
  }

  const int helpers_;
  const pid_t pid_;
  std::mutex job_mu_;  // one copy at a time
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  uint64_t generation_ = 0;  // REQUIRES: mu_
  uint8_t* dst_ = nullptr;
  const uint8_t* src_ = nullptr;
  size_t n_ = 0;
  int parts_ = 1;
  int left_ = 0;  // helpers still copying the current job
};

Pool* pool() {
  // Never destroyed: detached helpers may still wait on it while the process exits.
  static Pool* p = [] {
    int t = configured_threads();
    return t > 1 ? new Pool(t - 1) : nullptr;
  }();
  return p;
}

}  // namespace

void parallel_memcpy(void* dst, const void* src, size_t n) {
  if (n >= kSplitMin) {
    Pool* p = pool();
    if (p && p->copy(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n)) return;
  }
  std::memcpy(dst, src, n);
}

}  // namespace gvirtus::client
