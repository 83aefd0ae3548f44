// NVML compared natively and through GVirtuS (tests/cuda_libs.cmake on a GPU machine; on every
// machine against tests/nvml/fake_nvml.c, a stand-in libnvidia-ml.so.1). The program dlopens
// "libnvidia-ml.so.1" as nvidia-smi does, so it needs no NVML at build time: natively it gets
// the driver's (or the fake), through `gvirtus run` ours (preloaded, same SONAME).
//
// Only values that are the same in two runs are printed: names, UUIDs, PCI ids, memory totals,
// versions, modes, statuses. Volatile ones (temperature, power, utilisation, clocks, free memory,
// processes) are checked for a plausible range and print "ok".
#define NVML_NO_UNVERSIONED_FUNC_DEFS
#include <dlfcn.h>
#include <nvml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* lib;

static void* sym(const char* name) {
  void* p = dlsym(lib, name);
  if (!p) {
    printf("missing %s\n", name);
    exit(1);
  }
  return p;
}
#define FN(name) ((__typeof__(&name))sym(#name))

static int failures;
static void plausible(const char* what, int ok) {
  printf("%s: %s\n", what, ok ? "ok" : "IMPLAUSIBLE");
  if (!ok) failures++;
}

// A status by name: the same text natively and through GVirtuS (nvmlErrorString is local).
static const char* st(nvmlReturn_t r) { return FN(nvmlErrorString)(r); }

static void processes(nvmlDevice_t d, const char* kind,
                      nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int*, nvmlProcessInfo_t*)) {
  unsigned int count = 0;
  nvmlReturn_t r = fn(d, &count, NULL);
  // No processes: SUCCESS with 0; some: INSUFFICIENT_SIZE with their number.
  int ok = (r == NVML_SUCCESS && count == 0) || (r == NVML_ERROR_INSUFFICIENT_SIZE && count > 0) ||
           r == NVML_ERROR_NOT_SUPPORTED;
  if (ok && r == NVML_ERROR_INSUFFICIENT_SIZE) {
    unsigned int cap = count + 8;
    nvmlProcessInfo_t* infos = calloc(cap, sizeof *infos);
    count = cap;
    r = fn(d, &count, infos);
    // Other processes may start between the two calls (INSUFFICIENT_SIZE again). Their pids may
    // be 0 and their names unreadable when they live in another PID namespace (containers), so
    // only the call itself is judged, plus the name query not crashing.
    ok = (r == NVML_SUCCESS && count <= cap) || r == NVML_ERROR_INSUFFICIENT_SIZE;
    for (unsigned int i = 0; ok && r == NVML_SUCCESS && i < count; ++i) {
      char name[256] = {0};
      if (infos[i].pid > 0) (void)FN(nvmlSystemGetProcessName)(infos[i].pid, name, sizeof name);
    }
    free(infos);
  }
  char what[64];
  snprintf(what, sizeof what, "  %s processes", kind);
  plausible(what, ok);
}

int main(void) {
  lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
  if (!lib) {
    printf("cannot load libnvidia-ml.so.1: %s\n", dlerror());
    return 1;
  }
  for (int e = 0; e <= 31; ++e) printf("status %d: %s\n", e, st((nvmlReturn_t)e));
  printf("status 999: %s\n", st(NVML_ERROR_UNKNOWN));

  printf("shutdown before init: %s\n", st(FN(nvmlShutdown)()));
  nvmlReturn_t r = FN(nvmlInit_v2)();
  printf("nvmlInit_v2: %s\n", st(r));
  if (r != NVML_SUCCESS) return 1;
  printf("nvmlInit (nested): %s\n", st(FN(nvmlInit)()));

  char text[96];
  if ((r = FN(nvmlSystemGetDriverVersion)(text, sizeof text)) == NVML_SUCCESS)
    printf("driver version: %s\n", text);
  printf("driver version in 2 bytes: %s\n", st(FN(nvmlSystemGetDriverVersion)(text, 2)));
  if ((r = FN(nvmlSystemGetNVMLVersion)(text, sizeof text)) == NVML_SUCCESS)
    printf("NVML version: %s\n", text);
  int cuda = 0;
  if (FN(nvmlSystemGetCudaDriverVersion_v2)(&cuda) == NVML_SUCCESS)
    printf("CUDA driver version: %d\n", cuda);
  cuda = 0;
  if (FN(nvmlSystemGetCudaDriverVersion)(&cuda) == NVML_SUCCESS)
    printf("CUDA driver version (old): %d\n", cuda);

  unsigned int count = 0, count1 = 0;
  printf("count: %s\n", st(FN(nvmlDeviceGetCount_v2)(&count)));
  printf("count (old): %s\n", st(FN(nvmlDeviceGetCount)(&count1)));
  printf("devices: %u %u\n", count, count1);
  nvmlDevice_t none;
  printf("handle past the end: %s\n", st(FN(nvmlDeviceGetHandleByIndex_v2)(count, &none)));
  printf("name of a NULL handle: %s\n", st(FN(nvmlDeviceGetName)(NULL, text, sizeof text)));
  printf("handle of an unknown UUID: %s\n",
         st(FN(nvmlDeviceGetHandleByUUID)("GPU-00000000-0000-0000-0000-000000000000", &none)));

  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t d, d1, byuuid, bypci, byserial;
    printf("device %u\n", i);
    if (FN(nvmlDeviceGetHandleByIndex_v2)(i, &d) != NVML_SUCCESS) return 1;
    printf("  handle (old): %s\n", st(FN(nvmlDeviceGetHandleByIndex)(i, &d1)));
    printf("  same handle: %s\n", d == d1 ? "yes" : "no");
    unsigned int index = 99;
    FN(nvmlDeviceGetIndex)(d, &index);
    printf("  index: %u\n", index);
    char name[96] = {0}, uuid[96] = {0}, serial[64] = {0};
    printf("  name: %s %s\n", st(FN(nvmlDeviceGetName)(d, name, sizeof name)), name);
    printf("  name in 4 bytes: %s\n", st(FN(nvmlDeviceGetName)(d, text, 4)));
    printf("  uuid: %s %s\n", st(FN(nvmlDeviceGetUUID)(d, uuid, sizeof uuid)), uuid);
    r = FN(nvmlDeviceGetHandleByUUID)(uuid, &byuuid);
    printf("  by uuid: %s %s\n", st(r), r == NVML_SUCCESS && byuuid == d ? "same" : "-");
    r = FN(nvmlDeviceGetSerial)(d, serial, sizeof serial);
    printf("  serial: %s %s\n", st(r), serial);
    if (r == NVML_SUCCESS) {
      r = FN(nvmlDeviceGetHandleBySerial)(serial, &byserial);
      printf("  by serial: %s %s\n", st(r), r == NVML_SUCCESS && byserial == d ? "same" : "-");
    }
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    r = FN(nvmlDeviceGetPciInfo_v3)(d, &pci);
    printf("  pci: %s %s %04x:%02x:%02x id %08x sub %08x\n", st(r), pci.busId, pci.domain,
           pci.bus, pci.device, pci.pciDeviceId, pci.pciSubSystemId);
    r = FN(nvmlDeviceGetHandleByPciBusId_v2)(pci.busId, &bypci);
    printf("  by pci bus id: %s %s\n", st(r), r == NVML_SUCCESS && bypci == d ? "same" : "-");
    nvmlPciInfoExt_t ext;
    memset(&ext, 0, sizeof ext);
    ext.version = nvmlPciInfoExt_v1;
    r = FN(nvmlDeviceGetPciInfoExt)(d, &ext);
    printf("  pci ext: %s %s class %x/%x\n", st(r), ext.busId, ext.baseClass, ext.subClass);

    nvmlMemory_t mem;
    r = FN(nvmlDeviceGetMemoryInfo)(d, &mem);
    printf("  memory: %s total %llu\n", st(r), mem.total);
    plausible("  memory used+free", r == NVML_SUCCESS && mem.used <= mem.total &&
                                        mem.free <= mem.total);
    nvmlMemory_v2_t mem2;
    memset(&mem2, 0, sizeof mem2);
    printf("  memory v2 without a version: %s\n", st(FN(nvmlDeviceGetMemoryInfo_v2)(d, &mem2)));
    mem2.version = nvmlMemory_v2;
    r = FN(nvmlDeviceGetMemoryInfo_v2)(d, &mem2);
    printf("  memory v2: %s total %llu version %08x\n", st(r), mem2.total, mem2.version);
    plausible("  memory v2 reserved+used+free",
              r == NVML_SUCCESS && mem2.reserved + mem2.used + mem2.free <= mem2.total + 4096);
    nvmlBAR1Memory_t bar1;
    r = FN(nvmlDeviceGetBAR1MemoryInfo)(d, &bar1);
    printf("  bar1: %s total %llu\n", st(r), r == NVML_SUCCESS ? bar1.bar1Total : 0ull);

    nvmlComputeMode_t cm;
    r = FN(nvmlDeviceGetComputeMode)(d, &cm);
    printf("  compute mode: %s %d\n", st(r), r == NVML_SUCCESS ? (int)cm : -1);
    nvmlEnableState_t pm, cur, pend;
    r = FN(nvmlDeviceGetPersistenceMode)(d, &pm);
    printf("  persistence: %s %d\n", st(r), r == NVML_SUCCESS ? (int)pm : -1);
    r = FN(nvmlDeviceGetEccMode)(d, &cur, &pend);
    printf("  ecc: %s %d %d\n", st(r), r == NVML_SUCCESS ? (int)cur : -1,
           r == NVML_SUCCESS ? (int)pend : -1);
    int major = 0, minor = 0;
    r = FN(nvmlDeviceGetCudaComputeCapability)(d, &major, &minor);
    printf("  compute capability: %s %d.%d\n", st(r), major, minor);
    nvmlBrandType_t brand;
    r = FN(nvmlDeviceGetBrand)(d, &brand);
    printf("  brand: %s %d\n", st(r), r == NVML_SUCCESS ? (int)brand : -1);
    unsigned int minorNumber = 0;
    r = FN(nvmlDeviceGetMinorNumber)(d, &minorNumber);
    printf("  minor number: %s %u\n", st(r), minorNumber);
    unsigned int maxsm = 0, maxmem = 0, sm = 0, memclk = 0;
    r = FN(nvmlDeviceGetMaxClockInfo)(d, NVML_CLOCK_SM, &maxsm);
    printf("  max sm clock: %s %u\n", st(r), maxsm);
    r = FN(nvmlDeviceGetMaxClockInfo)(d, NVML_CLOCK_MEM, &maxmem);
    printf("  max memory clock: %s %u\n", st(r), maxmem);
    r = FN(nvmlDeviceGetClockInfo)(d, NVML_CLOCK_SM, &sm);
    plausible("  sm clock", r == NVML_SUCCESS && sm > 0 && sm <= maxsm);
    r = FN(nvmlDeviceGetClockInfo)(d, NVML_CLOCK_MEM, &memclk);
    plausible("  memory clock", r == NVML_SUCCESS && memclk > 0 && memclk <= maxmem);
    unsigned int nclocks = 0;
    r = FN(nvmlDeviceGetSupportedMemoryClocks)(d, &nclocks, NULL);
    printf("  supported memory clocks, no array: %s\n", st(r));
    if (r == NVML_ERROR_INSUFFICIENT_SIZE && nclocks > 0 && nclocks < 1024) {
      unsigned int clocks[1024];
      unsigned int n = nclocks;
      r = FN(nvmlDeviceGetSupportedMemoryClocks)(d, &n, clocks);
      printf("  supported memory clocks: %s %u, first %u\n", st(r), n, n ? clocks[0] : 0);
    }

    unsigned int temp = 0;
    r = FN(nvmlDeviceGetTemperature)(d, NVML_TEMPERATURE_GPU, &temp);
    plausible("  temperature", r == NVML_SUCCESS && temp > 0 && temp < 120);
    nvmlTemperature_t tv;
    memset(&tv, 0, sizeof tv);
    tv.version = nvmlTemperature_v1;
    tv.sensorType = NVML_TEMPERATURE_GPU;
    r = FN(nvmlDeviceGetTemperatureV)(d, &tv);
    printf("  temperature v1: %s\n", st(r));
    if (r == NVML_SUCCESS) plausible("  temperature v1 value", tv.temperature > 0 && tv.temperature < 120);
    unsigned int power = 0, limit = 0;
    r = FN(nvmlDeviceGetEnforcedPowerLimit)(d, &limit);
    printf("  power limit: %s %u\n", st(r), limit);
    r = FN(nvmlDeviceGetPowerUsage)(d, &power);
    plausible("  power", r == NVML_SUCCESS && power > 0 && (limit == 0 || power <= limit + limit / 2));
    unsigned int fan = 0;
    r = FN(nvmlDeviceGetFanSpeed)(d, &fan);
    printf("  fan: %s\n", st(r));
    if (r == NVML_SUCCESS) plausible("  fan speed", fan <= 100);
    nvmlPstates_t ps;
    r = FN(nvmlDeviceGetPerformanceState)(d, &ps);
    plausible("  performance state", r == NVML_SUCCESS && ps >= NVML_PSTATE_0 && ps <= NVML_PSTATE_15);
    nvmlUtilization_t util;
    r = FN(nvmlDeviceGetUtilizationRates)(d, &util);
    plausible("  utilization", r == NVML_SUCCESS && util.gpu <= 100 && util.memory <= 100);

    processes(d, "compute", FN(nvmlDeviceGetComputeRunningProcesses_v3));
    processes(d, "graphics", FN(nvmlDeviceGetGraphicsRunningProcesses_v3));

    nvmlFieldValue_t fv[2];
    memset(fv, 0, sizeof fv);
    fv[0].fieldId = NVML_FI_DEV_ECC_CURRENT;
    fv[1].fieldId = NVML_FI_DEV_NVLINK_LINK_COUNT;
    r = FN(nvmlDeviceGetFieldValues)(d, 2, fv);
    printf("  field values: %s, ecc %s %u, nvlinks %s %u\n", st(r), st(fv[0].nvmlReturn),
           fv[0].value.uiVal, st(fv[1].nvmlReturn), fv[1].value.uiVal);

    // What PyTorch asks (c10/cuda): NVLink peers and the fabric.
    nvmlIntNvLinkDeviceType_t type;
    r = FN(nvmlDeviceGetNvLinkRemoteDeviceType)(d, 0, &type);
    printf("  nvlink 0 remote type: %s\n", st(r));
    nvmlPciInfo_t remote;
    r = FN(nvmlDeviceGetNvLinkRemotePciInfo_v2)(d, 0, &remote);
    printf("  nvlink 0 remote pci: %s\n", st(r));
    nvmlGpuFabricInfoV_t fabric;
    memset(&fabric, 0, sizeof fabric);
    fabric.version = nvmlGpuFabricInfo_v3;
    r = FN(nvmlDeviceGetGpuFabricInfoV)(d, &fabric);
    printf("  fabric: %s state %d\n", st(r), r == NVML_SUCCESS ? (int)fabric.state : -1);
    // An older, smaller version of the struct: NVML writes only that much, and so must we.
    struct {
      nvmlGpuFabricInfo_v2_t info;
      unsigned char canary[64];
    } old;
    memset(&old, 0xAB, sizeof old);
    old.info.version = nvmlGpuFabricInfo_v2;
    r = FN(nvmlDeviceGetGpuFabricInfoV)(d, (nvmlGpuFabricInfoV_t*)&old.info);
    int intact = 1;
    for (size_t k = 0; k < sizeof old.canary; ++k) intact &= old.canary[k] == 0xAB;
    printf("  fabric v2: %s, past the struct %s\n", st(r), intact ? "untouched" : "WRITTEN");
  }

  printf("shutdown: %s\n", st(FN(nvmlShutdown)()));
  printf("shutdown: %s\n", st(FN(nvmlShutdown)()));
  printf("shutdown again: %s\n", st(FN(nvmlShutdown)()));
  printf("%s\n", failures ? "FAILED" : "done");
  return failures ? 1 : 0;
}
