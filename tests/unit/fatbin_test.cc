// Parsing the fatbinary wrapper nvcc passes to __cudaRegisterFatBinary.
#include "common/fatbin.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace gvirtus::cudart {
namespace {

// A fatbin: 16-byte header (or `header_size`) and `payload` bytes, 8-byte aligned.
std::vector<uint64_t> make_fatbin(uint64_t payload, uint16_t header_size = 16,
                                  uint32_t magic = kFatbinMagic) {
  std::vector<uint64_t> words((header_size + payload + 7) / 8 + 2, 0);
  auto* b = reinterpret_cast<uint8_t*>(words.data());
  uint16_t version = 1;
  std::memcpy(b, &magic, 4);
  std::memcpy(b + 4, &version, 2);
  std::memcpy(b + 6, &header_size, 2);
  std::memcpy(b + 8, &payload, 8);
  return words;
}

TEST(Fatbin, GoodWrapper) {
  auto fb = make_fatbin(0x20c8);
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 1, fb.data(), nullptr};
  FatbinImage img;
  ASSERT_TRUE(parse_fatbin_wrapper(&w, &img));
  EXPECT_EQ(img.data, fb.data());
  EXPECT_EQ(img.size, 16u + 0x20c8u);
}

TEST(Fatbin, LinkedWrapperVersionAccepted) {
  auto fb = make_fatbin(64);
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 2, fb.data(), nullptr};
  FatbinImage img;
  EXPECT_TRUE(parse_fatbin_wrapper(&w, &img));
}

TEST(Fatbin, PrelinkedListOfALinkedImage) {
  auto linked = make_fatbin(64), a = make_fatbin(100), b = make_fatbin(0x1000);
  const void* list[] = {a.data(), b.data(), nullptr};
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 2, linked.data(), list};
  std::vector<FatbinImage> parts;
  ASSERT_TRUE(parse_prelinked_fatbins(&w, &parts));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].data, a.data());
  EXPECT_EQ(parts[0].size, 116u);
  EXPECT_EQ(parts[1].size, 16u + 0x1000u);

  // Version 1 wrappers carry no list (the field is a file name or null there).
  FatbinWrapper v1{static_cast<int32_t>(kFatbinWrapperMagic), 1, linked.data(), list};
  ASSERT_TRUE(parse_prelinked_fatbins(&v1, &parts));
  EXPECT_TRUE(parts.empty());
  const void* empty[] = {nullptr};
  FatbinWrapper none{static_cast<int32_t>(kFatbinWrapperMagic), 2, linked.data(), empty};
  ASSERT_TRUE(parse_prelinked_fatbins(&none, &parts));
  EXPECT_TRUE(parts.empty());
}

TEST(Fatbin, PrelinkedListWithABadEntryIsRefusedWhole) {
  auto linked = make_fatbin(64), good = make_fatbin(8), bad = make_fatbin(8, 16, 0x12345678);
  const void* list[] = {good.data(), bad.data(), nullptr};
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 2, linked.data(), list};
  std::vector<FatbinImage> parts;
  Status st = parse_prelinked_fatbins(&w, &parts);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("prelinked fatbinary 1"), std::string::npos) << st.message();
  EXPECT_TRUE(parts.empty());
}

TEST(Fatbin, LargerHeaderCounts) {
  auto fb = make_fatbin(100, 64);
  FatbinImage img;
  ASSERT_TRUE(parse_fatbin(fb.data(), &img));
  EXPECT_EQ(img.size, 164u);
}

TEST(Fatbin, BadWrapperMagic) {
  auto fb = make_fatbin(64);
  FatbinWrapper w{0x12345678, 1, fb.data(), nullptr};
  FatbinImage img;
  Status st = parse_fatbin_wrapper(&w, &img);
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("magic"), std::string::npos);
  EXPECT_EQ(img.data, nullptr);
}

TEST(Fatbin, UnknownWrapperVersion) {
  auto fb = make_fatbin(64);
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 7, fb.data(), nullptr};
  FatbinImage img;
  EXPECT_FALSE(parse_fatbin_wrapper(&w, &img));
}

TEST(Fatbin, NullPointers) {
  FatbinImage img;
  EXPECT_FALSE(parse_fatbin_wrapper(nullptr, &img));
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 1, nullptr, nullptr};
  EXPECT_FALSE(parse_fatbin_wrapper(&w, &img));
}

TEST(Fatbin, BadFatbinMagic) {
  auto fb = make_fatbin(64, 16, 0xBA55ED51);
  FatbinWrapper w{static_cast<int32_t>(kFatbinWrapperMagic), 1, fb.data(), nullptr};
  FatbinImage img;
  EXPECT_FALSE(parse_fatbin_wrapper(&w, &img));
}

TEST(Fatbin, TruncatedHeaderSize) {
  auto fb = make_fatbin(64, 8);  // shorter than the header itself
  FatbinImage img;
  EXPECT_FALSE(parse_fatbin(fb.data(), &img));
}

TEST(Fatbin, OversizeHeaderSize) {
  auto fb = make_fatbin(64);
  uint16_t hs = kMaxFatbinHeaderBytes + 1;
  std::memcpy(reinterpret_cast<uint8_t*>(fb.data()) + 6, &hs, 2);
  FatbinImage img;
  EXPECT_FALSE(parse_fatbin(fb.data(), &img));
}

TEST(Fatbin, OversizePayload) {
  auto fb = make_fatbin(0);
  for (uint64_t fat : {kMaxFatbinBytes, kMaxFatbinBytes - 15, ~uint64_t{0}, ~uint64_t{0} - 8}) {
    std::memcpy(reinterpret_cast<uint8_t*>(fb.data()) + 8, &fat, 8);
    FatbinImage img;
    EXPECT_FALSE(parse_fatbin(fb.data(), &img)) << fat;
  }
  uint64_t fat = kMaxFatbinBytes - 16;  // exactly at the limit: accepted
  std::memcpy(reinterpret_cast<uint8_t*>(fb.data()) + 8, &fat, 8);
  FatbinImage img;
  EXPECT_TRUE(parse_fatbin(fb.data(), &img));
  EXPECT_EQ(img.size, kMaxFatbinBytes);
}

}  // namespace
}  // namespace gvirtus::cudart
