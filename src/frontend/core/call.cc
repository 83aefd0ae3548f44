// Call: one request on the calling thread's connection, and its reply.
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>

#include "frontend/core/client.h"
#include "frontend/core/deliveries.h"
#include "frontend/core/session.h"

namespace gvirtus::client {

namespace {

// One hook set per library copy of the emulations that need them: libcudart.so.13 and
// libcuda.so.1 each link that code statically (a static-cudart program loads both when it uses
// page-locked memory), and each copy's tables must see the calls. Filled once, never emptied.
constexpr int kMaxHookSets = 4;
std::atomic<void (*)(uint32_t)> g_before[kMaxHookSets] = {};
std::atomic<void (*)(uint32_t, int32_t)> g_after[kMaxHookSets] = {};
std::atomic<void (*)()> g_before_callback[kMaxHookSets] = {};
std::atomic<void (*)()> g_after_callback[kMaxHookSets] = {};
std::atomic<int> g_sets{0};
std::mutex g_sets_mu;
thread_local bool t_in_hook = false;

// Runs every installed hook of one kind unless this thread is already inside one (the hooks'
// own calls).
template <typename Fn, typename... Args>
void run_hooks(const std::atomic<Fn> (&hooks)[kMaxHookSets], Args... args) {
  const int n = g_sets.load(std::memory_order_acquire);
  if (n == 0 || t_in_hook) return;
  t_in_hook = true;
  for (int i = 0; i < n; ++i) {
    Fn fn = hooks[i].load(std::memory_order_acquire);
    if (!fn) continue;
    try {
      fn(args...);
    } catch (...) {
    }
  }
  t_in_hook = false;
}

}  // namespace

void set_call_hooks(const CallHooks& hooks) {
  std::lock_guard<std::mutex> g(g_sets_mu);
  const int n = g_sets.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    if (g_before[i].load() == hooks.before && g_after[i].load() == hooks.after &&
        g_before_callback[i].load() == hooks.before_callback &&
        g_after_callback[i].load() == hooks.after_callback)
      return;
  if (n == kMaxHookSets) return;  // more library copies than the process can have
  g_before[n].store(hooks.before, std::memory_order_release);
  g_after[n].store(hooks.after, std::memory_order_release);
  g_before_callback[n].store(hooks.before_callback, std::memory_order_release);
  g_after_callback[n].store(hooks.after_callback, std::memory_order_release);
  g_sets.store(n + 1, std::memory_order_release);
}

void run_callback_hooks(bool after) {
  const int n = g_sets.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    auto& slot = after ? g_after_callback[i] : g_before_callback[i];
    void (*fn)() = slot.load(std::memory_order_acquire);
    if (!fn) continue;
    try {
      fn();
    } catch (...) {
    }
  }
}

bool Call::send(uint16_t flags) {
  flags |= flags_;
  run_hooks(g_before, call_id_);
  Connection* conn = connection();
  if (!conn) return false;
  struct iovec iov[2];
  int cnt = 0;
  if (args_.size() > 0) iov[cnt++] = {const_cast<uint8_t*>(args_.data()), args_.size()};
  if (bulk_len_ > 0) iov[cnt++] = {const_cast<void*>(bulk_), bulk_len_};
  if (lent_ && bulk_len_ > 0 && (flags & wire::kFlagNoReply) && !lane_)  // bulk is iov[cnt - 1]
    return conn->send_lent(call_id_, iov, cnt - 1, bulk_, bulk_len_, &request_id_);
  if (lane_) return conn->send_laned(call_id_, flags, lane_, iov, cnt, &request_id_);
  return conn->send_request(call_id_, flags, iov, cnt, &request_id_);
}

bool Call::invoke() {
  try {
    if (!send(0)) return false;
    Connection* conn = connection();
    if (!conn || !conn->recv_reply_header(request_id_, &header_)) return false;
    payload_.resize(header_.length);
    if (!conn->recv_payload(payload_.data(), payload_.size())) return false;
    reader_ = wire::Reader(payload_.data(), payload_.size());
    run_hooks(g_after, call_id_, header_.status);
    // A synchronisation delivers the asynchronous copies it covers before returning; one that
    // cannot (the session is lost) fails.
    if (!deliveries::after_reply(call_id_, header_.status)) return false;
    return true;
  } catch (const std::exception& e) {
    // Only allocation can throw here; treat it like any other failure of this call.
    (void)e;
    return false;
  }
}

bool Call::invoke_into(size_t fixed, void* dst, size_t n) {
  try {
    bulk_received_ = 0;
    if (!send(0)) return false;
    Connection* conn = connection();
    if (!conn || !conn->recv_reply_header(request_id_, &header_)) return false;
    size_t len = header_.length;
    if (header_.status != 0 || len < fixed) {
      // A failed call carries no outputs; anything it does carry is read as fields.
      payload_.resize(len);
      if (!conn->recv_payload(payload_.data(), len)) return false;
      reader_ = wire::Reader(payload_.data(), payload_.size());
      if (header_.status == 0) {
        // Success but shorter than its fixed fields: client and server disagree.
        active_session().mark_lost("protocol error: reply of " + std::to_string(len) +
                                   " bytes, expected at least " + std::to_string(fixed));
        return false;
      }
      return true;
    }
    if (len - fixed > n) {
      active_session().mark_lost("protocol error: reply carries " + std::to_string(len - fixed) +
                                 " bulk bytes, expected at most " + std::to_string(n));
      return false;
    }
    payload_.resize(fixed);
    if (!conn->recv_payload(payload_.data(), fixed)) return false;
    if (!conn->recv_payload(dst, len - fixed)) return false;
    bulk_received_ = len - fixed;
    reader_ = wire::Reader(payload_.data(), payload_.size());
    run_hooks(g_after, call_id_, header_.status);
    // A synchronisation delivers the asynchronous copies it covers before returning; one that
    // cannot (the session is lost) fails.
    if (!deliveries::after_reply(call_id_, header_.status)) return false;
    return true;
  } catch (const std::exception& e) {
    (void)e;
    return false;
  }
}

bool Call::send_async(uint64_t* ticket) {
  try {
    if (!send(wire::kFlagNoReply)) return false;
    if (ticket) {
      Connection* conn = connection();
      *ticket = conn ? conn->last_ticket() : 0;
    }
    return true;
  } catch (const std::exception& e) {
    (void)e;
    return false;
  }
}

}  // namespace gvirtus::client

namespace gvirtus::client {
namespace {
// A plain int: trivially destructible, usable from thread-exit handlers.
thread_local int32_t t_deferred = 0;
}  // namespace

bool async_library_calls() {
  static const bool on = [] {
    const char* v = std::getenv("GVIRTUS_ASYNC_LIBRARY_CALLS");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

void post_deferred_error(int32_t e) {
  if (e != 0 && t_deferred == 0) t_deferred = e;
}

int32_t take_deferred_error() {
  int32_t e = t_deferred;
  t_deferred = 0;
  return e;
}

}  // namespace gvirtus::client
