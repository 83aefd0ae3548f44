// Session::wait_turn / release_turn (serve.cc): the worker's session-wide order of tickets, as
// threads of several connections pass the turn, spinning (yielding after a while) or asleep,
// each woken only when its own turn comes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "backend/worker.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;

// Four threads take tickets round-robin, more of them than the CPUs here: every ticket runs
// once, in order.
TEST(Turn, RoundRobinAcrossThreadsRunsEveryTicketInOrder) {
  Session s(ClientInfo{}, SessionOptions{false});
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::unique_ptr<ConnState>> conns;
  for (int i = 0; i < kThreads; ++i) conns.push_back(std::make_unique<ConnState>(s, i));
  std::atomic<uint64_t> last{0};
  std::atomic<int> out_of_order{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        const uint64_t ticket = static_cast<uint64_t>(j) * kThreads + i + 1;
        ASSERT_EQ(s.wait_turn(ticket, *conns[i]), Session::Turn::kReady);
        if (last.exchange(ticket) != ticket - 1) ++out_of_order;
        s.release_turn(ticket);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(last.load(), uint64_t{kThreads} * kEach);
}

// Sleepers (waiting far longer than the spin) wake when their turn comes, not before; one whose
// ticket was passed meanwhile learns it.
TEST(Turn, SleepersWakeForTheirOwnTurn) {
  Session s(ClientInfo{}, SessionOptions{false});
  ConnState a(s, 0), b(s, 1), c(s, 2);
  std::atomic<int> done{0};
  std::thread t3([&] {
    EXPECT_EQ(s.wait_turn(3, b), Session::Turn::kReady);
    ++done;
    s.release_turn(3);
  });
  std::thread t4([&] {
    EXPECT_EQ(s.wait_turn(4, c), Session::Turn::kReady);
    ++done;
    s.release_turn(4);
  });
  std::this_thread::sleep_for(30ms);  // both asleep now
  ASSERT_EQ(s.wait_turn(1, a), Session::Turn::kReady);
  s.release_turn(1);
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(done.load(), 0);  // ticket 2 has not run: nobody went ahead
  ASSERT_EQ(s.wait_turn(2, a), Session::Turn::kReady);
  s.release_turn(2);
  t3.join();
  t4.join();
  EXPECT_EQ(done.load(), 2);
  // A ticket that is already behind the turn (a replay) is told so at once.
  EXPECT_EQ(s.wait_turn(2, a), Session::Turn::kPassed);
}

}  // namespace
}  // namespace gvirtus::backend
