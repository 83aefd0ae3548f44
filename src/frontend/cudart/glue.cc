// glue.h: the thread's last error, loss and reply completion; registers the "cudart" plugin.
#include "frontend/cudart/glue.h"

#include <atomic>

#include "frontend/cudart/local.h"

namespace gvirtus::cudart {

namespace {

// A plain int: trivially destructible, usable from thread-exit handlers.
thread_local int t_last_error = cudaSuccess;

// Every error recorded anywhere in the process bumps the generation; the sticky check below
// remembers the generation it last found clean.
std::atomic<uint64_t> g_error_generation{1};

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cudart"); }

// The generation of the last sticky check that found nothing (0: never checked).
std::atomic<uint64_t> g_clean_generation{0};

// The error state the application sees is the thread's last error, kept here, unless the
// worker's runtime is in a sticky error state (initialisation failed, or a kernel fault broke
// the context): then that error is returned every time, as natively. Asking costs a round trip,
// so it is done only when it can matter: an error was recorded since the last clean check (or
// none was made yet). Requests sent without a reply do not count: a launch goes out that way
// only when it is sure to be accepted (launch_check.h), so what may still fail is asynchronous
// natively too, and arrives with a later reply. Returns the sticky error or cudaSuccess.
cudaError_t sticky_error() {
  uint64_t gen = error_generation();
  if (g_clean_generation.load(std::memory_order_acquire) == gen) return cudaSuccess;
  client::Call c(id(Call::kCall_gvStickyError));
  if (!c.invoke()) return lost();
  if (c.deferred() != 0) set_last_error(static_cast<cudaError_t>(c.deferred()));
  if (c.status() != 0) return static_cast<cudaError_t>(c.status());
  // Clean as of `gen` (an error recorded meanwhile, a deferred one included, has a newer
  // generation and is checked next time).
  uint64_t seen = g_clean_generation.load(std::memory_order_acquire);
  while (seen < gen && !g_clean_generation.compare_exchange_weak(seen, gen)) {
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t argument_error(cudaError_t e) {
  client::Call c(id(Call::kCall_gvContextCheck));
  if (!c.invoke()) return lost();
  if (c.deferred() != 0) set_last_error(static_cast<cudaError_t>(c.deferred()));
  return fail(c.status() != 0 ? static_cast<cudaError_t>(c.status()) : e);
}

cudaError_t last_error(bool reset) {
  // A deferred failure of this thread's <<<>>> launches that came back with a reply to another
  // library (libcuda.so.1) is this thread's error too.
  if (int32_t d = client::take_deferred_error()) set_last_error(static_cast<cudaError_t>(d));
  cudaError_t sticky = sticky_error();
  cudaError_t last = reset ? take_last_error() : peek_last_error();
  return sticky != cudaSuccess ? sticky : last;
}

void set_last_error(cudaError_t e) {
  t_last_error = e;
  if (e != cudaSuccess) g_error_generation.fetch_add(1, std::memory_order_acq_rel);
}

uint64_t error_generation() { return g_error_generation.load(std::memory_order_acquire); }

bool no_error_recorded() {
  return g_clean_generation.load(std::memory_order_acquire) == error_generation();
}

cudaError_t peek_last_error() { return static_cast<cudaError_t>(t_last_error); }

cudaError_t take_last_error() {
  cudaError_t e = static_cast<cudaError_t>(t_last_error);
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t lost() {
  set_last_error(cudaErrorDevicesUnavailable);
  return cudaErrorDevicesUnavailable;
}

cudaError_t finish(const client::Call& c) {
  if (c.deferred() != 0) set_last_error(static_cast<cudaError_t>(c.deferred()));
  // cudaErrorNotReady (a query of unfinished work) is an answer, not an error: the real runtime
  // leaves the last error alone (checked on the GPU machine with tests/cuda/streams_events).
  if (c.status() != 0 && c.status() != cudaErrorNotReady) {
    set_last_error(static_cast<cudaError_t>(c.status()));
  }
  return static_cast<cudaError_t>(c.status());
}

RangeMap& device_ranges() { return client::device_ranges(); }

void track_device_allocation(uint64_t ptr, uint64_t size) {
  client::record_device_range(static_cast<uintptr_t>(ptr), static_cast<size_t>(size), 0, true);
}

void track_mirrored_allocation(uint64_t ptr, uint64_t size) {
  client::record_device_range(static_cast<uintptr_t>(ptr), static_cast<size_t>(size),
                              client::kMirroredRange, false);
}

void untrack_device_allocation(uint64_t ptr) {
  client::forget_device_range(static_cast<uintptr_t>(ptr));
}

namespace {
thread_local client::RangeMap::Range t_freeing;  // size 0: none kept
}  // namespace

void free_begins(uint64_t ptr) {
  t_freeing = client::RangeMap::Range{};
  if (ptr) client::device_range_at(static_cast<uintptr_t>(ptr), &t_freeing);
}

void free_done() {
  const client::RangeMap::Range r = t_freeing;
  t_freeing = client::RangeMap::Range{};
  if (r.size != 0) client::forget_device_range_if_same(r);
}

void free_failed() { t_freeing = client::RangeMap::Range{}; }

bool is_tracked_device(uint64_t ptr) {
  return device_ranges().contains(reinterpret_cast<const void*>(static_cast<uintptr_t>(ptr)));
}

}  // namespace gvirtus::cudart
