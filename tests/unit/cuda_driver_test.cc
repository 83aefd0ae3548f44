// Host-side logic of libcuda.so.1: module image lengths, kernel argument packing in both
// launch forms, and cuGetProcAddress's name map.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "frontend/core/client.h"
#include "frontend/core/runtime_kernels.h"
#include "frontend/cuda/graph_host_nodes.h"
#include "frontend/cuda/handle_check.h"
#include "common/module_image.h"
#include "fatbin_builder.h"
#include "frontend/cuda/launch_pack.h"
#include "frontend/cuda/proc_map.h"
#include "common/fatbin.h"

namespace gvirtus::cuda {
namespace {

// An ELF64 image of `total` bytes whose section table (n sections) starts at shoff, with one
// PROGBITS section at [data_off, data_off + data_size).
std::vector<unsigned char> make_elf(uint64_t shoff, uint16_t n, uint64_t data_off,
                                    uint64_t data_size, size_t total) {
  std::vector<unsigned char> v(total, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_shoff = shoff;
  eh.e_shnum = n;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  std::memcpy(v.data(), &eh, sizeof eh);
  for (uint16_t i = 0; i < n; ++i) {
    Elf64_Shdr sh{};
    if (i == 1) {
      sh.sh_type = SHT_PROGBITS;
      sh.sh_offset = data_off;
      sh.sh_size = data_size;
    }
    std::memcpy(v.data() + shoff + i * sizeof(Elf64_Shdr), &sh, sizeof sh);
  }
  return v;
}

// Copies, because the checks may replace the handle in place (a runtime cudaKernel_t).
std::optional<CUresult> kernel_check(uint64_t v) {
  CUkernel k = reinterpret_cast<CUkernel>(static_cast<uintptr_t>(v));
  return local_kernel_handle(k);
}
std::optional<CUresult> function_check(uint64_t v) {
  CUfunction f = reinterpret_cast<CUfunction>(static_cast<uintptr_t>(v));
  return local_function_handle(f);
}
uint64_t address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// NVIDIA's static runtime asks cuKernelGetFunction about host function addresses: the driver
// answers CUDA_ERROR_INVALID_HANDLE, and so does the client, without sending a forged id.
TEST(DriverHandles, AHostAddressIsNoKernel) {
  static int host_function_stand_in;
  EXPECT_EQ(kernel_check(address(&host_function_stand_in)), CUDA_ERROR_INVALID_HANDLE);
  const uint64_t stream_id = (uint64_t{1} << 56) | 5;  // an id of another kind
  EXPECT_EQ(kernel_check(stream_id), CUDA_ERROR_INVALID_HANDLE);
  for (uint64_t kernel_id : {(uint64_t{9} << 56) | 7, (uint64_t{4} << 56) | 7, uint64_t{0}})
    EXPECT_FALSE(kernel_check(kernel_id).has_value()) << std::hex << kernel_id;
}

// The same probe with CUfunction arguments (cuOccupancy*, cuFuncGetAttribute and friends, given
// &main or a stack address by cudaOccupancyMaxActiveBlocksPerMultiprocessor & co.): answered
// here. Function and kernel ids go to the worker, which ends the session for a forged one
// (DriverHandlers.LaunchRequestsAreChecked).
TEST(DriverHandles, AHostAddressIsNoFunction) {
  int on_stack = 0;
  static int host_function_stand_in;
  EXPECT_EQ(function_check(address(&on_stack)), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_EQ(function_check(address(&host_function_stand_in)), CUDA_ERROR_INVALID_HANDLE);
  for (uint64_t other : {(uint64_t{1} << 56) | 5, (uint64_t{6} << 56) | 5, ~uint64_t{0}})
    EXPECT_EQ(function_check(other), CUDA_ERROR_INVALID_HANDLE) << std::hex << other;
  for (uint64_t fn_id : {(uint64_t{7} << 56) | 7, (uint64_t{9} << 56) | 7,
                         (uint64_t{4} << 56) | 7, uint64_t{0}})
    EXPECT_FALSE(function_check(fn_id).has_value()) << std::hex << fn_id;
}

// A cudaKernel_t of GVirtuS's libcudart.so.13 (its kernel record, cudaGetKernel) is a CUkernel
// natively: the check puts the worker's runtime-kernel id in its place; an address the runtime
// does not know stays an invalid handle, and the runtime's failure to resolve is the answer.
int g_record, g_broken_record;
int32_t fake_resolver(const void* p, uint64_t* id) {
  if (p == &g_record) {
    *id = (uint64_t{4} << 56) | 42;
    return 0;
  }
  if (p == &g_broken_record) return 209;  // cudaErrorNoKernelImageForDevice
  return -1;
}

TEST(DriverHandles, ARuntimeKernelBecomesItsWorkerId) {
  client::set_runtime_kernel_resolver(&fake_resolver);
  CUkernel k = reinterpret_cast<CUkernel>(&g_record);
  EXPECT_FALSE(local_kernel_handle(k).has_value());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(k), (uint64_t{4} << 56) | 42);
  CUfunction f = reinterpret_cast<CUfunction>(&g_record);
  EXPECT_FALSE(local_function_handle(f).has_value());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f), (uint64_t{4} << 56) | 42);
  EXPECT_EQ(kernel_check(address(&g_broken_record)), CUDA_ERROR_NO_BINARY_FOR_GPU);
  int unknown = 0;
  CUkernel u = reinterpret_cast<CUkernel>(&unknown);
  EXPECT_EQ(local_kernel_handle(u), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(u), address(&unknown));  // left alone
  client::set_runtime_kernel_resolver(nullptr);
  EXPECT_EQ(kernel_check(address(&g_record)), CUDA_ERROR_INVALID_HANDLE);
}

TEST(DriverImage, ElfEndsAtItsSectionTable) {
  auto v = make_elf(256, 3, 64, 100, 256 + 3 * sizeof(Elf64_Shdr));
  Image im;
  ASSERT_TRUE(measure_image(v.data(), 1 << 20, &im));
  EXPECT_EQ(im.kind, ImageKind::kElf);
  EXPECT_EQ(im.size, 256 + 3 * sizeof(Elf64_Shdr));
  EXPECT_EQ(im.data, v.data());
}

TEST(DriverImage, ElfSectionPastTheTableExtendsIt) {
  auto v = make_elf(128, 2, 400, 50, 450);
  Image im;
  ASSERT_TRUE(measure_image(v.data(), 1 << 20, &im));
  EXPECT_EQ(im.size, 450u);
}

TEST(DriverImage, ElfOverTheLimitOrWrappingIsRefused) {
  auto v = make_elf(128, 2, 400, 50, 450);
  Image im;
  EXPECT_FALSE(measure_image(v.data(), 449, &im));
  // A section whose offset + size wraps around.
  auto w = make_elf(128, 2, ~0ull - 10, 100, 128 + 2 * sizeof(Elf64_Shdr));
  EXPECT_FALSE(measure_image(w.data(), 1 << 20, &im));
  // A 32-bit ELF is no cubin for a 64-bit host.
  auto e32 = make_elf(128, 2, 64, 8, 256);
  e32[EI_CLASS] = ELFCLASS32;
  EXPECT_FALSE(measure_image(e32.data(), 1 << 20, &im));
}

TEST(DriverImage, FatbinSizeFromItsHeaderAndThroughAWrapper) {
  const std::vector<uint8_t> fb = gvirtus::testing::fatbin_header(16 + 40, 40);
  Image im;
  ASSERT_TRUE(measure_image(fb.data(), 1 << 20, &im));
  EXPECT_EQ(im.kind, ImageKind::kFatbin);
  EXPECT_EQ(im.size, 56u);
  cudart::FatbinWrapper w{static_cast<int32_t>(cudart::kFatbinWrapperMagic), 1, fb.data(),
                          nullptr};
  ASSERT_TRUE(measure_image(&w, 1 << 20, &im));
  EXPECT_EQ(im.data, fb.data());  // the fatbin itself is sent
  EXPECT_EQ(im.size, 56u);
  EXPECT_FALSE(measure_image(fb.data(), 55, &im));
}

// What the worker loads must be whole in the bytes it received: the driver reads an image by its
// own headers (and follows a wrapper's pointer), so anything reaching further would have it
// read the worker's memory.
TEST(DriverImage, TheWorkerTakesOnlyImagesWithinTheBytesReceived) {
  auto elf = make_elf(128, 2, 400, 50, 450);
  EXPECT_TRUE(image_within(elf.data(), 450));
  EXPECT_FALSE(image_within(elf.data(), 449));  // a section past the bytes sent
  EXPECT_FALSE(image_within(elf.data(), 63));   // not even the ELF header
  const std::vector<uint8_t> fb = gvirtus::testing::fatbin_header(16 + 40, 40);
  EXPECT_TRUE(image_within(fb.data(), fb.size()));
  EXPECT_FALSE(image_within(fb.data(), fb.size() - 1));
  EXPECT_FALSE(image_within(fb.data(), 12));
  // A wrapper: its pointer would be followed into the worker's own address space.
  cudart::FatbinWrapper w{static_cast<int32_t>(cudart::kFatbinWrapperMagic), 1, fb.data(),
                          nullptr};
  EXPECT_FALSE(image_within(&w, sizeof w));
  const char ptx[] = ".version 8.0\n.target sm_90\n";
  EXPECT_TRUE(image_within(ptx, sizeof ptx));
  EXPECT_FALSE(image_within(ptx, sizeof ptx - 1));  // no NUL within the bytes
  EXPECT_FALSE(image_within(ptx, 0));
}

TEST(DriverImage, PtxIsTextUpToItsNul) {
  const char ptx[] = ".version 8.0\n.target sm_90\n";
  Image im;
  ASSERT_TRUE(measure_image(ptx, 1 << 20, &im));
  EXPECT_EQ(im.kind, ImageKind::kPtx);
  EXPECT_EQ(im.size, sizeof ptx);  // the NUL travels
  EXPECT_FALSE(measure_image(ptx, 10, &im));  // no NUL within the limit
  EXPECT_FALSE(measure_image(nullptr, 10, &im));
}

ParamLayout layout_of(std::vector<std::pair<uint32_t, uint32_t>> ps) {
  ParamLayout l;
  for (auto [off, size] : ps) {
    l.offsets.push_back(off);
    l.sizes.push_back(size);
    l.total = std::max(l.total, off + size);
  }
  return l;
}

TEST(DriverLaunchPack, ParamsGoToTheirOffsetsWithGapsZeroed) {
  ParamLayout l = layout_of({{0, 1}, {8, 8}, {16, 4}});
  char c = 'x';
  double d = 2.5;
  int i = -7;
  void* args[] = {&c, &d, &i};
  std::vector<uint8_t> out(3, 0xff);
  ArgForm form;
  ASSERT_EQ(pack_launch(l, args, nullptr, 4096, &form, &out), CUDA_SUCCESS);
  EXPECT_EQ(form, ArgForm::kParams);
  ASSERT_EQ(out.size(), 20u);
  EXPECT_EQ(out[0], 'x');
  for (int k = 1; k < 8; ++k) EXPECT_EQ(out[k], 0) << k;
  double d2;
  std::memcpy(&d2, out.data() + 8, 8);
  EXPECT_EQ(d2, 2.5);
  int i2;
  std::memcpy(&i2, out.data() + 16, 4);
  EXPECT_EQ(i2, -7);
}

TEST(DriverLaunchPack, MissingParamsOnlyForAKernelWithout) {
  std::vector<uint8_t> out;
  ArgForm form;
  EXPECT_EQ(pack_launch(ParamLayout{}, nullptr, nullptr, 4096, &form, &out), CUDA_SUCCESS);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(pack_launch(layout_of({{0, 4}}), nullptr, nullptr, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);
  void* null_arg[] = {nullptr};
  EXPECT_EQ(pack_launch(layout_of({{0, 4}}), null_arg, nullptr, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);
}

TEST(DriverLaunchPack, ExtraBufferAsGivenInEitherOrder) {
  unsigned char buf[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  size_t size = sizeof buf;
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_BUFFER_POINTER, buf,
                   CU_LAUNCH_PARAM_END};
  std::vector<uint8_t> out;
  ArgForm form;
  ASSERT_EQ(pack_launch(ParamLayout{}, nullptr, extra, 4096, &form, &out), CUDA_SUCCESS);
  EXPECT_EQ(form, ArgForm::kExtra);
  EXPECT_EQ(out, std::vector<uint8_t>(buf, buf + 12));
}

TEST(DriverLaunchPack, ExtraMistakesAreInvalidValue) {
  unsigned char buf[8] = {};
  size_t size = 8, big = 5000;
  std::vector<uint8_t> out;
  ArgForm form;
  void* unknown[] = {reinterpret_cast<void*>(0x77), buf, CU_LAUNCH_PARAM_END};
  EXPECT_EQ(pack_launch(ParamLayout{}, nullptr, unknown, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);
  void* too_big[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &big,
                     CU_LAUNCH_PARAM_END};
  EXPECT_EQ(pack_launch(ParamLayout{}, nullptr, too_big, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);
  void* args[] = {buf};
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                   CU_LAUNCH_PARAM_END};
  EXPECT_EQ(pack_launch(layout_of({{0, 8}}), args, extra, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);  // both forms
  // No end marker within 16 entries.
  void* endless[18];
  for (int i = 0; i < 18; i += 2) {
    endless[i] = CU_LAUNCH_PARAM_BUFFER_POINTER;
    endless[i + 1] = buf;
  }
  EXPECT_EQ(pack_launch(ParamLayout{}, nullptr, endless, 4096, &form, &out),
            CUDA_ERROR_INVALID_VALUE);
}

TEST(DriverProcMap, NamesMapAsCudaHsMacrosDo) {
  EXPECT_EQ(proc_export_name("cuMemAlloc", false), "cuMemAlloc_v2");
  EXPECT_EQ(proc_export_name("cuCtxCreate", false), "cuCtxCreate_v4");
  EXPECT_EQ(proc_export_name("cuMemcpyHtoD", false), "cuMemcpyHtoD_v2");
  EXPECT_EQ(proc_export_name("cuMemcpyHtoD", true), "cuMemcpyHtoD_v2_ptds");
  EXPECT_EQ(proc_export_name("cuMemcpyHtoDAsync", true), "cuMemcpyHtoDAsync_v2_ptsz");
  EXPECT_EQ(proc_export_name("cuLaunchKernel", true), "cuLaunchKernel_ptsz");
  EXPECT_EQ(proc_export_name("cuLaunchKernel", false), "cuLaunchKernel");
  EXPECT_EQ(proc_export_name("cuMemcpy", true), "cuMemcpy_ptds");
  EXPECT_EQ(proc_export_name("cuGetProcAddress", false), "cuGetProcAddress_v2");
  EXPECT_EQ(proc_export_name("cuInit", true), "cuInit");
  EXPECT_EQ(proc_export_name("cuNoSuchThing", false), "cuNoSuchThing");
}

// cudaVersion picks the ABI version from cudaTypedefs.h's PFN_NAME_vVERSION typedefs.
TEST(DriverProcMap, VersionPicksTheAbi) {
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 2000, false), "cuMemAlloc");
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 3019, false), "cuMemAlloc");
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 3020, false), "cuMemAlloc_v2");
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 13000, false), "cuMemAlloc_v2");
  EXPECT_EQ(proc_export_for_version("cuCtxCreate", 3020, false), "cuCtxCreate_v2");
  EXPECT_EQ(proc_export_for_version("cuCtxCreate", 11040, false), "cuCtxCreate_v3");
  EXPECT_EQ(proc_export_for_version("cuCtxCreate", 12000, false), "cuCtxCreate_v3");
  EXPECT_EQ(proc_export_for_version("cuCtxCreate", 12050, false), "cuCtxCreate_v4");
  // CUDA 13 changed the ABI without renaming the function in cuda.h.
  EXPECT_EQ(proc_export_for_version("cuCtxSynchronize", 12080, false), "cuCtxSynchronize");
  EXPECT_EQ(proc_export_for_version("cuCtxSynchronize", 13000, false), "cuCtxSynchronize_v2");
  EXPECT_EQ(proc_export_for_version("cuGraphInstantiate", 11000, false), "cuGraphInstantiate_v2");
  EXPECT_EQ(proc_export_for_version("cuGraphInstantiate", 12000, false),
            "cuGraphInstantiateWithFlags");
  // Per-thread forms from the version that introduced them.
  EXPECT_EQ(proc_export_for_version("cuMemcpyHtoD", 7000, true), "cuMemcpyHtoD_v2_ptds");
  EXPECT_EQ(proc_export_for_version("cuMemcpyHtoD", 6050, true), "cuMemcpyHtoD_v2");
  EXPECT_EQ(proc_export_for_version("cuMemcpyHtoD", 2000, true), "cuMemcpyHtoD");
  EXPECT_EQ(proc_export_for_version("cuLaunchKernel", 13000, true), "cuLaunchKernel_ptsz");
  // Older than the function: nothing (CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT).
  EXPECT_EQ(proc_export_for_version("cuLaunchKernelEx", 11000, false), "");
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 1000, false), "");
  // Hostile versions and unknown names.
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", -1, false), "");
  EXPECT_EQ(proc_export_for_version("cuMemAlloc", 0x7fffffff, false), "cuMemAlloc_v2");
  EXPECT_EQ(proc_export_for_version("cuNoSuchThing", 13000, false), "cuNoSuchThing");
}

// A deferred error handed from libcuda.so.1 to libcudart.so.13 through the client core: the
// first one is kept until taken, per thread.
TEST(DriverDeferredError, FirstKeptUntilTakenPerThread) {
  EXPECT_EQ(client::take_deferred_error(), 0);
  client::post_deferred_error(0);
  EXPECT_EQ(client::take_deferred_error(), 0);
  client::post_deferred_error(9);
  client::post_deferred_error(700);
  std::thread([] { EXPECT_EQ(client::take_deferred_error(), 0); }).join();
  EXPECT_EQ(client::take_deferred_error(), 9);
  EXPECT_EQ(client::take_deferred_error(), 0);
}

// cuGraphAddMemcpyNode with a host side: the driver's copy description becomes the runtime's
// staged node (the host box's first byte and shape, the device side's position); malformed or
// unstageable descriptions never reach the worker.
CUDA_MEMCPY3D pitched_up(void* host, CUdeviceptr dev) {
  CUDA_MEMCPY3D p{};
  p.srcMemoryType = CU_MEMORYTYPE_HOST;
  p.srcHost = host;
  p.srcXInBytes = 8;
  p.srcY = 1;
  p.srcZ = 2;
  p.srcPitch = 64;
  p.srcHeight = 5;
  p.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  p.dstDevice = dev;
  p.dstXInBytes = 16;
  p.dstY = 3;
  p.dstPitch = 128;
  p.dstHeight = 4;
  p.WidthInBytes = 32;
  p.Height = 2;
  p.Depth = 3;
  return p;
}

TEST(DriverStagedMemcpyNode, HostBoxAndDeviceSideOfAPitchedCopy) {
  static uint8_t host[64 * 5 * 6];
  StagedEnds up;
  ASSERT_EQ(staged_ends(pitched_up(host, 0x7000), &up), CUDA_SUCCESS);
  EXPECT_TRUE(up.staged);
  EXPECT_EQ(up.refusal, nullptr);
  EXPECT_TRUE(up.host.to_device);
  EXPECT_EQ(up.host.host, host + (2 * 5 + 1) * 64 + 8);
  EXPECT_EQ(up.host.width, 32u);
  EXPECT_EQ(up.host.height, 2u);
  EXPECT_EQ(up.host.depth, 3u);
  EXPECT_EQ(up.host.pitch, 64u);
  EXPECT_EQ(up.host.ysize, 5u);
  EXPECT_EQ(up.host.staging, 0u);
  EXPECT_EQ(up.dev.ptr, 0x7000u);
  EXPECT_EQ(up.dev.pitch, 128u);
  EXPECT_EQ(up.dev.ysize, 4u);
  EXPECT_EQ(up.dev.pos.x, 16u);
  EXPECT_EQ(up.dev.pos.y, 3u);
  EXPECT_EQ(up.dev.pos.z, 0u);
  // The other direction, as a static runtime's cudaGraphAddMemcpyNode1D sends it: one packed
  // row, pitches and heights left 0.
  static uint8_t out[100];
  CUDA_MEMCPY3D d{};
  d.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  d.srcDevice = 0x9000;
  d.dstMemoryType = CU_MEMORYTYPE_HOST;
  d.dstHost = out;
  d.WidthInBytes = 100;
  d.Height = 1;
  d.Depth = 1;
  StagedEnds down;
  ASSERT_EQ(staged_ends(d, &down), CUDA_SUCCESS);
  EXPECT_FALSE(down.host.to_device);
  EXPECT_EQ(down.host.host, out);
  EXPECT_EQ(down.host.pitch, 100u);
  EXPECT_EQ(down.host.ysize, 1u);
  EXPECT_EQ(down.dev.ptr, 0x9000u);
  EXPECT_EQ(down.dev.pitch, 100u);
}

TEST(DriverStagedMemcpyNode, DeviceSidesOnlyAreNotStaged) {
  CUDA_MEMCPY3D p{};
  p.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  p.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  p.WidthInBytes = p.Height = p.Depth = 1;
  StagedEnds e;
  EXPECT_EQ(staged_ends(p, &e), CUDA_SUCCESS);
  EXPECT_FALSE(e.staged);
}

TEST(DriverStagedMemcpyNode, UnstageableAndMalformedCopiesAreRefused) {
  static uint8_t host[64 * 5 * 6];
  auto check = [](CUDA_MEMCPY3D p, CUresult want, bool refused) {
    StagedEnds e;
    EXPECT_EQ(staged_ends(p, &e), want);
    EXPECT_TRUE(e.staged);
    EXPECT_EQ(e.refusal != nullptr, refused);
  };
  CUDA_MEMCPY3D p = pitched_up(host, 0x7000);
  p.dstMemoryType = CU_MEMORYTYPE_HOST;  // host to host
  check(p, CUDA_ERROR_NOT_SUPPORTED, true);
  p = pitched_up(host, 0x7000);
  p.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  check(p, CUDA_ERROR_NOT_SUPPORTED, true);
  p = pitched_up(host, 0x7000);
  p.dstMemoryType = static_cast<CUmemorytype>(77);
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  for (size_t CUDA_MEMCPY3D::*field :
       {&CUDA_MEMCPY3D::WidthInBytes, &CUDA_MEMCPY3D::Height, &CUDA_MEMCPY3D::Depth}) {
    p = pitched_up(host, 0x7000);
    p.*field = 0;
    check(p, CUDA_ERROR_INVALID_VALUE, false);
  }
  p = pitched_up(host, 0x7000);
  p.srcPitch = 16;  // below the width
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0x7000);
  p.dstHeight = 1;  // fewer rows a slice than the copy's height
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0x7000);
  p.srcHost = nullptr;
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0);
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0x7000);
  p.reserved0 = host;
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  // Offsets that would wrap the host address.
  p = pitched_up(host, 0x7000);
  p.srcZ = SIZE_MAX / 2;
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0x7000);
  p.srcXInBytes = SIZE_MAX - 10;
  check(p, CUDA_ERROR_INVALID_VALUE, false);
  p = pitched_up(host, 0x7000);
  p.srcY = SIZE_MAX;
  check(p, CUDA_ERROR_INVALID_VALUE, false);
}

}  // namespace
}  // namespace gvirtus::cuda
