// What a library checks of a device pointer when a call is made, as bytes of the key under
// which the client remembers that such a call succeeded (cuBLASLt's matmul, cuDNN's backend
// executions and batch norm: a call like one that succeeded is accepted without waiting).
#pragma once
#include <cstdint>
#include <string>

namespace gvirtus::client {

// Whether the pointer is NULL, and its alignment up to 256 bytes (an algorithm may need aligned
// operands); nothing else of its value.
inline void key_append_pointer(std::string* key, const void* p) {
  key->push_back(p != nullptr);
  key->push_back(static_cast<char>(reinterpret_cast<uintptr_t>(p) & 255));
}

}  // namespace gvirtus::client
