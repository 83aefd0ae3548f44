// gvManagedPeek / gvManagedPoke (backend/cudart/managed.cc) against hostile requests: they reach
// only managed memory the session was given (gvManagedAlloc allocations, __managed__ variables
// looked up with gvManagedVarGet), inside one range, in bounded pieces; anything else ends the
// session before any CUDA call. Without a GPU an honest request's copy fails, but the session
// survives it.
#include <gtest/gtest.h>

#include "backend/cudart/managed.h"
#include "handler_test.h"

namespace gvirtus::backend::cudart {
void handle_gvManagedPeek(CallContext&);
void handle_gvManagedPoke(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;

class ManagedExchange : public HandlerTest {
 protected:
  static constexpr uint64_t kVar = 0x7f0000100000ull;
  void SetUp() override {
    wire::FrameHeader hdr;
    wire::Writer none;
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(none.data(), 0), wire::Writer()};
    be::cudart::note_managed_variable(ctx, kVar, 4096);
  }
  static wire::Writer peek(uint64_t addr, uint64_t n) {
    wire::Writer w;
    w.put<uint64_t>(addr);
    w.put<uint64_t>(n);
    return w;
  }
  static wire::Writer poke(uint64_t addr, size_t n) {
    wire::Writer w;
    w.put<uint64_t>(addr);
    for (size_t i = 0; i < n; ++i) w.put<uint8_t>(static_cast<uint8_t>(i));
    return w;
  }
};

TEST_F(ManagedExchange, InsideAKnownRangeReachesTheRuntime) {
  EXPECT_NO_THROW(run(be::cudart::handle_gvManagedPeek, peek(kVar, 4096)));
  EXPECT_NO_THROW(run(be::cudart::handle_gvManagedPeek, peek(kVar + 4000, 96)));
  EXPECT_NO_THROW(run(be::cudart::handle_gvManagedPoke, poke(kVar + 16, 64)));
}

TEST_F(ManagedExchange, OutsideTheSessionsManagedMemoryEndsTheSession) {
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar - 1, 2)),
               "gvManagedPeek outside the session's managed memory");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar + 4000, 97)),
               "gvManagedPeek outside the session's managed memory");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar + 4096, 1)),
               "gvManagedPeek outside the session's managed memory");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(0x1000, 8)),
               "gvManagedPeek outside the session's managed memory");
  // A range that wraps around the address space.
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar + 8, UINT64_MAX - 4)),
               "gvManagedPeek of 18446744073709551611 bytes");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPoke, poke(kVar + 4090, 7)),
               "gvManagedPoke outside the session's managed memory");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPoke, poke(0x1000, 8)),
               "gvManagedPoke outside the session's managed memory");
}

TEST_F(ManagedExchange, SizesAreBounded) {
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar, 0)), "gvManagedPeek of 0 bytes");
  // At most one client chunk: the worker copies through a page-locked buffer of that size.
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, peek(kVar, uint64_t{wire::kCopyChunk} + 1)),
               "gvManagedPeek of 8388609 bytes");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPoke, poke(kVar, 0)), "gvManagedPoke of 0 bytes");
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPoke, poke(kVar, size_t{wire::kCopyChunk} + 1)),
               "gvManagedPoke of 8388609 bytes");
}

TEST_F(ManagedExchange, ShortOrLongRequestsAreDecodeErrors) {
  wire::Writer w;
  w.put<uint64_t>(kVar);
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, w),
               "payload too short: wanted 8 bytes, 0 left");
  auto long_one = peek(kVar, 8);
  long_one.put<uint8_t>(0);
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPeek, long_one),
               "1 unexpected bytes at the end of the payload");
  wire::Writer tiny;
  tiny.put<uint32_t>(1);
  EXPECT_FAULT(run(be::cudart::handle_gvManagedPoke, tiny),
               "payload too short: wanted 8 bytes, 4 left");
}

}  // namespace
}  // namespace gvirtus::testing
