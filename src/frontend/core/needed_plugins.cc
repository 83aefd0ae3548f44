// needed_plugins.h: DT_NEEDED of the loaded objects, through dl_iterate_phdr.
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

int visit(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<Scan*>(data);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  // The program itself has no name here: the one dladdr gives (as object_path does).
  if (name.empty() && info->dlpi_phnum > 0)
    name = object_path(reinterpret_cast<const void*>(info->dlpi_addr +
                                                     info->dlpi_phdr[0].p_vaddr));
  for (const std::string& s : *scan->skip)
    if (s == name) return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
    uintptr_t strtab = 0;
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d)
      if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
    if (strtab == 0) return 0;
    // glibc relocates DT_STRTAB in place for loaded objects; an address below the object's base
    // is still the unrelocated offset (the vDSO's, for one).
    if (strtab < info->dlpi_addr) strtab += info->dlpi_addr;
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

}  // namespace

std::vector<std::string> needed_sonames(const std::vector<std::string>& skip) {
  Scan scan{&skip, {}};
  dl_iterate_phdr(&visit, &scan);
  return scan.found;
}

std::string object_path(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || !info.dli_fname) return "";
  return info.dli_fname;
}

}  // namespace gvirtus::client
