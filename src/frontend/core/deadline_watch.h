// Exchanges with a time limit on a stream (the handshake, `gvirtus status`): the stream is shut
// down at the deadline unless the watch ends first, so a receive blocked on it fails at once, on
// every transport, however the peer trickles its bytes (a receive timeout per system call would
// start again with each byte, and shm: receives wait on a futex, not on the socket).
//
// One thread per process serves every watch: started by the first, and again in a forked child
// (which has no threads but the forking one, and gets a watcher of its own). The thread blocks
// every signal. A watch costs a lock, and a wake-up of that thread
// when its deadline is the nearest; no thread of its own.
#pragma once
#include <chrono>
#include <cstdint>

#include "common/transport.h"

namespace gvirtus::client {

class DeadlineWatch {
 public:
  // `s` must outlive the watch (or its end()).
  DeadlineWatch(Stream& s, std::chrono::steady_clock::time_point deadline);
  ~DeadlineWatch() { end(); }
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;
  // Ends the watch: true if the deadline came first and the stream was shut down. Once it
  // returns, the watch no longer touches the stream. Later calls repeat the answer.
  bool end();

 private:
  void* watcher_ = nullptr;  // the process's watcher when the watch began
  uint64_t id_ = 0;          // 0: not watched (ended, or no thread could be started)
  bool fired_ = false;
};

}  // namespace gvirtus::client
