// The pause a spin-wait makes between looks (the shm rings, the worker's turnstile, the
// client's send threads): tells the CPU this is a spin loop, so it saves power and yields to
// its sibling hyper-thread.
#pragma once

namespace gvirtus {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace gvirtus
