// The NVML calls with a count in/out and an array: running processes, supported clocks,
// retired pages, accounting pids, encoder and FBC sessions (wire form in common/nvml_arrays.h). The processes are those of the backend's GPU host: the
// GVirtuS workers serving clients (this one's included) and anything else running there.
#include <nvml.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "common/nvml_arrays.h"
#include "frontend/nvml/glue.h"
#include "nvml_calls.h"

namespace gvirtus::nvml {
namespace {

template <typename T, typename... Extra>
nvmlReturn_t count_array(uint32_t call, const char* name, nvmlDevice_t device,
                         unsigned int* count, T* array, Extra... extra) {
  try {
    client::Call c(call);
    wire::Writer& a = c.args();
    a.put<uint64_t>(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(device)));
    (a.put<Extra>(extra), ...);
    unsigned int capacity = 0;
    a.put<uint8_t>(count != nullptr);
    if (count != nullptr) {
      // More than the bound is never needed (tens of thousands of processes): NVML writes at
      // most this many, and says INSUFFICIENT_SIZE if there were more.
      capacity = static_cast<unsigned int>(
          std::min<size_t>(*count, nvml_wire::kNvmlArrayMaxBytes / sizeof(T)));
      a.put<uint32_t>(capacity);
    }
    a.put<uint8_t>(array != nullptr);
    if (!c.invoke()) return lost();
    const auto r = static_cast<nvmlReturn_t>(c.status());
    if (count != nullptr && (r == NVML_SUCCESS || r == NVML_ERROR_INSUFFICIENT_SIZE)) {
      wire::Reader& rd = c.result();
      const unsigned int n = rd.get<uint32_t>();
      if (r == NVML_SUCCESS && array != nullptr) {
        const size_t bytes = std::min(n, capacity) * sizeof(T);
        std::memcpy(static_cast<void*>(array), rd.get_bytes(bytes), bytes);
      }
      rd.expect_end();
      *count = n;
    }
    return finish(c);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string(name) + ": " + e.what());
    return lost();
  } catch (const std::bad_alloc&) {
    return NVML_ERROR_MEMORY;
  } catch (...) {
    return lost();
  }
}

}  // namespace
}  // namespace gvirtus::nvml

#define GV_NVML_PROCS(NAME, T)                                                               \
  extern "C" GV_API nvmlReturn_t NAME(nvmlDevice_t device, unsigned int* infoCount,         \
                                      T* infos) {                                           \
    return gvirtus::nvml::count_array(gvirtus::nvml::kCall_##NAME, #NAME, device, infoCount, \
                                      infos);                                               \
  }
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetComputeRunningProcesses_v3, nvmlProcessInfo_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetGraphicsRunningProcesses_v3, nvmlProcessInfo_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses, nvmlProcessInfo_v1_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v2, nvmlProcessInfo_v2_t)
GV_NVML_PROCS(nvmlDeviceGetMPSComputeRunningProcesses_v3, nvmlProcessInfo_t)
#undef GV_NVML_PROCS

extern "C" GV_API nvmlReturn_t nvmlDeviceGetSupportedMemoryClocks(nvmlDevice_t device,
                                                                  unsigned int* count,
                                                                  unsigned int* clocksMHz) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetSupportedMemoryClocks,
                                    "nvmlDeviceGetSupportedMemoryClocks", device, count,
                                    clocksMHz);
}

extern "C" GV_API nvmlReturn_t nvmlDeviceGetSupportedGraphicsClocks(nvmlDevice_t device,
                                                                    unsigned int memoryClockMHz,
                                                                    unsigned int* count,
                                                                    unsigned int* clocksMHz) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetSupportedGraphicsClocks,
                                    "nvmlDeviceGetSupportedGraphicsClocks", device, count,
                                    clocksMHz, memoryClockMHz);
}

extern "C" GV_API nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device,
                                                         nvmlPageRetirementCause_t cause,
                                                         unsigned int* pageCount,
                                                         unsigned long long* addresses) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetRetiredPages,
                                    "nvmlDeviceGetRetiredPages", device, pageCount, addresses,
                                    cause);
}

extern "C" GV_API nvmlReturn_t nvmlDeviceGetAccountingPids(nvmlDevice_t device,
                                                           unsigned int* count,
                                                           unsigned int* pids) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetAccountingPids,
                                    "nvmlDeviceGetAccountingPids", device, count, pids);
}

extern "C" GV_API nvmlReturn_t nvmlDeviceGetEncoderSessions(nvmlDevice_t device,
                                                            unsigned int* sessionCount,
                                                            nvmlEncoderSessionInfo_t* infos) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetEncoderSessions,
                                    "nvmlDeviceGetEncoderSessions", device, sessionCount, infos);
}

extern "C" GV_API nvmlReturn_t nvmlDeviceGetFBCSessions(nvmlDevice_t device,
                                                        unsigned int* sessionCount,
                                                        nvmlFBCSessionInfo_t* infos) {
  return gvirtus::nvml::count_array(gvirtus::nvml::kCall_nvmlDeviceGetFBCSessions,
                                    "nvmlDeviceGetFBCSessions", device, sessionCount, infos);
}
