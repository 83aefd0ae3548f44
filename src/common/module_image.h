// The length of a module image handed to cuModuleLoadData & co., which take a bare pointer:
//   ELF (cubin): the furthest byte that its ELF header, program headers or section headers
//                reach (the section header table normally ends the file);
//   fatbin:      header (magic 0xBA55ED50) + payload size; a fatbin wrapper (magic 0x466243B1,
//                what nvcc registers) is followed to the fatbin it points to;
//   otherwise:   PTX text, up to and including its NUL.
// Reads only what the headers say exists; a length over `limit` is refused. Shared by the
// client (which sends that many bytes) and the worker (which checks what it received).
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

// On the worker: whether the n bytes a client sent are a whole image by themselves. The driver
// reads an image by its own headers and follows a fatbin wrapper's pointer, so a wrapper, an ELF
// whose header tables, segments or sections reach past n, a fatbin whose header does, or text
// without a NUL within n would have it read the worker's own memory. (A receiver that appends a
// NUL counts it in n.) Not checked: the entries inside a fatbin's payload, whose offsets and
// sizes the driver trusts.
bool image_within(const void* data, size_t n);

}  // namespace gvirtus::cuda
