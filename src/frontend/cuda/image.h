// The length of a module image handed to cuModuleLoadData & co., which take a bare pointer:
//   ELF (cubin): the furthest byte that its ELF header, program headers or section headers
//                reach (the section header table normally ends the file);
//   fatbin:      header (magic 0xBA55ED50) + payload size; a fatbin wrapper (magic 0x466243B1,
//                what nvcc registers) is followed to the fatbin it points to;
//   otherwise:   PTX text, up to and including its NUL.
// Reads only what the headers say exists; a length over `limit` is refused.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gvirtus::cuda {

enum class ImageKind { kElf, kFatbin, kPtx };

struct Image {
  const void* data = nullptr;  // where the bytes to send start (the fatbin, for a wrapper)
  size_t size = 0;
  ImageKind kind = ImageKind::kPtx;
};

// False for an image that is malformed or longer than limit.
bool measure_image(const void* image, size_t limit, Image* out);

}  // namespace gvirtus::cuda
