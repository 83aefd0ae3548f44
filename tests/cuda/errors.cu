// Runs anywhere, GPU or not: error names and strings, versions, the device count (an error on a
// machine without a GPU), invalid arguments.
#include <cstring>

#include "check.h"

int main() {
  int runtime = -1;
  REPORT(cudaRuntimeGetVersion(&runtime));
  std::printf("runtime version %d\n", runtime);
  int driver = -1;
  REPORT(cudaDriverGetVersion(&driver));
  std::printf("driver version %s\n", driver > 0 ? "present" : "absent");

  int count = -1;
  cudaError_t e = REPORT(cudaGetDeviceCount(&count));
  if (e == cudaSuccess)
    std::printf("device count %d\n", count);
  else
    std::printf("device count error: %s: %s\n", cudaGetErrorName(e), cudaGetErrorString(e));

  REPORT(cudaRuntimeGetVersion(nullptr));
  REPORT(cudaDriverGetVersion(nullptr));

  // Every code the runtime knows by name, and a few it does not.
  int known = 0;
  for (int code = 0; code < 1100; ++code) {
    const char* name = cudaGetErrorName(static_cast<cudaError_t>(code));
    if (std::strstr(name, "unrecognized")) continue;
    ++known;
    std::printf("%d %s: %s\n", code, name, cudaGetErrorString(static_cast<cudaError_t>(code)));
  }
  std::printf("known codes %d\n", known);
  for (int code : {-1, 1100, 99999}) {
    std::printf("%d %s: %s\n", code, cudaGetErrorName(static_cast<cudaError_t>(code)),
                cudaGetErrorString(static_cast<cudaError_t>(code)));
  }
  return 0;
}
