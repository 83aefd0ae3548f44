// The worker's session-wide order of requests (docs/protocol.md, "Tickets" and "Lanes").
//
// Every ticketed request of a session waits here until it may run and is *released* here when
// it is done (or gives its place up before waiting on the GPU). Two kinds of wait:
//   global  (wait):      every smaller ticket has been released. Most requests.
//   laned   (wait_lane): only two earlier tickets have: the previous request of its lane (one
//                        non-blocking stream) and the last global request before it. Launches
//                        on different non-blocking streams from different client threads so run
//                        at the same time on the worker, as natively.
// Releases may therefore come out of order. The turnstile keeps the contiguous released prefix
// (`base`: every ticket below it is released) and, beyond it, one bit per ticket for a bounded
// window of tickets. A laned request whose ticket lies past the window waits (as a global one
// would) until the prefix has moved close enough; so memory stays bounded whatever a client
// sends, and a ticket that never comes stalls only its own session.
//
// The window is wide (kDefaultWindow) because a client enqueues launches far faster than the
// GPU takes them: threads that started a little apart, or one the host descheduled for a
// moment, hold tickets thousands apart, and a narrow window would make the thread ahead wait
// for the one behind although their launches do not depend on each other.
//
// Thread-safe. A waiting thread spins briefly (yielding after 2 us), then sleeps on its own
// condition variable; a release wakes only the sleepers whose condition may now hold.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace gvirtus::backend {

class Turnstile {
 public:
  // How many tickets past the released prefix can be released out of order: 2^20, one bit
  // each (128 KiB per session).
  static constexpr uint64_t kDefaultWindow = uint64_t{1} << 20;

  // `window`: a power of two, at least 64 (tests use small ones).
  explicit Turnstile(uint64_t window = kDefaultWindow);

  enum class Turn {
    kReady,   // may run now; call release(ticket) when done
    kPassed,  // the ticket was already released (a replay or a duplicate)
    kClosed,  // closed() said the client went away while waiting
  };

  Turnstile(const Turnstile&) = delete;
  Turnstile& operator=(const Turnstile&) = delete;

  // A global request: waits until every ticket below `ticket` is released. `closed` is asked
  // every 250 ms while asleep (the client may be gone, and its missing tickets never come).
  Turn wait(uint64_t ticket, const std::function<bool()>& closed);
  // A laned request: waits until `lane_dep` and `global_dep` (each 0 for none, else below
  // `ticket`: the caller checks) are released and `ticket` fits in the window.
  Turn wait_lane(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep,
                 const std::function<bool()>& closed);
  // `ticket` is done (or gave its place up). Releasing a ticket twice, or one below the prefix,
  // does nothing (a hostile client's duplicate).
  void release(uint64_t ticket);

  // Every ticket below `ticket` has been released.
  bool reached(uint64_t ticket) const { return base_.load(std::memory_order_acquire) >= ticket; }
  // `ticket` has been released (0 counts as released: no dependency).
  bool released(uint64_t ticket) const;
  // The first ticket not yet released (tests, figures).
  uint64_t base() const { return base_.load(std::memory_order_acquire); }

 private:
  struct Sleeper {
    uint64_t ticket, lane_dep, global_dep;
    bool laned;
    std::condition_variable cv;
  };
  bool ready(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep, bool laned) const;
  Turn outcome(uint64_t ticket) const;
  Turn wait_for(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep, bool laned,
                const std::function<bool()>& closed);

  std::atomic<uint64_t>& word_of(uint64_t t) const { return bits_[(t / 64) & word_mask_]; }

  const uint64_t window_;
  const uint64_t word_mask_;  // window_ / 64 - 1
  std::atomic<uint64_t> base_{1};  // tickets start at 1; 0 means "none"
  // Bit (t mod window_) is set when ticket t, base_ < t < base_ + window_, was released. Bits
  // at or below base_ are clear. Written under mu_; read without it by waiters.
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
  std::atomic<int> sleepers_count_{0};
  std::mutex mu_;
  std::vector<Sleeper*> sleepers_;  // REQUIRES: mu_
};

}  // namespace gvirtus::backend
