// Zeroing new allocations (clearing.h).
#include "backend/cudart/clearing.h"

#include <atomic>
#include <map>
#include <mutex>

namespace gvirtus::backend::cudart {
namespace {

std::atomic<bool> g_clear{false};

// One private stream per device, created on first use and kept for the worker's life: a
// non-blocking stream, so the zeroing neither waits for nor joins the client's work on the
// legacy default stream, and is allowed while another thread captures a graph.
cudaError_t private_stream(cudaStream_t* out) {
  static std::mutex mu;
  static auto* streams = new std::map<int, cudaStream_t>;
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  std::lock_guard<std::mutex> g(mu);
  auto it = streams->find(dev);
  if (it != streams->end()) {
    *out = it->second;
    return cudaSuccess;
  }
  cudaStream_t s = nullptr;
  e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  if (e != cudaSuccess) return e;
  (*streams)[dev] = s;
  *out = s;
  return cudaSuccess;
}

}  // namespace

void set_clear_new_memory(bool on) { g_clear.store(on); }
bool clear_new_memory() { return g_clear.load(); }

cudaError_t clear_allocation(void* p, size_t n, cudaStream_t stream, bool stream_ordered) {
  if (n == 0 || p == nullptr) return cudaSuccess;
  if (stream_ordered) return cudaMemsetAsync(p, 0, n, stream);
  cudaStream_t s = nullptr;
  cudaError_t e = private_stream(&s);
  if (e == cudaSuccess) e = cudaMemsetAsync(p, 0, n, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  return e;
}

}  // namespace gvirtus::backend::cudart
