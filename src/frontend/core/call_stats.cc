// call_stats.h: counts by call id, printed at exit.
#include "frontend/core/call_stats.h"

#include "frontend/core/client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gvirtus::client {
namespace {

// Call ids are below 16384 (api/*.api); larger ones share the last slot.
constexpr uint32_t kSlots = 16384;

struct Counts {
  std::atomic<uint64_t> sent[kSlots];
  std::atomic<uint64_t> waited[kSlots];
};

Counts* g_counts = nullptr;  // set once, at load, when GVIRTUS_CALL_STATS=1
std::atomic<uint64_t> g_round_trips{0};  // always counted (client.h, round_trips)

void print_counts() {
  struct Row {
    uint32_t id;
    uint64_t sent, waited;
  };
  std::vector<Row> rows;
  uint64_t total = 0, total_waited = 0;
  for (uint32_t i = 0; i < kSlots; ++i) {
    uint64_t s = g_counts->sent[i].load(std::memory_order_relaxed);
    if (s == 0) continue;
    uint64_t w = g_counts->waited[i].load(std::memory_order_relaxed);
    rows.push_back({i, s, w});
    total += s;
    total_waited += w;
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.waited != b.waited ? a.waited > b.waited : a.sent > b.sent;
  });
  std::fprintf(stderr, "gvirtus: call stats (pid %d): %llu requests, %llu waited for a reply\n",
               static_cast<int>(::getpid()), static_cast<unsigned long long>(total),
               static_cast<unsigned long long>(total_waited));
  std::fprintf(stderr, "gvirtus: %8s %12s %12s\n", "call id", "sent", "waited");
  for (const Row& r : rows)
    std::fprintf(stderr, "gvirtus: %8u %12llu %12llu\n", r.id,
                 static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.waited));
}

__attribute__((constructor)) void enable_from_environment() {
  const char* v = std::getenv("GVIRTUS_CALL_STATS");
  if (!v || std::strcmp(v, "1") != 0) return;
  g_counts = new Counts();
  std::atexit(print_counts);
}

}  // namespace

void count_call(uint32_t call_id, bool waits_for_reply) {
  if (waits_for_reply) g_round_trips.fetch_add(1, std::memory_order_relaxed);
  Counts* c = g_counts;
  if (!c) return;
  uint32_t i = call_id < kSlots ? call_id : kSlots - 1;
  c->sent[i].fetch_add(1, std::memory_order_relaxed);
  if (waits_for_reply) c->waited[i].fetch_add(1, std::memory_order_relaxed);
}

uint64_t round_trips() { return g_round_trips.load(std::memory_order_relaxed); }

}  // namespace gvirtus::client
