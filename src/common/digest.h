// SHA-256 digests (OpenSSL), the names of cached modules (docs/backend.md, "Module cache").
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace gvirtus {

using Digest = std::array<uint8_t, 32>;

Digest sha256(const void* data, size_t size);
// Lowercase hexadecimal, 64 characters.
std::string hex(const Digest& d);

}  // namespace gvirtus
