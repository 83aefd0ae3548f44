#include "common/module_image.h"

#include <elf.h>

#include <cstring>

#include "common/fatbin.h"

namespace gvirtus::cuda {
namespace {

// Sums without overflow; false if a + b * c wraps.
bool extent(uint64_t off, uint64_t count, uint64_t each, uint64_t* end) {
  if (each != 0 && count > (UINT64_MAX - off) / each) return false;
  *end = off + count * each;
  return true;
}

bool measure_elf(const unsigned char* p, size_t limit, size_t* size) {
  if (p[EI_CLASS] != ELFCLASS64) return false;  // cubins for 64-bit hosts are ELF64
  Elf64_Ehdr eh;
  std::memcpy(&eh, p, sizeof eh);
  uint64_t end = sizeof eh;
  uint64_t e = 0;
  if (eh.e_phnum) {
    if (eh.e_phentsize < sizeof(Elf64_Phdr)) return false;
    if (!extent(eh.e_phoff, eh.e_phnum, eh.e_phentsize, &e) || e > limit) return false;
    if (e > end) end = e;
    // What each segment holds in the file extends the image too.
    for (uint16_t i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, p + eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize, sizeof ph);
      if (!extent(ph.p_offset, 1, ph.p_filesz, &e) || e > limit) return false;
      if (e > end) end = e;
    }
  }
  if (eh.e_shnum) {
    if (eh.e_shentsize < sizeof(Elf64_Shdr)) return false;
    if (!extent(eh.e_shoff, eh.e_shnum, eh.e_shentsize, &e) || e > limit) return false;
    if (e > end) end = e;
    // Sections past the table (unusual, but legal) extend the image too.
    for (uint16_t i = 0; i < eh.e_shnum; ++i) {
      Elf64_Shdr sh;
      std::memcpy(&sh, p + eh.e_shoff + static_cast<uint64_t>(i) * eh.e_shentsize, sizeof sh);
      if (sh.sh_type == SHT_NOBITS) continue;
      if (!extent(sh.sh_offset, 1, sh.sh_size, &e) || e > limit) return false;
      if (e > end) end = e;
    }
  }
  if (end > limit) return false;
  *size = static_cast<size_t>(end);
  return true;
}

}  // namespace

bool measure_image(const void* image, size_t limit, Image* out) {
  if (!image) return false;
  const auto* p = static_cast<const unsigned char*>(image);
  uint32_t magic;
  std::memcpy(&magic, p, sizeof magic);
  Image im;
  if (std::memcmp(p, ELFMAG, SELFMAG) == 0) {
    im.kind = ImageKind::kElf;
    im.data = image;
    if (!measure_elf(p, limit, &im.size)) return false;
  } else if (magic == cudart::kFatbinMagic || magic == cudart::kFatbinWrapperMagic) {
    cudart::FatbinImage fb;
    Status s = magic == cudart::kFatbinMagic ? cudart::parse_fatbin(image, &fb)
                                             : cudart::parse_fatbin_wrapper(image, &fb);
    if (!s || fb.size > limit) return false;
    im.kind = ImageKind::kFatbin;
    im.data = fb.data;
    im.size = fb.size;
  } else {
    const size_t len = ::strnlen(static_cast<const char*>(image), limit);
    if (len == limit) return false;  // no NUL within the limit
    im.kind = ImageKind::kPtx;
    im.data = image;
    im.size = len + 1;
  }
  *out = im;
  return true;
}

bool image_within(const void* data, size_t n) {
  if (!data || n == 0) return false;
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t magic = 0;
  if (n >= sizeof magic) std::memcpy(&magic, p, sizeof magic);
  if (magic == cudart::kFatbinWrapperMagic) return false;  // a pointer into someone's memory
  const bool elf = n >= SELFMAG && std::memcmp(p, ELFMAG, SELFMAG) == 0;
  if (elf && n < sizeof(Elf64_Ehdr)) return false;
  if (magic == cudart::kFatbinMagic && n < 16) return false;  // the fatbin header
  Image im;
  return measure_image(data, n, &im) && im.size <= n && im.data == data;
}

}  // namespace gvirtus::cuda
