// gvirtus-bench-turn: the worker's session-wide order (Session::wait_turn / release_turn,
// docs/protocol.md "Tickets") as connections of several client threads pass the turn to each
// other, measured on the CPU: thread i of N carries out tickets i+1, i+1+N, i+1+2N, ... (the
// worst interleaving: every request waits for one of another connection), each "handler" a
// short busy loop like a kernel launch's. Reports handoffs per second (items_per_second, all
// threads together). BM_LanedLaunches: the same, each thread on its own lane.
// BM_StaggeredLanes: laned threads whose tickets lie far apart, as after a staggered start. No
// GPU, no backend process.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <vector>

#include "backend/worker.h"

namespace {

using namespace gvirtus::backend;

std::unique_ptr<Session> g_session;
std::unique_ptr<ConnState> g_conns[16];

void fresh(const benchmark::State& state) {
  g_session = std::make_unique<Session>(ClientInfo{}, SessionOptions{false});
  for (int i = 0; i < state.threads() && i < 16; ++i)
    g_conns[i] = std::make_unique<ConnState>(*g_session, static_cast<uint64_t>(i));
}

void done(const benchmark::State&) {
  for (auto& c : g_conns) c.reset();
  g_session.reset();
}

// About `ns` of work, as a handler's.
void busy(int ns) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < until) {
  }
}

void BM_TurnHandoff(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.threads());
  const uint64_t me = static_cast<uint64_t>(state.thread_index());
  const int work_ns = static_cast<int>(state.range(0));
  Session& s = *g_session;
  ConnState& conn = *g_conns[me];
  uint64_t ticket = me + 1;
  for (auto _ : state) {
    if (s.wait_turn(ticket, conn) != Session::Turn::kReady) {
      state.SkipWithError("lost the turn");
      break;
    }
    busy(work_ns);
    s.release_turn(ticket);
    ticket += n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TurnHandoff)
    ->Setup(fresh)
    ->Teardown(done)
    ->Arg(0)
    ->Arg(2000)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

// The same interleaving of tickets, but every request a launch on its thread's own lane
// (docs/protocol.md, "Lanes"): each waits only for its thread's previous one, so the threads
// do not pass a turn at all. One in `global_every` requests (0: none) is global instead, which
// waits for everything before it, as a cudaEventRecord or a copy would.
void BM_LanedLaunches(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.threads());
  const uint64_t me = static_cast<uint64_t>(state.thread_index());
  const int work_ns = static_cast<int>(state.range(0));
  const uint64_t global_every = static_cast<uint64_t>(state.range(1));
  Session& s = *g_session;
  ConnState& conn = *g_conns[me];
  uint64_t ticket = me + 1, prev = 0;
  for (auto _ : state) {
    // The last global ticket before this one, as the client would name it.
    // Round r holds tickets r * n + 1 ... r * n + n; thread 0's is global in every
    // global_every-th round.
    const uint64_t round = (ticket - 1) / n;
    const bool global = global_every && round % global_every == 0 && me == 0;
    uint64_t last_global = 0;
    if (global_every) {
      uint64_t r = round - round % global_every;
      if (r * n + 1 < ticket) last_global = r * n + 1;
      else if (r >= global_every) last_global = (r - global_every) * n + 1;
    }
    const Session::Turn t = global ? s.wait_turn(ticket, conn)
                                   : s.wait_lane(ticket, prev, last_global, conn);
    if (t != Session::Turn::kReady) {
      state.SkipWithError("lost the turn");
      break;
    }
    busy(work_ns);
    s.release_turn(ticket);
    prev = ticket;
    ticket += n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LanedLaunches)
    ->Setup(fresh)
    ->Teardown(done)
    ->Args({0, 0})
    ->Args({2000, 0})
    ->Args({2000, 16})
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

// Launches on their own lanes from threads that did not start together, as the client numbers
// them: thread i begins `stagger` tickets after thread i - 1 (a new client thread first opens
// its connection while the others already launch, and a client enqueues far faster than the
// GPU takes launches), then all take tickets in turn; the last thread goes on alone at the end.
// Each thread carries out kStaggeredEach launches of `work_ns`. Where threads' tickets lie far
// apart, a bound on how far releases may run ahead of the released prefix couples the threads.
constexpr int kStaggeredEach = 20000;
std::vector<std::vector<uint64_t>> g_staggered;  // each thread's tickets, in its order

void fresh_staggered(const benchmark::State& state) {
  fresh(state);
  const int n = state.threads();
  const uint64_t stagger = static_cast<uint64_t>(state.range(1));
  g_staggered.assign(static_cast<size_t>(n), {});
  uint64_t ticket = 1;
  for (uint64_t step = 0;; ++step) {
    bool any = false;
    for (int i = 0; i < n; ++i) {
      const uint64_t start = stagger * static_cast<uint64_t>(i);
      if (step < start || g_staggered[i].size() == kStaggeredEach) continue;
      g_staggered[i].push_back(ticket++);
      any = true;
    }
    if (!any && step >= stagger * static_cast<uint64_t>(n)) break;
  }
}

void BM_StaggeredLanes(benchmark::State& state) {
  const int work_ns = static_cast<int>(state.range(0));
  const size_t me = static_cast<size_t>(state.thread_index());
  Session& s = *g_session;
  ConnState& conn = *g_conns[me];
  const std::vector<uint64_t>& mine = g_staggered[me];
  size_t k = 0;
  uint64_t prev = 0;
  for (auto _ : state) {
    const uint64_t ticket = mine[k++];
    if (s.wait_lane(ticket, prev, 0, conn) != Session::Turn::kReady) {
      state.SkipWithError("lost the turn");
      break;
    }
    busy(work_ns);
    s.release_turn(ticket);
    prev = ticket;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StaggeredLanes)
    ->Setup(fresh_staggered)
    ->Teardown(done)
    ->Args({2000, 0})
    ->Args({2000, 1000})
    ->Args({2000, 5000})
    ->Args({2000, 20000})
    ->Iterations(kStaggeredEach)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
