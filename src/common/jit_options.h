// JIT options of cuModuleLoadDataEx / cuLibraryLoadData / cuLinkCreate as they travel: each
// option's value is a void* that holds either a plain number (register counts, levels, flags;
// floats in the low 32 bits) or a pointer into the caller's memory. Numbers travel as u64; the
// two log buffers are made on the worker with the size the matching *_SIZE_BYTES option gives
// and their text comes back; options whose values point to arrays of names or addresses are
// refused (CUDA_ERROR_NOT_SUPPORTED on the client, a protocol violation on the worker).
#pragma once
#include <cuda.h>

#include <cstdint>

namespace gvirtus {

constexpr unsigned kMaxJitOptions = 64;
// A log buffer larger than this is cut to it (the size option that comes back says how much
// was written, as natively).
constexpr uint64_t kMaxJitLogBytes = 1u << 20;

enum class JitValue { kNumber, kLogBuffer, kRefused };

inline JitValue jit_value_kind(unsigned option) {
  switch (option) {
    case CU_JIT_INFO_LOG_BUFFER:
    case CU_JIT_ERROR_LOG_BUFFER:
      return JitValue::kLogBuffer;
    case CU_JIT_GLOBAL_SYMBOL_NAMES:
    case CU_JIT_GLOBAL_SYMBOL_ADDRESSES:
    case CU_JIT_REFERENCED_KERNEL_NAMES:
    case CU_JIT_REFERENCED_VARIABLE_NAMES:
      return JitValue::kRefused;
    default:
      return option < CU_JIT_NUM_OPTIONS ? JitValue::kNumber : JitValue::kRefused;
  }
}

// The size option that goes with a log buffer option.
inline unsigned jit_log_size_option(unsigned buffer_option) {
  return buffer_option == CU_JIT_INFO_LOG_BUFFER ? CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES
                                                 : CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
}

}  // namespace gvirtus
