// GVirtuS only (no native comparison: natively these work): managed memory and device pointers
// to host memory are refused with cudaErrorNotSupported, never silently wrong. Needs no backend
// and no GPU: the refusals are answered by the library before anything is sent. The test also
// checks the log line on stderr (tests/cuda_arrays.cmake).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <vector>

namespace {
bool expect(const char* what, cudaError_t got) {
  std::printf("%s: %s\n", what, cudaGetErrorName(got));
  return got == cudaErrorNotSupported;
}
}  // namespace

int main() {
  bool ok = true;
  void* p = nullptr;
  ok &= expect("cudaMallocManaged", cudaMallocManaged(&p, 4096, cudaMemAttachGlobal));
  ok &= p == nullptr;
  ok &= expect("cudaHostAlloc mapped", cudaHostAlloc(&p, 4096, cudaHostAllocMapped));
  std::vector<char> buf(4096);
  ok &= expect("cudaHostRegister mapped",
               cudaHostRegister(buf.data(), buf.size(), cudaHostRegisterMapped));
  void* d = nullptr;
  ok &= expect("cudaHostGetDevicePointer", cudaHostGetDevicePointer(&d, buf.data(), 0));
  cudaMemLocation loc = {};
  loc.type = cudaMemLocationTypeDevice;
  ok &= expect("cudaMemPrefetchAsync", cudaMemPrefetchAsync(buf.data(), 64, loc, 0, 0));
  ok &= expect("cudaMemAdvise", cudaMemAdvise(buf.data(), 64, cudaMemAdviseSetReadMostly, loc));
  ok &= expect("cudaStreamAttachMemAsync", cudaStreamAttachMemAsync(0, buf.data(), 0, cudaMemAttachHost));
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
