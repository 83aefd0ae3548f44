// libcuda.so.1's private tables for NVIDIA's static runtime (frontend/cuda/export_tables.h,
// export_hash.h): table layout and lookup, the refusal of unknown ids and unimplemented slots,
// context-local storage, and the integrity digest.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/cuda/export_hash.h"
#include "frontend/cuda/export_tables.h"

namespace gvirtus::cuda {
namespace {

CUresult answer_seven() { return static_cast<CUresult>(7); }

CUuuid id_of(int t) {
  CUuuid u;
  std::memcpy(u.bytes, table_spec(t).id, 16);
  return u;
}

using Any = CUresult (*)();

TEST(ExportTables, EveryTableHasItsSizeWordAndNoEmptySlot) {
  ExportTables tables({});
  for (int t = 0; t < kTableCount; ++t) {
    const TableSpec& s = table_spec(t);
    const void* out = nullptr;
    CUuuid id = id_of(t);
    ASSERT_EQ(tables.get(&out, &id), CUDA_SUCCESS) << s.name;
    const auto* words = static_cast<const void* const*>(out);
    EXPECT_EQ(words, tables.table(t));
    if (s.size_word) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(words[0]), s.entries * sizeof(void*)) << s.name;
    }
    for (int i = s.size_word ? 1 : 0; i < s.entries; ++i)
      EXPECT_EQ(words[i], refusing_slot(t, i)) << s.name << " slot " << i;
    // The same address every time: the integrity digest hashes it.
    const void* again = nullptr;
    ASSERT_EQ(tables.get(&again, &id), CUDA_SUCCESS);
    EXPECT_EQ(again, out);
  }
}

TEST(ExportTables, UnknownIdIsRefusedAndNullArgumentsAreInvalid) {
  ExportTables tables({});
  CUuuid unknown{};
  std::memset(unknown.bytes, 0x5a, sizeof unknown.bytes);
  const void* out = &unknown;
  EXPECT_EQ(tables.get(&out, &unknown), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(out, &unknown);  // untouched
  EXPECT_EQ(tables.get(&out, &unknown), CUDA_ERROR_NOT_SUPPORTED);  // logged once, same answer
  // One byte off a known id is unknown too.
  CUuuid near = id_of(kIntegrity);
  near.bytes[15] ^= 1;
  EXPECT_EQ(tables.get(&out, &near), CUDA_ERROR_NOT_SUPPORTED);
  CUuuid id = id_of(kIntegrity);
  EXPECT_EQ(tables.get(nullptr, &id), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(tables.get(&out, nullptr), CUDA_ERROR_INVALID_VALUE);
}

TEST(ExportTables, UnimplementedSlotsAnswerNotSupported) {
  ExportTables tables({{kContextChecks, 3, reinterpret_cast<const void*>(&answer_seven)}});
  const void* const* checks = tables.table(kContextChecks);
  EXPECT_EQ(reinterpret_cast<Any>(checks[3])(), 7);
  // Every other slot of every table refuses (called with no arguments: the stubs read none).
  for (int t = 0; t < kTableCount; ++t) {
    const TableSpec& s = table_spec(t);
    for (int i = s.size_word ? 1 : 0; i < s.entries; ++i) {
      if (t == kContextChecks && i == 3) continue;
      EXPECT_EQ(reinterpret_cast<Any>(tables.table(t)[i])(), CUDA_ERROR_NOT_SUPPORTED)
          << s.name << " slot " << i;
    }
  }
}

TEST(ExportTables, SlotsOutsideATableAreRejected) {
  const void* f = reinterpret_cast<const void*>(&answer_seven);
  const int last = table_spec(kIntegrity).entries - 1;
  EXPECT_NO_THROW(ExportTables({{kIntegrity, last, f}}));
  EXPECT_THROW(ExportTables({{kIntegrity, last + 1, f}}), std::invalid_argument);
  EXPECT_THROW(ExportTables({{kIntegrity, 0, f}}), std::invalid_argument);  // the size word
  EXPECT_THROW(ExportTables({{kIntegrity, -1, f}}), std::invalid_argument);
  EXPECT_THROW(ExportTables({{kTableCount, 1, f}}), std::invalid_argument);
  EXPECT_THROW(ExportTables({{-1, 1, f}}), std::invalid_argument);
  EXPECT_THROW(ExportTables({{kIntegrity, 1, nullptr}}), std::invalid_argument);
  // Context-local storage has no size word: its slot 0 is a function.
  EXPECT_NO_THROW(ExportTables({{kContextStorage, 0, f}}));
  EXPECT_EQ(refusing_slot(kTableCount, 0), nullptr);
  EXPECT_EQ(refusing_slot(0, 16), nullptr);
  EXPECT_EQ(refusing_slot(0, -1), nullptr);
}

TEST(ExportTables, IdsPrintAsTheDriverGuids) {
  EXPECT_EQ(uuid_text(table_spec(kCudartInterface).id), "6bd5fb6c-5bf4-e74a-8987-d93912fd9df9");
  EXPECT_EQ(uuid_text(table_spec(kIntegrity).id), "d4082055-bde6-704b-8d34-ba123c66e1f2");
}

struct Destroyed {
  CUcontext ctx;
  void* key;
  void* value;
};
std::vector<Destroyed> g_destroyed;
void on_destroy(CUcontext c, void* k, void* v) { g_destroyed.push_back({c, k, v}); }

TEST(ContextStorage, AnswersAsTheDriver) {
  CUcontext current = nullptr;
  ContextStorage cls([&](CUcontext* c) {
    *c = current;
    return CUDA_SUCCESS;
  });
  int k1 = 0, k2 = 0, v1 = 0, v2 = 0;
  void* out = nullptr;
  // No context given and none current.
  EXPECT_EQ(cls.get(&out, nullptr, &k1), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_EQ(cls.put(nullptr, &k1, &v1, nullptr), CUDA_ERROR_INVALID_CONTEXT);
  current = reinterpret_cast<CUcontext>(0x1000);
  EXPECT_EQ(cls.get(&out, nullptr, &k1), CUDA_ERROR_INVALID_HANDLE);  // nothing under the key
  EXPECT_EQ(cls.put(nullptr, &k1, &v1, &on_destroy), CUDA_SUCCESS);
  // NULL meant the current context: the value is there under its handle.
  EXPECT_EQ(cls.get(&out, current, &k1), CUDA_SUCCESS);
  EXPECT_EQ(out, &v1);
  CUcontext other = reinterpret_cast<CUcontext>(0x2000);
  EXPECT_EQ(cls.get(&out, other, &k1), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_EQ(cls.put(other, &k2, &v2, &on_destroy), CUDA_SUCCESS);
  EXPECT_EQ(cls.get(nullptr, other, &k2), CUDA_ERROR_INVALID_VALUE);
  // The current context goes away: its destructor runs with its value; the other one stays.
  g_destroyed.clear();
  cls.context_gone(current);
  ASSERT_EQ(g_destroyed.size(), 1u);
  EXPECT_EQ(g_destroyed[0].ctx, current);
  EXPECT_EQ(g_destroyed[0].key, &k1);
  EXPECT_EQ(g_destroyed[0].value, &v1);
  EXPECT_EQ(cls.get(&out, current, &k1), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_EQ(cls.get(&out, other, &k2), CUDA_SUCCESS);
  EXPECT_EQ(out, &v2);
  // Removed values are not destroyed again.
  EXPECT_EQ(cls.remove(other, &k2), CUDA_SUCCESS);
  EXPECT_EQ(cls.remove(other, &k2), CUDA_ERROR_INVALID_HANDLE);
  g_destroyed.clear();
  cls.context_gone(other);
  EXPECT_TRUE(g_destroyed.empty());
}

TEST(ContextStorage, FailureToReadTheCurrentContextIsPassedOn) {
  ContextStorage cls([](CUcontext*) { return CUDA_ERROR_DEINITIALIZED; });
  void* out = nullptr;
  int k = 0;
  EXPECT_EQ(cls.get(&out, nullptr, &k), CUDA_ERROR_DEINITIALIZED);
}

std::string hex(const unsigned char* d, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    s += b;
  }
  return s;
}

TEST(IntegrityDigest, Md2KnownAnswers) {  // RFC 1319, appendix A.5
  const std::pair<const char*, const char*> v[] = {
      {"", "8350e5a3e24c153df2275c9f80692773"},
      {"a", "32ec01ec4a6dac72c0ab96fb34c0b5d1"},
      {"abc", "da853b0d3f88d99b30283a69e6ded6bb"},
      {"message digest", "ab4f496bfb2a530b219ff33031fe06b0"},
      {"abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "d5976f79d83d3a0dc9806c3c66f3efd8"}};
  for (const auto& [in, want] : v) {
    unsigned char d[16];
    md2(in, std::strlen(in), d);
    EXPECT_EQ(hex(d, 16), want) << in;
  }
}

TEST(IntegrityDigest, VersionsEndingInZeroOrOneHaveFixedAnswers) {
  // As the driver answered CUDA 13.0's runtime on the H200 (versions 13000 and 13001).
  HashInput in;
  in.version = 13000;
  in.process = 1234;
  unsigned char d[16];
  integrity_digest(in, d);
  uint64_t w[2];
  std::memcpy(w, d, 16);
  EXPECT_EQ(w[0], 0x3341181c03cb675cull);
  EXPECT_EQ(w[1], 0x8ed383aa1f4cd1e8ull);
  in.version = 13001;
  integrity_digest(in, d);
  std::memcpy(w, d, 16);
  EXPECT_EQ(w[0], 0x1841181c03cb675cull);
  EXPECT_EQ(w[1], 0x8ed383aa1f4cd1e8ull);
}

TEST(IntegrityDigest, AsTheDriverAnsweredOnTheH200) {
  // Inputs and answer logged by tools/trace_libcuda (driver 580.159.04, CUDA 13.0 runtime).
  HashInput in;
  in.driver_version = 13000;
  in.version = 13002;
  in.process = 439;
  in.thread = 3450617856u;
  in.cudart_table = reinterpret_cast<const void*>(uintptr_t{0x7f5ecd24c680});
  in.integrity_table = reinterpret_cast<const void*>(uintptr_t{0x7f5ecd24c660});
  in.slot = reinterpret_cast<const void*>(uintptr_t{0x7f5ec7bab350});
  in.unix_seconds = 1796397731;
  HashDevice d{{0xa8, 0xf3, 0x81, 0xc6, 0x0a, 0x3a, 0x10, 0xb0, 0xee, 0xad, 0x62, 0x68, 0x6f,
                0x2c, 0xf6, 0xc8},
               0, 0, 6};
  in.devices.push_back(d);
  unsigned char out[16];
  integrity_digest(in, out);
  uint64_t w[2];
  std::memcpy(w, out, 16);
  EXPECT_EQ(w[0], 0x2939438f8cfd9ba8ull);
  EXPECT_EQ(w[1], 0xcdf4bc46ad1d3d8full);
}

TEST(IntegrityDigest, EveryInputChangesTheDigest) {
  HashInput base;
  base.driver_version = 13000;
  base.version = 13002;
  base.process = 77;
  base.thread = 88;
  base.cudart_table = reinterpret_cast<const void*>(0x1000);
  base.integrity_table = reinterpret_cast<const void*>(0x2000);
  base.slot = reinterpret_cast<const void*>(0x3000);
  base.unix_seconds = 1796397089;
  base.devices.push_back(HashDevice{{1, 2, 3}, 0, 0x19, 0});
  unsigned char ref[16], d[16];
  integrity_digest(base, ref);
  integrity_digest(base, d);
  EXPECT_EQ(std::memcmp(ref, d, 16), 0);  // deterministic
  std::vector<HashInput> changed(9, base);
  changed[0].driver_version++;
  changed[1].version++;
  changed[2].process++;
  changed[3].thread++;
  changed[4].cudart_table = reinterpret_cast<const void*>(0x1008);
  changed[5].integrity_table = reinterpret_cast<const void*>(0x2008);
  changed[6].slot = reinterpret_cast<const void*>(0x3008);
  changed[7].unix_seconds++;
  changed[8].devices[0].pci_bus++;
  for (size_t i = 0; i < changed.size(); ++i) {
    integrity_digest(changed[i], d);
    EXPECT_NE(std::memcmp(ref, d, 16), 0) << "input " << i;
  }
}

}  // namespace
}  // namespace gvirtus::cuda
