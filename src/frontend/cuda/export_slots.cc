// cuGetExportTable: the private tables NVIDIA's static CUDA runtime (libcudart_static.a, linked
// into every program built with plain nvcc) asks the driver for. The layouts, the refusing stub
// of every slot not listed here and context-local storage are in export_tables.cc; this file
// implements the slots CUDA 13.0's runtime calls (measured with tools/trace_libcuda, listed in
// docs/static-cudart.md) through this library's own driver functions, so everything the
// runtime does through them reaches the worker like any driver call.
#include <pthread.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "frontend/cuda/export_hash.h"
#include "frontend/cuda/export_slots.h"
#include "frontend/cuda/export_tables.h"
#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

ContextStorage& storage() {
  static ContextStorage* s = new ContextStorage([](CUcontext* c) { return cuCtxGetCurrent(c); });
  return *s;
}

// ---- logging (f8cff951) ----
// Slot 1 receives the runtime's own error messages (component "CUDA", a printf format and its
// va_list) for the driver's log buffer (cuLogs*). GVirtuS keeps no such buffer: the message is
// dropped, as a driver with no log consumer drops it; the runtime reports the error itself.
CUresult log_message(const char*, int, const char*, void*) { return CUDA_SUCCESS; }

// ---- cudart interface (6bd5fb6c) ----
std::mutex g_primary_mu;
std::map<CUdevice, CUcontext> g_primary;  // primary contexts retained for the runtime

// Slot 2: the device's primary context, which the runtime then makes current itself. Retained
// once per device (until it is reset), so the handle stays valid while the runtime holds it.
CUresult primary_context(CUcontext* pctx, CUdevice dev) {
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(g_primary_mu);
  auto it = g_primary.find(dev);
  if (it != g_primary.end()) {
    *pctx = it->second;
    return CUDA_SUCCESS;
  }
  CUcontext c = nullptr;
  CUresult r = cuDevicePrimaryCtxRetain(&c, dev);
  if (r != CUDA_SUCCESS) return r;
  g_primary[dev] = c;
  *pctx = c;
  return CUDA_SUCCESS;
}

// Slots 1, 6 and 8: a module from the fatbin wrapper (or fatbin) nvcc registers. CUDA 13.0's
// runtime loads its modules with cuLibraryLoadData instead and was not seen calling these;
// they are kept for runtimes that do (the forms with extra arguments only when those are empty,
// as their meaning is unknown).
CUresult module_from_fatbin(CUmodule* module, const void* wrapper) {
  if (!module || !wrapper) return CUDA_ERROR_INVALID_VALUE;
  return cuModuleLoadData(module, wrapper);
}
CUresult module_from_fatbin_ext1(CUmodule* module, const void* wrapper, void* a3, void* a4,
                                 unsigned a5) {
  if (a3 || a4 || a5) return refuse("cuGetExportTable", "cudart interface slot 6 with options");
  return module_from_fatbin(module, wrapper);
}
CUresult module_from_fatbin_ext2(const void* fatbin, CUmodule* module, void* a3, void* a4,
                                 unsigned a5) {
  if (a3 || a4 || a5) return refuse("cuGetExportTable", "cudart interface slot 8 with options");
  return module_from_fatbin(module, fatbin);
}
// Slot 7: no result, no effect observed. Slot 12: loads the driver's JIT compilers, which are
// on the worker: nothing to do here.
void interface_noop(uintptr_t) {}
CUresult load_compilers() { return CUDA_SUCCESS; }

// ---- tools callback hooks (a094798c) ----
// Slots 2 and 6 hand out two zeroed flag arrays (and their lengths, the driver's: 0x400 and
// 0xe) in which profiling tools would mark the callbacks they subscribed to. No tool runs inside
// a GVirtuS client (CUPTI is not forwarded), so every flag stays clear and the runtime makes no
// callbacks: a no-op that is exactly right for a process without tools.
constexpr size_t kHooks1 = 0x400, kHooks2 = 0xe;
alignas(64) uint64_t g_hooks1[kHooks1];
alignas(64) uint64_t g_hooks2[kHooks2];
void hooks1(void** ptr, size_t* size) {
  if (ptr) *ptr = g_hooks1;
  if (size) *size = kHooks1;
}
void hooks2(void** ptr, size_t* size) {
  if (ptr) *ptr = g_hooks2;
  if (size) *size = kHooks2;
}

// ---- context-local storage (c693336e) ----
CUresult cls_put(CUcontext ctx, void* key, void* value, ContextStorage::Destructor dtor) {
  return guarded("cuGetExportTable", [&] { return storage().put(ctx, key, value, dtor); });
}
CUresult cls_remove(CUcontext ctx, void* key) {
  return guarded("cuGetExportTable", [&] { return storage().remove(ctx, key); });
}
CUresult cls_get(void** value, CUcontext ctx, void* key) {
  return guarded("cuGetExportTable", [&] { return storage().get(value, ctx, key); });
}

// ---- context checks (263e8860) ----
// Slot 2 reports flags of a context the runtime checks before using it; the driver answers 0
// for every ordinary context (measured), and GVirtuS makes only ordinary ones. Slot 3 answers
// 0 likewise.
CUresult context_flags(CUcontext, unsigned* flags, void**) {
  if (flags) *flags = 0;
  return CUDA_SUCCESS;
}
unsigned context_check3() { return 0; }

// ---- integrity check (d4082055) ----
const ExportTables& tables();
CUresult integrity(unsigned version, uint64_t seconds, uint64_t* result) {
  if (!result) return CUDA_ERROR_INVALID_VALUE;
  return guarded("cuGetExportTable", [&] {
    HashInput in;
    in.version = version;
    in.unix_seconds = seconds;
    in.process = static_cast<uint32_t>(::getpid());
    in.thread = static_cast<uint32_t>(::pthread_self());
    in.cudart_table = tables().table(kCudartInterface);
    in.integrity_table = tables().table(kIntegrity);
    in.slot = tables().table(kIntegrity)[1];
    if (version % 10 > 1) {  // the digest of the fixed versions needs no facts (export_hash.h)
      int v = 0, n = 0;
      CUresult r = cuDriverGetVersion(&v);
      if (r == CUDA_SUCCESS) r = cuDeviceGetCount(&n);
      if (r != CUDA_SUCCESS) return r;
      in.driver_version = static_cast<uint32_t>(v);
      for (int d = 0; d < n; ++d) {
        HashDevice hd{};
        CUuuid u;
        r = cuDeviceGetUuid_v2(&u, d);
        if (r == CUDA_SUCCESS)
          r = cuDeviceGetAttribute(&hd.pci_domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d);
        if (r == CUDA_SUCCESS)
          r = cuDeviceGetAttribute(&hd.pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
        if (r == CUDA_SUCCESS)
          r = cuDeviceGetAttribute(&hd.pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
        if (r != CUDA_SUCCESS) return r;
        std::memcpy(hd.uuid, u.bytes, sizeof hd.uuid);
        in.devices.push_back(hd);
      }
    }
    unsigned char digest[16];
    integrity_digest(in, digest);
    std::memcpy(result, digest, sizeof digest);
    return CUDA_SUCCESS;
  });
}

template <typename F>
const void* fn(F* f) {
  return reinterpret_cast<const void*>(f);
}

const ExportTables& tables() {
  static const ExportTables* t = new ExportTables({
      {kLogging, 1, fn(&log_message)},
      {kCudartInterface, 1, fn(&module_from_fatbin)},
      {kCudartInterface, 2, fn(&primary_context)},
      {kCudartInterface, 6, fn(&module_from_fatbin_ext1)},
      {kCudartInterface, 7, fn(&interface_noop)},
      {kCudartInterface, 8, fn(&module_from_fatbin_ext2)},
      {kCudartInterface, 12, fn(&load_compilers)},
      {kToolsHooks, 2, fn(&hooks1)},
      {kToolsHooks, 6, fn(&hooks2)},
      {kContextStorage, 0, fn(&cls_put)},
      {kContextStorage, 1, fn(&cls_remove)},
      {kContextStorage, 2, fn(&cls_get)},
      {kContextChecks, 2, fn(&context_flags)},
      {kContextChecks, 3, fn(&context_check3)},
      {kIntegrity, 1, fn(&integrity)},
  });
  return *t;
}

}  // namespace

void export_primary_reset(CUdevice dev) {
  CUcontext ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_primary_mu);
    auto it = g_primary.find(dev);
    if (it == g_primary.end()) return;
    ctx = it->second;
    g_primary.erase(it);
  }
  storage().context_gone(ctx);
}

void export_context_destroyed(CUcontext ctx) { storage().context_gone(ctx); }

}  // namespace gvirtus::cuda

GV_EXPORT CUresult cuGetExportTable(const void** ppExportTable, const CUuuid* pExportTableId) {
  using namespace gvirtus::cuda;
  return guarded("cuGetExportTable", [&] { return tables().get(ppExportTable, pExportTableId); });
}
