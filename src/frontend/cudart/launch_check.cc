// launch_check.h: the client's proof that a launch will be accepted.
#include "frontend/cudart/launch_check.h"

#include <cstdint>
#include <mutex>
#include <string>

#include "frontend/core/answers.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {

namespace {

using Limits = LaunchLimits;

// Writers of the kernels' limit caches (one gvLaunchLimits answer at a time is kept).
std::mutex g_put_mu;

// Kept in the kernel's record per device, good while client::answers_generation() stays (it
// moves when a kernel attribute or cache configuration is set, as the "func:" answers are
// forgotten, and in a forked child).
// GCC 12 misreads the first growth of the request's vector here (a known false positive of
// -Wstringop-overflow with std::vector::insert into an empty vector).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
bool limits(Kernel* k, Limits* out) {
  int device = 0;
  // Read before asking: an answer that crosses a change is kept under the old generation.
  const uint64_t generation = client::answers_generation();
  if (client::recall_current_device(&device)) {
    const LaunchLimitsCache* kept = k->limits.load(std::memory_order_acquire);
    if (kept && kept->get(device, generation, out)) return true;
  }
  client::Call c(id(Call::kCall_gvLaunchLimits));
  c.args().put<uint64_t>(k->kernel_id);
  if (!c.invoke()) return false;
  // A failure of an earlier request without a reply arrives here as on any reply.
  if (c.deferred() != 0) set_last_error(static_cast<cudaError_t>(c.deferred()));
  if (c.status() != 0) return false;
  wire::Reader& r = c.result();
  device = r.get<int32_t>();
  for (int32_t& v : out->grid) v = r.get<int32_t>();
  for (int32_t& v : out->block) v = r.get<int32_t>();
  out->threads = r.get<int32_t>();
  out->dyn_smem = r.get<int32_t>();
  r.expect_end();
  client::remember_current_device(device);  // the worker thread's, so this thread's
  std::lock_guard<std::mutex> g(g_put_mu);
  LaunchLimitsCache* kept = k->limits.load(std::memory_order_relaxed);
  if (!kept) {
    kept = new LaunchLimitsCache;
    k->limits.store(kept, std::memory_order_release);
  }
  kept->put(device, generation, *out);
  return true;
}
#pragma GCC diagnostic pop

bool within(unsigned v, int32_t limit) { return v >= 1 && static_cast<int64_t>(v) <= limit; }

}  // namespace

bool launch_surely_accepted(Kernel* k, dim3 grid, dim3 block, size_t shmem) {
  if (client::capture_may_be_active()) return false;
  Limits l{};
  try {
    if (!limits(k, &l)) return false;
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("gvLaunchLimits: ") + e.what());
    return false;
  }
  const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
  return within(grid.x, l.grid[0]) && within(grid.y, l.grid[1]) && within(grid.z, l.grid[2]) &&
         within(block.x, l.block[0]) && within(block.y, l.block[1]) &&
         within(block.z, l.block[2]) && l.threads > 0 &&
         threads <= static_cast<uint64_t>(l.threads) && l.dyn_smem >= 0 &&
         shmem <= static_cast<size_t>(l.dyn_smem);
}

bool memset_surely_accepted(const void* ptr, size_t count) {
  if (client::capture_may_be_active() || count == 0) return false;
  RangeMap::Range r;
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  return device_ranges().find(p, &r) && (r.tag & client::kReservedRange) == 0 &&
         count <= r.size - (p - r.base);
}

}  // namespace gvirtus::cudart
