// Helpers for the driver-API test programs: print results (never pointers or timings) so that
// a run through GVirtuS can be diffed against a native run.
#pragma once
#include <cuda.h>

#include <cstdio>
#include <cstdlib>

inline const char* drv_name(CUresult e) {
  const char* s = nullptr;
  if (cuGetErrorName(e, &s) != CUDA_SUCCESS || !s) return "(unknown CUresult)";
  return s;
}

// Prints "what: NAME" and returns the code.
inline CUresult dreport(const char* what, CUresult e) {
  std::printf("%s: %s\n", what, drv_name(e));
  return e;
}
#define DREPORT(call) dreport(#call, (call))

inline void dcheck(CUresult e, const char* what, int line) {
  if (e == CUDA_SUCCESS) return;
  const char* str = nullptr;
  cuGetErrorString(e, &str);
  std::printf("FAILED line %d: %s: %s (%s)\n", line, what, drv_name(e), str ? str : "?");
  std::exit(1);
}
#define DCHECK(call) dcheck((call), #call, __LINE__)

inline int dverdict(bool ok) {
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
