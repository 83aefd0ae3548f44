// client::DeadlineWatch: a stream is shut down at its deadline unless the watch ended first; one
// thread serves every watch, also in a forked child.
#include "frontend/core/deadline_watch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "common/transport.h"

namespace gvirtus::testing {
namespace {

using client::DeadlineWatch;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Pair {
  std::unique_ptr<Stream> a, b;
  Pair() { EXPECT_TRUE(stream_pair(&a, &b)); }
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

TEST(DeadlineWatch, ShutsABlockedReceiveDownAtTheDeadline) {
  Pair p;
  auto t0 = Clock::now();
  DeadlineWatch watch(*p.a, t0 + 200ms);
  char c;
  Status st = p.a->recv(&c, 1);  // the peer never sends
  EXPECT_FALSE(st);
  EXPECT_GE(seconds_since(t0), 0.19);
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_TRUE(watch.end());
  EXPECT_TRUE(watch.end());  // the answer stays
}

TEST(DeadlineWatch, AWatchEndedInTimeLeavesTheStreamAlone) {
  Pair p;
  {
    DeadlineWatch watch(*p.a, Clock::now() + 100ms);
    EXPECT_FALSE(watch.end());
  }
  std::this_thread::sleep_for(300ms);  // past the deadline
  char out = 'x', in = 0;
  struct iovec v = {&out, 1};
  ASSERT_TRUE(p.b->send(&v, 1));
  ASSERT_TRUE(p.a->recv(&in, 1));
  EXPECT_EQ(in, 'x');
}

// A far deadline registered first does not hold back a near one registered after it, and the
// near one firing leaves the far one's stream alone.
TEST(DeadlineWatch, EachStreamGoesAtItsOwnDeadline) {
  Pair far_pair, near_pair;
  auto t0 = Clock::now();
  DeadlineWatch far_watch(*far_pair.a, t0 + 30s);
  DeadlineWatch near_watch(*near_pair.a, t0 + 150ms);
  char c;
  EXPECT_FALSE(near_pair.a->recv(&c, 1));
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_TRUE(near_watch.end());
  EXPECT_FALSE(far_watch.end());
  char out = 'y';
  struct iovec v = {&out, 1};
  ASSERT_TRUE(far_pair.b->send(&v, 1));
  ASSERT_TRUE(far_pair.a->recv(&c, 1));
  EXPECT_EQ(c, 'y');
}

// The parent's watch thread does not exist in a forked child: the child's first watch starts
// its own, and a watch the parent had when it forked is not the child's.
TEST(DeadlineWatch, WorksInAForkedChild) {
  Pair parent_pair;
  DeadlineWatch parent_watch(*parent_pair.a, Clock::now() + 30s);  // the thread runs now
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Pair p;
    auto t0 = Clock::now();
    DeadlineWatch watch(*p.a, t0 + 100ms);
    char c;
    const bool received = static_cast<bool>(p.a->recv(&c, 1));
    const bool fired = watch.end();
    ::_exit(!received && fired && seconds_since(t0) < 2.0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(parent_watch.end());
}

}  // namespace
}  // namespace gvirtus::testing
