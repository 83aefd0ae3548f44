// The worker's record of virtual memory management allocations (backend/cuda/vmm_book.h): an
// allocation's memory counts as freed only once its last reference and its last mapping are
// gone, whichever goes first, as the driver frees it.
#include "backend/cuda/vmm_book.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace gvirtus::backend::cuda {
namespace {

constexpr uint64_t kG = 2u << 20;  // a granule
constexpr uint64_t kVa = 0x7f0000000000ull;

TEST(VmmBook, ReleasedWhileMappedDiesAtTheUnmap) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, 2 * kG, 0));
  b.mapped(kVa, 2 * kG, 0x100, &dead);
  EXPECT_EQ(b.released(0x100, &dead), 0u);
  EXPECT_TRUE(dead.empty()) << "the mapping still holds the memory";
  b.unmapped(kVa, 2 * kG, &dead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].raw, 0x100u);
  EXPECT_EQ(dead[0].bytes, 2 * kG);
  EXPECT_EQ(b.allocations(), 0u);
}

TEST(VmmBook, UnmappedWhileReferencedDiesAtTheRelease) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 1));
  b.mapped(kVa, kG, 0x100, &dead);
  b.unmapped(kVa, kG, &dead);
  EXPECT_TRUE(dead.empty()) << "the handle still holds the memory";
  EXPECT_EQ(b.released(0x100, &dead), 0u);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].device, 1);
}

TEST(VmmBook, EveryRetainHoldsAReferenceOfItsOwn) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  EXPECT_TRUE(b.retained(0x100));
  EXPECT_FALSE(b.retained(0x200)) << "not an allocation of this session";
  EXPECT_EQ(b.released(0x100, &dead), 1u);
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(b.released(0x100, &dead), 0u);
  EXPECT_EQ(dead.size(), 1u);
  EXPECT_EQ(b.released(0x100, &dead), 0u) << "gone: nothing more to release";
  EXPECT_EQ(dead.size(), 1u);
}

TEST(VmmBook, AHandleRetainedFromAMappingRevivesTheAllocation) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  b.mapped(kVa, kG, 0x100, &dead);
  b.released(0x100, &dead);
  EXPECT_TRUE(b.retained(0x100)) << "mapped, so still the session's";
  b.unmapped(kVa, kG, &dead);
  EXPECT_TRUE(dead.empty());
  b.released(0x100, &dead);
  EXPECT_EQ(dead.size(), 1u);
}

// CUDA forbids unmapping part of a mapping; should a driver do it anyway, what stays mapped
// keeps its allocation counted.
TEST(VmmBook, PartOfAMappingUnmappedLeavesTheRestCounted) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, 4 * kG, 0));
  b.mapped(kVa, 4 * kG, 0x100, &dead);
  b.released(0x100, &dead);
  b.unmapped(kVa + kG, kG, &dead);  // the second granule
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(b.mappings(), 2u);
  const auto left = b.mappings_in(kVa, 4 * kG);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], std::make_pair(kVa, kG));
  EXPECT_EQ(left[1], std::make_pair(kVa + 2 * kG, 2 * kG));
  b.unmapped(kVa, kG, &dead);
  EXPECT_TRUE(dead.empty());
  b.unmapped(kVa + 2 * kG, 2 * kG, &dead);
  EXPECT_EQ(dead.size(), 1u);
}

TEST(VmmBook, AnAllocationAliveOnlyThroughAMappingHasNoReference) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  EXPECT_EQ(b.references(0x100), 1u);
  b.mapped(kVa, kG, 0x100, &dead);
  b.released(0x100, &dead);
  EXPECT_EQ(b.references(0x100), 0u);
  VmmBook::Allocation a;
  EXPECT_TRUE(b.find(0x100, &a));
  EXPECT_EQ(b.references(0x200), 0u);
}

TEST(VmmBook, OneUnmapOrAddressFreeEndsEveryMappingItCovers) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  ASSERT_TRUE(b.created(0x200, kG, 0));
  ASSERT_TRUE(b.created(0x300, kG, 0));
  b.mapped(kVa, kG, 0x100, &dead);
  b.mapped(kVa + kG, kG, 0x200, &dead);
  b.mapped(kVa + 3 * kG, kG, 0x300, &dead);
  for (uint64_t raw : {0x100u, 0x200u, 0x300u}) b.released(raw, &dead);
  EXPECT_TRUE(dead.empty());
  b.unmapped(kVa, 2 * kG, &dead);
  EXPECT_EQ(dead.size(), 2u);
  EXPECT_EQ(b.mappings(), 1u);
  b.unmapped(kVa, 8 * kG, &dead);  // the reservation freed
  EXPECT_EQ(dead.size(), 3u);
  EXPECT_EQ(b.allocations(), 0u);
}

TEST(VmmBook, AMappingRecordedWhereTheDriverMapsAgainWasStale) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  ASSERT_TRUE(b.created(0x200, kG, 0));
  b.mapped(kVa, kG, 0x100, &dead);
  b.released(0x100, &dead);
  b.mapped(kVa, kG, 0x200, &dead);  // the driver mapped there, so the old mapping was gone
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].raw, 0x100u);
  VmmBook::Allocation a;
  ASSERT_TRUE(b.find(0x200, &a));
  EXPECT_EQ(a.maps, 1u);
}

TEST(VmmBook, ALiveHandleGivenAgainIsNotRecordedTwice) {
  VmmBook b;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  EXPECT_FALSE(b.created(0x100, 4 * kG, 0));
  VmmBook::Allocation a;
  ASSERT_TRUE(b.find(0x100, &a));
  EXPECT_EQ(a.bytes, kG);
  EXPECT_EQ(a.refs, 1u);
}

TEST(VmmBook, ARangeToTheEndOfTheAddressSpaceDoesNotWrap) {
  VmmBook b;
  std::vector<VmmBook::Dead> dead;
  ASSERT_TRUE(b.created(0x100, kG, 0));
  b.mapped(kVa, kG, 0x100, &dead);
  b.released(0x100, &dead);
  b.unmapped(kVa, UINT64_MAX, &dead);
  EXPECT_EQ(dead.size(), 1u);
}

}  // namespace
}  // namespace gvirtus::backend::cuda
