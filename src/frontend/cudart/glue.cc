// glue.h: the thread's last error, loss and reply completion; registers the "cudart" plugin.
#include "frontend/cudart/glue.h"

#include "frontend/cudart/local.h"

namespace gvirtus::cudart {

namespace {

// A plain int: trivially destructible, usable from thread-exit handlers.
thread_local int t_last_error = cudaSuccess;

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cudart"); }

}  // namespace

void set_last_error(cudaError_t e) { t_last_error = e; }

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

RangeMap& device_ranges() {
  static auto* m = new RangeMap;  // never destroyed: frees may come from static destructors
  return *m;
}

void track_device_allocation(uint64_t ptr, uint64_t size) {
  if (ptr && size) device_ranges().assign(static_cast<uintptr_t>(ptr), static_cast<size_t>(size));
}

void untrack_device_allocation(uint64_t ptr) {
  device_ranges().remove(static_cast<uintptr_t>(ptr));
}

}  // namespace gvirtus::cudart
