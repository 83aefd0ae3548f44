// The worker's staging-buffer calls for graph memcpy nodes with host memory
// (backend/cudart/graph_staging.cc) against hostile requests: unknown buffer ids, ranges outside
// a buffer, sizes over the bounds, bad directions and shapes end the session before any CUDA
// call; an honest but oversized buffer is an allocation failure, not a fault.
#include <gtest/gtest.h>

#include "backend/cudart/graphs.h"
#include "handler_test.h"

namespace gvirtus::backend::cudart {
void handle_gvStagingAlloc(CallContext&);
void handle_gvStagingFree(CallContext&);
void handle_gvStagingWrite(CallContext&);
void handle_gvStagingRead(CallContext&);
void handle_gvGraphLaunchStaged(CallContext&);
void handle_gvGraphAddStagedMemcpyNode(CallContext&);
void handle_gvCaptureStagedCopy(CallContext&);
void handle_gvStagingFromDevice(CallContext&);
void handle_gvStagingToDevice(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace bc = gvirtus::backend::cudart;

using GraphStaging = HandlerTest;

wire::Writer u64s(std::initializer_list<uint64_t> v) {
  wire::Writer w;
  for (uint64_t x : v) w.put<uint64_t>(x);
  return w;
}

TEST_F(GraphStaging, AllocationsAreBounded) {
  EXPECT_FAULT(run(bc::handle_gvStagingAlloc, u64s({0})), "staging buffer of 0 bytes");
  // Over one buffer's bound: refused as an allocation failure, before any CUDA call.
  EXPECT_EQ(run(bc::handle_gvStagingAlloc, u64s({(uint64_t{1} << 30) + 1})),
            cudaErrorMemoryAllocation);
  EXPECT_EQ(run(bc::handle_gvStagingAlloc, u64s({UINT64_MAX})), cudaErrorMemoryAllocation);
  EXPECT_FAULT(run(bc::handle_gvStagingAlloc, u64s({8, 8})),
               "8 unexpected bytes at the end of the payload");
}

TEST_F(GraphStaging, UnknownBuffersEndTheSession) {
  EXPECT_FAULT(run(bc::handle_gvStagingFree, u64s({1})),
               "gvStagingFree of an unknown staging buffer");
  auto w = u64s({7, 0});
  w.put<uint64_t>(0);
  EXPECT_FAULT(run(bc::handle_gvStagingWrite, w), "staging buffer 7 unknown");
  auto r = u64s({7, 0, 8});
  r.put<uint8_t>(1);
  EXPECT_FAULT(run(bc::handle_gvStagingRead, r), "staging buffer 7 unknown");
  // A launch naming a buffer that was never made.
  wire::Writer l = u64s({live(be::HandleKind::kGraphExec), 0});
  l.put<uint32_t>(1);
  l.put<uint64_t>(99);
  EXPECT_FAULT(run(bc::handle_gvGraphLaunchStaged, l), "staging buffer 99 unknown");
}

// gvStagingFromDevice (asynchronous device-to-host copies, frontend/core/deliveries.h): the shape
// is bounded and the buffer checked before anything is enqueued.
TEST_F(GraphStaging, CopiesIntoABufferAreCheckedFirst) {
  // id, offset, device pointer, pitch, width, rows, stream
  EXPECT_FAULT(run(bc::handle_gvStagingFromDevice, u64s({7, 0, 0x1000, 64, 64, 1, 0})),
               "staging buffer 7 unknown");
  EXPECT_FAULT(run(bc::handle_gvStagingFromDevice, u64s({1, 0, 0x1000, 0, 0, 1, 0})),
               "gvStagingFromDevice of 1 rows of 0 bytes");
  EXPECT_FAULT(run(bc::handle_gvStagingFromDevice, u64s({1, 0, 0x1000, 1 << 20, 1 << 20, 1 << 20, 0})),
               "gvStagingFromDevice of 1048576 rows of 1048576 bytes");
  EXPECT_FAULT(run(bc::handle_gvStagingFromDevice, u64s({1, 0, 0x1000, 4, 8, 2, 0})),
               "gvStagingFromDevice pitch below width");
  EXPECT_FAULT(run(bc::handle_gvStagingFromDevice, u64s({1, 0, 0x1000, 8, 8, 1})),
               "payload too short: wanted 8 bytes, 0 left");
  EXPECT_FAULT(run(bc::handle_gvStagingToDevice, u64s({9, 0, 0x1000, 64, 64, 1, 0})),
               "staging buffer 9 unknown");
  EXPECT_FAULT(run(bc::handle_gvStagingToDevice, u64s({1, 0, 0x1000, 4, 8, 2, 0})),
               "gvStagingToDevice pitch below width");
  EXPECT_FAULT(run(bc::handle_gvStagingToDevice, u64s({1, 0, 0x1000, 8, UINT64_MAX, 1, 0})),
               "gvStagingToDevice of 1 rows of 18446744073709551615 bytes");
  EXPECT_FAULT(run(bc::handle_gvStagingToDevice, u64s({1, 0, 0x1000, 8, 8, 1, 0, 0})),
               "8 unexpected bytes at the end of the payload");
}

TEST_F(GraphStaging, SizesAndCountsAreBounded) {
  auto r = u64s({1, 0, uint64_t{wire::kMaxPayload} + 1});
  r.put<uint8_t>(0);
  EXPECT_FAULT(run(bc::handle_gvStagingRead, r), "gvStagingRead of 67108865 bytes");
  auto mode = u64s({1, 0, 8});
  mode.put<uint8_t>(3);  // no such read mode
  EXPECT_FAULT(run(bc::handle_gvStagingRead, mode), "gvStagingRead mode 3");
  wire::Writer l = u64s({0, 0});
  l.put<uint32_t>(1u << 20);
  EXPECT_FAULT(run(bc::handle_gvGraphLaunchStaged, l), "gvGraphLaunchStaged with 1048576 buffers");
  wire::Writer short_list = u64s({0, 0});
  short_list.put<uint32_t>(3);
  short_list.put<uint64_t>(1);
  EXPECT_FAULT(run(bc::handle_gvGraphLaunchStaged, short_list),
               "payload too short: wanted 8 bytes, 0 left");
}

wire::Writer node(uint8_t dir, uint64_t id, uint64_t w, uint64_t h, uint64_t d,
                  uint32_t deps = 0) {
  wire::Writer x;
  x.put<uint64_t>(0);  // graph
  x.put<uint32_t>(deps);
  x.put<uint8_t>(dir);
  for (uint64_t v : {id, uint64_t{0}, uint64_t{0x1000}, w, h}) x.put<uint64_t>(v);
  x.put<cudaPos>(cudaPos{0, 0, 0});
  for (uint64_t v : {w, h, d}) x.put<uint64_t>(v);
  return x;
}

TEST_F(GraphStaging, StagedNodesAreChecked) {
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode, node(2, 1, 8, 1, 1)),
               "staged memcpy node direction 2");
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode, node(0, 1, 0, 1, 1)),
               "staged memcpy node of 0 x 1 x 1");
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode, node(0, 1, 8, 0, 1)),
               "staged memcpy node of 8 x 0 x 1");
  // A box whose size overflows, or is over the bound.
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode,
                   node(0, 1, uint64_t{1} << 30, uint64_t{1} << 30, 1 << 10)),
               "staged memcpy node of 1073741824 x 1073741824 x 1024");
  // A buffer that does not exist.
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode, node(1, 42, 8, 2, 2)),
               "staging buffer 42 unknown");
  // Too many dependencies announced.
  EXPECT_FAULT(run(bc::handle_gvGraphAddStagedMemcpyNode, node(0, 1, 8, 1, 1, 1u << 21)),
               "dependencies: 2097152 nodes");
}

wire::Writer capture(uint8_t dir, uint64_t pitch, uint64_t w, uint64_t h) {
  wire::Writer x;
  x.put<uint64_t>(0);
  x.put<uint8_t>(dir);
  for (uint64_t v : {uint64_t{0x1000}, pitch, w, h}) x.put<uint64_t>(v);
  return x;
}

TEST_F(GraphStaging, CapturedCopiesAreChecked) {
  EXPECT_FAULT(run(bc::handle_gvCaptureStagedCopy, capture(3, 8, 8, 1)),
               "captured staged copy direction 3");
  EXPECT_FAULT(run(bc::handle_gvCaptureStagedCopy, capture(0, 8, 0, 1)),
               "captured staged copy of 1 rows of 0 bytes");
  EXPECT_FAULT(run(bc::handle_gvCaptureStagedCopy, capture(1, 8, 8, 0)),
               "captured staged copy of 0 rows of 8 bytes");
  EXPECT_FAULT(run(bc::handle_gvCaptureStagedCopy, capture(0, 4, 8, 2)),
               "captured staged copy pitch below width");
  // Well formed: reaches the runtime (without a GPU the capture query fails), no fault.
  EXPECT_NO_THROW(run(bc::handle_gvCaptureStagedCopy, capture(0, 16, 8, 2)));
}

}  // namespace
}  // namespace gvirtus::testing
