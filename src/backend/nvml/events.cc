// nvmlEventSetWait_v2 / nvmlEventSetWait: the event data names a device, which goes back to the
// client as its id. The wait blocks this connection's thread (the client thread that called
// it) for at most timeoutms, as natively.
#include <string>

#include "backend/nvml/support.h"
#include "common/wire.h"
#include "nvml_handles.h"

namespace gvirtus::backend::nvml {
namespace {

// Request: u64 set id, u8 data present, u32 timeoutms. Reply on success with data: u64 device
// id, u64 eventType, u64 eventData, u32 gpuInstanceId, u32 computeInstanceId.
void wait(CallContext& ctx, const char* name) {
  wire::Reader& in = ctx.in;
  const uint64_t set_id = in.get<uint64_t>();
  const bool has_data = in.get_flag();
  const unsigned int timeout = in.get<uint32_t>();
  in.expect_end();
  nvmlEventSet_t set;
  if (!eventset_in(ctx, set_id, &set)) return;
  using Fn = nvmlReturn_t (*)(nvmlEventSet_t, nvmlEventData_t*, unsigned int);
  const Fn fn = real<Fn>(ctx, name);
  if (fn == nullptr) return;
  nvmlEventData_t data{};
  const nvmlReturn_t r = fn(set, has_data ? &data : nullptr, timeout);
  ctx.status = static_cast<int32_t>(r);
  if (r != NVML_SUCCESS || !has_data) return;
  ctx.out.put<uint64_t>(device_out(ctx, data.device));
  ctx.out.put<uint64_t>(data.eventType);
  ctx.out.put<uint64_t>(data.eventData);
  ctx.out.put<uint32_t>(data.gpuInstanceId);
  ctx.out.put<uint32_t>(data.computeInstanceId);
}

}  // namespace

void handle_nvmlEventSetWait_v2(CallContext& ctx) { wait(ctx, "nvmlEventSetWait_v2"); }
void handle_nvmlEventSetWait(CallContext& ctx) { wait(ctx, "nvmlEventSetWait"); }

}  // namespace gvirtus::backend::nvml
