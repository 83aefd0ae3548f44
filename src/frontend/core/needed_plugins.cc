// needed_plugins.h: DT_NEEDED of the loaded objects, through dl_iterate_phdr. No dladdr (nor
// anything else that takes the dynamic loader's lock) inside the scan: dl_iterate_phdr holds the
// loader's write lock, and a dlopen elsewhere takes the two in the other order.
#include "frontend/core/needed_plugins.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <algorithm>
#include <cstring>

namespace gvirtus::client {
namespace {

struct Scan {
  const std::vector<std::string>* skip;
  std::vector<std::string> found;
};

// Where DT_STRTAB points, as an address: glibc relocates it in place for the objects it loads,
// but not in a read-only dynamic section (nor the vDSO's). Whichever the value is, it must land
// inside one of the object's loadable segments; 0 if neither does.
uintptr_t string_table(const struct dl_phdr_info* info, uintptr_t value) {
  auto inside = [info](uintptr_t a) {
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = info->dlpi_phdr[i];
      const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
      if (ph.p_type == PT_LOAD && a >= start && a - start < ph.p_memsz) return true;
    }
    return false;
  };
  if (inside(value)) return value;
  if (inside(info->dlpi_addr + value)) return info->dlpi_addr + value;
  return 0;
}

int visit(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<Scan*>(data);
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  for (const std::string& s : *scan->skip)
    if (s == name) return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
    uintptr_t strtab = 0;
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d)
      if (d->d_tag == DT_STRTAB) strtab = string_table(info, d->d_un.d_ptr);
    if (strtab == 0) return 0;
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
      if (d->d_tag != DT_NEEDED) continue;
      std::string soname(reinterpret_cast<const char*>(strtab + d->d_un.d_val));
      if (std::find(scan->found.begin(), scan->found.end(), soname) == scan->found.end())
        scan->found.push_back(std::move(soname));
    }
    return 0;
  }
  return 0;
}

int count_loads(struct dl_phdr_info* info, size_t, void* data) {
  *static_cast<unsigned long long*>(data) = info->dlpi_adds;
  return 1;  // one object is enough
}

int list(struct dl_phdr_info* info, size_t, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(info->dlpi_name ? info->dlpi_name : "");
  return 0;
}

}  // namespace

std::vector<std::string> needed_sonames(const std::vector<std::string>& skip) {
  Scan scan{&skip, {}};
  dl_iterate_phdr(&visit, &scan);
  return scan.found;
}

unsigned long long objects_loaded() {
  unsigned long long adds = 0;
  dl_iterate_phdr(&count_loads, &adds);
  return adds;
}

std::vector<std::string> loaded_objects() {
  std::vector<std::string> out;
  dl_iterate_phdr(&list, &out);
  return out;
}

std::string object_path(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || !info.dli_fname) return "";
  return info.dli_fname;
}

}  // namespace gvirtus::client
