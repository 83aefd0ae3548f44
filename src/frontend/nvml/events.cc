// nvmlEventSetWait_v2 / nvmlEventSetWait (src/backend/nvml/events.cc): the event's device comes
// back as its id.
#include <nvml.h>

#include <cstdint>
#include <new>
#include <string>

#include "frontend/nvml/glue.h"
#include "nvml_calls.h"

namespace gvirtus::nvml {
namespace {

nvmlReturn_t wait(uint32_t call, const char* name, nvmlEventSet_t set, nvmlEventData_t* data,
                  unsigned int timeoutms) {
  try {
    client::Call c(call);
    wire::Writer& a = c.args();
    a.put<uint64_t>(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(set)));
    a.put<uint8_t>(data != nullptr);
    a.put<uint32_t>(timeoutms);
    if (!c.invoke()) return lost();
    if (c.status() == NVML_SUCCESS && data != nullptr) {
      wire::Reader& r = c.result();
      nvmlEventData_t d{};
      d.device = reinterpret_cast<nvmlDevice_t>(static_cast<uintptr_t>(r.get<uint64_t>()));
      d.eventType = r.get<uint64_t>();
      d.eventData = r.get<uint64_t>();
      d.gpuInstanceId = r.get<uint32_t>();
      d.computeInstanceId = r.get<uint32_t>();
      r.expect_end();
      *data = d;
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

extern "C" GV_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                                   unsigned int timeoutms) {
  return gvirtus::nvml::wait(gvirtus::nvml::kCall_nvmlEventSetWait_v2, "nvmlEventSetWait_v2",
                             set, data, timeoutms);
}

extern "C" GV_API nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t* data,
                                                unsigned int timeoutms) {
  return gvirtus::nvml::wait(gvirtus::nvml::kCall_nvmlEventSetWait, "nvmlEventSetWait", set,
                             data, timeoutms);
}
