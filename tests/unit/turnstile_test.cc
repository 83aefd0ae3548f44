// Turnstile (src/backend/turnstile.h): global and laned tickets, releases out of order, the
// bounded window past the released prefix, tickets that never come, duplicates.
#include "backend/turnstile.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;
using Turn = Turnstile::Turn;

const std::function<bool()> kNever = [] { return false; };

// Runs f on another thread; the future becomes ready when it returns.
template <class F>
std::future<Turn> later(F f) {
  return std::async(std::launch::async, std::move(f));
}

bool still_waiting(std::future<Turn>& f, std::chrono::milliseconds d = 60ms) {
  return f.wait_for(d) == std::future_status::timeout;
}

TEST(Turnstile, OutOfOrderReleasesMoveThePrefixOnceTheGapCloses) {
  Turnstile t;
  t.release(3);
  t.release(2);
  EXPECT_EQ(t.base(), 1u);
  EXPECT_TRUE(t.released(2));
  EXPECT_TRUE(t.released(3));
  EXPECT_FALSE(t.released(1));
  EXPECT_FALSE(t.released(4));
  EXPECT_FALSE(t.reached(2));
  t.release(1);
  EXPECT_EQ(t.base(), 4u);
  EXPECT_TRUE(t.reached(4));
  EXPECT_FALSE(t.released(4));
}

TEST(Turnstile, LanedTicketRunsBeforeEarlierTicketsItDoesNotDependOn) {
  Turnstile t;
  // Ticket 1 (another lane's launch) has not run; 2 depends on nothing: it runs now.
  EXPECT_EQ(t.wait_lane(2, 0, 0, kNever), Turn::kReady);
  t.release(2);
  // 3 follows 2 on its lane: 2 is released, so it runs too.
  EXPECT_EQ(t.wait_lane(3, 2, 0, kNever), Turn::kReady);
  t.release(3);
  EXPECT_EQ(t.base(), 1u);
}

TEST(Turnstile, LanedTicketWaitsForItsLaneAndItsGlobalDependency) {
  Turnstile t;
  auto lane = later([&] { return t.wait_lane(3, 2, 0, kNever); });
  EXPECT_TRUE(still_waiting(lane)) << "ran before the previous launch of its lane";
  t.release(2);
  EXPECT_EQ(lane.get(), Turn::kReady);
  t.release(3);
  auto global = later([&] { return t.wait_lane(5, 0, 4, kNever); });
  EXPECT_TRUE(still_waiting(global)) << "ran before the global request before it";
  t.release(4);
  EXPECT_EQ(global.get(), Turn::kReady);
}

TEST(Turnstile, GlobalTicketWaitsForEveryEarlierTicketLanedOrNot) {
  Turnstile t;
  EXPECT_EQ(t.wait_lane(2, 0, 0, kNever), Turn::kReady);
  t.release(2);
  auto g = later([&] { return t.wait(3, kNever); });
  EXPECT_TRUE(still_waiting(g)) << "a global request ran before ticket 1";
  t.release(1);
  EXPECT_EQ(g.get(), Turn::kReady);
  t.release(3);
  EXPECT_EQ(t.base(), 4u);
}

// Past the window a laned ticket cannot be recorded: it waits as a global one would, until the
// prefix comes close enough, and then runs. (A small window, so the test fills it quickly.)
TEST(Turnstile, WindowOverflowFallsBackToWaiting) {
  constexpr uint64_t w = 128;
  Turnstile t(w);
  // Fill the window: every ticket but 1 released out of order.
  for (uint64_t k = 2; k <= w; ++k) {
    ASSERT_EQ(t.wait_lane(k, 0, 0, kNever), Turn::kReady) << k;
    t.release(k);
  }
  EXPECT_EQ(t.base(), 1u);
  auto past = later([&] { return t.wait_lane(w + 1, 0, 0, kNever); });
  EXPECT_TRUE(still_waiting(past)) << "ran past the window";
  t.release(1);
  EXPECT_EQ(t.base(), w + 1);
  EXPECT_EQ(past.get(), Turn::kReady);
  // The slots of the first window now serve the next one.
  t.release(w + 3);
  EXPECT_TRUE(t.released(w + 3));
  EXPECT_TRUE(t.released(3));
  EXPECT_FALSE(t.released(w + 2));
  EXPECT_FALSE(t.released(w + 1));
  t.release(w + 1);
  t.release(w + 2);
  EXPECT_EQ(t.base(), w + 4);
  // A release past the window (no waiter would have been let run there) records nothing.
  t.release(3 * w);
  EXPECT_FALSE(t.released(3 * w));
  EXPECT_EQ(t.base(), w + 4);
}

// Client threads that started apart hold tickets far apart: thread A's launches at 1..., thread
// B's from tens of thousands on, none waiting for the other. With the default window B's
// launches run while A's first is still unreleased; the bound on memory still holds far out.
TEST(Turnstile, LanedTicketsFarAheadOfAnUnreleasedOneRunAtOnce) {
  Turnstile t;
  uint64_t prev = 0;
  for (uint64_t k = 50000; k < 60000; ++k) {
    ASSERT_EQ(t.wait_lane(k, prev, 0, kNever), Turn::kReady) << k;
    t.release(k);
    prev = k;
  }
  EXPECT_EQ(t.base(), 1u);
  const uint64_t far = 1 + Turnstile::kDefaultWindow;
  auto past = later([&] { return t.wait_lane(far, 0, 0, kNever); });
  EXPECT_TRUE(still_waiting(past)) << "ran past the window";
  for (uint64_t k = 1; k < 50000; ++k) t.release(k);
  EXPECT_EQ(t.base(), 60000u);
  EXPECT_EQ(past.get(), Turn::kReady);
}

// The prefix moves over runs of out-of-order releases of every length and alignment, within
// and across words and around the window's wrap: checked against a plain set after each of
// many random releases.
TEST(Turnstile, PrefixFollowsTheFirstUnreleasedTicket) {
  constexpr uint64_t w = 256;
  Turnstile t(w);
  std::vector<bool> done(1, true);  // done[k]: ticket k released (0 counts as released)
  uint64_t first = 1;               // the reference prefix
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200000 && first < 100000; ++i) {
    // Mostly tickets just past the prefix, sometimes far into the window, sometimes the first.
    const uint64_t span = rng() % 4 == 0 ? w : 70;
    const uint64_t k = rng() % 16 == 0 ? first : first + rng() % span;
    if (done.size() <= k + w) done.resize(k + w + 1, false);
    t.release(k);
    done[k] = true;
    while (done[first]) ++first;
    ASSERT_EQ(t.base(), first) << "after releasing " << k;
    const uint64_t probe = first + rng() % w;
    ASSERT_EQ(t.released(probe), bool(done[probe])) << probe;
  }
  EXPECT_GE(first, 10000u);
}

// A dependency that never comes holds only the waiter, and only until its client is gone.
TEST(Turnstile, TicketThatNeverComesEndsWhenTheClientGoes) {
  Turnstile t;
  std::atomic<bool> gone{false};
  auto w = later([&] { return t.wait_lane(9, 8, 0, [&] { return gone.load(); }); });
  EXPECT_TRUE(still_waiting(w, 300ms));
  // Other lanes go on meanwhile.
  EXPECT_EQ(t.wait_lane(10, 0, 0, kNever), Turn::kReady);
  t.release(10);
  gone = true;
  EXPECT_EQ(w.get(), Turn::kClosed);
  // So does a global request.
  auto g = later([&] { return t.wait(4, [&] { return gone.load(); }); });
  EXPECT_EQ(g.get(), Turn::kClosed);
}

TEST(Turnstile, DuplicatesAreToldTheyPassed) {
  Turnstile t;
  EXPECT_EQ(t.wait_lane(5, 0, 0, kNever), Turn::kReady);
  t.release(5);
  EXPECT_EQ(t.wait_lane(5, 0, 0, kNever), Turn::kPassed);
  EXPECT_EQ(t.wait(5, kNever), Turn::kPassed);
  t.release(5);  // twice: nothing changes
  EXPECT_EQ(t.base(), 1u);
  EXPECT_EQ(t.wait(1, kNever), Turn::kReady);
  t.release(1);
  EXPECT_EQ(t.wait(1, kNever), Turn::kPassed);
  EXPECT_EQ(t.wait_lane(1, 0, 0, kNever), Turn::kPassed);
  t.release(1);
  EXPECT_EQ(t.base(), 2u);
  // A duplicate asleep behind a dependency is woken when its ticket is released by the other.
  auto dup = later([&] { return t.wait_lane(7, 6, 0, kNever); });
  EXPECT_TRUE(still_waiting(dup));
  t.release(7);
  EXPECT_EQ(dup.get(), Turn::kPassed);
}

// (run_lanes) Many threads, each with its own lane, some requests global, as the client numbers them: every
// request runs only after what it must follow, and laned ones of different threads overlap.
void run_lanes(uint64_t window) {
  constexpr int kThreads = 4, kEach = 3000;
  constexpr uint64_t kTotal = uint64_t{kThreads} * kEach;
  // The client's numbering: tickets in a shuffled round of threads; 1 in 8 requests global.
  struct Req {
    int thread;
    bool global;
    uint64_t lane_dep, global_dep;
  };
  std::vector<Req> reqs(kTotal + 1);
  std::vector<std::vector<uint64_t>> mine(kThreads);
  std::mt19937 rng(7);
  uint64_t last_global = 0;
  std::vector<uint64_t> last_of_lane(kThreads, 0);
  for (uint64_t ticket = 1; ticket <= kTotal; ++ticket) {
    int th;
    do th = static_cast<int>(rng() % kThreads);
    while (mine[th].size() == kEach);
    const bool global = rng() % 8 == 0;
    reqs[ticket] = {th, global, last_of_lane[th], last_global};
    if (global) last_global = ticket;
    else last_of_lane[th] = ticket;
    mine[th].push_back(ticket);
  }
  Turnstile t(window);
  std::unique_ptr<std::atomic<bool>[]> done(new std::atomic<bool>[kTotal + 1]());
  std::atomic<int> violations{0};
  std::atomic<int> overlapped{0};  // laned requests that ran while an earlier one had not
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th)
    threads.emplace_back([&, th] {
      for (uint64_t ticket : mine[th]) {
        const Req& r = reqs[ticket];
        const Turn turn = r.global ? t.wait(ticket, kNever)
                                   : t.wait_lane(ticket, r.lane_dep, r.global_dep, kNever);
        if (turn != Turn::kReady) {
          ++violations;
          return;
        }
        if (r.global) {
          for (uint64_t k = 1; k < ticket; ++k)
            if (!done[k]) {
              ++violations;
              break;
            }
        } else {
          if ((r.lane_dep && !done[r.lane_dep]) || (r.global_dep && !done[r.global_dep]))
            ++violations;
          if (!t.reached(ticket)) ++overlapped;
        }
        done[ticket] = true;
        t.release(ticket);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(t.base(), kTotal + 1);
  // Not a correctness rule, but the point of lanes: some launches did not wait for others.
  EXPECT_GT(overlapped.load(), 0);
}

TEST(Turnstile, ThreadsOnTheirOwnLanesKeepEveryOrderingRule) { run_lanes(Turnstile::kDefaultWindow); }

// The same with a window of 64 tickets: releases from several threads at once set and clear
// bits of shared words, the prefix wraps around the window many times, and laned requests
// wait at its edge.
TEST(Turnstile, ThreadsOnTheirOwnLanesKeepEveryOrderingRuleInASmallWindow) { run_lanes(64); }

// Threads releasing tickets out of order at the same time, none waiting (only within the
// window): every release is recorded, the prefix ends past the last ticket, and no waiter for
// any ticket is left asleep.
TEST(Turnstile, ConcurrentOutOfOrderReleasesAllReachThePrefix) {
  constexpr int kThreads = 4;
  constexpr uint64_t kTotal = 200000, kWindow = 256;
  for (int round = 0; round < 3; ++round) {
    Turnstile t(kWindow);
    std::vector<std::vector<uint64_t>> mine(kThreads);
    std::mt19937 rng(static_cast<unsigned>(round));
    for (uint64_t k = 1; k <= kTotal; ++k) mine[rng() % kThreads].push_back(k);
    // A prefix that stopped moving fails the test instead of hanging it.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    const std::function<bool()> too_late = [deadline] {
      return std::chrono::steady_clock::now() > deadline;
    };
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th)
      threads.emplace_back([&, th] {
        for (uint64_t k : mine[th]) {
          // Within the window: a laned wait with no dependency waits only for that.
          if (t.wait_lane(k, 0, 0, too_late) != Turn::kReady) return;
          t.release(k);
        }
      });
    // A global waiter for the last ticket wakes once every earlier one is in.
    auto last = later([&] { return t.wait(kTotal, too_late); });
    for (auto& th : threads) th.join();
    ASSERT_EQ(last.wait_for(5s), std::future_status::ready) << "round " << round;
    EXPECT_NE(last.get(), Turn::kClosed);  // ready, or passed if its ticket went first
    EXPECT_EQ(t.base(), kTotal + 1) << "round " << round;
  }
}

}  // namespace
}  // namespace gvirtus::backend
