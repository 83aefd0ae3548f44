// The host-callback thread; see callback_thread.h.
#include "frontend/cudart/callback_thread.h"

#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "cudart_calls.h"
#include "frontend/core/callback_slot.h"
#include "frontend/core/client.h"
#include "frontend/core/deliveries.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/graph_host.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {
namespace {

// kRefused: the backend refused the thread's connection as one too many for the session
// (docs/security.md, "connections"); the next call that needs the thread starts one again.
// The state is the process's (client::callback_thread_slot): libcudart.so.13 and libcuda.so.1
// each hold a copy of this code and share one thread.
enum class State { kNone, kStarting, kReady, kFailed, kRefused };

State state_of(const client::CallbackThreadSlot& slot) { return static_cast<State>(slot.state); }

void set_state(State s) {
  client::CallbackThreadSlot& slot = client::callback_thread_slot();
  std::lock_guard<std::mutex> g(slot.mu);
  slot.state = static_cast<int>(s);
  slot.cv.notify_all();
}

// *refused: the thread got no connection while the session goes on.
bool attach(bool* refused) {
  if (!client::auxiliary_connection()) {
    *refused = !client::session_lost();
    return false;
  }
  client::Call a(static_cast<uint32_t>(kCall_gvCallbackAttach));
  return a.invoke() && a.status() == 0;
}

// Reports `done` (0: none) and waits for the next callback. False: no more callbacks (the
// session is lost or ending). Throws wire::DecodeError for a malformed reply.
bool next_callback(uint64_t done, CallbackRecord* rec) {
  client::Call w(static_cast<uint32_t>(kCall_gvCallbackWait));
  w.args().buffer().reserve(sizeof done);  // (also keeps GCC 12's -Wstringop-overflow quiet)
  w.args().put<uint64_t>(done);
  if (!w.invoke() || w.status() != 0) return false;
  *rec = read_callback_record(w.result());
  return true;
}

void callback_loop() {
  // The application's signals are for its own threads, as natively.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  bool ok = false, refused = false;
  try {
    ok = attach(&refused);
  } catch (...) {
  }
  set_state(ok ? State::kReady : refused ? State::kRefused : State::kFailed);
  if (!ok) return;
  uint64_t done = 0;
  for (;;) {
    CallbackRecord rec;
    try {
      if (!next_callback(done, &rec)) return;
    } catch (const wire::DecodeError& e) {
      client::mark_session_lost(std::string("protocol error: malformed reply to gvCallbackWait: ") +
                                e.what());
      return;
    } catch (...) {
      return;
    }
    if (!run_callback(rec)) {
      client::mark_session_lost("protocol error: host callback of unknown kind " +
                                std::to_string(rec.kind));
      return;
    }
    done = rec.id;
  }
}

}  // namespace

CallbackRecord read_callback_record(wire::Reader& r) {
  CallbackRecord rec;
  rec.id = r.get<uint64_t>();
  rec.kind = r.get<uint8_t>();
  rec.fn = r.get<uint64_t>();
  rec.user = r.get<uint64_t>();
  rec.stream = r.get<uint64_t>();
  rec.status = r.get<int32_t>();
  r.expect_end();
  return rec;
}

bool run_callback(const CallbackRecord& rec) {
  void* user = from_wire<void*>(rec.user);
  if (rec.kind > 1) return false;
  // Results of graph device-to-host nodes that may be ahead of the callback in its graph
  // (graph_host.h); managed memory as the kernels ahead of it left it, and the callback's own
  // writes on the device before the work behind it runs (managed.h).
  // Asynchronous device-to-host copies ahead of it on its stream are done: delivered now (the
  // client core's, once for the process). Then, through the client core, every library copy's
  // own work (managed.cc's hooks; libcudart.so.13 and libcuda.so.1 share this thread).
  client::deliveries::before_callback();
  client::run_callback_hooks(false);
  if (rec.kind == 0) {
    reinterpret_cast<cudaHostFn_t>(static_cast<uintptr_t>(rec.fn))(user);
  } else {
    reinterpret_cast<cudaStreamCallback_t>(static_cast<uintptr_t>(rec.fn))(
        from_wire<cudaStream_t>(rec.stream), static_cast<cudaError_t>(rec.status), user);
  }
  client::run_callback_hooks(true);
  return true;
}

cudaError_t ensure_callback_thread() {
  client::CallbackThreadSlot& slot = client::callback_thread_slot();
  std::unique_lock<std::mutex> g(slot.mu);
  if (state_of(slot) == State::kNone) {
    slot.state = static_cast<int>(State::kStarting);
    try {
      std::thread(callback_loop).detach();
    } catch (const std::system_error& e) {
      GV_ERROR(std::string("cannot start the host-callback thread: ") + e.what());
      slot.state = static_cast<int>(State::kFailed);
    }
  }
  slot.cv.wait(g, [&] {
    const State s = state_of(slot);
    return s == State::kReady || s == State::kFailed || s == State::kRefused;
  });
  if (state_of(slot) == State::kReady) return cudaSuccess;
  if (state_of(slot) == State::kRefused) {
    slot.state = static_cast<int>(State::kNone);  // a later call tries again
    return lost();  // this one fails as every call of a thread without a connection
  }
  return client::session_lost() ? lost() : cudaErrorUnknown;
}

}  // namespace gvirtus::cudart
