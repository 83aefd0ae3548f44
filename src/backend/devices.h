// Which GPUs the backend exposes (--devices, the config's "devices"; docs/security.md,
// "Which GPUs"). The daemon never starts CUDA: it sets the workers' environment, and checks at
// startup that each GPU named exists, so that a typo is refused at once rather than met as
// "no CUDA device" by every client.
#pragma once
#include <string>

#include "common/status.h"

namespace gvirtus::backend {

// The driver's list of this host's GPUs: one entry per GPU, named by its PCI bus id.
constexpr const char kDriverGpuDir[] = "/proc/driver/nvidia/gpus";

// Checks a valid device list (check_device_list) against the GPUs in gpus_dir. A list that
// names an ordinal the host does not have is refused, naming how many GPUs there are. Where
// gpus_dir cannot be read (no NVIDIA driver: a host without GPUs, a container without the
// driver's /proc files) nothing can be checked: ok, and *unchecked is set.
Status check_devices_present(const std::string& list, const std::string& gpus_dir,
                             bool* unchecked);

// Sets the workers' environment: CUDA_VISIBLE_DEVICES=list and CUDA_DEVICE_ORDER=PCI_BUS_ID,
// so that ordinal N is the GPU nvidia-smi (and NVML) numbers N, whatever the GPUs' speeds; the
// NVML plugin shows the same GPUs in the same order (nvml/visible.cc).
void expose_devices(const std::string& list);

}  // namespace gvirtus::backend
