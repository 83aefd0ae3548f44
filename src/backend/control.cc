#include "backend/control.h"

#include <string>
#include <utility>
#include <vector>

#include "backend/worker.h"

namespace gvirtus::backend {
namespace {

void ping(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.status = 0;
}

// Request: u32 n (at most kMaxFence), then n pairs (u64 connection id, u64 request id).
// Returns once each named connection has finished that request or is closed. A client sends it
// on a new connection when its other connections have requests in flight that no reply has
// confirmed (NoReply launches), so that this thread's calls come after them, as natively.
constexpr uint32_t kMaxFence = 4096;

void fence(CallContext& ctx) {
  uint32_t n = ctx.in.get<uint32_t>();
  if (n > kMaxFence) throw SessionFault("fence names " + std::to_string(n) + " connections");
  std::vector<std::pair<uint64_t, uint64_t>> waits(n);
  for (auto& w : waits) {
    w.first = ctx.in.get<uint64_t>();
    w.second = ctx.in.get<uint64_t>();
    // Waiting on itself could never end: no honest client asks it.
    if (w.first == ctx.conn.id()) throw SessionFault("fence on its own connection");
  }
  ctx.in.expect_end();
  for (auto& w : waits) ctx.session.wait_done(w.first, w.second);
  ctx.status = 0;
}

const HandlerEntry kCoreHandlers[] = {
    {kCallPing, "Ping", &ping},
    {kCallFence, "Fence", &fence},
};

}  // namespace

void register_core_plugin(Registry& r) {
  r.add_plugin("core", kCoreHandlers, sizeof kCoreHandlers / sizeof kCoreHandlers[0]);
}

}  // namespace gvirtus::backend
