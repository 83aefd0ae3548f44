#include "frontend/cudart/fatbin_select.h"

#include <cstring>

namespace gvirtus::cudart {

namespace {

constexpr uint16_t kKindPtx = 1;
constexpr uint16_t kKindCubin = 2;
constexpr uint64_t kFlagArchSpecific = uint64_t{1} << 20;
constexpr uint32_t kMinEntryHeader = 48;  // through the flags word

template <typename T>
T read(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool loadable(uint16_t kind, uint32_t arch, uint64_t flags,
              const std::vector<ComputeCapability>& devices) {
  if (kind != kKindPtx && kind != kKindCubin) return true;
  const int major = static_cast<int>(arch / 10), minor = static_cast<int>(arch % 10);
  for (const ComputeCapability& d : devices) {
    if (flags & kFlagArchSpecific) {
      if (d.major == major && d.minor == minor) return true;
    } else if (kind == kKindCubin) {
      if (d.major == major && d.minor >= minor) return true;
    } else if (d.major > major || (d.major == major && d.minor >= minor)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool select_images(const FatbinImage& in, const std::vector<ComputeCapability>& devices,
                   std::vector<uint8_t>* out) {
  if (!in.data || devices.empty() || in.size < 16) return false;
  const auto* base = static_cast<const uint8_t*>(in.data);
  const uint16_t header = read<uint16_t>(base + 6);
  if (header < 16 || header > in.size) return false;
  struct Span {
    size_t offset, size;
  };
  std::vector<Span> keep;
  size_t kept_bytes = 0;
  bool dropped = false;
  for (size_t p = header; p < in.size;) {
    if (in.size - p < kMinEntryHeader) return false;
    const uint32_t entry_header = read<uint32_t>(base + p + 4);
    const uint64_t payload = read<uint64_t>(base + p + 8);
    if (entry_header < kMinEntryHeader || entry_header > in.size - p ||
        payload > in.size - p - entry_header)
      return false;
    const size_t n = entry_header + static_cast<size_t>(payload);
    if (loadable(read<uint16_t>(base + p), read<uint32_t>(base + p + 28),
                 read<uint64_t>(base + p + 40), devices)) {
      keep.push_back({p, n});
      kept_bytes += n;
    } else {
      dropped = true;
    }
    p += n;
  }
  if (!dropped || keep.empty()) return false;
  out->resize(header + kept_bytes);
  std::memcpy(out->data(), base, header);
  const uint64_t fat_size = kept_bytes;
  std::memcpy(out->data() + 8, &fat_size, sizeof fat_size);
  size_t at = header;
  for (const Span& s : keep) {
    std::memcpy(out->data() + at, base + s.offset, s.size);
    at += s.size;
  }
  return true;
}

}  // namespace gvirtus::cudart
