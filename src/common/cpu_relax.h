// The pause a spin-wait makes between looks (the shm rings, the worker's turnstile, the
// client's send threads): tells the CPU this is a spin loop, so it saves power and yields to
// its sibling hyper-thread.
#pragma once

#include <sched.h>

namespace gvirtus {

// Whether this process may run on one CPU only (its affinity mask). A spin-wait there would
// only keep the thread it waits for (the other side of a connection on the same host) from
// running: the client's reply poll and the backend's request poll are off then.
inline bool one_cpu_only() {
  cpu_set_t cpus;
  return ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace gvirtus
