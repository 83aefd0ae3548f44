// Fatbinaries with real entry headers, for tests of what travels (fatbin_select.h gives the
// layout): a 16-byte fatbin header, then per entry a 64-byte entry header and its payload.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/fatbin.h"

namespace gvirtus::testing {

struct FatbinEntry {
  uint16_t kind;    // 1 PTX, 2 cubin
  uint32_t arch;    // major*10 + minor
  uint64_t flags;   // bit 20: arch-specific
  uint32_t bytes;   // payload size
  uint8_t fill;     // payload contents
};

constexpr uint64_t kArchSpecific = uint64_t{1} << 20;

inline std::vector<uint8_t> entry_bytes(const FatbinEntry& e) {
  std::vector<uint8_t> b(64 + e.bytes, e.fill);
  std::memset(b.data(), 0, 64);
  const uint16_t version = 0x101;
  const uint32_t header = 64;
  const uint64_t payload = e.bytes;
  std::memcpy(b.data(), &e.kind, 2);
  std::memcpy(b.data() + 2, &version, 2);
  std::memcpy(b.data() + 4, &header, 4);
  std::memcpy(b.data() + 8, &payload, 8);
  std::memcpy(b.data() + 28, &e.arch, 4);
  std::memcpy(b.data() + 40, &e.flags, 8);
  return b;
}

// `total` bytes that begin with a fatbin header announcing a payload of `payload` bytes (the
// rest zero): what a length check reads.
inline std::vector<uint8_t> fatbin_header(size_t total, uint64_t payload) {
  std::vector<uint8_t> b(total, 0);
  const uint32_t magic = cudart::kFatbinMagic;
  const uint16_t version = 1, header = 16;
  std::memcpy(b.data(), &magic, 4);
  std::memcpy(b.data() + 4, &version, 2);
  std::memcpy(b.data() + 6, &header, 2);
  std::memcpy(b.data() + 8, &payload, 8);
  return b;
}

// The whole fatbinary, in 8-byte words (as nvcc aligns it).
inline std::vector<uint64_t> make_fatbin(const std::vector<FatbinEntry>& entries) {
  std::vector<uint8_t> body;
  for (const FatbinEntry& e : entries) {
    auto b = entry_bytes(e);
    body.insert(body.end(), b.begin(), b.end());
  }
  std::vector<uint64_t> words((16 + body.size() + 7) / 8, 0);
  auto* p = reinterpret_cast<uint8_t*>(words.data());
  const uint32_t magic = cudart::kFatbinMagic;
  const uint16_t version = 1, header = 16;
  const uint64_t fat = body.size();
  std::memcpy(p, &magic, 4);
  std::memcpy(p + 4, &version, 2);
  std::memcpy(p + 6, &header, 2);
  std::memcpy(p + 8, &fat, 8);
  std::memcpy(p + 16, body.data(), body.size());
  return words;
}

// The fatbinary that holds exactly `entries` (what select_images should produce).
inline std::vector<uint8_t> fatbin_bytes(const std::vector<FatbinEntry>& entries) {
  auto w = make_fatbin(entries);
  size_t n = 16;
  for (const FatbinEntry& e : entries) n += 64 + e.bytes;
  const auto* p = reinterpret_cast<const uint8_t*>(w.data());
  return std::vector<uint8_t>(p, p + n);
}

}  // namespace gvirtus::testing
