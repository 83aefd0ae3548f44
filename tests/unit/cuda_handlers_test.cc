// The driver plugin's hand-written handlers (src/backend/cuda/modules.cc): requests an honest
// client never sends end the session (SessionFault / DecodeError) before the driver is called;
// honest ones get replies in the format the client reads, also without a driver (this machine).
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "fatbin_builder.h"
#include "handler_test.h"

namespace gvirtus::backend::cuda {
void handle_cuModuleLoadData(CallContext&);
void handle_cuModuleLoadDataEx(CallContext&);
void handle_cuModuleLoadFatBinary(CallContext&);
void handle_cuTensorMapEncodeTiled(CallContext&);
void handle_cuTensorMapReplaceAddress(CallContext&);
void handle_cuLaunchKernel(CallContext&);
void handle_cuLaunchCooperativeKernel(CallContext&);
void handle_cuLaunchKernelEx(CallContext&);
void handle_cuPointerGetAttribute(CallContext&);
void handle_cuLinkAddData_v2(CallContext&);
void handle_cuCtxCreate_v4(CallContext&);
void handle_gvDrvParamLayout(CallContext&);
void handle_cuOccupancyMaxActiveClusters(CallContext&);
void handle_cuOccupancyMaxPotentialClusterSize(CallContext&);
void handle_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(CallContext&);  // generated
void handle_cuLibraryGetManaged(CallContext&);
}  // namespace gvirtus::backend::cuda

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace drv = gvirtus::backend::cuda;

class DriverHandlers : public HandlerTest {
 protected:
  // A launch request: function id, geometry, stream, [attributes], form, argument bytes.
  static wire::Writer launch(uint64_t fid, uint8_t form, uint32_t n, int attrs = -1,
                             uint32_t attr_id = CU_LAUNCH_ATTRIBUTE_PRIORITY,
                             uint64_t value = 0) {
    wire::Writer w;
    w.put<uint64_t>(fid);
    for (int i = 0; i < 7; ++i) w.put<uint32_t>(1);
    w.put<uint64_t>(0);
    if (attrs >= 0) {
      w.put<uint32_t>(static_cast<uint32_t>(attrs));
      for (int i = 0; i < attrs; ++i) {
        CUlaunchAttribute a{};
        a.id = static_cast<CUlaunchAttributeID>(attr_id);
        std::memcpy(&a.value, &value, sizeof value);  // an event attribute's event field
        w.put(a);
      }
    }
    w.put<uint8_t>(form);
    w.put<uint32_t>(n);
    for (uint32_t i = 0; i < n; ++i) w.put<uint8_t>(0);
    return w;
  }
};

TEST_F(DriverHandlers, ImagesMustHaveASaneLength) {
  wire::Writer empty;
  empty.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, empty), "module image of 0 bytes");
  wire::Writer huge;
  huge.put<uint64_t>(uint64_t{1} << 40);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, huge), "module image of 1099511627776 bytes");
  wire::Writer short_one;
  short_one.put<uint64_t>(16);
  short_one.put<uint64_t>(0);  // 8 of the 16 bytes
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, short_one),
               "payload too short: wanted 16 bytes, 8 left");
}

// An image the driver would read past the bytes sent (by its own headers), or a fatbin wrapper,
// whose pointer the driver follows: the session ends before the driver sees it.
TEST_F(DriverHandlers, ImagesMustBeWholeInTheBytesSent) {
  struct {
    uint32_t magic = 0x466243B1;  // a fatbin wrapper
    uint32_t version = 1;
    uint64_t data = 0x7f0000001000ull;
    uint64_t filename = 0;
  } wrapper;
  wire::Writer w;
  w.put<uint64_t>(sizeof wrapper);
  w.put_bytes(&wrapper, sizeof wrapper);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadData, w), "or a fatbin wrapper");
  const std::vector<uint8_t> fatbin = fatbin_header(16, 1 << 20);  // a megabyte never sent
  wire::Writer f;
  f.put<uint64_t>(fatbin.size());
  f.put_bytes(fatbin.data(), fatbin.size());
  EXPECT_FAULT(run(drv::handle_cuModuleLoadFatBinary, f), "headers reach past the bytes sent");
}

// Tensor maps: the arrays' lengths follow from tensorRank (the client refuses a rank they cannot
// carry); a rank of 0 with strides present, one past the bound, an array shorter than the rank
// says, or a descriptor shorter than 128 bytes end the session before the driver is asked.
TEST_F(DriverHandlers, TensorMapArraysFollowTheRank) {
  auto tiled = [](uint32_t rank, uint32_t sent) {
    wire::Writer w;
    w.put<uint8_t>(1);  // tensorMap: out
    w.put<int32_t>(CU_TENSOR_MAP_DATA_TYPE_FLOAT32);
    w.put<uint32_t>(rank);
    w.put<uint64_t>(0x10000);  // globalAddress
    for (int i = 0; i < 4; ++i) w.put<int32_t>(0);  // interleave, swizzle, l2, oob fill
    auto array = [&w](uint32_t n, size_t elem) {
      w.put<uint8_t>(1);
      for (uint32_t i = 0; i < n; ++i) {
        const uint64_t zero = 0;
        w.put_bytes(&zero, elem);
      }
    };
    array(sent, 8);                   // globalDim
    array(sent ? sent - 1 : 0, 8);    // globalStrides
    array(sent, 4);                   // boxDim
    array(sent, 4);                   // elementStrides
    return w;
  };
  EXPECT_FAULT(run(drv::handle_cuTensorMapEncodeTiled, tiled(0, 0)),
               "cuTensorMapEncodeTiled: globalStrides: buffer length -1 out of bounds");
  EXPECT_FAULT(run(drv::handle_cuTensorMapEncodeTiled, tiled((1u << 20) / 8 + 1, 0)),
               "cuTensorMapEncodeTiled: globalDim: buffer length 131073 out of bounds");
  wire::Writer shorter = tiled(3, 3);
  shorter.buffer().resize(shorter.size() - 4);  // elementStrides one element short
  EXPECT_FAULT(run(drv::handle_cuTensorMapEncodeTiled, shorter),
               "payload too short: wanted 12 bytes, 8 left");
  wire::Writer replace;
  replace.put<uint8_t>(1);  // tensorMap: inout, 128 bytes follow; only 64 do
  for (int i = 0; i < 8; ++i) replace.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuTensorMapReplaceAddress, replace),
               "payload too short: wanted 128 bytes, 64 left");
}

TEST_F(DriverHandlers, HonestLoadWithoutADriverGetsTheReplyTheClientReads) {
  wire::Writer w;
  w.put<uint32_t>(1);  // one option, a number
  w.put<uint32_t>(CU_JIT_MAX_REGISTERS);
  w.put<uint64_t>(32);
  const char ptx[] = ".version 8.0\n";
  w.put<uint64_t>(sizeof ptx);
  w.put_bytes(ptx, sizeof ptx);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuModuleLoadDataEx, w, &out), CUDA_ERROR_NO_DEVICE);
  wire::Reader r(out.data(), out.size());
  EXPECT_EQ(r.get<uint64_t>(), 0u);  // no module
  EXPECT_EQ(r.get<uint32_t>(), 1u);  // the option comes back
  EXPECT_EQ(r.get<uint64_t>(), 32u);
  EXPECT_NO_THROW(r.expect_end());
}

// A log buffer is made on the worker as large as its size option says; a repeated size option
// (65536, then 1) must not let the driver believe the larger one: every occurrence reaches it
// (and comes back, no driver here) clamped to the buffer made. A buffer without its size option
// reaches the driver as none, and its text comes back empty.
TEST_F(DriverHandlers, JitLogSizesNeverExceedTheBuffersMade) {
  wire::Writer w;
  w.put<uint32_t>(4);
  w.put<uint32_t>(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
  w.put<uint64_t>(65536);
  w.put<uint32_t>(CU_JIT_ERROR_LOG_BUFFER);
  w.put<uint64_t>(0);
  w.put<uint32_t>(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
  w.put<uint64_t>(1);
  w.put<uint32_t>(CU_JIT_INFO_LOG_BUFFER);  // no size option
  w.put<uint64_t>(0);
  const char ptx[] = ".version 8.0\n";
  w.put<uint64_t>(sizeof ptx);
  w.put_bytes(ptx, sizeof ptx);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuModuleLoadDataEx, w, &out), CUDA_ERROR_NO_DEVICE);
  wire::Reader r(out.data(), out.size());
  EXPECT_EQ(r.get<uint64_t>(), 0u);  // no module
  ASSERT_EQ(r.get<uint32_t>(), 4u);
  EXPECT_EQ(r.get<uint64_t>(), 1u);  // 65536, clamped to the 1-byte buffer
  EXPECT_EQ(r.get<uint64_t>(), 0u);  // a buffer: no value
  EXPECT_EQ(r.get<uint64_t>(), 1u);
  EXPECT_EQ(r.get<uint64_t>(), 0u);
  EXPECT_EQ(r.get<uint32_t>(), 0u);  // the error log's text
  EXPECT_EQ(r.get<uint32_t>(), 0u);  // the info log's: none
  EXPECT_NO_THROW(r.expect_end());
}

TEST_F(DriverHandlers, JitOptionsThatCannotTravelEndTheSession) {
  wire::Writer many;
  many.put<uint32_t>(65);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadDataEx, many), "65 JIT options");
  wire::Writer names;
  names.put<uint32_t>(1);
  names.put<uint32_t>(CU_JIT_GLOBAL_SYMBOL_NAMES);
  names.put<uint64_t>(0x1234);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadDataEx, names), "JIT option 17 cannot travel");
  wire::Writer unknown;
  unknown.put<uint32_t>(1);
  unknown.put<uint32_t>(9999);
  unknown.put<uint64_t>(0);
  EXPECT_FAULT(run(drv::handle_cuModuleLoadDataEx, unknown), "JIT option 9999 cannot travel");
}

TEST_F(DriverHandlers, LaunchRequestsAreChecked) {
  EXPECT_FAULT(run(drv::handle_cuLaunchKernel, launch(0, 2, 0)),
               "unknown launch argument form 2");  // form
  EXPECT_FAULT(run(drv::handle_cuLaunchCooperativeKernel, launch(0, 1, 8)),
               "unknown launch argument form 1");
  EXPECT_FAULT(run(drv::handle_cuLaunchKernel, launch(0, 0, 40000)),
               "launch argument buffer too large");
  EXPECT_FAULT(run(drv::handle_cuLaunchKernelEx, launch(0, 0, 0, 65)), "65 launch attributes");
  // Graph-node attributes never travel; event attributes do, with the client's event id, and
  // an id that was never issued ends the session before anything else is looked at.
  EXPECT_FAULT(run(drv::handle_cuLaunchKernelEx,
                   launch(0, 0, 0, 1, CU_LAUNCH_ATTRIBUTE_DEVICE_UPDATABLE_KERNEL_NODE)),
               "launch attribute 13 cannot travel");
  const uint64_t forged_event = (uint64_t{static_cast<uint8_t>(be::HandleKind::kEvent)} << 56) | 9;
  for (uint32_t id : {CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_EVENT,
                      CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT})
    EXPECT_FAULT(run(drv::handle_cuLaunchKernelEx, launch(0, 0, 0, 1, id, forged_event)),
                 "forged event handle");
  // A destroyed event: the driver's answer for a stale handle, and no launch.
  EXPECT_EQ(run(drv::handle_cuLaunchKernelEx,
                launch(0, 0, 0, 1, CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT,
                       stale(be::HandleKind::kEvent))),
            CUDA_ERROR_INVALID_HANDLE);
  // A function id that was never issued.
  const uint64_t forged = (uint64_t{static_cast<uint8_t>(be::HandleKind::kFunction)} << 56) | 77;
  EXPECT_FAULT(run(drv::handle_cuLaunchKernel, launch(forged, 0, 0)),
               "forged function handle 0x70000000000004d");
  wire::Writer layout;
  layout.put<uint64_t>(forged);
  EXPECT_FAULT(run(drv::handle_gvDrvParamLayout, layout),
               "forged function handle 0x70000000000004d");
  // The client answers a host address itself (frontend/cuda/handle_check.h); a forged id of the
  // function kind that reaches the worker anyway still ends the session.
  wire::Writer occupancy;
  occupancy.put<uint8_t>(1);  // numBlocks given
  occupancy.put<uint64_t>(forged);
  occupancy.put<int32_t>(256);
  occupancy.put<uint64_t>(0);
  occupancy.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags, occupancy),
               "forged function handle 0x70000000000004d");
  // A runtime kernel's id (a cudaKernel_t the client translated) stands for a CUkernel too; one
  // the session was never given ends it like any forged id.
  const uint64_t runtime_kernel =
      (uint64_t{static_cast<uint8_t>(be::HandleKind::kKernel)} << 56) | 77;
  EXPECT_FAULT(run(drv::handle_cuLaunchKernel, launch(runtime_kernel, 0, 0)),
               "forged kernel handle 0x40000000000004d");
  wire::Writer occupancy_rk;
  occupancy_rk.put<uint8_t>(1);
  occupancy_rk.put<uint64_t>(runtime_kernel);
  occupancy_rk.put<int32_t>(256);
  occupancy_rk.put<uint64_t>(0);
  occupancy_rk.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags, occupancy_rk),
               "forged kernel handle 0x40000000000004d");
  // NULL function: the driver's own error (here: no driver), not a fault.
  EXPECT_NO_THROW(run(drv::handle_cuLaunchKernel, launch(0, 0, 0)));
}

// cuOccupancyMaxActiveClusters / MaxPotentialClusterSize: the launch configuration as a
// launch's, then whether the output was given.
TEST_F(DriverHandlers, ClusterQueriesAreCheckedLikeLaunches) {
  auto query = [](uint64_t fid, int attrs, uint32_t attr_id, int out_flag) {
    wire::Writer w;
    w.put<uint64_t>(fid);
    for (int i = 0; i < 7; ++i) w.put<uint32_t>(1);
    w.put<uint64_t>(0);
    w.put<uint32_t>(static_cast<uint32_t>(attrs));
    for (int i = 0; i < attrs; ++i) {
      CUlaunchAttribute a{};
      a.id = static_cast<CUlaunchAttributeID>(attr_id);
      w.put(a);
    }
    w.put<uint8_t>(static_cast<uint8_t>(out_flag));
    return w;
  };
  const auto dim = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxActiveClusters, query(0, 65, dim, 1)),
               "cuOccupancyMaxActiveClusters: 65 launch attributes");
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxPotentialClusterSize,
                   query(0, 1, CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_EVENT, 1)),
               "cuOccupancyMaxPotentialClusterSize: launch attribute 7 cannot travel");
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxActiveClusters, query(0, 1, dim, 2)),
               "presence flag is neither 0 nor 1: 2");
  const uint64_t forged = (uint64_t{static_cast<uint8_t>(be::HandleKind::kFunction)} << 56) | 78;
  EXPECT_FAULT(run(drv::handle_cuOccupancyMaxActiveClusters, query(forged, 1, dim, 1)),
               "forged function handle 0x70000000000004e");
  // Honest, without a driver: the driver's absence, no reply value.
  std::vector<uint8_t> out;
  EXPECT_EQ(run(drv::handle_cuOccupancyMaxActiveClusters, query(0, 1, dim, 1), &out),
            CUDA_ERROR_NO_DEVICE);
  EXPECT_TRUE(out.empty());
}

TEST_F(DriverHandlers, OtherHandRequestsAreChecked) {
  wire::Writer p2p;
  p2p.put<uint32_t>(CU_POINTER_ATTRIBUTE_P2P_TOKENS);
  p2p.put<uint64_t>(0x1000);
  EXPECT_FAULT(run(drv::handle_cuPointerGetAttribute, p2p), "pointer attribute 5 cannot travel");
  wire::Writer ctx;
  ctx.put<uint32_t>(0);
  ctx.put<int32_t>(0);
  ctx.put<uint8_t>(2);  // presence flag
  EXPECT_FAULT(run(drv::handle_cuCtxCreate_v4, ctx), "presence flag is neither 0 nor 1");
  wire::Writer link;
  link.put<uint64_t>((uint64_t{static_cast<uint8_t>(be::HandleKind::kLinkState)} << 56) | 5);
  link.put<uint32_t>(CU_JIT_INPUT_PTX);
  link.put_string("x.ptx");
  link.put<uint32_t>(2);  // a log buffer on cuLinkAddData
  link.put<uint32_t>(CU_JIT_ERROR_LOG_BUFFER);
  link.put<uint64_t>(0);
  link.put<uint32_t>(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
  link.put<uint64_t>(64);
  link.put<uint64_t>(4);
  link.put<uint32_t>(0);
  EXPECT_FAULT(run(drv::handle_cuLinkAddData_v2, link), "log buffer option on cuLinkAddData");
  // A cubin input whose section table lies past the 64 bytes sent: the linker would read on.
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_shoff = 1000;
  eh.e_shnum = 2;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  wire::Writer cubin;
  cubin.put<uint64_t>((uint64_t{static_cast<uint8_t>(be::HandleKind::kLinkState)} << 56) | 5);
  cubin.put<uint32_t>(CU_JIT_INPUT_CUBIN);
  cubin.put_string("x.cubin");
  cubin.put<uint32_t>(0);
  cubin.put<uint64_t>(sizeof eh);
  cubin.put_bytes(&eh, sizeof eh);
  EXPECT_FAULT(run(drv::handle_cuLinkAddData_v2, cubin), "a link input whose headers reach past");
}

// cuLibraryGetManaged: the library must be one the session was given, the name bounded.
TEST_F(DriverHandlers, LibraryGetManagedIsChecked) {
  const uint64_t forged = (uint64_t{static_cast<uint8_t>(be::HandleKind::kDrvLibrary)} << 56) | 9;
  wire::Writer w;
  w.put<uint64_t>(forged);
  w.put_string("counter");
  EXPECT_FAULT(run(drv::handle_cuLibraryGetManaged, w), "forged library handle 0x800000000000009");
  // A module id (another kind) is no library either.
  wire::Writer module;
  module.put<uint64_t>((uint64_t{static_cast<uint8_t>(be::HandleKind::kModule)} << 56) | 9);
  module.put_string("counter");
  EXPECT_FAULT(run(drv::handle_cuLibraryGetManaged, module), "handle 0x600000000000009");
  wire::Writer long_name;
  long_name.put<uint64_t>(forged);
  long_name.put_string(std::string(5000, 'x'));
  EXPECT_FAULT(run(drv::handle_cuLibraryGetManaged, long_name),
               "string of 5000 bytes is over its bound of 4096");
  wire::Writer trailing;
  trailing.put<uint64_t>(forged);
  trailing.put_string("counter");
  trailing.put<uint8_t>(0);
  EXPECT_FAULT(run(drv::handle_cuLibraryGetManaged, trailing), "unexpected bytes at the end");
}

}  // namespace
}  // namespace gvirtus::testing
