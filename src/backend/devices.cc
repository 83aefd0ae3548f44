// The GPUs the backend exposes (devices.h).
#include "backend/devices.h"

#include <dirent.h>
#include <stdlib.h>

#include <cstring>
#include <string>

#include "common/log.h"

namespace gvirtus::backend {

Status check_devices_present(const std::string& list, const std::string& gpus_dir,
                             bool* unchecked) {
  *unchecked = false;
  DIR* d = ::opendir(gpus_dir.c_str());
  if (!d) {
    *unchecked = true;
    return Status::ok();
  }
  long count = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++count;
  ::closedir(d);
  size_t i = 0;
  while (i <= list.size()) {
    size_t comma = list.find(',', i);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(i, comma - i);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0') return invalid("device list \"" + list + "\" is malformed");
    if (v >= count)
      return invalid("device list \"" + list + "\": there is no GPU " + item + ": this host has " +
                     std::to_string(count) + " GPU(s)" +
                     (count > 0 ? " (0-" + std::to_string(count - 1) + ")" : std::string()) +
                     ", numbered as nvidia-smi numbers them (" + gpus_dir + ")");
    i = comma + 1;
  }
  return Status::ok();
}

void expose_devices(const std::string& list) {
  const char* order = std::getenv("CUDA_DEVICE_ORDER");
  if (order && std::strcmp(order, "PCI_BUS_ID") != 0)
    GV_WARN("CUDA_DEVICE_ORDER=" + std::string(order) + " replaced by PCI_BUS_ID: --devices " +
            "numbers GPUs as nvidia-smi does");
  ::setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1);
  ::setenv("CUDA_VISIBLE_DEVICES", list.c_str(), 1);
}

}  // namespace gvirtus::backend
