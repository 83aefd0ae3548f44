// Helpers for the test programs: print results, never pointers or timings, so that a run
// through GVirtuS can be diffed against a native run.
#pragma once
#include <cuda_runtime.h>

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
