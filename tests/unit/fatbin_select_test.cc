// Only the fatbinary entries the worker's GPUs can load travel (frontend/cudart/fatbin_select.h).
#include "frontend/cudart/fatbin_select.h"

#include <gtest/gtest.h>

#include "fatbin_builder.h"

namespace gvirtus::testing {
namespace {

using cudart::ComputeCapability;
using cudart::FatbinImage;

const FatbinEntry kCubin80{2, 80, 0x11, 40, 0x80};
const FatbinEntry kCubin86{2, 86, 0x11, 24, 0x86};
const FatbinEntry kCubin90{2, 90, 0x11, 48, 0x90};
const FatbinEntry kCubin90a{2, 90, 0x11 | kArchSpecific, 16, 0x9a};
const FatbinEntry kPtx75{1, 75, 0x8011, 32, 0x75};
const FatbinEntry kPtx100{1, 100, 0x8011, 8, 0x10};
const FatbinEntry kOther{0x40, 0, 0, 8, 0x40};

std::vector<uint8_t> select(const std::vector<FatbinEntry>& entries,
                            const std::vector<ComputeCapability>& devices, bool* selected) {
  auto words = make_fatbin(entries);
  FatbinImage in;
  EXPECT_TRUE(cudart::parse_fatbin(words.data(), &in));
  std::vector<uint8_t> out;
  *selected = cudart::select_images(in, devices, &out);
  return out;
}

const std::vector<FatbinEntry> kAll = {kCubin80, kCubin90, kCubin90a, kPtx75, kPtx100, kCubin86};

TEST(FatbinSelect, HopperGetsItsCubinsAndOlderPtx) {
  bool selected = false;
  auto out = select(kAll, {{9, 0}}, &selected);
  ASSERT_TRUE(selected);
  EXPECT_EQ(out, fatbin_bytes({kCubin90, kCubin90a, kPtx75}));
  FatbinImage parsed;  // still a fatbin whose header gives its exact length
  ASSERT_TRUE(cudart::parse_fatbin(out.data(), &parsed));
  EXPECT_EQ(parsed.size, out.size());
}

TEST(FatbinSelect, CubinsLoadOnLaterMinorsOfTheirMajorOnly) {
  bool selected = false;
  EXPECT_EQ(select(kAll, {{8, 6}}, &selected), fatbin_bytes({kCubin80, kPtx75, kCubin86}));
  EXPECT_TRUE(selected);
  // 8.0 cannot run a cubin built for 8.6; a Blackwell (10.0) runs no Hopper or Ampere cubin
  // and no arch-specific image of another version, but JIT-compiles any older PTX.
  EXPECT_EQ(select(kAll, {{8, 0}}, &selected), fatbin_bytes({kCubin80, kPtx75}));
  EXPECT_EQ(select(kAll, {{10, 0}}, &selected), fatbin_bytes({kPtx75, kPtx100}));
}

TEST(FatbinSelect, EveryDeviceOfTheWorkerCounts) {
  bool selected = false;
  EXPECT_EQ(select(kAll, {{8, 0}, {9, 0}}, &selected),
            fatbin_bytes({kCubin80, kCubin90, kCubin90a, kPtx75}));
}

TEST(FatbinSelect, ArchSpecificPtxOnlyOnItsOwnVersion) {
  const FatbinEntry ptx90a{1, 90, 0x8011 | kArchSpecific, 8, 0x9b};
  bool selected = false;
  EXPECT_EQ(select({kCubin80, ptx90a}, {{9, 0}}, &selected), fatbin_bytes({ptx90a}));
  EXPECT_TRUE(selected);
  EXPECT_EQ(select({kCubin90, ptx90a, kPtx75}, {{10, 0}}, &selected), fatbin_bytes({kPtx75}));
}

TEST(FatbinSelect, UnknownKindsAreKept) {
  bool selected = false;
  EXPECT_EQ(select({kOther, kCubin80, kCubin90}, {{9, 0}}, &selected),
            fatbin_bytes({kOther, kCubin90}));
}

TEST(FatbinSelect, TheOriginalGoesWhenNothingOrEverythingWouldBeDropped) {
  bool selected = true;
  EXPECT_TRUE(select({kCubin90, kPtx75}, {{9, 0}}, &selected).empty());
  EXPECT_FALSE(selected);  // nothing to drop
  selected = true;
  select({kCubin80, kPtx100}, {{7, 0}}, &selected);
  EXPECT_FALSE(selected);  // nothing would remain: the driver gives the native error
  selected = true;
  select(kAll, {}, &selected);
  EXPECT_FALSE(selected);  // no device known
}

TEST(FatbinSelect, EntriesThatDoNotParseSendTheOriginal) {
  auto words = make_fatbin({kCubin80, kCubin90});
  auto* p = reinterpret_cast<uint8_t*>(words.data());
  FatbinImage in;
  ASSERT_TRUE(cudart::parse_fatbin(words.data(), &in));
  std::vector<uint8_t> out;
  const std::vector<ComputeCapability> hopper = {{9, 0}};
  ASSERT_TRUE(cudart::select_images(in, hopper, &out));

  uint32_t small = 32;  // an entry header too short to hold the architecture and flags
  auto bad = words;
  std::memcpy(reinterpret_cast<uint8_t*>(bad.data()) + 16 + 4, &small, 4);
  FatbinImage bad_in{bad.data(), in.size};
  EXPECT_FALSE(cudart::select_images(bad_in, hopper, &out));

  uint64_t huge = uint64_t{1} << 40;  // a payload past the end of the image
  bad = words;
  std::memcpy(reinterpret_cast<uint8_t*>(bad.data()) + 16 + 8, &huge, 8);
  bad_in.data = bad.data();
  EXPECT_FALSE(cudart::select_images(bad_in, hopper, &out));

  // The image ends 20 bytes into the second entry's header.
  FatbinImage cut{p, 16 + 64 + kCubin80.bytes + 20};
  EXPECT_FALSE(cudart::select_images(cut, hopper, &out));
}

}  // namespace
}  // namespace gvirtus::testing
