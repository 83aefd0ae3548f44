// The driver plugin's handlers for the objects it shares with the runtime (graphs, pools,
// arrays, texture and surface objects, IPC) and for staged module images: hostile requests end
// the session before the driver is called; ids of the runtime's objects are the driver's (one
// handle kind for a cudaGraph_t and a CUgraph); honest requests get the replies the client
// reads, also without a driver (this machine).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <cuda.h>

#include <cstring>
#include <vector>

#include "backend/cuda/objects.h"
#include "backend/cuda/support.h"
#include "backend/worker.h"
#include "common/image_staging.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cuda {
void handle_cuMemAllocAsync(CallContext&);
void handle_cuMemAllocFromPoolAsync(CallContext&);
void handle_cuMemPoolCreate(CallContext&);
void handle_cuMemPoolSetAttribute(CallContext&);
void handle_cuMemPoolGetAttribute(CallContext&);
void handle_cuTexObjectCreate(CallContext&);
void handle_cuSurfObjectCreate(CallContext&);
void handle_cuTexObjectGetResourceDesc(CallContext&);
void handle_cuIpcOpenMemHandle_v2(CallContext&);
void handle_gvDrvImageChunk(CallContext&);
void handle_cuModuleLoadData(CallContext&);
void handle_cuGraphAddEmptyNode(CallContext&);
void handle_cuGraphAddMemsetNode(CallContext&);
void handle_cuGraphGetNodes(CallContext&);
void handle_cuGraphAddDependencies_v2(CallContext&);
void handle_cuGraphAddKernelNode_v2(CallContext&);
void handle_cuGraphAddMemcpyNode(CallContext&);
void handle_cuGraphMemcpyNodeSetParams(CallContext&);
void handle_cuGraphExecUpdate_v2(CallContext&);
void handle_cuGraphExecKernelNodeSetParams_v2(CallContext&);
// Generated handlers (build/gen/cuda_server.cc).
void handle_cuGraphDestroy(CallContext&);
void handle_cuGraphLaunch(CallContext&);
void handle_cuArrayDestroy(CallContext&);
void handle_cuMemPoolTrimTo(CallContext&);
}  // namespace gvirtus::backend::cuda

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace drv = gvirtus::backend::cuda;

class DriverObjects : public HandlerTest {
 protected:
  static uint64_t forged(be::HandleKind kind) {
    return (uint64_t{static_cast<uint8_t>(kind)} << 56) | 4242;
  }
  static wire::Writer chunk(uint64_t total, uint64_t offset, uint64_t n) {
    wire::Writer w;
    w.put<uint64_t>(total);
    w.put<uint64_t>(offset);
    w.put<uint64_t>(n);
    for (uint64_t i = 0; i < n; ++i) w.put<uint8_t>(static_cast<uint8_t>('a' + i % 26));
    return w;
  }
  static wire::Writer staged_load() {
    wire::Writer w;
    w.put<uint64_t>(kStagedImage);
    return w;
  }
};

TEST_F(DriverObjects, RuntimeAndDriverNameOneObjectByOneId) {
  // A graph the runtime created (kGraph) is a CUgraph for the driver's handlers, and the other
  // way round: the helpers are the same.
  const uint64_t g = live(be::HandleKind::kGraph);
  wire::FrameHeader hdr{};
  be::CallContext ctx{session_, conn_, hdr, wire::Reader(nullptr, 0), wire::Writer()};
  CUgraph via_driver = nullptr;
  cudaGraph_t via_runtime = nullptr;
  ASSERT_TRUE(drv::graph_in(ctx, g, &via_driver));
  ASSERT_TRUE(be::cudart::graph_in(ctx, g, &via_runtime));
  EXPECT_NE(via_driver, nullptr);
  EXPECT_EQ(via_driver, via_runtime);
  // An array made by the runtime is a CUarray; a stale one answers the driver's invalid handle.
  CUarray a = nullptr;
  EXPECT_TRUE(drv::array_in(ctx, live(be::HandleKind::kArray), &a));
  EXPECT_NE(a, nullptr);
  EXPECT_FALSE(drv::array_in(ctx, stale(be::HandleKind::kArray), &a));
  EXPECT_EQ(ctx.status, CUDA_ERROR_INVALID_HANDLE);
}

TEST_F(DriverObjects, ForeignAndForgedHandlesEndTheSession) {
  // An id of another kind where a graph goes, and ids never issued.
  wire::Writer stream_as_graph;
  stream_as_graph.put<uint64_t>(live(be::HandleKind::kStream));
  EXPECT_FAULT(run(drv::handle_cuGraphDestroy, stream_as_graph),
               "forged graph handle 0x100000000000001");
  wire::Writer launch;
  launch.put<uint64_t>(forged(be::HandleKind::kGraphExec));
  launch.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuGraphLaunch, launch),
               "forged graph exec handle 0xb00000000001092");
  wire::Writer arr;
  arr.put<uint64_t>(forged(be::HandleKind::kArray));
  EXPECT_FAULT(run(drv::handle_cuArrayDestroy, arr), "forged array handle 0xe00000000001092");
  wire::Writer trim;
  trim.put<uint64_t>(live(be::HandleKind::kGraph));  // a graph where a pool goes
  trim.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuMemPoolTrimTo, trim),
               "forged memory pool handle 0xa00000000000002");
  // A stale graph: the driver's invalid handle, no fault.
  wire::Writer stale_graph;
  stale_graph.put<uint64_t>(stale(be::HandleKind::kGraph));
  EXPECT_EQ(run(drv::handle_cuGraphDestroy, stale_graph), CUDA_ERROR_INVALID_HANDLE);
}

TEST_F(DriverObjects, NodeListsAreBoundedAndTranslated) {
  // More dependencies than the bound: the session ends before any id is read.
  wire::Writer many;
  many.put<uint64_t>(live(be::HandleKind::kGraph));
  many.put<uint32_t>((1u << 16) + 1);
  EXPECT_FAULT(run(drv::handle_cuGraphAddEmptyNode, many), "dependencies: 65537");
  // A count the payload does not hold.
  wire::Writer short_list;
  short_list.put<uint64_t>(live(be::HandleKind::kGraph));
  short_list.put<uint32_t>(3);
  short_list.put<uint64_t>(live(be::HandleKind::kGraphNode));
  EXPECT_FAULT(run(drv::handle_cuGraphAddEmptyNode, short_list),
               "payload too short: wanted 8 bytes, 0 left");
  // A stream id among the dependencies, and a forged node.
  for (uint64_t bad : {live(be::HandleKind::kStream), forged(be::HandleKind::kGraphNode)}) {
    wire::Writer w;
    w.put<uint64_t>(live(be::HandleKind::kGraph));
    w.put<uint32_t>(1);
    w.put<uint64_t>(bad);
    char id[32];
    std::snprintf(id, sizeof id, "0x%llx", static_cast<unsigned long long>(bad));
    EXPECT_FAULT(run(drv::handle_cuGraphAddEmptyNode, w),
                 std::string("forged graph node handle ") + id);
  }
  // A memset node's context must be a context.
  wire::Writer memset;
  memset.put<uint64_t>(live(be::HandleKind::kGraph));
  memset.put<uint32_t>(0);
  memset.put(CUDA_MEMSET_NODE_PARAMS{});
  memset.put<uint64_t>(live(be::HandleKind::kModule));
  EXPECT_FAULT(run(drv::handle_cuGraphAddMemsetNode, memset),
               "forged context handle 0x600000000000004");
  // A node list larger than the bound, and a bad presence flag.
  wire::Writer list;
  list.put<uint64_t>(live(be::HandleKind::kGraph));
  list.put<uint8_t>(1);
  list.put<uint64_t>(uint64_t{1} << 40);
  EXPECT_FAULT(run(drv::handle_cuGraphGetNodes, list), "node list of 1099511627776");
  wire::Writer flag;
  flag.put<uint64_t>(live(be::HandleKind::kGraph));
  flag.put<uint8_t>(2);
  flag.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuGraphGetNodes, flag), "presence flag is neither 0 nor 1: 2");
  // Edges: more than the bound; edge data shorter than the count.
  wire::Writer edges;
  edges.put<uint64_t>(live(be::HandleKind::kGraph));
  edges.put<uint32_t>(0xffffffffu);
  EXPECT_FAULT(run(drv::handle_cuGraphAddDependencies_v2, edges), "edges: 4294967295");
  wire::Writer data;
  data.put<uint64_t>(live(be::HandleKind::kGraph));
  data.put<uint32_t>(1);
  data.put<uint64_t>(live(be::HandleKind::kGraphNode));
  data.put<uint64_t>(live(be::HandleKind::kGraphNode));
  data.put<uint8_t>(1);
  data.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuGraphAddDependencies_v2, data),
               "payload too short: wanted 8 bytes, 4 left");
  // Honest, without a driver: the driver's own error, no reply fields.
  wire::Writer honest;
  honest.put<uint64_t>(live(be::HandleKind::kGraph));
  honest.put<uint32_t>(0);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuGraphAddEmptyNode, honest, &out), CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverObjects, KernelNodesAreCheckedAsLaunches) {
  auto node = [&](uint64_t fid, uint64_t cid, uint8_t form, uint32_t n) {
    wire::Writer w;
    w.put<uint64_t>(live(be::HandleKind::kGraph));
    w.put<uint32_t>(0);
    w.put<uint64_t>(fid);
    w.put<uint64_t>(cid);
    for (int i = 0; i < 7; ++i) w.put<uint32_t>(1);
    w.put<uint8_t>(form);
    w.put<uint32_t>(n);
    for (uint32_t i = 0; i < n; ++i) w.put<uint8_t>(0);
    return w;
  };
  // An unknown argument form; more argument bytes than any function takes.
  EXPECT_FAULT(run(drv::handle_cuGraphAddKernelNode_v2, node(0, 0, 2, 0)),
               "unknown launch argument form 2");
  EXPECT_FAULT(run(drv::handle_cuGraphAddKernelNode_v2, node(0, 0, 1, 40000)),
               "launch argument buffer too large");
  // A function id never issued, a stream where a function goes, a module where the context goes.
  EXPECT_FAULT(
      run(drv::handle_cuGraphAddKernelNode_v2, node(forged(be::HandleKind::kFunction), 0, 0, 0)),
      "forged function handle 0x700000000001092");
  EXPECT_FAULT(
      run(drv::handle_cuGraphAddKernelNode_v2, node(live(be::HandleKind::kStream), 0, 0, 0)),
      "forged function handle 0x100000000000002");
  EXPECT_FAULT(
      run(drv::handle_cuGraphAddKernelNode_v2, node(0, live(be::HandleKind::kModule), 1, 8)),
      "forged context handle 0x600000000000003");
  // Setting an executable graph's node: ids of the right kinds only.
  wire::Writer exec;
  exec.put<uint64_t>(live(be::HandleKind::kGraph));  // a graph where the executable goes
  exec.put<uint64_t>(live(be::HandleKind::kGraphNode));
  exec.put<uint64_t>(0);
  exec.put<uint64_t>(0);
  for (int i = 0; i < 7; ++i) exec.put<uint32_t>(1);
  exec.put<uint8_t>(1);
  exec.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuGraphExecKernelNodeSetParams_v2, exec),
               "forged graph exec handle 0xa00000000000001");
  // The `extra` form with a NULL function and no driver: the driver's answer, no reply fields.
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuGraphAddKernelNode_v2, node(0, 0, 1, 8), &out),
            CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverObjects, MemcpyNodesTakeNoHostMemoryAndTranslateArrays) {
  auto add = [&](const CUDA_MEMCPY3D& p) {
    wire::Writer w;
    w.put<uint64_t>(live(be::HandleKind::kGraph));
    w.put<uint32_t>(0);
    w.put(p);
    w.put<uint64_t>(0);
    return w;
  };
  CUDA_MEMCPY3D host{};
  host.srcMemoryType = CU_MEMORYTYPE_HOST;
  host.srcHost = reinterpret_cast<void*>(0x1000);
  host.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  EXPECT_FAULT(run(drv::handle_cuGraphAddMemcpyNode, add(host)),
               "host memory in a graph memcpy node");
  CUDA_MEMCPY3D forged_array{};
  forged_array.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  forged_array.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  forged_array.dstArray = reinterpret_cast<CUarray>(forged(be::HandleKind::kArray));
  EXPECT_FAULT(run(drv::handle_cuGraphAddMemcpyNode, add(forged_array)),
               "forged array handle 0xe00000000001092");
  CUDA_MEMCPY3D stale_array = forged_array;
  stale_array.dstArray = reinterpret_cast<CUarray>(stale(be::HandleKind::kArray));
  EXPECT_EQ(run(drv::handle_cuGraphAddMemcpyNode, add(stale_array)), CUDA_ERROR_INVALID_HANDLE);
  wire::Writer set;
  set.put<uint64_t>(live(be::HandleKind::kGraphNode));
  set.put(host);
  EXPECT_FAULT(run(drv::handle_cuGraphMemcpyNodeSetParams, set),
               "host memory in a graph memcpy node");
  // Device to device, no driver here: the driver's answer, no reply fields.
  CUDA_MEMCPY3D d2d{};
  d2d.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  d2d.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuGraphAddMemcpyNode, add(d2d), &out), CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverObjects, ExecUpdateIsChecked) {
  wire::Writer swapped;  // a graph where the executable goes
  swapped.put<uint64_t>(live(be::HandleKind::kGraph));
  swapped.put<uint64_t>(live(be::HandleKind::kGraph));
  swapped.put<uint8_t>(1);
  EXPECT_FAULT(run(drv::handle_cuGraphExecUpdate_v2, swapped),
               "forged graph exec handle 0xa00000000000001");
  wire::Writer flag;
  flag.put<uint64_t>(live(be::HandleKind::kGraphExec));
  flag.put<uint64_t>(live(be::HandleKind::kGraph));
  flag.put<uint8_t>(3);
  EXPECT_FAULT(run(drv::handle_cuGraphExecUpdate_v2, flag), "presence flag is neither 0 nor 1: 3");
  wire::Writer stale_exec;
  stale_exec.put<uint64_t>(stale(be::HandleKind::kGraphExec));
  stale_exec.put<uint64_t>(live(be::HandleKind::kGraph));
  stale_exec.put<uint8_t>(1);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuGraphExecUpdate_v2, stale_exec, &out), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverObjects, PoolRequestsAreChecked) {
  wire::Writer unknown_attr;
  unknown_attr.put<uint64_t>(live(be::HandleKind::kMemPool));
  unknown_attr.put<int32_t>(999);
  unknown_attr.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuMemPoolSetAttribute, unknown_attr), "memory pool attribute 999");
  wire::Writer get_unknown;
  get_unknown.put<uint64_t>(live(be::HandleKind::kMemPool));
  get_unknown.put<int32_t>(-1);
  EXPECT_FAULT(run(drv::handle_cuMemPoolGetAttribute, get_unknown), "memory pool attribute -1");
  // A size attribute carries 8 bytes: 4 are a short request.
  wire::Writer short_value;
  short_value.put<uint64_t>(live(be::HandleKind::kMemPool));
  short_value.put<int32_t>(CU_MEMPOOL_ATTR_RELEASE_THRESHOLD);
  short_value.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuMemPoolSetAttribute, short_value),
               "payload too short: wanted 8 bytes, 4 left");
  // A Windows security descriptor (a pointer into the client) is refused before the driver.
  CUmemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  props.win32SecurityAttributes = reinterpret_cast<void*>(0x1000);
  wire::Writer create;
  create.put(props);
  EXPECT_EQ(run(drv::handle_cuMemPoolCreate, create), CUDA_ERROR_INVALID_VALUE);
  // Allocation from a forged pool, or on a forged stream.
  wire::Writer from_pool;
  from_pool.put<uint64_t>(64);
  from_pool.put<uint64_t>(forged(be::HandleKind::kMemPool));
  from_pool.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuMemAllocFromPoolAsync, from_pool),
               "forged memory pool handle 0xd00000000001092");
  wire::Writer on_stream;
  on_stream.put<uint64_t>(64);
  on_stream.put<uint64_t>(forged(be::HandleKind::kStream));
  EXPECT_FAULT(run(drv::handle_cuMemAllocAsync, on_stream),
               "forged stream handle 0x100000000001092");
  // Honest, without a driver: the driver's own error and no reply fields.
  wire::Writer honest;
  honest.put<uint64_t>(64);
  honest.put<uint64_t>(0);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuMemAllocAsync, honest, &out), CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverObjects, ResourceDescriptionsTranslateArrays) {
  CUDA_RESOURCE_DESC res{};
  res.resType = CU_RESOURCE_TYPE_ARRAY;
  res.res.array.hArray = reinterpret_cast<CUarray>(forged(be::HandleKind::kArray));
  wire::Writer tex;
  tex.put<uint8_t>(1);
  tex.put<uint8_t>(1);
  tex.put(res);
  tex.put<uint8_t>(0);
  tex.put<uint8_t>(0);
  EXPECT_FAULT(run(drv::handle_cuTexObjectCreate, tex), "forged array handle 0xe00000000001092");
  // A mipmapped array's id where an array goes.
  res.res.array.hArray = reinterpret_cast<CUarray>(live(be::HandleKind::kMipmappedArray));
  wire::Writer surf;
  surf.put<uint8_t>(1);
  surf.put<uint8_t>(1);
  surf.put(res);
  EXPECT_FAULT(run(drv::handle_cuSurfObjectCreate, surf), "forged array handle 0xf00000000000001");
  // A presence flag that is neither 0 nor 1.
  wire::Writer flag;
  flag.put<uint8_t>(1);
  flag.put<uint8_t>(7);
  EXPECT_FAULT(run(drv::handle_cuTexObjectCreate, flag), "presence flag is neither 0 nor 1: 7");
  // A stale array: the driver's invalid handle.
  res.res.array.hArray = reinterpret_cast<CUarray>(stale(be::HandleKind::kArray));
  wire::Writer stale_tex;
  stale_tex.put<uint8_t>(1);
  stale_tex.put<uint8_t>(1);
  stale_tex.put(res);
  stale_tex.put<uint8_t>(0);
  stale_tex.put<uint8_t>(0);
  EXPECT_EQ(run(drv::handle_cuTexObjectCreate, stale_tex), CUDA_ERROR_INVALID_HANDLE);
  // Trailing bytes.
  wire::Writer query;
  query.put<uint64_t>(1);
  query.put<uint8_t>(0);
  EXPECT_FAULT(run(drv::handle_cuTexObjectGetResourceDesc, query),
               "1 unexpected bytes at the end of the payload");
}

TEST_F(DriverObjects, IpcOpenWithoutADriver) {
  CUipcMemHandle h{};
  wire::Writer w;
  w.put(h);
  w.put<uint32_t>(CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuIpcOpenMemHandle_v2, w, &out), CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
  wire::Writer shortened;
  shortened.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuIpcOpenMemHandle_v2, shortened),
               "payload too short: wanted 64 bytes, 8 left");
}

TEST_F(DriverObjects, ImageChunksAreBoundedAndInOrder) {
  // Over the session's bound, empty, past the end, not starting at 0, out of order.
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(kMaxStagedImageBytes + 1, 0, 1)),
               "image chunk of 1 bytes at 0 of 536870913");
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(16, 0, 0)),
               "image chunk of 0 bytes at 0 of 16");
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(16, 8, 9)),
               "image chunk of 9 bytes at 8 of 16");
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(16, 4, 4)), "image chunk out of order");
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(16, 0, 8)), CUDA_SUCCESS);
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(16, 12, 4)),
               "image chunk out of order");  // a gap
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, chunk(32, 8, 8)),
               "image chunk out of order");  // total
  // A load naming an image that is not complete ends the session; so does one with none.
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(16, 0, 8)), CUDA_SUCCESS);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, staged_load()),
               "load of a staged image that is not complete");
  // A short chunk: fewer bytes than it says.
  wire::Writer lying;
  lying.put<uint64_t>(16);
  lying.put<uint64_t>(0);
  lying.put<uint64_t>(8);
  lying.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_gvDrvImageChunk, lying),
               "payload too short: wanted 8 bytes, 4 left");
}

TEST_F(DriverObjects, AStagedImageIsLoadedOnceAndTheBoundIsSessionWide) {
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(16, 0, 8)), CUDA_SUCCESS);
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(16, 8, 8)), CUDA_SUCCESS);
  std::vector<uint8_t> out;
  // Complete: the load goes to the driver (none here) and the reply has the client's format.
  EXPECT_EQ(run(drv::handle_cuModuleLoadData, staged_load(), &out), CUDA_ERROR_NO_DEVICE);
  wire::Reader r(out.data(), out.size());
  EXPECT_EQ(r.get<uint64_t>(), 0u);
  EXPECT_EQ(r.get<uint32_t>(), 0u);
  EXPECT_NO_THROW(r.expect_end());
  // The image was taken: naming it again is a lie.
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, staged_load()),
               "load of a staged image that is not complete");
  // Another connection of the session holding most of the bound leaves no room here.
  be::ConnState other{session_, 7};
  const uint64_t big = kMaxStagedImageBytes - 8;
  wire::Writer first;
  first.put<uint64_t>(big);
  first.put<uint64_t>(0);
  first.put<uint64_t>(1);
  first.put<uint8_t>(0);
  wire::FrameHeader hdr{};
  be::CallContext ctx{session_, other, hdr, wire::Reader(first.data(), first.size()),
                      wire::Writer()};
  drv::handle_gvDrvImageChunk(ctx);
  EXPECT_EQ(ctx.status, CUDA_SUCCESS);
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(16, 0, 8)), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(run(drv::handle_gvDrvImageChunk, chunk(8, 0, 8)), CUDA_SUCCESS);
}

}  // namespace
}  // namespace gvirtus::testing
