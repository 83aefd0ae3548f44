// The process's watch thread for DeadlineWatch (deadline_watch.h).
#include "frontend/core/deadline_watch.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/log.h"

namespace gvirtus::client {
namespace {

using Clock = std::chrono::steady_clock;

struct Watch {
  Stream* stream;
  Clock::time_point deadline;
  bool fired = false;
};

// Never destroyed: its thread may still wait on it while the process exits.
struct Watcher {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, Watch> watches;  // by id
  uint64_t next_id = 1;
  bool running = false;  // the thread exists in this process

  void run() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      Clock::time_point nearest = Clock::time_point::max();
      for (const auto& [id, w] : watches)
        if (!w.fired && w.deadline < nearest) nearest = w.deadline;
      if (nearest == Clock::time_point::max()) {
        cv.wait(l);
        continue;
      }
      cv.wait_until(l, nearest);
      const auto now = Clock::now();
      for (auto& [id, w] : watches) {
        if (w.fired || w.deadline > now) continue;
        w.fired = true;
        w.stream->shutdown();  // never blocks; the watch's owner waits on mu to end it
      }
    }
  }
};

// The process's watcher. A forked child gets a fresh one (the parent's is leaked there): the
// parent's thread does not exist in the child, and its mutex or condition variable may be in
// any state. No lock is taken around fork() (a prepare handler locking it would order it before
// the session's own locks, which a thread in its handshake holds while it needs this one).
std::atomic<Watcher*> g_watcher{nullptr};
std::once_flag g_watcher_once;

Watcher* watcher() {
  std::call_once(g_watcher_once, [] {
    g_watcher.store(new Watcher);
    ::pthread_atfork(nullptr, nullptr, [] { g_watcher.store(new Watcher); });
  });
  return g_watcher.load();
}

}  // namespace

DeadlineWatch::DeadlineWatch(Stream& s, Clock::time_point deadline) {
  Watcher& w = *watcher();
  std::lock_guard<std::mutex> g(w.mu);
  if (!w.running) {
    // The thread takes no signal of the application's (it inherits the creating thread's mask).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      std::thread([&w] { w.run(); }).detach();
    } catch (const std::system_error& e) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      // Without the thread the exchange is not bounded; it still works.
      log::once(log::Level::kWarn, "deadline-watch",
                std::string("no thread to bound handshakes in time: ") + e.what());
      return;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    w.running = true;
  }
  watcher_ = &w;
  id_ = w.next_id++;
  w.watches.emplace(id_, Watch{&s, deadline});
  w.cv.notify_one();  // this deadline may be the nearest
}

bool DeadlineWatch::end() {
  if (id_ == 0) return fired_;
  Watcher& w = *static_cast<Watcher*>(watcher_);
  std::lock_guard<std::mutex> g(w.mu);
  auto it = w.watches.find(id_);
  if (it != w.watches.end()) {
    fired_ = it->second.fired;
    w.watches.erase(it);
  }
  id_ = 0;
  return fired_;
}

}  // namespace gvirtus::client
