// The fatbinary that nvcc registers with __cudaRegisterFatBinary: a wrapper
// (__fatBinC_Wrapper_t: magic 0x466243B1, version, pointer to the data) around a fatbin whose
// header (magic 0xBA55ED50, u16 version, u16 header size, u64 payload size) gives its length.
// The bytes live in the application's .nv_fatbin section, so they are referenced, not copied.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace gvirtus::cudart {

constexpr uint32_t kFatbinWrapperMagic = 0x466243B1;
constexpr uint32_t kFatbinMagic = 0xBA55ED50;
// Largest fatbinary we accept (the backend takes modules up to this size).
constexpr uint64_t kMaxFatbinBytes = 2ull << 30;
// A fatbin header is 16 bytes today; anything past this is not a fatbin header.
constexpr uint16_t kMaxFatbinHeaderBytes = 4096;

// The wrapper's layout as nvcc emits it (fatbinary_section.h). Read with memcpy: no alignment
// is assumed.
struct FatbinWrapper {
  int32_t magic;
  int32_t version;
  const void* data;
  const void* filename_or_fatbins;
};

struct FatbinImage {
  const void* data = nullptr;
  size_t size = 0;  // header + payload
};

// Checks the wrapper and the fatbin header it points to.
Status parse_fatbin_wrapper(const void* wrapper, FatbinImage* out);
// Checks a fatbin header at `data` (at least 16 readable bytes).
Status parse_fatbin(const void* data, FatbinImage* out);

// Most objects a device-linked image lists (nvlink's prelinked list; a program has one per
// translation unit plus libraries such as libcudadevrt).
constexpr size_t kMaxPrelinkedFatbins = 4096;
// The per-object fatbins that a version-2 wrapper (the device-linked image of a -rdc program)
// lists in filename_or_fatbins, a NULL-terminated array of fatbin pointers. The CUDA runtime
// JIT-links them when the linked image has no code for the GPU (a program built for older
// architectures). Empty for version 1 or an empty list.
Status parse_prelinked_fatbins(const void* wrapper, std::vector<FatbinImage>* out);

}  // namespace gvirtus::cudart
