#include "backend/control.h"

#include "backend/worker.h"

namespace gvirtus::backend {
namespace {

void ping(CallContext& ctx) {
  ctx.in.expect_end();
  ctx.status = 0;
}

const HandlerEntry kCoreHandlers[] = {
    {kCallPing, "Ping", &ping},
};

}  // namespace

void register_core_plugin(Registry& r) {
  r.add_plugin("core", kCoreHandlers, sizeof kCoreHandlers / sizeof kCoreHandlers[0]);
}

}  // namespace gvirtus::backend
