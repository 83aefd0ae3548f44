// NVML under --devices: the worker's CUDA sees only the GPUs the backend exposes
// (CUDA_VISIBLE_DEVICES, set by --devices or the config's "devices", with
// CUDA_DEVICE_ORDER=PCI_BUS_ID), but NVIDIA's NVML ignores that variable and would show the
// client every GPU of the host. The functions that enumerate or find devices are wrapped here so
// that NVML shows the same GPUs as CUDA, numbered the same way: nvmlDeviceGetCount answers the
// number of visible GPUs, index i is CUDA's device i, and a lookup by UUID, serial or PCI bus id
// of a GPU that is not visible answers NVML_ERROR_NOT_FOUND, as for a GPU the host does not
// have. Every other function takes a device handle, and the client can only hold handles of
// visible GPUs. docs/libraries.md, "NVML".
//
// CUDA_VISIBLE_DEVICES is read as CUDA reads it: a comma-separated list of ordinals (in PCI bus
// order, NVML's order, which --devices makes CUDA's too) or GPU UUIDs ("GPU-" and a prefix of
// the UUID); the list ends at the first entry that names no GPU (or a MIG instance, or one
// named before), and an empty list shows no GPU. Without the variable nothing is wrapped.
#include <nvml.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/nvml/support.h"

namespace gvirtus::backend::nvml {
namespace {

template <typename F>
F lib(const char* name) {
  return reinterpret_cast<F>(library_symbol(name));
}

std::vector<std::string> entries(const char* text) {
  std::vector<std::string> out;
  std::string t = text;
  size_t i = 0;
  while (i <= t.size() && !t.empty()) {
    size_t comma = t.find(',', i);
    if (comma == std::string::npos) comma = t.size();
    std::string e = t.substr(i, comma - i);
    size_t a = e.find_first_not_of(" \t"), b = e.find_last_not_of(" \t");
    out.push_back(a == std::string::npos ? std::string() : e.substr(a, b - a + 1));
    i = comma + 1;
  }
  return out;
}

// The GPUs the worker's CUDA sees, in CUDA's order, as NVML handles.
nvmlReturn_t visible(std::vector<nvmlDevice_t>* out) {
  out->clear();
  using Count = nvmlReturn_t (*)(unsigned int*);
  using ByIndex = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
  using Uuid = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);
  const Count count = lib<Count>("nvmlDeviceGetCount_v2");
  const ByIndex by_index = lib<ByIndex>("nvmlDeviceGetHandleByIndex_v2");
  const Uuid uuid = lib<Uuid>("nvmlDeviceGetUUID");
  if (!count || !by_index || !uuid) return NVML_ERROR_FUNCTION_NOT_FOUND;
  unsigned int n = 0;
  nvmlReturn_t r = count(&n);  // NVML_ERROR_UNINITIALIZED before nvmlInit, as natively
  if (r != NVML_SUCCESS) return r;
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  for (const std::string& e : entries(env ? env : "")) {
    nvmlDevice_t d = nullptr;
    if (!e.empty() && e.find_first_not_of("0123456789") == std::string::npos) {
      if (e.size() > 9 || std::stoul(e) >= n || by_index(std::stoul(e), &d) != NVML_SUCCESS)
        break;
    } else if (e.rfind("GPU-", 0) == 0 && e.size() > 4) {
      int matches = 0;
      for (unsigned int i = 0; i < n; ++i) {
        nvmlDevice_t c;
        char text[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
        if (by_index(i, &c) != NVML_SUCCESS || uuid(c, text, sizeof text) != NVML_SUCCESS)
          continue;
        if (std::strncmp(text, e.c_str(), e.size()) == 0) {
          d = c;
          ++matches;
        }
      }
      if (matches != 1) break;  // none, or a prefix that names more than one
    } else {
      break;  // MIG instances and anything else: CUDA's list ends here too
    }
    bool again = false;
    for (nvmlDevice_t v : *out) again = again || v == d;
    if (again) break;
    out->push_back(d);
  }
  return NVML_SUCCESS;
}

bool is_visible(nvmlDevice_t d, const std::vector<nvmlDevice_t>& v) {
  for (nvmlDevice_t x : v)
    if (x == d) return true;
  return false;
}

nvmlReturn_t get_count(unsigned int* n) {
  if (n == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  std::vector<nvmlDevice_t> v;
  nvmlReturn_t r = visible(&v);
  if (r == NVML_SUCCESS) *n = static_cast<unsigned int>(v.size());
  return r;
}

nvmlReturn_t by_index(unsigned int i, nvmlDevice_t* d) {
  std::vector<nvmlDevice_t> v;
  nvmlReturn_t r = visible(&v);
  if (r != NVML_SUCCESS) return r;
  if (d == nullptr || i >= v.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *d = v[i];
  return NVML_SUCCESS;
}

nvmlReturn_t get_index(nvmlDevice_t d, unsigned int* i) {
  std::vector<nvmlDevice_t> v;
  nvmlReturn_t r = visible(&v);
  if (r != NVML_SUCCESS) return r;
  if (i == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] == d) {
      *i = static_cast<unsigned int>(k);
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_INVALID_ARGUMENT;  // not a handle the client can hold
}

// A lookup by key (UUID, serial, PCI bus id) through the real function NAME, refused for GPUs
// that are not visible.
template <const char* kName, typename Key>
nvmlReturn_t find(Key key, nvmlDevice_t* d) {
  using Fn = nvmlReturn_t (*)(Key, nvmlDevice_t*);
  const Fn fn = lib<Fn>(kName);
  if (!fn) return NVML_ERROR_FUNCTION_NOT_FOUND;
  nvmlDevice_t found = nullptr;
  nvmlReturn_t r = fn(key, d ? &found : nullptr);
  if (r != NVML_SUCCESS || d == nullptr) return r;
  std::vector<nvmlDevice_t> v;
  r = visible(&v);
  if (r != NVML_SUCCESS) return r;
  if (!is_visible(found, v)) return NVML_ERROR_NOT_FOUND;
  *d = found;
  return NVML_SUCCESS;
}

constexpr char kByPci[] = "nvmlDeviceGetHandleByPciBusId";
constexpr char kByPci2[] = "nvmlDeviceGetHandleByPciBusId_v2";
constexpr char kBySerial[] = "nvmlDeviceGetHandleBySerial";
constexpr char kByUuid[] = "nvmlDeviceGetHandleByUUID";
constexpr char kByUuidV[] = "nvmlDeviceGetHandleByUUIDV";

struct Wrapper {
  const char* name;
  void* fn;
};

const Wrapper kWrappers[] = {
    {"nvmlDeviceGetCount", reinterpret_cast<void*>(&get_count)},
    {"nvmlDeviceGetCount_v2", reinterpret_cast<void*>(&get_count)},
    {"nvmlDeviceGetHandleByIndex", reinterpret_cast<void*>(&by_index)},
    {"nvmlDeviceGetHandleByIndex_v2", reinterpret_cast<void*>(&by_index)},
    {"nvmlDeviceGetIndex", reinterpret_cast<void*>(&get_index)},
    {kByPci, reinterpret_cast<void*>(&find<kByPci, const char*>)},
    {kByPci2, reinterpret_cast<void*>(&find<kByPci2, const char*>)},
    {kBySerial, reinterpret_cast<void*>(&find<kBySerial, const char*>)},
    {kByUuid, reinterpret_cast<void*>(&find<kByUuid, const char*>)},
    {kByUuidV, reinterpret_cast<void*>(&find<kByUuidV, const nvmlUUID_t*>)},
};

}  // namespace

void* visible_devices_wrapper(const char* name) {
  static const bool restricted = std::getenv("CUDA_VISIBLE_DEVICES") != nullptr;
  if (!restricted) return nullptr;
  for (const Wrapper& w : kWrappers)
    if (std::strcmp(w.name, name) == 0) return w.fn;
  return nullptr;
}

}  // namespace gvirtus::backend::nvml
