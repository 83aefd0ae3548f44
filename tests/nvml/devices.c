// The GPUs NVML shows, for tests/nvml/devices.py (the backend's --devices applied to NVML). The
// program dlopens "libnvidia-ml.so.1" as nvidia-smi does. It prints the count and, per index,
// the UUID, serial and PCI bus id; checks that each GPU is found again by each of them (and
// nvmlDeviceGetIndex gives its index); then, for each UUID, serial or PCI bus id given as an
// argument, prints what a lookup answers ("KEY found INDEX" or "KEY STATUS").
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

static const char* st(nvmlReturn_t r) { return FN(nvmlErrorString)(r); }

static int failures;

static void same(const char* how, const char* key, nvmlReturn_t r, nvmlDevice_t got,
                 nvmlDevice_t want) {
  if (r != NVML_SUCCESS || got != want) {
    printf("MISMATCH: %s %s: %s\n", how, key, st(r));
    failures++;
  }
}

// A lookup of KEY by UUID, serial, then PCI bus id: the first that finds it, else the UUID
// lookup's status.
static void lookup(const char* key) {
  nvmlDevice_t d;
  nvmlReturn_t r = NVML_ERROR_NOT_FOUND;
  if (strncmp(key, "GPU-", 4) == 0)
    r = FN(nvmlDeviceGetHandleByUUID)(key, &d);
  else if (strchr(key, ':'))
    r = FN(nvmlDeviceGetHandleByPciBusId_v2)(key, &d);
  else
    r = FN(nvmlDeviceGetHandleBySerial)(key, &d);
  if (r != NVML_SUCCESS) {
    printf("%s %s\n", key, st(r));
    return;
  }
  unsigned int i = 0;
  r = FN(nvmlDeviceGetIndex)(d, &i);
  printf("%s found %u (%s)\n", key, i, st(r));
}

int main(int argc, char** argv) {
  lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
  if (!lib) {
    printf("cannot load libnvidia-ml.so.1: %s\n", dlerror());
    return 1;
  }
  nvmlReturn_t r = FN(nvmlInit_v2)();
  if (r != NVML_SUCCESS) {
    printf("nvmlInit_v2: %s\n", st(r));
    return 1;
  }
  unsigned int n = 0, n1 = 0;
  r = FN(nvmlDeviceGetCount_v2)(&n);
  printf("count %u (%s)\n", n, st(r));
  if (FN(nvmlDeviceGetCount)(&n1) != NVML_SUCCESS || n1 != n) {
    printf("MISMATCH: nvmlDeviceGetCount %u\n", n1);
    failures++;
  }
  for (unsigned int i = 0; i < n; ++i) {
    nvmlDevice_t d, again;
    r = FN(nvmlDeviceGetHandleByIndex_v2)(i, &d);
    if (r != NVML_SUCCESS) {
      printf("MISMATCH: index %u: %s\n", i, st(r));
      failures++;
      continue;
    }
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {0}, serial[NVML_DEVICE_SERIAL_BUFFER_SIZE] = {0};
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    nvmlReturn_t ru = FN(nvmlDeviceGetUUID)(d, uuid, sizeof uuid);
    nvmlReturn_t rs = FN(nvmlDeviceGetSerial)(d, serial, sizeof serial);
    nvmlReturn_t rp = FN(nvmlDeviceGetPciInfo_v3)(d, &pci);
    // "n/a": a GPU without a serial (or the like) answers NOT_SUPPORTED for it.
    printf("device %u uuid %s serial %s pci %s\n", i, ru == NVML_SUCCESS ? uuid : "n/a",
           rs == NVML_SUCCESS ? serial : "n/a", rp == NVML_SUCCESS ? pci.busId : "n/a");
    unsigned int idx = 99;
    r = FN(nvmlDeviceGetIndex)(d, &idx);
    if (r != NVML_SUCCESS || idx != i) {
      printf("MISMATCH: nvmlDeviceGetIndex of %u: %u (%s)\n", i, idx, st(r));
      failures++;
    }
    r = FN(nvmlDeviceGetHandleByIndex)(i, &again);
    same("by index (v1)", uuid, r, again, d);
    if (ru == NVML_SUCCESS) {
      r = FN(nvmlDeviceGetHandleByUUID)(uuid, &again);
      same("by UUID", uuid, r, again, d);
    }
    if (rs == NVML_SUCCESS) {
      r = FN(nvmlDeviceGetHandleBySerial)(serial, &again);
      same("by serial", serial, r, again, d);
    }
    if (rp == NVML_SUCCESS) {
      r = FN(nvmlDeviceGetHandleByPciBusId_v2)(pci.busId, &again);
      same("by PCI bus id", pci.busId, r, again, d);
    }
  }
  nvmlDevice_t beyond;
  r = FN(nvmlDeviceGetHandleByIndex_v2)(n, &beyond);
  printf("index %u: %s\n", n, st(r));
  for (int a = 1; a < argc; ++a) lookup(argv[a]);
  FN(nvmlShutdown)();
  printf("failures %d\n", failures);
  return failures ? 1 : 0;
}
