// Answers the client keeps so that asking again costs no round trip, where the answer cannot
// change while the session lives: the calling thread's current device (until the thread changes
// it, or changes its driver context), the device count, device properties and attributes,
// kernel attributes and occupancy (until a kernel attribute is set). Shared by libcudart.so.13
// and libcuda.so.1 (a driver call that changes the thread's context forgets its current
// device), so it lives in libgvirtus-frontend.so.
//
// Only successful answers are kept; nothing is answered from here once the session is lost (the
// call then fails as every other does), and a forked child starts empty (its session, and so its
// worker, is a new one).
#pragma once
#include <cstddef>
#include <string>

#include "frontend/core/client.h"

namespace gvirtus::client {

// The calling thread's current device, if this thread learnt it (a cudaGetDevice or
// cudaSetDevice that succeeded) and nothing changed its context since; 0 for a thread that
// neither learnt nor changed it, once another thread of the process learnt its own (a new host
// thread's device natively, and the device of the worker's new thread that serves the client
// thread's own connection; before that, the runtime may not work at all). So a new thread's first
// launch needs no round trip to learn its device: one would wait its turn behind every launch
// the program's other threads queued before it.
GV_API bool recall_current_device(int* device);
// The same, or -1 when this thread's device is not known.
GV_API int known_current_device();
GV_API void remember_current_device(int device);
// The thread's context changed (cuCtxSetCurrent, cuCtxPushCurrent, cuCtxDestroy, ...): forgets
// the current device and context.
GV_API void forget_current_device();
// The calling thread's current driver context (cuCtxGetCurrent), if this thread learnt it while
// its current device was known, and neither changed since. A NULL answer is never kept: the
// runtime makes its primary context current at its first call on the thread.
GV_API bool recall_current_context(void** ctx);
GV_API void remember_current_context(void* ctx);
// cudaSetDevice makes the device's primary context current even on the same device.
GV_API void forget_current_context();
// A device's primary context flags and state (cuDevicePrimaryCtxGetState), kept only while it
// is active (an inactive one becomes active at the runtime's next call, unseen).
GV_API bool recall_primary_context(int device, unsigned int* flags, int* active);
GV_API void remember_primary_context(int device, unsigned int flags, int active);
// A primary context may have changed (cudaDeviceReset, cudaSetDeviceFlags, the driver's primary
// context release, reset and flags): forgets their states, and every thread's current context.
GV_API void forget_primary_contexts();

// Process-wide answers by key: `n` bytes kept under `key` (keys start with a kind, e.g.
// "count", "prop:<device>", "func:<...>").
GV_API bool recall_answer(const std::string& key, void* out, size_t n);
GV_API void remember_answer(const std::string& key, const void* in, size_t n);
// Forgets every answer whose key starts with `prefix` (kernel attributes after one was set).
GV_API void forget_answers(const std::string& prefix);
// A number that moves whenever forget_answers forgets anything, and in a forked child: answers
// kept elsewhere (a kernel's launch limits, launch_check.cc) are good while it stays the same.
// One atomic load.
GV_API uint64_t answers_generation();

// Stream capture in this process (libcudart and libcuda note each capture that began and each
// that ended successfully). While one may be active, a launch can fail at once in ways only the
// worker knows (an implicit legacy-stream dependency, say), so launches wait for their result.
// A capture that ends in an error is not counted down: that only makes launches wait longer.
GV_API void note_capture_begun();
GV_API void note_capture_ended();
GV_API bool capture_may_be_active();

}  // namespace gvirtus::client
