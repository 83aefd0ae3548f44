// Run through `gvirtus run` (its private backend is on shm:): page-locked memory is shared with
// the worker (another process maps the same memory file) and stops being shared when freed;
// async copies into it only enqueue (the call returns while a kernel ahead of it still runs);
// copies on one stream overlap a kernel on another. docs/zero-copy.md. Exit 0 and PASS, or
// the failed check and exit 1.
#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "../cuda/check.h"

__global__ void busy(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
}

static bool ok = true;
static void expect(bool c, const char* what) {
  std::printf("%s: %s\n", what, c ? "ok" : "FAILED");
  ok &= c;
}

// "dev inode" of the memory file mapped at p in this process, if it is a GVirtuS shared block.
static std::string file_of(const void* p) {
  std::ifstream m("/proc/self/maps");
  std::string line;
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(m, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi) continue;
    if (line.find("gvirtus-host") == std::string::npos) return "";
    std::istringstream f(line);
    std::string range, perms, off, dev, inode;
    f >> range >> perms >> off >> dev >> inode;
    return dev + " " + inode;
  }
  return "";
}

// Processes other than this one that map the memory file `id` (from file_of).
static int others_mapping(const std::string& id) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  const std::string self = std::to_string(getpid());
  while (dirent* e = readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0])) || self == e->d_name) continue;
    std::ifstream m(std::string("/proc/") + e->d_name + "/maps");
    std::string line;
    while (std::getline(m, line)) {
      if (line.find("gvirtus-host") == std::string::npos) continue;
      std::istringstream f(line);
      std::string range, perms, off, dev, inode;
      f >> range >> perms >> off >> dev >> inode;
      if (dev + " " + inode == id) {
        ++n;
        break;
      }
    }
  }
  closedir(d);
  return n;
}

int main() {
  const size_t bytes = 64u << 20;
  char* dev;
  CHECK(cudaMalloc(&dev, bytes));
  char* h;
  CHECK(cudaMallocHost(&h, bytes));
  const std::string id = file_of(h);
  expect(!id.empty(), "cudaMallocHost memory is a shared memory file");
  expect(others_mapping(id) == 1, "the worker maps it too");

  cudaStream_t ks, cs;
  CHECK(cudaStreamCreateWithFlags(&ks, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking));

  // A device-to-host copy behind a 300 ms kernel on the same stream returns at once.
  CHECK(cudaMemset(dev, 0x5a, bytes));
  std::memset(h, 0, bytes);
  busy<<<1, 1, 0, cs>>>(300000000ull);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(cudaMemcpyAsync(h, dev, bytes, cudaMemcpyDeviceToHost, cs));
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  expect(ms < 150, "cudaMemcpyAsync to pinned memory returns before the kernel ahead of it ends");
  expect(cudaStreamQuery(cs) == cudaErrorNotReady, "the copy is still pending");
  CHECK(cudaStreamSynchronize(cs));
  bool all = true;
  for (size_t i = 0; i < bytes; ++i) all &= h[i] == 0x5a;
  expect(all, "the data is there after the synchronisation");

  // Copies on one stream finish while a kernel on another still runs.
  for (size_t i = 0; i < bytes; ++i) h[i] = static_cast<char>(i * 7);
  busy<<<1, 1, 0, ks>>>(300000000ull);
  CHECK(cudaMemcpyAsync(dev, h, bytes, cudaMemcpyHostToDevice, cs));
  CHECK(cudaStreamSynchronize(cs));
  expect(cudaStreamQuery(ks) == cudaErrorNotReady, "the copy overlapped the kernel");
  std::memset(h, 0, bytes);
  CHECK(cudaMemcpy(h, dev, bytes, cudaMemcpyDeviceToHost));
  all = true;
  for (size_t i = 0; i < bytes; ++i) all &= h[i] == static_cast<char>(i * 7);
  expect(all, "the overlapped copy carried the right bytes");
  CHECK(cudaStreamSynchronize(ks));

  // Freed: no process maps the memory any more (the worker unmapped it; so did we).
  CHECK(cudaFreeHost(h));
  expect(others_mapping(id) == 0, "after cudaFreeHost the worker no longer maps the memory");
  expect(cudaFreeHost(h) == cudaErrorInvalidValue, "a second cudaFreeHost is refused");

  CHECK(cudaStreamDestroy(ks));
  CHECK(cudaStreamDestroy(cs));
  CHECK(cudaFree(dev));
  return verdict(ok);
}
