// The worker's standard output and error, sent to the client: the CUDA driver writes device printf
// output to the process's stdout at synchronisation points, and a failed device-side assert()'s
// message to its stderr; they belong on the application's. One capture per descriptor.
//
// start() points file descriptor 1 at a pipe. A thread keeps the pipe drained into a bounded
// buffer (so the driver never blocks on a full pipe); take() drains what is in the pipe right
// now, then hands over everything buffered. The serve loop calls it after each request and sends
// the bytes as Output frames before the reply, so what a synchronising call printed reaches the
// client before the call returns there. Thread-safe.
#pragma once
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
  void drain_locked();  // REQUIRES: mu_ held
  void reader();

  std::mutex mu_;
  int read_fd_ = -1;
  std::string buffered_;  // REQUIRES: mu_
  size_t dropped_ = 0;    // REQUIRES: mu_
};

}  // namespace gvirtus::backend
