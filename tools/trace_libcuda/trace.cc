// gvirtus-trace-libcuda: a test-only libcuda.so.1 that forwards every driver function to the
// real driver (dlopen'ed by full path) and logs what NVIDIA's static CUDA runtime asks of it:
// each cuGetExportTable id, each cuGetProcAddress name, and every call made through the
// private tables (table, slot, the six argument registers, the result, and the first two words
// behind each pointer argument after the call). It is how docs/static-cudart.md's table of
// tables and slots was measured. Not shipped; built on request (target gvirtus-trace-libcuda).
//
//   LD_LIBRARY_PATH=<dir of this libcuda.so.1> GVIRTUS_TRACE_LOG=trace.txt ./static_program
//
// GVIRTUS_TRACE_REAL: the real driver (default /usr/lib/x86_64-linux-gnu/libcuda.so.1).
// GVIRTUS_TRACE_WRAP=0: hand the real tables out unchanged (only the requests are logged).
//
// The integrity-check slot (docs/static-cudart.md) hashes the tables' addresses, so a wrapped
// table needs a digest for the wrapped addresses: the shim asks the real slot, recomputes the
// same digest with GVirtuS's implementation (frontend/cuda/export_hash.cc) over the real
// addresses, logs whether the two agree, and answers the digest over its own addresses.
#include <cuda.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "frontend/cuda/export_hash.h"

#undef cuGetProcAddress

extern "C" {
#pragma GCC visibility push(hidden)
extern const char* const gv_trace_forward_names[];
extern void* gv_trace_forward_slots[];
extern char gv_trace_stubs[];
void* gv_trace_enter(uint64_t stub, void* ret, const uint64_t* regs);
void* gv_trace_leave(uint64_t result);
#pragma GCC visibility pop
}

namespace {

constexpr int kStubs = 2048;
constexpr int kTables = 32;
constexpr int kSlotsPerTable = kStubs / kTables;  // 64

void* g_real = nullptr;
int g_log = 2;
bool g_wrap = true;
std::mutex g_mu;

void logf(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof buf) - 1) n = sizeof buf - 1;
  ssize_t w = write(g_log, buf, static_cast<size_t>(n));
  (void)w;
}

struct Table {
  unsigned char uuid[16];
  const void* const* real = nullptr;
  const void** copy = nullptr;
  int slots = 0;
  bool sized = false;
  std::atomic<uint64_t> calls[kSlotsPerTable];
};
Table g_tables[kTables];
int g_ntables = 0;

std::string uuid_text(const unsigned char* u) {
  char s[40];
  snprintf(s, sizeof s,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
           u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
           u[15]);
  return s;
}

// Reads memory that may not be mapped without faulting.
bool peek(uint64_t addr, uint64_t out[2]) {
  if (addr < 0x10000) return false;
  iovec local{out, 16};
  iovec remote{reinterpret_cast<void*>(addr), 16};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 16;
}

struct Frame {
  uint64_t stub;
  void* ret;
  uint64_t args[6];
};
thread_local Frame t_frames[64];
thread_local int t_depth = 0;

constexpr unsigned char kIntegrity[16] = {0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b,
                                          0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2};
constexpr unsigned char kCudart[16] = {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a,
                                       0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9};

Table* find(const unsigned char* uuid) {
  for (int i = 0; i < g_ntables; ++i)
    if (std::memcmp(g_tables[i].uuid, uuid, 16) == 0) return &g_tables[i];
  return nullptr;
}

using Fn = CUresult (*)(...);
template <typename T>
T real_fn(const char* name) {
  return reinterpret_cast<T>(dlsym(g_real, name));
}

gvirtus::cuda::HashInput hash_input(uint32_t version, uint64_t seconds, const void* cudart,
                                    const void* integrity, const void* slot) {
  gvirtus::cuda::HashInput in;
  int v = 0;
  real_fn<CUresult (*)(int*)>("cuDriverGetVersion")(&v);
  in.driver_version = static_cast<uint32_t>(v);
  in.version = version;
  in.process = static_cast<uint32_t>(getpid());
  in.thread = static_cast<uint32_t>(pthread_self());
  in.cudart_table = cudart;
  in.integrity_table = integrity;
  in.slot = slot;
  in.unix_seconds = seconds;
  int n = 0;
  real_fn<CUresult (*)(int*)>("cuDeviceGetCount")(&n);
  auto attr = real_fn<CUresult (*)(int*, CUdevice_attribute, CUdevice)>("cuDeviceGetAttribute");
  for (int d = 0; d < n; ++d) {
    gvirtus::cuda::HashDevice hd{};
    CUuuid u;
    real_fn<CUresult (*)(CUuuid*, CUdevice)>("cuDeviceGetUuid_v2")(&u, d);
    std::memcpy(hd.uuid, u.bytes, 16);
    attr(&hd.pci_domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d);
    attr(&hd.pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
    attr(&hd.pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
    in.devices.push_back(hd);
  }
  return in;
}

CUresult integrity_slot(uint32_t version, uint64_t seconds, uint64_t* result) {
  Table* it = find(kIntegrity);
  Table* rt = find(kCudart);
  auto real = reinterpret_cast<CUresult (*)(uint32_t, uint64_t, uint64_t*)>(
      const_cast<void*>(it->real[1]));
  uint64_t theirs[2] = {0, 0};
  CUresult r = real(version, seconds, theirs);
  unsigned char ours_real[16], ours_wrapped[16];
  const gvirtus::cuda::HashInput in =
      hash_input(version, seconds, rt ? rt->real : nullptr, it->real, it->real[1]);
  gvirtus::cuda::integrity_digest(in, ours_real);
  // The inputs in full, so that a digest can be checked again off the GPU machine.
  logf("[trace] integrity inputs driver=%u version=%u process=%u thread=%u cudart=%p "
       "integrity=%p slot=%p seconds=%" PRIu64 " devices=%zu\n",
       in.driver_version, in.version, in.process, in.thread, in.cudart_table,
       in.integrity_table, in.slot, in.unix_seconds, in.devices.size());
  for (const auto& d : in.devices)
    logf("[trace] integrity device uuid=%s pci=%d:%d:%d\n", uuid_text(d.uuid).c_str(),
         d.pci_domain, d.pci_bus, d.pci_device);
  gvirtus::cuda::integrity_digest(
      hash_input(version, seconds, rt ? rt->copy : nullptr, it->copy, it->copy[1]),
      ours_wrapped);
  const bool same = std::memcmp(ours_real, theirs, 16) == 0;
  logf("[trace] integrity version=%u seconds=%" PRIu64 " -> %d driver=%016" PRIx64 "%016" PRIx64
       " ours-over-driver-tables %s\n",
       version, seconds, r, theirs[0], theirs[1], same ? "MATCH" : "MISMATCH");
  if (result) std::memcpy(result, ours_wrapped, 16);
  return r;
}

}  // namespace

extern "C" void* gv_trace_enter(uint64_t stub, void* ret, const uint64_t* regs) {
  const int t = static_cast<int>(stub / kSlotsPerTable);
  const int s = static_cast<int>(stub % kSlotsPerTable);
  Table& tb = g_tables[t];
  Frame& f = t_frames[t_depth < 63 ? t_depth : 63];
  ++t_depth;
  f.stub = stub;
  f.ret = ret;
  // regs: rax r9 r8 rcx rdx rsi rdi
  f.args[0] = regs[6];
  f.args[1] = regs[5];
  f.args[2] = regs[4];
  f.args[3] = regs[3];
  f.args[4] = regs[2];
  f.args[5] = regs[1];
  tb.calls[s].fetch_add(1);
  return const_cast<void*>(tb.real[s]);
}

extern "C" void* gv_trace_leave(uint64_t result) {
  --t_depth;
  Frame& f = t_frames[t_depth < 63 ? t_depth : 63];
  const int t = static_cast<int>(f.stub / kSlotsPerTable);
  const int s = static_cast<int>(f.stub % kSlotsPerTable);
  if (g_tables[t].calls[s].load() <= 8) {  // the first calls of each slot in full
    char extra[512] = "";
    size_t used = 0;
    for (int a = 0; a < 6; ++a) {
      uint64_t w[2];
      if (peek(f.args[a], w))
        used += static_cast<size_t>(snprintf(extra + used, sizeof extra - used,
                                             " *a%d={%#" PRIx64 ",%#" PRIx64 "}", a, w[0], w[1]));
      if (used >= sizeof extra) break;
    }
    logf("[trace] call %s[%d](%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64
         ", %#" PRIx64 ") -> %#" PRIx64 "%s\n",
         uuid_text(g_tables[t].uuid).c_str(), s, f.args[0], f.args[1], f.args[2], f.args[3],
         f.args[4], f.args[5], result, extra);
  }
  return f.ret;
}

__attribute__((constructor)) static void trace_init() {
  if (const char* p = getenv("GVIRTUS_TRACE_LOG")) {
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) g_log = fd;
  }
  if (const char* w = getenv("GVIRTUS_TRACE_WRAP")) g_wrap = std::strcmp(w, "0") != 0;
  const char* path = getenv("GVIRTUS_TRACE_REAL");
  if (!path) path = "/usr/lib/x86_64-linux-gnu/libcuda.so.1";
  g_real = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!g_real) {
    logf("[trace] cannot load %s: %s\n", path, dlerror());
    return;
  }
  for (int i = 0; gv_trace_forward_names[i]; ++i)
    gv_trace_forward_slots[i] = dlsym(g_real, gv_trace_forward_names[i]);
  logf("[trace] pid %d: forwarding to %s\n", getpid(), path);
}

__attribute__((destructor)) static void trace_fini() {
  for (int t = 0; t < g_ntables; ++t)
    for (int s = 0; s < g_tables[t].slots; ++s)
      if (uint64_t n = g_tables[t].calls[s].load())
        logf("[trace] total %s[%d] %" PRIu64 " calls\n", uuid_text(g_tables[t].uuid).c_str(), s,
             n);
}

extern "C" __attribute__((visibility("default"))) CUresult cuGetExportTable(
    const void** out, const CUuuid* id) {
  auto real = real_fn<CUresult (*)(const void**, const CUuuid*)>("cuGetExportTable");
  const void* table = nullptr;
  CUresult r = real(&table, id);
  const unsigned char* u = reinterpret_cast<const unsigned char*>(id);
  std::lock_guard<std::mutex> lock(g_mu);
  if (r != CUDA_SUCCESS || !table) {
    logf("[trace] cuGetExportTable %s -> %d\n", id ? uuid_text(u).c_str() : "(null)", r);
    if (out) *out = table;
    return r;
  }
  Table* tb = find(u);
  if (!tb && g_ntables < kTables) {
    tb = &g_tables[g_ntables++];
    std::memcpy(tb->uuid, u, 16);
    tb->real = static_cast<const void* const*>(table);
    const uint64_t first = reinterpret_cast<uint64_t>(tb->real[0]);
    int n = 0;
    if (first < 0x10000 && first % 8 == 0) {
      tb->sized = true;
      n = static_cast<int>(first / 8);
    } else {
      while (n < kSlotsPerTable && tb->real[n] && reinterpret_cast<uint64_t>(tb->real[n]) != ~0ull)
        ++n;
    }
    tb->slots = n < kSlotsPerTable ? n : kSlotsPerTable;
    tb->copy = static_cast<const void**>(calloc(static_cast<size_t>(n) + 1, sizeof(void*)));
    const int idx = static_cast<int>(tb - g_tables);
    for (int s = 0; s < n; ++s) {
      if ((s == 0 && tb->sized) || s >= kSlotsPerTable)
        tb->copy[s] = tb->real[s];
      else
        tb->copy[s] = gv_trace_stubs + 16 * (idx * kSlotsPerTable + s);
    }
    if (std::memcmp(u, kIntegrity, 16) == 0 && n > 1)
      tb->copy[1] = reinterpret_cast<const void*>(&integrity_slot);
    std::string words;
    for (int s = 0; s < n && s < 4; ++s) {
      char w[32];
      snprintf(w, sizeof w, " %p", tb->real[s]);
      words += w;
    }
    logf("[trace] cuGetExportTable %s -> table %p, %s, %d entries:%s%s\n", uuid_text(u).c_str(),
         table, tb->sized ? "size word first" : "no size word", n, words.c_str(),
         n > 4 ? " ..." : "");
  }
  if (out) *out = (g_wrap && tb) ? static_cast<const void*>(tb->copy) : table;
  return r;
}

extern "C" CUresult cuGetProcAddress_v2(const char*, void**, int, cuuint64_t,
                                      CUdriverProcAddressQueryResult*);
extern "C" CUresult cuGetProcAddress(const char*, void**, int, cuuint64_t);

namespace {
CUresult proc(const char* symbol, void** pfn, int version, cuuint64_t flags,
              CUdriverProcAddressQueryResult* status, bool v2) {
  CUresult r;
  if (v2)
    r = real_fn<CUresult (*)(const char*, void**, int, cuuint64_t,
                             CUdriverProcAddressQueryResult*)>("cuGetProcAddress_v2")(
        symbol, pfn, version, flags, status);
  else
    r = real_fn<CUresult (*)(const char*, void**, int, cuuint64_t)>("cuGetProcAddress")(
        symbol, pfn, version, flags);
  logf("[trace] cuGetProcAddress%s(%s, %d, %#" PRIx64 ") -> %d%s\n", v2 ? "_v2" : "",
       symbol ? symbol : "(null)", version, static_cast<uint64_t>(flags), r,
       (pfn && *pfn) ? "" : " (none)");
  if (r == CUDA_SUCCESS && pfn && *pfn && symbol) {
    // Lookups of the three functions the shim defines itself get the shim's.
    if (std::strcmp(symbol, "cuGetExportTable") == 0)
      *pfn = reinterpret_cast<void*>(&cuGetExportTable);
    else if (std::strcmp(symbol, "cuGetProcAddress") == 0)
      *pfn = version >= 12000 ? reinterpret_cast<void*>(&cuGetProcAddress_v2)
                              : reinterpret_cast<void*>(&cuGetProcAddress);
  }
  return r;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) CUresult cuGetProcAddress_v2(
    const char* symbol, void** pfn, int version, cuuint64_t flags,
    CUdriverProcAddressQueryResult* status) {
  return proc(symbol, pfn, version, flags, status, true);
}

extern "C" __attribute__((visibility("default"))) CUresult cuGetProcAddress(
    const char* symbol, void** pfn, int version, cuuint64_t flags) {
  return proc(symbol, pfn, version, flags, nullptr, false);
}
