// nvmlInternalGetExportTable: NVIDIA's private table of further NVML functions, asked for by a
// 16-byte id. nvidia-smi asks for table c4fe3e6c-c98f-6c4e-a327-ee696e12f7c4 right after
// nvmlInit and stops ("Mismatch in versions between nvidia-smi and NVML") when it gets none.
// Its entries have no public prototypes, so they cannot be forwarded: the table we give is made
// of stubs that log their index once and answer NVML_ERROR_NOT_SUPPORTED, which nvidia-smi
// takes as "not available" for what it would have shown (docs/libraries.md, "NVML").
//
// Layout, as the driver's (580.159.04): the first word is the table's size in bytes (0x870,
// 270 words), then function pointers. Ours holds kSlots entries, more than that size, so that a
// newer nvidia-smi reading further still reaches a stub.
#include <nvml.h>

#include <cstring>
#include <string>
#include <utility>

#include "frontend/core/client.h"

namespace gvirtus::nvml {
namespace {

constexpr unsigned char kSmiTable[16] = {0xc4, 0xfe, 0x3e, 0x6c, 0xc9, 0x8f, 0x6c, 0x4e,
                                         0xa3, 0x27, 0xee, 0x69, 0x6e, 0x12, 0xf7, 0xc4};
constexpr size_t kDeclaredBytes = 0x870;
constexpr size_t kSlots = 1024;

// Any argument list: under the x86-64 and AArch64 C calling conventions a function that reads
// none of its arguments may be called with any.
template <size_t I>
nvmlReturn_t entry() {
  client::unsupported(("nvmlInternalGetExportTable entry " + std::to_string(I)).c_str());
  return NVML_ERROR_NOT_SUPPORTED;
}

template <size_t... I>
const void* const* make_table(std::index_sequence<I...>) {
  static const void* const table[] = {reinterpret_cast<const void*>(kDeclaredBytes),
                                      reinterpret_cast<const void*>(&entry<I + 1>)...};
  return table;
}

}  // namespace
}  // namespace gvirtus::nvml

extern "C" GV_API nvmlReturn_t nvmlInternalGetExportTable(const void** table,
                                                          const unsigned char* id) {
  using namespace gvirtus::nvml;
  // What the driver's answers for a NULL argument or an id it does not know.
  if (table == nullptr || id == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (std::memcmp(id, kSmiTable, sizeof kSmiTable) != 0) return NVML_ERROR_INVALID_ARGUMENT;
  *table = make_table(std::make_index_sequence<kSlots - 1>());
  return NVML_SUCCESS;
}
