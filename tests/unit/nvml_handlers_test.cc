// The NVML plugin's handlers (generated from api/nvml.api and src/backend/nvml): requests an
// honest client never sends end the session before NVML is called; stale handles answer
// NVML_ERROR_INVALID_ARGUMENT; honest requests get as far as looking NVML up, which this test
// process has not loaded (NVML_ERROR_LIBRARY_NOT_FOUND, what the worker answers when the plugin's
// library is missing). Built only with the NVML plugin, which is optional (tests/nvml.cmake).
#ifdef GVIRTUS_HAVE_NVML
#include <gtest/gtest.h>
#include <nvml.h>

#include <cstring>
#include <string>

#include "backend/nvml/support.h"
#include "backend/plugins.h"
#include "backend/worker.h"
#include "common/nvml_arrays.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::nvml {
void handle_nvmlDeviceGetName(CallContext&);
void handle_nvmlDeviceGetMemoryInfo_v2(CallContext&);
void handle_nvmlDeviceGetHandleByIndex_v2(CallContext&);
void handle_nvmlDeviceGetHandleByPciBusId_v2(CallContext&);
void handle_nvmlDeviceGetFieldValues(CallContext&);
void handle_nvmlDeviceGetComputeRunningProcesses_v3(CallContext&);
void handle_nvmlDeviceGetSupportedGraphicsClocks(CallContext&);
void handle_nvmlDeviceGetRetiredPages(CallContext&);
void handle_nvmlDeviceGetEncoderSessions(CallContext&);
void handle_nvmlDeviceGetTopologyCommonAncestor(CallContext&);
void handle_nvmlEventSetFree(CallContext&);
void handle_nvmlEventSetWait_v2(CallContext&);
void handle_nvmlUnitGetUnitInfo(CallContext&);
}  // namespace gvirtus::backend::nvml

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace nv = gvirtus::backend::nvml;

constexpr uint64_t kForgedDevice = (uint64_t{96} << 56) | 0x123;  // kNvmlDevice, never issued

class NvmlHandlers : public HandlerTest {
 protected:
  // nvmlDeviceGetName(device, name:out[length], length).
  static wire::Writer get_name(uint64_t device, unsigned int length, uint8_t name_present = 1) {
    wire::Writer w;
    w.put<uint64_t>(device);
    w.put<unsigned int>(length);
    w.put<uint8_t>(name_present);
    return w;
  }
  // Running processes: device, count present, capacity, array present (common/nvml_arrays.h).
  static wire::Writer procs(uint64_t device, uint8_t has_count, uint32_t capacity,
                            uint8_t has_array) {
    wire::Writer w;
    w.put<uint64_t>(device);
    w.put<uint8_t>(has_count);
    if (has_count) w.put<uint32_t>(capacity);
    w.put<uint8_t>(has_array);
    return w;
  }
};

TEST_F(NvmlHandlers, ForgedOrWrongKindDeviceEndsTheSession) {
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetName, get_name(kForgedDevice, 96)),
               "forged NVML object handle 0x6000000000000123");
  // a live id of another kind (a unit, a stream) is no device
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetName, get_name(live(be::HandleKind::kNvmlUnit), 96)),
               "forged NVML object handle 0x6100000000000001");
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetName, get_name(live(be::HandleKind::kStream), 96)),
               "forged NVML object handle 0x100000000000002");
  EXPECT_FAULT(
      run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, procs(kForgedDevice, 1, 4, 1)),
      "forged NVML object handle 0x6000000000000123");
  // two devices: the second one forged
  wire::Writer two;
  two.put<uint64_t>(live(be::HandleKind::kNvmlDevice));
  two.put<uint64_t>(kForgedDevice);
  two.put<uint8_t>(1);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetTopologyCommonAncestor, two),
               "forged NVML object handle 0x6000000000000123");
}

TEST_F(NvmlHandlers, StaleHandlesAnswerInvalidArgument) {
  std::vector<uint8_t> out;
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetName,
                get_name(stale(be::HandleKind::kNvmlDevice), 96), &out),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3,
                procs(stale(be::HandleKind::kNvmlDevice), 1, 4, 1), &out),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(out.empty());
  wire::Writer unit;
  unit.put<uint64_t>(stale(be::HandleKind::kNvmlUnit));
  unit.put<uint8_t>(1);
  EXPECT_EQ(run(nv::handle_nvmlUnitGetUnitInfo, unit), NVML_ERROR_INVALID_ARGUMENT);
  // a freed event set: freeing again, or waiting on it
  wire::Writer free_again;
  const uint64_t set = stale(be::HandleKind::kNvmlEventSet);
  free_again.put<uint64_t>(set);
  EXPECT_EQ(run(nv::handle_nvmlEventSetFree, free_again), NVML_ERROR_INVALID_ARGUMENT);
  wire::Writer wait;
  wait.put<uint64_t>(set);
  wait.put<uint8_t>(1);
  wait.put<uint32_t>(0);
  EXPECT_EQ(run(nv::handle_nvmlEventSetWait_v2, wait), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlHandlers, ForgedEventSetEndsTheSession) {
  wire::Writer wait;
  wait.put<uint64_t>((uint64_t{98} << 56) | 0x55);  // kNvmlEventSet, never issued
  wait.put<uint8_t>(1);
  wait.put<uint32_t>(1000);
  EXPECT_FAULT(run(nv::handle_nvmlEventSetWait_v2, wait),
               "forged NVML object handle 0x6200000000000055");
  wire::Writer dev_as_set;  // a device is no event set
  dev_as_set.put<uint64_t>(live(be::HandleKind::kNvmlDevice));
  EXPECT_FAULT(run(nv::handle_nvmlEventSetFree, dev_as_set),
               "forged NVML object handle 0x6000000000000001");
  wire::Writer bad_flag;
  bad_flag.put<uint64_t>(live(be::HandleKind::kNvmlEventSet));
  bad_flag.put<uint8_t>(7);
  bad_flag.put<uint32_t>(0);
  EXPECT_FAULT(run(nv::handle_nvmlEventSetWait_v2, bad_flag), "presence flag is neither 0 nor 1");
}

TEST_F(NvmlHandlers, LyingLengthsEndTheSession) {
  // a string buffer over the 1 MiB bound, never sent by the client
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetName,
                   get_name(live(be::HandleKind::kNvmlDevice), (1u << 20) + 1)),
               "nvmlDeviceGetName: name: buffer length 1048577 out of bounds");
  // field values: a negative count or one over the bound with an array; an array shorter than
  // the count does not decode
  const uint64_t dev = live(be::HandleKind::kNvmlDevice);
  for (int n : {-1, static_cast<int>((1u << 20) / sizeof(nvmlFieldValue_t)) + 1}) {
    wire::Writer w;
    w.put<uint64_t>(dev);
    w.put<int>(n);
    w.put<uint8_t>(1);
    EXPECT_FAULT(run(nv::handle_nvmlDeviceGetFieldValues, w),
                 "nvmlDeviceGetFieldValues: values: buffer length")
        << n;
  }
  wire::Writer short_values;
  short_values.put<uint64_t>(dev);
  short_values.put<int>(3);
  short_values.put<uint8_t>(1);
  nvmlFieldValue_t v[2] = {};
  short_values.put_bytes(v, sizeof v);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetFieldValues, short_values),
               "payload too short: wanted 120 bytes, 80 left");
  // a PCI bus id string over the 4096-byte bound
  wire::Writer pci;
  pci.put<uint8_t>(1);
  pci.put_string(std::string(5000, 'a'));
  pci.put<uint8_t>(1);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetHandleByPciBusId_v2, pci),
               "string of 5000 bytes is over its bound of 4096");
}

TEST_F(NvmlHandlers, VersionedStructsTravelAsLargeAsTheirVersion) {
  // nvmlMemory_v2_t is `versioned`: presence, u32 byte count, the bytes; the count must be the
  // size the version names (NVML writes that much), at least 4 and within the bound
  const uint64_t dev = live(be::HandleKind::kNvmlDevice);
  nvmlMemory_v2_t m{};
  m.version = nvmlMemory_v2;
  auto request = [&](uint32_t count, const void* bytes, size_t n) {
    wire::Writer w;
    w.put<uint64_t>(dev);
    w.put<uint8_t>(1);
    w.put<uint32_t>(count);
    w.put_bytes(bytes, n);
    return w;
  };
  // a count that disagrees with the version: a hostile client asking NVML to write past the
  // buffer, or one sending less than it claims
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(8, &m, 8)),
               "nvmlDeviceGetMemoryInfo_v2: memory: the version's size is not the bytes sent");
  nvmlMemory_v2_t big = m;
  big.version = (2u << 24) | 4096u;
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(sizeof big, &big, sizeof big)),
               "nvmlDeviceGetMemoryInfo_v2: memory: the version's size is not the bytes sent");
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(2, &m, 2)),
               "nvmlDeviceGetMemoryInfo_v2: memory: a versioned struct of 2 bytes");
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request((1u << 20) + 1, &m, sizeof m)),
               "nvmlDeviceGetMemoryInfo_v2: memory: a versioned struct of 1048577 bytes");
  // bytes cut short, or left over
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(sizeof m, &m, sizeof m - 8)),
               "payload too short: wanted 40 bytes, 32 left");
  wire::Writer extra = request(sizeof m, &m, sizeof m);
  extra.put<uint8_t>(0);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, extra),
               "1 unexpected bytes at the end of the payload");
  // version 0 travels as its 4 bytes, for NVML to refuse; honest requests get as far as NVML,
  // which this process has not loaded
  nvmlMemory_v2_t zero{};
  std::vector<uint8_t> out;
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(4, &zero, 4), &out),
            NVML_ERROR_LIBRARY_NOT_FOUND);
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetMemoryInfo_v2, request(sizeof m, &m, sizeof m), &out),
            NVML_ERROR_LIBRARY_NOT_FOUND);
  EXPECT_TRUE(out.empty());
}

TEST_F(NvmlHandlers, ProcessCapacityIsBoundedBeforeAllocating) {
  const uint64_t dev = live(be::HandleKind::kNvmlDevice);
  const uint32_t over =
      static_cast<uint32_t>(nvml_wire::kNvmlArrayMaxBytes / sizeof(nvmlProcessInfo_t)) + 1;
  EXPECT_FAULT(
      run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, procs(dev, 1, over, 1)),
      "nvmlDeviceGetComputeRunningProcesses_v3: capacity of 43691 elements is over the bound");
  EXPECT_FAULT(
      run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, procs(dev, 1, 0xFFFFFFFFu, 1)),
      "nvmlDeviceGetComputeRunningProcesses_v3: capacity of 4294967295 elements is over the bound");
  // without an array the capacity allocates nothing: it reaches NVML (absent here)
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, procs(dev, 1, over, 0)),
            NVML_ERROR_LIBRARY_NOT_FOUND);
  // a presence flag that is neither 0 nor 1, a capacity cut short, trailing bytes
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, procs(dev, 2, 4, 1)),
               "presence flag is neither 0 nor 1");
  wire::Writer cut;
  cut.put<uint64_t>(dev);
  cut.put<uint8_t>(1);
  cut.put<uint16_t>(4);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, cut),
               "payload too short: wanted 4 bytes, 2 left");
  wire::Writer trailing = procs(dev, 1, 4, 1);
  trailing.put<uint8_t>(0);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetComputeRunningProcesses_v3, trailing),
               "1 unexpected bytes at the end of the payload");
  // supported graphics clocks: the memory clock comes first
  wire::Writer clocks;
  clocks.put<uint64_t>(dev);
  clocks.put<unsigned int>(2619);
  clocks.put<uint8_t>(1);
  clocks.put<uint32_t>((1u << 20) / sizeof(unsigned int) + 1);
  clocks.put<uint8_t>(1);
  EXPECT_FAULT(
      run(nv::handle_nvmlDeviceGetSupportedGraphicsClocks, clocks),
      "nvmlDeviceGetSupportedGraphicsClocks: capacity of 262145 elements is over the bound");
  // retired pages: the cause comes first; 8-byte addresses bound the capacity
  wire::Writer pages;
  pages.put<uint64_t>(dev);
  pages.put<nvmlPageRetirementCause_t>(NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR);
  pages.put<uint8_t>(1);
  pages.put<uint32_t>((1u << 20) / sizeof(unsigned long long) + 1);
  pages.put<uint8_t>(1);
  EXPECT_FAULT(run(nv::handle_nvmlDeviceGetRetiredPages, pages),
               "nvmlDeviceGetRetiredPages: capacity of 131073 elements is over the bound");
  // encoder sessions of a stale device
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetEncoderSessions,
                procs(stale(be::HandleKind::kNvmlDevice), 1, 4, 1)),
            NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlHandlers, HonestRequestsReachNvml) {
  // without NVML in this process: the status the worker answers for a missing library, and
  // nothing written back
  std::vector<uint8_t> out;
  wire::Writer idx;
  idx.put<unsigned int>(0);
  idx.put<uint8_t>(1);
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetHandleByIndex_v2, idx, &out),
            NVML_ERROR_LIBRARY_NOT_FOUND);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetName, get_name(live(be::HandleKind::kNvmlDevice), 96),
                &out),
            NVML_ERROR_LIBRARY_NOT_FOUND);
  EXPECT_TRUE(out.empty());
  // a NULL device (id 0) reaches NVML as NULL, which answers for it
  EXPECT_EQ(run(nv::handle_nvmlDeviceGetName, get_name(0, 96)), NVML_ERROR_LIBRARY_NOT_FOUND);
}

// An event wait blocks for up to its timeout: it gives its place in the session-wide order up
// first (kEntryWaits), so the program's other threads are not held behind it.
TEST(NvmlPlugin, EventWaitsDoNotHoldTheSessionOrder) {
  const be::PluginTable& t = nv::plugin_table();
  int found = 0;
  for (size_t i = 0; i < t.count; ++i) {
    const std::string name = t.entries[i].name;
    if (name != "nvmlEventSetWait" && name != "nvmlEventSetWait_v2") continue;
    ++found;
    EXPECT_NE(t.entries[i].flags & be::kEntryWaits, 0u) << name;
  }
  EXPECT_EQ(found, 2);
}

}  // namespace
}  // namespace gvirtus::testing
#endif  // GVIRTUS_HAVE_NVML
