#include "common/fatbin.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace gvirtus::cudart {

namespace {

// The fatbin header as nvcc emits it, read with memcpy so no alignment is assumed.
struct Header {
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint64_t fat_size;
};
static_assert(sizeof(Header) == 16, "fatbin header is 16 bytes");

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

Status parse_fatbin(const void* data, FatbinImage* out) {
  if (!data) return invalid("fatbinary data pointer is null");
  Header h;
  std::memcpy(&h, data, sizeof h);
  if (h.magic != kFatbinMagic)
    return invalid("bad fatbinary magic " + hex(h.magic) + " (expected " + hex(kFatbinMagic) + ")");
  if (h.header_size < sizeof(Header) || h.header_size > kMaxFatbinHeaderBytes)
    return invalid("bad fatbinary header size " + std::to_string(h.header_size));
  if (h.fat_size > kMaxFatbinBytes - h.header_size)
    return invalid("fatbinary of " + std::to_string(h.fat_size) + " bytes is over the limit of " +
                   std::to_string(kMaxFatbinBytes));
  out->data = data;
  out->size = static_cast<size_t>(h.header_size) + static_cast<size_t>(h.fat_size);
  return Status::ok();
}

Status parse_fatbin_wrapper(const void* wrapper, FatbinImage* out) {
  if (!wrapper) return invalid("fatbinary wrapper is null");
  FatbinWrapper w;
  std::memcpy(&w, wrapper, sizeof w);
  if (static_cast<uint32_t>(w.magic) != kFatbinWrapperMagic)
    return invalid("bad fatbinary wrapper magic " + hex(static_cast<uint32_t>(w.magic)) +
                   " (expected " + hex(kFatbinWrapperMagic) + ")");
  // 1: ordinary; 2: the device-linked image of a -rdc program. Both point at a fatbin.
  if (w.version != 1 && w.version != 2)
    return invalid("unknown fatbinary wrapper version " + std::to_string(w.version));
  return parse_fatbin(w.data, out);
}

Status parse_prelinked_fatbins(const void* wrapper, std::vector<FatbinImage>* out) {
  out->clear();
  if (!wrapper) return invalid("fatbinary wrapper is null");
  FatbinWrapper w;
  std::memcpy(&w, wrapper, sizeof w);
  if (static_cast<uint32_t>(w.magic) != kFatbinWrapperMagic || w.version != 2 ||
      !w.filename_or_fatbins)
    return Status::ok();
  const auto* list = static_cast<const void* const*>(w.filename_or_fatbins);
  for (size_t i = 0; list[i]; ++i) {
    if (i == kMaxPrelinkedFatbins)
      return invalid("more than " + std::to_string(kMaxPrelinkedFatbins) + " prelinked fatbinaries");
    FatbinImage img;
    Status st = parse_fatbin(list[i], &img);
    if (!st.is_ok()) {
      out->clear();
      return invalid("prelinked fatbinary " + std::to_string(i) + ": " + st.message());
    }
    out->push_back(img);
  }
  return Status::ok();
}

}  // namespace gvirtus::cudart
