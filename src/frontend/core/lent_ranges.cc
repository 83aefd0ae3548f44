// Host memory lent to send queues (lent_ranges.h).
#include "frontend/core/lent_ranges.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <new>
#include <vector>

namespace gvirtus::client::lent {
namespace {

struct Span {
  uintptr_t begin, end;
  uint64_t token;
};

struct Table {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Span> spans;  // few at a time: a copy's pieces of 8 MiB
  uint64_t next = 1;
};

Table& table() {
  // Never destroyed: send threads release at exit. Its lock is held across fork(), so that a
  // child never inherits it taken by a thread that does not exist there; the child forgets the
  // spans, which belong to the parent's queues (the child never runs them).
  static Table* t = [] {
    auto* made = new Table;
    ::pthread_atfork([] { table().mu.lock(); }, [] { table().mu.unlock(); },
                     [] {
                       // A waiter of the parent's would never leave the condition variable
                       // here (a broadcast could wait for it): the child's is a fresh one.
                       new (&table().cv) std::condition_variable;
                       table().spans.clear();
                       table().mu.unlock();
                     });
    return made;
  }();
  return *t;
}

bool overlaps(const Table& t, uintptr_t b, uintptr_t e) {
  for (const Span& s : t.spans)
    if (s.begin < e && b < s.end) return true;
  return false;
}

}  // namespace

uint64_t add(const void* p, size_t n) {
  Table& t = table();
  const auto b = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> g(t.mu);
  const uint64_t token = t.next++;
  t.spans.push_back({b, b + n, token});
  return token;
}

void release(uint64_t token) {
  Table& t = table();
  {
    std::lock_guard<std::mutex> g(t.mu);
    for (size_t i = 0; i < t.spans.size(); ++i) {
      if (t.spans[i].token != token) continue;
      t.spans[i] = t.spans.back();
      t.spans.pop_back();
      break;
    }
  }
  t.cv.notify_all();
}

void wait(const void* p, size_t n) {
  if (n == 0) return;
  Table& t = table();
  const auto b = reinterpret_cast<uintptr_t>(p);
  std::unique_lock<std::mutex> l(t.mu);
  t.cv.wait(l, [&] { return !overlaps(t, b, b + n); });
}

size_t count() {
  Table& t = table();
  std::lock_guard<std::mutex> g(t.mu);
  return t.spans.size();
}

}  // namespace gvirtus::client::lent
