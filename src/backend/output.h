// The worker's standard output and error, sent to the client: the CUDA driver writes device printf
// output to the process's stdout at synchronisation points, and a failed device-side assert()'s
// message to its stderr; they belong on the application's. One capture per descriptor.
//
// start() points file descriptor 1 at a pipe. A thread keeps the pipe drained into a bounded
// buffer (so the driver never blocks on a full pipe); take() drains what is in the pipe right
// now, then hands over everything buffered. Before each reply the serve loop asks
// output_pending() (one poll() of both pipes, no lock) and, only if something may be there,
// takes it and sends the bytes as Output frames before the reply, so what a synchronising call
// printed reaches the client before the call returns there. Thread-safe.
#pragma once
#include <atomic>
#include <mutex>
#include <string>

#include "common/status.h"

namespace gvirtus::backend {

class OutputCapture {
 public:
  // Bytes kept while nobody takes them; beyond this, output is dropped and a note says so.
  static constexpr size_t kMaxBuffered = 16u << 20;

  // Redirects fd `target` (1 in the worker, and then stdout too) into the capture. Call once,
  // before any thread prints.
  Status start(int target = 1);
  // Moves everything printed so far into *out (empty if nothing).
  void take(std::string* out);

 private:
  friend bool output_pending(const OutputCapture* out, const OutputCapture* err);
  void drain_locked();  // REQUIRES: mu_ held
  void reader();

  std::mutex mu_;
  int read_fd_ = -1;
  std::string buffered_;  // REQUIRES: mu_
  size_t dropped_ = 0;    // REQUIRES: mu_
  // True while the reader thread may hold bytes it took from the pipe and while buffered_ or
  // dropped_ is not empty: what the pipe alone does not show (output_pending).
  std::atomic<bool> held_{false};
};

// Whether take() may find anything in `out` or `err` (either may be nullptr): a pipe that is
// readable now, or bytes the reader thread has taken from it. Whatever a thread printed before
// the call is seen (the reader raises held_ before it reads). One poll() for both, no lock.
bool output_pending(const OutputCapture* out, const OutputCapture* err);

}  // namespace gvirtus::backend
