// Kernel arguments as launches and kernel graph nodes carry them (docs/driver.md, cuLaunchKernel):
// u8 form (0: the arguments packed at the function's parameter offsets; 1: an `extra` buffer as
// the application gave it), u32 n, n bytes. Shared by the launch handlers (cuda/modules.cc) and
// the kernel node handlers (cuda/graphs.cc).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <vector>

#include "backend/dispatch.h"

namespace gvirtus::backend::cuda {

struct KernelArgs {
  uint8_t form = 0;
  uint32_t n = 0;
  std::vector<uint64_t> buf;   // the bytes, aligned for any parameter type
  std::vector<void*> args;     // form 0: one pointer per parameter into buf
  size_t extra_size = 0;
  void* extra[5] = {};         // form 1: the `extra` array over buf
  KernelArgs() = default;
  KernelArgs(const KernelArgs&) = delete;  // extra points into the object itself
  KernelArgs& operator=(const KernelArgs&) = delete;
  void** params() { return form == 0 && !args.empty() ? args.data() : nullptr; }
  void** ext() { return form == 1 ? extra : nullptr; }
};

// Reads the form, the length and the bytes. SessionFault for an unknown form (or the `extra`
// form where !allow_extra) and for more bytes than any function takes.
void read_kernel_args(CallContext& ctx, bool allow_extra, KernelArgs* ka);

// After the function is translated: points the arguments at buf with f's parameter layout
// (is_kernel: f is a CUkernel). False with ctx.status set if the layout cannot be had;
// SessionFault if the packed bytes are not the layout's length.
bool resolve_kernel_args(CallContext& ctx, CUfunction f, bool is_kernel, KernelArgs* ka);

}  // namespace gvirtus::backend::cuda
