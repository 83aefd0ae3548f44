// The answer of the driver's private "integrity check" table (cuGetExportTable, table
// d4082055-bde6-704b-8d34-ba123c66e1f2, slot 1; docs/static-cudart.md). NVIDIA's static CUDA
// runtime asks the driver for a 16-byte digest and checks it against one it computes itself; a
// wrong digest makes every runtime call fail. The digest is HMAC-MD2 (RFC 1319, RFC 2104 with
// MD2's 16-byte block) under a fixed key over the facts both sides know: the versions, the
// process and thread, the addresses of the two tables and of the slot itself, the time the
// runtime passes, and each device's UUID and PCI location. Pure computation: no driver calls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gvirtus::cuda {

struct HashDevice {
  unsigned char uuid[16];
  int32_t pci_domain;
  int32_t pci_bus;
  int32_t pci_device;
};

struct HashInput {
  uint32_t driver_version;  // cuDriverGetVersion
  uint32_t version;         // the runtime's first argument
  uint32_t process;         // getpid()
  uint32_t thread;          // pthread_self(), truncated to 32 bits
  const void* cudart_table;     // the table 6bd5fb6c-... as handed out
  const void* integrity_table;  // the table d4082055-... as handed out
  const void* slot;             // the function in the integrity table's slot 1
  uint64_t unix_seconds;        // the runtime's second argument
  std::vector<HashDevice> devices;
};

// MD2 of `n` bytes (RFC 1319); exposed for its known-answer tests.
void md2(const void* data, size_t n, unsigned char digest[16]);

// The 16 bytes the slot writes to its third argument.
void integrity_digest(const HashInput& in, unsigned char out[16]);

}  // namespace gvirtus::cuda
