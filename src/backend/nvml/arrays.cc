// The NVML calls with a count in/out and an array (common/nvml_arrays.h): running processes
// (the backend's: GVirtuS workers and anything else on the GPU host), supported clocks, retired
// pages, accounting pids, encoder and FBC sessions.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "backend/nvml/support.h"
#include "common/nvml_arrays.h"
#include "common/wire.h"
#include "nvml_handles.h"

namespace gvirtus::backend::nvml {
namespace {

template <typename T, typename... Extra>
void count_array(CallContext& ctx, const char* name) {
  wire::Reader& in = ctx.in;
  const uint64_t dev_id = in.get<uint64_t>();
  std::tuple<Extra...> extra{in.get<Extra>()...};  // braced: decoded left to right
  const bool has_count = in.get_flag();
  const unsigned int capacity = has_count ? in.get<uint32_t>() : 0;
  const bool has_array = in.get_flag();
  in.expect_end();
  if (has_array && capacity > nvml_wire::kNvmlArrayMaxBytes / sizeof(T))
    throw SessionFault(std::string(name) + ": capacity of " + std::to_string(capacity) +
                       " elements is over the bound");
  nvmlDevice_t device;
  if (!device_in(ctx, dev_id, &device)) return;
  using Fn = nvmlReturn_t (*)(nvmlDevice_t, Extra..., unsigned int*, T*);
  const Fn fn = real<Fn>(ctx, name);
  if (fn == nullptr) return;
  std::vector<T> buf(has_array ? std::max(capacity, 1u) : 0);
  unsigned int count = capacity;
  const nvmlReturn_t r = std::apply(
      [&](Extra... e) {
        return fn(device, e..., has_count ? &count : nullptr, has_array ? buf.data() : nullptr);
      },
      extra);
  ctx.status = static_cast<int32_t>(r);
  if (!has_count || (r != NVML_SUCCESS && r != NVML_ERROR_INSUFFICIENT_SIZE)) return;
  ctx.out.put<uint32_t>(count);
  if (r == NVML_SUCCESS && has_array)
    ctx.out.put_bytes(buf.data(), std::min(count, capacity) * sizeof(T));
}

}  // namespace

#define GV_NVML_PROCS(NAME, T) \
  void handle_##NAME(CallContext& ctx) { count_array<T>(ctx, #NAME); }
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses_v3, nvmlProcessInfo_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v3, nvmlProcessInfo_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v3, nvmlProcessInfo_t)
GV_NVML_PROCS(nvmlDeviceGetSupportedMemoryClocks, unsigned int)
GV_NVML_PROCS(nvmlDeviceGetAccountingPids, unsigned int)
GV_NVML_PROCS(nvmlDeviceGetEncoderSessions, nvmlEncoderSessionInfo_t)
GV_NVML_PROCS(nvmlDeviceGetFBCSessions, nvmlFBCSessionInfo_t)
#undef GV_NVML_PROCS

void handle_nvmlDeviceGetSupportedGraphicsClocks(CallContext& ctx) {
  count_array<unsigned int, unsigned int>(ctx, "nvmlDeviceGetSupportedGraphicsClocks");
}

void handle_nvmlDeviceGetRetiredPages(CallContext& ctx) {
  count_array<unsigned long long, nvmlPageRetirementCause_t>(ctx, "nvmlDeviceGetRetiredPages");
}

}  // namespace gvirtus::backend::nvml
