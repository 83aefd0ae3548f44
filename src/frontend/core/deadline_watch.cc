// The process's watch thread for DeadlineWatch (deadline_watch.h).
#include "frontend/core/deadline_watch.h"

#include <pthread.h>

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

Watcher& watcher() {
  static Watcher* w = [] {
    auto* made = new Watcher;
    // A forked child has the watches of threads that do not exist there, and no watch thread.
    ::pthread_atfork([] { watcher().mu.lock(); }, [] { watcher().mu.unlock(); },
                     [] {
                       Watcher& c = watcher();
                       c.watches.clear();
                       c.running = false;
                       c.mu.unlock();
                     });
    return made;
  }();
  return *w;
}

}  // namespace

DeadlineWatch::DeadlineWatch(Stream& s, Clock::time_point deadline) {
  Watcher& w = watcher();
  std::lock_guard<std::mutex> g(w.mu);
  if (!w.running) {
    try {
      std::thread([&w] { w.run(); }).detach();
    } catch (const std::system_error& e) {
      // Without the thread the exchange is not bounded; it still works.
      log::once(log::Level::kWarn, "deadline-watch",
                std::string("no thread to bound handshakes in time: ") + e.what());
      return;
    }
    w.running = true;
  }
  id_ = w.next_id++;
  w.watches.emplace(id_, Watch{&s, deadline});
  w.cv.notify_one();  // this deadline may be the nearest
}

bool DeadlineWatch::end() {
  if (id_ == 0) return fired_;
  Watcher& w = watcher();
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
