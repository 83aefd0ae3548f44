// A stand-in libnvidia-ml.so.1 for machines without a driver (CI): two fake GPUs with fixed,
// plausible values. tests/cuda/libs/nvml.c runs natively against it and through GVirtuS, whose
// worker loads it in place of NVIDIA's (LD_LIBRARY_PATH of the test), so the whole path (handle
// ids, versioned structs, strings, count-and-array calls) is compared without a GPU. Only the
// functions that program calls exist; the rest of NVML is absent, as from an old driver.
#define NVML_NO_UNVERSIONED_FUNC_DEFS
#include <nvml.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))
#define NDEV 2

struct fake_device {
  unsigned int index;
};
static struct fake_device devices[NDEV] = {{0}, {1}};
static int refs;

static int valid(nvmlDevice_t d) {
  for (int i = 0; i < NDEV; ++i)
    if (d == (nvmlDevice_t)&devices[i]) return 1;
  return 0;
}
static unsigned int idx(nvmlDevice_t d) { return ((struct fake_device*)d)->index; }

#define CHECK_INIT() \
  if (refs == 0) return NVML_ERROR_UNINITIALIZED
#define CHECK_DEV(d) \
  CHECK_INIT();      \
  if (!valid(d)) return NVML_ERROR_INVALID_ARGUMENT

static nvmlReturn_t put_string(char* dst, unsigned int length, const char* s) {
  if (dst == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(s) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(dst, s);
  return NVML_SUCCESS;
}

API const char* nvmlErrorString(nvmlReturn_t r) {
  static const char* const names[] = {
      "Success", "Uninitialized", "Invalid Argument", "Not Supported",
      "Insufficient Permissions", "Already Initialized", "Not Found", "Insufficient Size",
      "Insufficient External Power", "Driver Not Loaded", "Timeout", "Interrupt Request Issue",
      "NVML Shared Library Not Found", "Function Not Found", "Corrupted infoROM", "GPU is lost",
      "GPU requires reset", "GPU access blocked by the operating system",
      "Driver/library version mismatch", "In use by another client", "Insufficient Memory",
      "No data", "vGPU ECC not supported", "Insufficient Resources", "Invalid Frequency",
      "Argument version mismatch", "Requested functionality has been deprecated",
      "System is not in ready state", "No supported GPUs were found",
      "Resource not in correct state to perform requested operation",
      "Reset type is not supported for given device"};
  if ((unsigned)r < sizeof names / sizeof names[0]) return names[r];
  return "Unknown Error";
}

API nvmlReturn_t nvmlInit_v2(void) {
  ++refs;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
API nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags;
  return nvmlInit_v2();
}
API nvmlReturn_t nvmlShutdown(void) {
  if (refs == 0) return NVML_ERROR_UNINITIALIZED;
  --refs;
  return NVML_SUCCESS;
}

API nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  CHECK_INIT();
  return put_string(version, length, "580.0.0-fake");
}
API nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  CHECK_INIT();
  return put_string(version, length, "13.580.0");
}
API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* v) {
  if (v == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *v = 13000;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* v) { return nvmlSystemGetCudaDriverVersion_v2(v); }
API nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char* name, unsigned int length) {
  CHECK_INIT();
  char buf[64];
  snprintf(buf, sizeof buf, "process-%u", pid);
  return put_string(name, length, buf);
}

API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* n) {
  CHECK_INIT();
  if (n == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *n = NDEV;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetCount(unsigned int* n) { return nvmlDeviceGetCount_v2(n); }
API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) {
  CHECK_INIT();
  if (i >= NDEV || d == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *d = (nvmlDevice_t)&devices[i];
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t* d) {
  return nvmlDeviceGetHandleByIndex_v2(i, d);
}
API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned int* i) {
  CHECK_DEV(d);
  *i = idx(d);
  return NVML_SUCCESS;
}

static void uuid_of(unsigned int i, char* out, size_t n) {
  snprintf(out, n, "GPU-6776aa00-0000-4000-8000-00000000000%u", i);
}
static void busid_of(unsigned int i, char* out, size_t n) {
  snprintf(out, n, "00000000:%02X:00.0", 0x10 + i);
}

API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* name, unsigned int length) {
  CHECK_DEV(d);
  return put_string(name, length, idx(d) == 0 ? "GVirtuS Fake GPU" : "GVirtuS Fake GPU Max");
}
API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* uuid, unsigned int length) {
  CHECK_DEV(d);
  char buf[96];
  uuid_of(idx(d), buf, sizeof buf);
  return put_string(uuid, length, buf);
}
API nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t d, char* serial, unsigned int length) {
  CHECK_DEV(d);
  char buf[32];
  snprintf(buf, sizeof buf, "165000000000%u", idx(d));
  return put_string(serial, length, buf);
}
static nvmlReturn_t find(const char* key, nvmlDevice_t* d,
                         nvmlReturn_t (*get)(nvmlDevice_t, char*, unsigned int)) {
  CHECK_INIT();
  if (key == NULL || d == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  for (int i = 0; i < NDEV; ++i) {
    char buf[96];
    get((nvmlDevice_t)&devices[i], buf, sizeof buf);
    if (strcmp(buf, key) == 0) {
      *d = (nvmlDevice_t)&devices[i];
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}
API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* d) {
  return find(uuid, d, nvmlDeviceGetUUID);
}
API nvmlReturn_t nvmlDeviceGetHandleBySerial(const char* serial, nvmlDevice_t* d) {
  return find(serial, d, nvmlDeviceGetSerial);
}

API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t* pci) {
  CHECK_DEV(d);
  if (pci == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  memset(pci, 0, sizeof *pci);
  busid_of(idx(d), pci->busId, sizeof pci->busId);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", 0x10 + idx(d));
  pci->bus = 0x10 + idx(d);
  pci->pciDeviceId = 0x233510de;
  pci->pciSubSystemId = 0x18bf10de;
  return NVML_SUCCESS;
}
static nvmlReturn_t busid_get(nvmlDevice_t d, char* out, unsigned int n) {
  busid_of(idx(d), out, n);
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* busId, nvmlDevice_t* d) {
  return find(busId, d, busid_get);
}
API nvmlReturn_t nvmlDeviceGetPciInfoExt(nvmlDevice_t d, nvmlPciInfoExt_t* pci) {
  CHECK_DEV(d);
  if (pci == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (pci->version != nvmlPciInfoExt_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  busid_of(idx(d), pci->busId, sizeof pci->busId);
  pci->domain = 0;
  pci->bus = 0x10 + idx(d);
  pci->device = 0;
  pci->pciDeviceId = 0x233510de;
  pci->pciSubSystemId = 0x18bf10de;
  pci->baseClass = 3;
  pci->subClass = 2;
  return NVML_SUCCESS;
}

#define TOTAL (16ull << 30)
#define RESERVED (512ull << 20)
#define USED (1ull << 30)
API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  CHECK_DEV(d);
  if (m == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  m->total = TOTAL;
  m->used = USED + RESERVED;
  m->free = TOTAL - m->used;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t* m) {
  CHECK_DEV(d);
  if (m == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (m->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  m->total = TOTAL;
  m->reserved = RESERVED;
  m->used = USED;
  m->free = TOTAL - RESERVED - USED;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetBAR1MemoryInfo(nvmlDevice_t d, nvmlBAR1Memory_t* b) {
  CHECK_DEV(d);
  b->bar1Total = 32ull << 30;
  b->bar1Used = 2ull << 20;
  b->bar1Free = b->bar1Total - b->bar1Used;
  return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t d, nvmlComputeMode_t* m) {
  CHECK_DEV(d);
  *m = idx(d) == 0 ? NVML_COMPUTEMODE_DEFAULT : NVML_COMPUTEMODE_EXCLUSIVE_PROCESS;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t d, nvmlEnableState_t* m) {
  CHECK_DEV(d);
  *m = NVML_FEATURE_ENABLED;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t d, nvmlEnableState_t* c, nvmlEnableState_t* p) {
  CHECK_DEV(d);
  if (idx(d) == 1) return NVML_ERROR_NOT_SUPPORTED;
  *c = *p = NVML_FEATURE_ENABLED;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int* major, int* minor) {
  CHECK_DEV(d);
  *major = 9;
  *minor = 0;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetBrand(nvmlDevice_t d, nvmlBrandType_t* b) {
  CHECK_DEV(d);
  *b = NVML_BRAND_NVIDIA;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int* m) {
  CHECK_DEV(d);
  *m = idx(d);
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t d, nvmlClockType_t t, unsigned int* c) {
  CHECK_DEV(d);
  *c = t == NVML_CLOCK_MEM ? 2619 : 1980;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, nvmlClockType_t t, unsigned int* c) {
  CHECK_DEV(d);
  *c = t == NVML_CLOCK_MEM ? 2619 : 1755;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetSupportedMemoryClocks(nvmlDevice_t d, unsigned int* count,
                                                    unsigned int* clocks) {
  CHECK_DEV(d);
  static const unsigned int all[] = {2619, 1593};
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int cap = *count;
  *count = 2;
  if (clocks == NULL || cap < 2) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(clocks, all, sizeof all);
  return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, nvmlTemperatureSensors_t s,
                                          unsigned int* t) {
  CHECK_DEV(d);
  if (s != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  *t = 38 + idx(d);
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t d, nvmlTemperature_t* t) {
  CHECK_DEV(d);
  if (t->version != nvmlTemperature_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  if (t->sensorType != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  t->temperature = 38 + (int)idx(d);
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int* l) {
  CHECK_DEV(d);
  *l = 700000;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* p) {
  CHECK_DEV(d);
  *p = 83000;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t d, unsigned int* s) {
  CHECK_DEV(d);
  (void)s;
  return NVML_ERROR_NOT_SUPPORTED;
}
API nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t d, nvmlPstates_t* p) {
  CHECK_DEV(d);
  *p = NVML_PSTATE_0;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  CHECK_DEV(d);
  u->gpu = 3;
  u->memory = 1;
  return NVML_SUCCESS;
}

// Device 0 runs one compute process: the process that loaded this library (natively the test
// program, through GVirtuS the worker), as NVML would list a worker with a context.
static nvmlReturn_t procs(nvmlDevice_t d, unsigned int* count, nvmlProcessInfo_t* infos,
                          int graphics) {
  CHECK_DEV(d);
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int n = (idx(d) == 0 && !graphics) ? 1 : 0;
  unsigned int cap = *count;
  *count = n;
  if (n == 0) return NVML_SUCCESS;
  if (infos == NULL || cap < n) return NVML_ERROR_INSUFFICIENT_SIZE;
  memset(infos, 0, sizeof *infos);
  infos[0].pid = (unsigned int)getpid();
  infos[0].usedGpuMemory = 500ull << 20;
  infos[0].gpuInstanceId = 0xFFFFFFFF;
  infos[0].computeInstanceId = 0xFFFFFFFF;
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int* c,
                                                         nvmlProcessInfo_t* p) {
  return procs(d, c, p, 0);
}
API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int* c,
                                                          nvmlProcessInfo_t* p) {
  return procs(d, c, p, 1);
}

API nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, nvmlFieldValue_t* v) {
  CHECK_DEV(d);
  if (n < 0 || v == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  for (int i = 0; i < n; ++i) {
    v[i].valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    if (v[i].fieldId == NVML_FI_DEV_ECC_CURRENT) {
      v[i].nvmlReturn = NVML_SUCCESS;
      v[i].value.uiVal = 1;
    } else if (v[i].fieldId == NVML_FI_DEV_NVLINK_LINK_COUNT) {
      v[i].nvmlReturn = NVML_SUCCESS;
      v[i].value.uiVal = 18;
    } else {
      v[i].nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    }
  }
  return NVML_SUCCESS;
}
API nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t d, unsigned int link,
                                                     nvmlIntNvLinkDeviceType_t* t) {
  CHECK_DEV(d);
  (void)link;
  (void)t;
  return NVML_ERROR_NOT_SUPPORTED;
}
API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t d, unsigned int link,
                                                     nvmlPciInfo_t* p) {
  CHECK_DEV(d);
  (void)link;
  (void)p;
  return NVML_ERROR_NOT_SUPPORTED;
}
API nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t d, nvmlGpuFabricInfoV_t* f) {
  CHECK_DEV(d);
  if (f->version == nvmlGpuFabricInfo_v2) {  // the older layout: only its own bytes
    nvmlGpuFabricInfo_v2_t* f2 = (nvmlGpuFabricInfo_v2_t*)f;
    memset(f2->clusterUuid, 0, sizeof f2->clusterUuid);
    f2->state = NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
    f2->status = NVML_SUCCESS;
    f2->cliqueId = 0;
    f2->healthMask = 0;
    return NVML_SUCCESS;
  }
  if (f->version != nvmlGpuFabricInfo_v3) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  memset(f->clusterUuid, 0, sizeof f->clusterUuid);
  f->state = NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
  f->status = NVML_SUCCESS;
  f->cliqueId = 0;
  f->healthMask = 0;
  f->healthSummary = 0;
  return NVML_SUCCESS;
}
