// The answers the client keeps (answers.h): a per-thread current device and a process-wide map,
// both tagged with the process id that learnt them.
#include "frontend/core/answers.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gvirtus::client {
namespace {

// This process's number: 1, and one more in each forked child (the child's session, and so its
// worker, is a new one). Compared instead of getpid(), a system call, on every launch.
std::atomic<uint64_t> g_process{1};
// Moves whenever answers are forgotten, and in a forked child (answers_generation()).
std::atomic<uint64_t> g_generation{1};
struct ForkWatch {
  ForkWatch() {
    ::pthread_atfork(nullptr, nullptr, [] {
      g_process.fetch_add(1, std::memory_order_acq_rel);
      g_generation.fetch_add(1, std::memory_order_acq_rel);
    });
  }
} g_fork_watch;

uint64_t this_process() { return g_process.load(std::memory_order_acquire); }

struct CurrentDevice {
  uint64_t process = 0;  // this_process() when learnt; 0: not known
  int device = 0;
  // Nothing changed this thread's device or context since it started (no cudaSetDevice, no
  // driver context call) and it learnt nothing in another process: its device is 0, as for
  // every new host thread natively, and so for the worker's new connection thread serving it,
  // once some thread's device query succeeded in this process (g_devices_answer).
  bool untouched = true;
  bool context_known = false;  // context is the thread's current one (while pid is ours)
  uint64_t context_generation = 0;  // ... and g_context_generation has not moved since
  void* context = nullptr;
};
// Moves when a primary context may have changed for every thread (a reset, a release).
std::atomic<uint64_t> g_context_generation{1};
thread_local CurrentDevice t_device;
// this_process() once a thread of it learnt its device: the runtime works there (where it does
// not, cudaGetDevice fails natively too, e.g. with no driver).
std::atomic<uint64_t> g_devices_answer{0};

struct Answers {
  std::mutex mu;
  pid_t pid = 0;
  std::map<std::string, std::vector<unsigned char>> by_key;
};
Answers& answers() {
  // Never destroyed: calls may come from exit handlers. Its lock is held across fork(), so that
  // a child never inherits it taken by a thread that does not exist there.
  static Answers* a = [] {
    auto* made = new Answers;
    ::pthread_atfork([] { answers().mu.lock(); }, [] { answers().mu.unlock(); },
                     [] { answers().mu.unlock(); });
    return made;
  }();
  return *a;
}

}  // namespace

int known_current_device() {
  int d = -1;
  return recall_current_device(&d) ? d : -1;
}

bool recall_current_device(int* device) {
  if (session_lost()) return false;
  if (t_device.process == this_process()) {
    *device = t_device.device;
    return true;
  }
  if (!t_device.untouched ||
      g_devices_answer.load(std::memory_order_acquire) != this_process())
    return false;
  *device = 0;
  return true;
}

void remember_current_device(int device) {
  t_device.untouched = false;
  g_devices_answer.store(this_process(), std::memory_order_release);
  // Another device means another (primary) context.
  if (t_device.process != this_process() || t_device.device != device)
    t_device.context_known = false;
  t_device.process = this_process();
  t_device.device = device;
}

void forget_current_device() {
  t_device.untouched = false;
  t_device.process = 0;
  t_device.context_known = false;
}

bool recall_current_context(void** ctx) {
  if (t_device.process != this_process() || !t_device.context_known || session_lost() ||
      t_device.context_generation != g_context_generation.load(std::memory_order_acquire))
    return false;
  *ctx = t_device.context;
  return true;
}

void remember_current_context(void* ctx) {
  // No context yet: the runtime makes its primary context current at its next call, unseen.
  if (ctx == nullptr || t_device.process != this_process()) return;
  t_device.context = ctx;
  t_device.context_known = true;
  t_device.context_generation = g_context_generation.load(std::memory_order_acquire);
}

void forget_current_context() { t_device.context_known = false; }

namespace {
struct PrimaryState {
  unsigned int flags;
  int active;
};
std::string primary_key(int device) { return "pctx:" + std::to_string(device); }
}  // namespace

bool recall_primary_context(int device, unsigned int* flags, int* active) {
  PrimaryState s;
  if (!recall_answer(primary_key(device), &s, sizeof s)) return false;
  *flags = s.flags;
  *active = s.active;
  return true;
}

void remember_primary_context(int device, unsigned int flags, int active) {
  if (!active) return;  // becomes active at the runtime's next call, unseen
  PrimaryState s{flags, active};
  remember_answer(primary_key(device), &s, sizeof s);
}

void forget_primary_contexts() {
  forget_answers("pctx:");
  g_context_generation.fetch_add(1, std::memory_order_acq_rel);
}

bool recall_answer(const std::string& key, void* out, size_t n) {
  if (session_lost()) return false;
  Answers& a = answers();
  std::lock_guard<std::mutex> lock(a.mu);
  if (a.pid != ::getpid()) return false;
  auto it = a.by_key.find(key);
  if (it == a.by_key.end() || it->second.size() != n) return false;
  std::memcpy(out, it->second.data(), n);
  return true;
}

void remember_answer(const std::string& key, const void* in, size_t n) {
  Answers& a = answers();
  std::lock_guard<std::mutex> lock(a.mu);
  const pid_t pid = ::getpid();
  if (a.pid != pid) {  // first answer, or the first one of a forked child: start afresh
    a.by_key.clear();
    a.pid = pid;
  }
  const auto* p = static_cast<const unsigned char*>(in);
  a.by_key[key].assign(p, p + n);
}

uint64_t answers_generation() { return g_generation.load(std::memory_order_acquire); }

void forget_answers(const std::string& prefix) {
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  Answers& a = answers();
  std::lock_guard<std::mutex> lock(a.mu);
  for (auto it = a.by_key.lower_bound(prefix);
       it != a.by_key.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
    it = a.by_key.erase(it);
}

namespace {
std::atomic<long> g_captures{0};
}  // namespace

void note_capture_begun() { g_captures.fetch_add(1, std::memory_order_acq_rel); }

void note_capture_ended() {
  long n = g_captures.load(std::memory_order_acquire);
  while (n > 0 && !g_captures.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
  }
}

bool capture_may_be_active() { return g_captures.load(std::memory_order_acquire) > 0; }

}  // namespace gvirtus::client
