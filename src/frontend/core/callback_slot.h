// One host-callback thread per process (docs/callbacks.md). libcudart.so.13 and libcuda.so.1
// each link the callback thread's code (src/frontend/cudart/callback_thread.cc) statically, so
// its state lives here, in the shared client core: whichever library needs a callback thread
// first starts it, and the other uses it. Two threads would each attach a callback connection,
// and the worker knows one (the first one's next wait would end the session). The thread runs
// the application's function by its address, whichever library sent it.
#pragma once
#include <condition_variable>
#include <mutex>

#include "frontend/core/client.h"

namespace gvirtus::client {

struct CallbackThreadSlot {
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;  // REQUIRES: mu; the values are callback_thread.cc's
};
GV_API CallbackThreadSlot& callback_thread_slot();

}  // namespace gvirtus::client
