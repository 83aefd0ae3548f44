// Helpers for the test programs: print results, never pointers or timings, so that a run
// through GVirtuS can be diffed against a native run.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// Prints "what: cudaErrorName" (or "what: cudaSuccess") and returns the code.
inline cudaError_t report(const char* what, cudaError_t e) {
  std::printf("%s: %s\n", what, cudaGetErrorName(e));
  return e;
}
#define REPORT(call) report(#call, (call))

// Stops the program (exit 1) with the error's name if a call that must succeed fails.
inline void check(cudaError_t e, const char* what, int line) {
  if (e == cudaSuccess) return;
  std::printf("FAILED line %d: %s: %s (%s)\n", line, what, cudaGetErrorName(e), cudaGetErrorString(e));
  std::exit(1);
}
#define CHECK(call) check((call), #call, __LINE__)

// The program's verdict: PASS and exit 0, or FAIL and exit 1.
inline int verdict(bool ok) {
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

// FNV-1a over n bytes: a result's fingerprint, printed so native and remote runs compare.
inline uint64_t fnv(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 14695981039346656037ull;  // the 64-bit offset basis
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
