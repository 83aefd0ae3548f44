// Turnstile: the session-wide order of tickets, global and laned (turnstile.h).
#include "backend/turnstile.h"

#include <sched.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "common/cpu_relax.h"

namespace gvirtus::backend {

Turnstile::Turnstile(uint64_t window)
    : window_(window), word_mask_(window / 64 - 1), bits_(new std::atomic<uint64_t>[window / 64]) {
  assert(window >= 64 && (window & (window - 1)) == 0);
  for (uint64_t i = 0; i < window / 64; ++i) bits_[i].store(0, std::memory_order_relaxed);
}

bool Turnstile::released(uint64_t t) const {
  if (t == 0) return true;
  const uint64_t b = base_.load(std::memory_order_acquire);
  if (t < b) return true;
  if (t - b >= window_) return false;
  // The slot may meanwhile hold a later ticket t + k * window_; that one can only be set once
  // the prefix passed t, so a set bit always means t was released.
  return (word_of(t).load(std::memory_order_acquire) >> (t % 64)) & 1u;
}

bool Turnstile::ready(uint64_t t, uint64_t lane_dep, uint64_t global_dep, bool laned) const {
  const uint64_t b = base_.load(std::memory_order_acquire);
  if (b >= t) return true;
  // A duplicate of a ticket released out of order wakes too, to be told so.
  if (released(t)) return true;
  return laned && t - b < window_ && released(lane_dep) && released(global_dep);
}

Turnstile::Turn Turnstile::outcome(uint64_t t) const {
  return released(t) ? Turn::kPassed : Turn::kReady;
}

Turnstile::Turn Turnstile::wait(uint64_t ticket, const std::function<bool()>& closed) {
  return wait_for(ticket, 0, 0, false, closed);
}

Turnstile::Turn Turnstile::wait_lane(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep,
                                     const std::function<bool()>& closed) {
  return wait_for(ticket, lane_dep, global_dep, true, closed);
}

Turnstile::Turn Turnstile::wait_for(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep,
                                    bool laned, const std::function<bool()>& closed) {
  if (ready(ticket, lane_dep, global_dep, laned)) return outcome(ticket);
  // The request it waits for is usually on its way or running for a few microseconds: spin that
  // long before sleeping, so that threads taking turns do not pay a wake-up each time. After
  // the first microseconds the spin yields the CPU between looks: where threads outnumber CPUs
  // (a loaded host, several client threads) the thread holding the turn must get to run.
  const auto start = std::chrono::steady_clock::now();
  const auto yield_after = start + std::chrono::microseconds(2);
  const auto spin_until = start + std::chrono::microseconds(20);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      cpu_relax();
      if (ready(ticket, lane_dep, global_dep, laned)) return outcome(ticket);
    }
    const auto t = std::chrono::steady_clock::now();
    if (t >= spin_until) break;
    if (t >= yield_after) sched_yield();
  }
  Sleeper me{ticket, lane_dep, global_dep, laned, {}};
  bool gone = false;
  {
    std::unique_lock<std::mutex> g(mu_);
    sleepers_.push_back(&me);
    sleepers_count_.fetch_add(1, std::memory_order_seq_cst);
    // Wakes now and then to notice a client that went away meanwhile (its missing tickets would
    // never come).
    while (!me.cv.wait_for(g, std::chrono::milliseconds(250),
                           [&] { return ready(ticket, lane_dep, global_dep, laned); })) {
      if (closed && closed()) {
        gone = true;
        break;
      }
    }
    sleepers_count_.fetch_sub(1, std::memory_order_seq_cst);
    sleepers_.erase(std::find(sleepers_.begin(), sleepers_.end(), &me));
  }
  return gone ? Turn::kClosed : outcome(ticket);
}

void Turnstile::release(uint64_t t) {
  std::lock_guard<std::mutex> g(mu_);
  uint64_t b = base_.load(std::memory_order_relaxed);
  // Below the prefix: released already. Past the window: no waiter is ever let run there
  // (wait_for), so only a caller that did not wait could get here; nothing to record.
  if (t < b || t - b >= window_) return;
  if (t == b) {
    // Move the prefix over every ticket released out of order just above it, a word at a time,
    // clearing their bits (their slots then belong to tickets one window further). The run
    // ends at the latest at t's own slot, whose bit was never set.
    ++b;
    for (;;) {
      std::atomic<uint64_t>& w = word_of(b);
      const uint64_t v = w.load(std::memory_order_relaxed);
      const unsigned shift = static_cast<unsigned>(b % 64);
      // Set bits from `shift` up; the vacated high bits of ~(v >> shift) end the count.
      const uint64_t unset = ~(v >> shift);
      const unsigned run = unset == 0 ? 64u : static_cast<unsigned>(__builtin_ctzll(unset));
      if (run == 0) break;
      const uint64_t ones = run == 64 ? ~uint64_t{0} : (uint64_t{1} << run) - 1;
      w.store(v & ~(ones << shift), std::memory_order_relaxed);
      b += run;
      if (shift + run < 64) break;
    }
    base_.store(b, std::memory_order_seq_cst);
  } else {
    std::atomic<uint64_t>& w = word_of(t);
    w.store(w.load(std::memory_order_relaxed) | (uint64_t{1} << (t % 64)),
            std::memory_order_seq_cst);
  }
  // Sleepers register under mu_ (held here), so none is missed. Only those whose condition
  // holds now are woken, not every one.
  if (sleepers_count_.load(std::memory_order_seq_cst) > 0)
    for (Sleeper* s : sleepers_)
      if (ready(s->ticket, s->lane_dep, s->global_dep, s->laned)) s->cv.notify_one();
}

}  // namespace gvirtus::backend
