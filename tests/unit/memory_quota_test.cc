// The session's GPU memory ledger (backend/memory_quota.h), the calls that charge it
// (backend/quota_calls.h), the pending upload budget (backend/upload_quota.h) and their config
// keys. No GPU: the runtime's allocation handlers are reached only as far as the quota's own
// refusal, which comes before CUDA is asked.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/dispatch.h"
#include "backend/limits.h"
#include "backend/memory_quota.h"
#include "backend/plugins.h"
#include "backend/quota_calls.h"
#include "backend/upload_quota.h"
#include "common/config.h"
#include "handler_test.h"

// The library plugins' tables (linked into this binary, as the worker loads them).
namespace gvirtus::backend {
namespace cublas { const PluginTable& plugin_table(); }
namespace cublasLt { const PluginTable& plugin_table(); }
namespace cudnn { const PluginTable& plugin_table(); }
namespace cufft { const PluginTable& plugin_table(); }
namespace curand { const PluginTable& plugin_table(); }
namespace cusolver { const PluginTable& plugin_table(); }
namespace cusparse { const PluginTable& plugin_table(); }
}  // namespace gvirtus::backend


namespace gvirtus::backend::cudart {
void handle_cudaMalloc(CallContext&);
void handle_cudaMallocAsync(CallContext&);
void handle_gvManagedAlloc(CallContext&);
void handle_cudaFree(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus {
namespace {

using backend::quota::kArray;
using backend::quota::kDevicePointer;
using backend::quota::Ledger;
using backend::quota::kVmmAllocation;
using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1ull << 20;

// ---- the ledger ----

TEST(MemoryLedger, ChargesWithinTheLimitAndRefusesBeyondIt) {
  Ledger l(100 * kMiB);
  EXPECT_TRUE(l.charge(kDevicePointer, 0x1000, 60 * kMiB, 0));
  EXPECT_TRUE(l.fits(40 * kMiB));
  EXPECT_FALSE(l.fits(40 * kMiB + 1));
  // 41 MiB more would pass 100: refused, nothing recorded.
  EXPECT_FALSE(l.charge(kDevicePointer, 0x2000, 41 * kMiB, 0));
  EXPECT_EQ(l.held(), 60 * kMiB);
  EXPECT_EQ(l.held_by(kDevicePointer, 0x2000), 0u);
  EXPECT_EQ(l.entries(), 1u);
  // Exactly to the limit is allowed.
  EXPECT_TRUE(l.charge(kDevicePointer, 0x2000, 40 * kMiB, 0));
  EXPECT_EQ(l.held(), 100 * kMiB);
  EXPECT_FALSE(l.fits(1));
}

TEST(MemoryLedger, FreeingGivesTheRoomBack) {
  Ledger l(100 * kMiB);
  ASSERT_TRUE(l.charge(kDevicePointer, 0x1000, 80 * kMiB, 0));
  EXPECT_FALSE(l.charge(kDevicePointer, 0x2000, 30 * kMiB, 0));
  EXPECT_EQ(l.release(kDevicePointer, 0x1000), 80 * kMiB);
  EXPECT_EQ(l.held(), 0u);
  EXPECT_TRUE(l.charge(kDevicePointer, 0x2000, 30 * kMiB, 0));
  EXPECT_EQ(l.peak(), 80 * kMiB);  // the peak stays
}

TEST(MemoryLedger, UnknownAndDoubleFreesGiveNothingBack) {
  Ledger l(10 * kMiB);
  ASSERT_TRUE(l.charge(kDevicePointer, 0x1000, 4 * kMiB, 0));
  ASSERT_TRUE(l.charge(kArray, 0x1000, 2 * kMiB, 0));  // same key, other family: apart
  EXPECT_EQ(l.release(kDevicePointer, 0xdead), 0u);     // never charged
  EXPECT_EQ(l.release(kDevicePointer, 0), 0u);
  EXPECT_EQ(l.release(kDevicePointer, 0x1000), 4 * kMiB);
  EXPECT_EQ(l.release(kDevicePointer, 0x1000), 0u);     // the second free
  EXPECT_EQ(l.held(), 2 * kMiB);                         // the array is still there
  EXPECT_EQ(l.release(kArray, 0x1000), 2 * kMiB);
  EXPECT_EQ(l.held(), 0u);
  EXPECT_EQ(l.entries(), 0u);
}

TEST(MemoryLedger, HugeSizesNeverWrapTheCount) {
  Ledger unlimited;  // no limit: still no overflow
  ASSERT_TRUE(unlimited.charge(kDevicePointer, 1, 16, 0));
  EXPECT_FALSE(unlimited.charge(kDevicePointer, 2, UINT64_MAX, 0));
  EXPECT_FALSE(unlimited.charge(kDevicePointer, 3, UINT64_MAX - 15, 0));
  EXPECT_FALSE(unlimited.fits(UINT64_MAX));
  EXPECT_EQ(unlimited.held(), 16u);
  Ledger l(1 << 30);
  EXPECT_FALSE(l.charge(kDevicePointer, 1, UINT64_MAX, 0));
  EXPECT_FALSE(l.charge(kDevicePointer, 1, (1ull << 30) + 1, 0));
  EXPECT_EQ(l.held(), 0u);
  // charge_anyway (memory a library already took) saturates instead of wrapping.
  Ledger s;
  EXPECT_TRUE(s.charge_anyway(kArray, 1, UINT64_MAX - 1, 0));
  EXPECT_TRUE(s.charge_anyway(kArray, 2, 10, 0));
  EXPECT_EQ(s.held(), UINT64_MAX);
  EXPECT_EQ(s.release(kArray, 2), 10u);
  EXPECT_EQ(s.release(kArray, 1), UINT64_MAX - 1);
  EXPECT_EQ(s.held(), 0u);
}

TEST(MemoryLedger, ChargeAnywayRecordsOverTheLimitAndSaysSo) {
  Ledger l(10);
  EXPECT_TRUE(l.charge_anyway(500, 7, 6, 0));
  EXPECT_FALSE(l.charge_anyway(500, 7, 6, 0));  // same object grows to 12 > 10
  EXPECT_EQ(l.held_by(500, 7), 12u);
  EXPECT_FALSE(l.fits(0));  // over: not even nothing fits
  EXPECT_FALSE(l.charge(kDevicePointer, 1, 1, 0));  // nothing more while over
  EXPECT_EQ(l.release(500, 7), 12u);
  EXPECT_TRUE(l.charge(kDevicePointer, 1, 10, 0));
}

TEST(MemoryLedger, ZeroLimitAndZeroSizes) {
  Ledger l(0);
  EXPECT_TRUE(l.charge(kDevicePointer, 1, 0, 0));  // cudaMalloc(0): nothing held
  EXPECT_EQ(l.entries(), 0u);
  EXPECT_FALSE(l.charge(kDevicePointer, 2, 1, 0));
  l.set_limit(-5);  // any negative: no limit
  EXPECT_EQ(l.limit(), -1);
  EXPECT_TRUE(l.charge(kDevicePointer, 2, 1, 0));
}

TEST(MemoryLedger, CountsPerDeviceAndPublishesEveryChange) {
  Ledger l;
  std::vector<Ledger::Figures> seen;
  l.on_change([&](const Ledger::Figures& f) { seen.push_back(f); });
  ASSERT_TRUE(l.charge(kDevicePointer, 1, 100, 0));
  ASSERT_TRUE(l.charge(kDevicePointer, 2, 50, 3));
  ASSERT_TRUE(l.charge(kDevicePointer, 3, 7, 99));  // a device past the table: total only
  ASSERT_TRUE(l.charge(kDevicePointer, 4, 7, -1));
  EXPECT_EQ(l.held_on(0), 100u);
  EXPECT_EQ(l.held_on(3), 50u);
  EXPECT_EQ(l.held_on(99), 0u);
  EXPECT_EQ(l.held(), 164u);
  EXPECT_EQ(l.devices(), 4);
  l.release(kDevicePointer, 2);
  ASSERT_FALSE(seen.empty());
  const Ledger::Figures& last = seen.back();
  EXPECT_EQ(last.held, 114u);
  EXPECT_EQ(last.peak, 164u);
  EXPECT_EQ(last.devices, 4);
  EXPECT_EQ(last.per_device[0], 100u);
  EXPECT_EQ(last.per_device[3], 0u);
}

TEST(MemoryLedger, AResetDeviceHoldsNothing) {
  Ledger l(100);
  ASSERT_TRUE(l.charge(kDevicePointer, 1, 30, 0));
  ASSERT_TRUE(l.charge(500, 2, 20, 0));  // a library object on device 0 too
  ASSERT_TRUE(l.charge(kDevicePointer, 3, 40, 1));
  EXPECT_EQ(l.release_device(0), 50u);
  EXPECT_EQ(l.held(), 40u);
  EXPECT_EQ(l.held_on(0), 0u);
  EXPECT_EQ(l.release(kDevicePointer, 1), 0u);  // a free after the reset: nothing left
  EXPECT_EQ(l.release_device(7), 0u);
  EXPECT_EQ(l.release_device(-3), 0u);
  EXPECT_TRUE(l.charge(kDevicePointer, 4, 60, 0));
}

// Physical memory of the virtual memory management API belongs to no context: a reset of the
// device's primary context does not free it, so its charge stays (else a client could create up
// to its quota, reset, and create again).
TEST(MemoryLedger, AResetKeepsVirtualMemoryAllocationsCharged) {
  Ledger l(100);
  ASSERT_TRUE(l.charge(kDevicePointer, 1, 30, 0));
  ASSERT_TRUE(l.charge(kVmmAllocation, 0x5000, 50, 0));
  EXPECT_EQ(l.release_device(0), 30u);
  EXPECT_EQ(l.held(), 50u);
  EXPECT_EQ(l.held_on(0), 50u);
  EXPECT_FALSE(l.charge(kVmmAllocation, 0x6000, 60, 0));
  EXPECT_EQ(l.release(kVmmAllocation, 0x5000), 50u);
  EXPECT_EQ(l.held_on(0), 0u);
}

TEST(MemoryLedger, ConcurrentChargesNeverPassTheLimit) {
  Ledger l(1000);
  std::atomic<int> granted{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (uint64_t i = 0; i < 1000; ++i)
        if (l.charge(kDevicePointer, (uint64_t(t) << 32) | i, 1, 0)) ++granted;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(granted.load(), 1000);
  EXPECT_EQ(l.held(), 1000u);
}

TEST(MemoryLedger, OverLimitTextNamesTheLimitAndTheConfigKey) {
  Ledger l(4096);
  ASSERT_TRUE(l.charge(kDevicePointer, 1, 1000, 0));
  const std::string t = backend::quota::over_limit_text(5000, l);
  EXPECT_NE(t.find("5000"), std::string::npos) << t;
  EXPECT_NE(t.find("4096"), std::string::npos) << t;
  EXPECT_NE(t.find("\"gpu_memory\""), std::string::npos) << t;
}

// ---- the runtime's handlers refuse over the quota before CUDA is asked ----

class QuotaHandlers : public testing::HandlerTest {
 protected:
  void TearDown() override {
    backend::quota::set_limit(-1);
  }
};

TEST_F(QuotaHandlers, AllocationsOverTheQuotaAnswerOutOfMemory) {
  backend::quota::set_limit(1 * kMiB);
  wire::Writer w;
  w.put<uint64_t>(2 * kMiB);
  // Without a GPU, cudaMalloc itself would answer "no device" (100) or "insufficient driver":
  // cudaErrorMemoryAllocation (2) comes from the quota, as a full GPU would answer.
  EXPECT_EQ(run(backend::cudart::handle_cudaMalloc, w), 2);
  wire::Writer a;
  a.put<uint64_t>(2 * kMiB);
  a.put<uint64_t>(0);  // the legacy stream
  EXPECT_EQ(run(backend::cudart::handle_cudaMallocAsync, a), 2);
  wire::Writer m;
  m.put<uint64_t>(2 * kMiB);
  m.put<uint32_t>(1);  // cudaMemAttachGlobal
  EXPECT_EQ(run(backend::cudart::handle_gvManagedAlloc, m), 2);
  // A size that overflows any count: refused too, never wrapped into a small one.
  wire::Writer huge;
  huge.put<uint64_t>(UINT64_MAX);
  EXPECT_EQ(run(backend::cudart::handle_cudaMalloc, huge), 2);
  EXPECT_EQ(backend::quota::ledger().held(), 0u);
}

TEST_F(QuotaHandlers, WithinTheQuotaTheRuntimeAnswers) {
  backend::quota::set_limit(1 * kMiB);
  wire::Writer w;
  w.put<uint64_t>(4096);
  // Within the quota the call reaches CUDA: without a GPU it answers its own error (never the
  // quota's); on a GPU machine it succeeds, is charged, and its free gives the bytes back.
  std::vector<uint8_t> out;
  const int32_t st = run(backend::cudart::handle_cudaMalloc, w, &out);
  EXPECT_NE(st, 2);
  if (st != 0) {
    EXPECT_EQ(backend::quota::ledger().held(), 0u);
    return;
  }
  ASSERT_EQ(out.size(), 8u);
  uint64_t p = 0;
  std::memcpy(&p, out.data(), 8);
  EXPECT_EQ(backend::quota::ledger().held_by(kDevicePointer, p), 4096u);
  wire::Writer f;
  f.put<uint64_t>(p);
  EXPECT_EQ(run(backend::cudart::handle_cudaFree, f), 0);
  EXPECT_EQ(backend::quota::ledger().held_by(kDevicePointer, p), 0u);
}

TEST_F(QuotaHandlers, FreesOfUnknownPointersChangeNothing) {
  backend::quota::ledger().charge(kDevicePointer, 0x7000, 100, 0);
  backend::quota::freed(0x8000);
  backend::quota::freed(0);
  EXPECT_EQ(backend::quota::ledger().held_by(kDevicePointer, 0x7000), 100u);
  backend::quota::freed(0x7000);
  backend::quota::freed(0x7000);
  EXPECT_EQ(backend::quota::ledger().held_by(kDevicePointer, 0x7000), 0u);
}

// ---- which calls the quota accounts for ----

TEST(QuotaCalls, LibraryAllocatorsAreAccounted) {
  using backend::quota::accounted_as;
  EXPECT_STREQ(accounted_as("cublasCreate_v2"), "create");
  EXPECT_STREQ(accounted_as("cublasDestroy_v2"), "destroy");
  EXPECT_STREQ(accounted_as("cufftPlan1d"), "create");
  EXPECT_STREQ(accounted_as("cufftMakePlanMany64"), "grow");
  EXPECT_STREQ(accounted_as("cudnnCreate"), "create");
  EXPECT_STREQ(accounted_as("curandGenerateNormal"), "grow");
  EXPECT_STREQ(accounted_as("cuMemAlloc_v2"), "device-pointer");
  EXPECT_STREQ(accounted_as("cuMemFree_v2"), "device-pointer-free");
  EXPECT_STREQ(accounted_as("cudaMallocArray"), "create");
  EXPECT_STREQ(accounted_as("cudaDeviceReset"), "device-reset");
  EXPECT_EQ(accounted_as("cudaMalloc"), nullptr);  // counted inside its handler
  EXPECT_EQ(accounted_as("cublasSgemm_v2"), nullptr);
  EXPECT_EQ(accounted_as(nullptr), nullptr);
}

// Every forwarded runtime or driver call whose name says it allocates is accounted for: in its
// handler (the runtime's own), in quota_calls.cc's table, or listed here as allocating no
// device memory. A new allocating call that is none of these fails this test.
TEST(QuotaCalls, EveryAllocatingCallIsAccounted) {
  const std::set<std::string> in_handler = {"cudaMalloc", "cudaMallocPitch", "cudaMalloc3D",
                                            "cudaMallocAsync", "cudaMallocFromPoolAsync",
                                            "gvManagedAlloc",
                                            // cuda/vmm.cc: charged at its exact size
                                            "cuMemCreate"};
  const std::set<std::string> no_device_memory = {
      // host-side objects, or memory counted when it is allocated from them
      "cudaStreamCreate", "cudaStreamCreateWithFlags", "cudaStreamCreateWithPriority",
      "cudaEventCreate", "cudaEventCreateWithFlags", "cudaCreateTextureObject",
      "cudaCreateSurfaceObject", "cudaGraphCreate", "cudaMemPoolCreate", "cuStreamCreate",
      "cuStreamCreateWithPriority", "cuEventCreate", "cuLinkCreate_v2", "cudaDeviceGetLimit",
      "cuCtxGetLimit", "gvLaunchLimits", "cuMemPoolCreate", "cuTexObjectCreate",
      "cuSurfObjectCreate", "cuGraphCreate", "cuMemAddressReserve", "cuMemMap",
      "cuMemRetainAllocationHandle", "cuMemGetAllocationGranularity",
      "cuMemGetAllocationPropertiesFromHandle",
      "cuMemAllocHost_v2", "cuMemHostAlloc", "cudaMallocHost", "cudaHostAlloc",
      "cudaGraphInstantiate", "cuGraphInstantiateWithFlags",
      // page-locked host memory of the worker (graph memcpy nodes with host memory)
      "gvStagingAlloc",
      // documented as not counted (docs/security.md, "GPU memory quota")
      "cudaGraphAddMemAllocNode", "cuGraphAddMemAllocNode",
      // the libraries' descriptors, parameter sets and infos: host memory (their device
      // buffers are the application's own cudaMalloc)
      "cublasLtMatrixLayoutCreate", "cublasLtMatmulDescCreate",
      "cublasLtMatrixTransformDescCreate", "cublasLtMatmulPreferenceCreate",
      "cudnnCreateTensorDescriptor", "cudnnCreateTensorTransformDescriptor",
      "cudnnCreateOpTensorDescriptor", "cudnnCreateReduceTensorDescriptor",
      "cudnnCreateFilterDescriptor", "cudnnCreatePoolingDescriptor",
      "cudnnCreateActivationDescriptor", "cudnnCreateLRNDescriptor",
      "cudnnCreateSpatialTransformerDescriptor", "cudnnCreateDropoutDescriptor",
      "cudnnCreateConvolutionDescriptor", "cudnnCreateRNNDescriptor",
      "cudnnCreateRNNDataDescriptor", "cudnnCreateSeqDataDescriptor", "cudnnCreateAttnDescriptor",
      "cudnnCreateCTCLossDescriptor", "cudnnBackendCreateDescriptor",
      "cusolverDnCreateSyevjInfo", "cusolverDnCreateGesvdjInfo", "cusolverDnCreateParams",
      "cusolverDnIRSParamsCreate", "cusolverDnIRSInfosCreate", "cusolverSpCreateCsrqrInfo",
      "cusolverSpCreateCsrcholInfo", "cusparseCreateMatDescr", "cusparseCreateBsrsv2Info",
      "cusparseCreateBsrsm2Info", "cusparseCreateCsric02Info", "cusparseCreateSpVec",
      "cusparseCreateConstSpVec", "cusparseCreateDnVec", "cusparseCreateConstDnVec",
      "cusparseCreateCsr", "cusparseCreateConstCsr", "cusparseCreateCsc",
      "cusparseCreateConstCsc", "cusparseCreateCoo", "cusparseCreateConstCoo",
      "cusparseCreateBlockedEll", "cusparseCreateConstBlockedEll", "cusparseCreateBsr",
      "cusparseCreateConstBsr", "cusparseCreateSlicedEll", "cusparseCreateConstSlicedEll",
      "cusparseCreateDnMat", "cusparseCreateConstDnMat",
      // a host generator generates on the worker's CPU
      "curandCreateGeneratorHost",
      // fills the application's device array
      "cusparseCreateIdentityPermutation"};
  const std::regex allocating("(Malloc|Alloc|Create|Limit)");
  std::vector<std::string> missing;
  std::set<std::string> seen;
  std::vector<const backend::HandlerEntry*> entries;
  for (uint32_t id : backend::registry().call_ids()) entries.push_back(backend::registry().find(id));
  for (const backend::PluginTable* t :
       {&backend::cublas::plugin_table(), &backend::cublasLt::plugin_table(),
        &backend::cudnn::plugin_table(), &backend::cufft::plugin_table(),
        &backend::curand::plugin_table(), &backend::cusolver::plugin_table(),
        &backend::cusparse::plugin_table()})
    for (size_t i = 0; i < t->count; ++i) entries.push_back(&t->entries[i]);
  for (const backend::HandlerEntry* e : entries) {
    if (!e || !e->name) continue;
    const std::string n = e->name;
    if (!std::regex_search(n, allocating)) continue;
    seen.insert(n);
    if (in_handler.count(n) || no_device_memory.count(n) || backend::quota::accounted_as(e->name))
      continue;
    missing.push_back(n);
  }
  // The scan saw the calls it is about (it would pass on an empty table otherwise).
  for (const char* n : {"cudaMalloc", "cudaMallocArray", "cuMemAlloc_v2", "cuCtxCreate_v4",
                        "cublasCreate_v2", "cusparseCreate", "curandCreateGenerator"})
    EXPECT_TRUE(seen.count(n)) << n;
  std::string names;
  for (const std::string& n : missing) names += (names.empty() ? "" : " ") + n;
  EXPECT_TRUE(missing.empty()) << "calls that may allocate device memory, not accounted for by "
                                  "the GPU memory quota (src/backend/quota_calls.cc): "
                               << names;
}

// ---- pending upload bytes ----

TEST(UploadBudget, NoLimitNeverWaits) {
  backend::UploadBudget b;
  EXPECT_TRUE(b.acquire(UINT64_MAX / 2, nullptr, nullptr));
  EXPECT_TRUE(b.acquire(UINT64_MAX / 2, nullptr, nullptr));
  EXPECT_EQ(b.waits(), 0u);
}

TEST(UploadBudget, OverTheLimitWaitsUntilBytesAreUsed) {
  backend::UploadBudget b(16 * kMiB);
  ASSERT_TRUE(b.acquire(12 * kMiB, nullptr, nullptr));
  std::atomic<bool> got{false};
  std::thread t([&] {
    EXPECT_TRUE(b.acquire(8 * kMiB, [] { return false; }, [] { return false; }));
    got = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got.load());  // throttled: 12 + 8 > 16
  EXPECT_EQ(b.pending(), 12 * kMiB);
  b.release(12 * kMiB);
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(b.pending(), 8 * kMiB);
  EXPECT_EQ(b.waits(), 1u);
  EXPECT_EQ(b.peak(), 12 * kMiB);
}

TEST(UploadBudget, TheNextInOrderNeverWaits) {
  backend::UploadBudget b(8 * kMiB);
  ASSERT_TRUE(b.acquire(8 * kMiB, nullptr, nullptr));
  std::atomic<bool> next{false};
  std::atomic<bool> got{false};
  std::thread t([&] {
    EXPECT_TRUE(b.acquire(64 * kMiB, [&] { return next.load(); }, [] { return false; }));
    got = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(got.load());
  next = true;  // its ticket came up: it must get in, or the session would deadlock
  t.join();
  EXPECT_EQ(b.pending(), 72 * kMiB);  // over, by that one payload
  b.release(72 * kMiB);
  EXPECT_EQ(b.pending(), 0u);
}

TEST(UploadBudget, AClientThatLeavesStopsTheWait) {
  backend::UploadBudget b(8 * kMiB);
  ASSERT_TRUE(b.acquire(8 * kMiB, nullptr, nullptr));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(b.acquire(1 * kMiB, [] { return false; }, [] { return true; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(b.pending(), 8 * kMiB);  // nothing taken
  b.release(UINT64_MAX);             // more than pending: clamped, never wrapped
  EXPECT_EQ(b.pending(), 0u);
}

TEST(UploadBudget, HugePayloadsDoNotOverflow) {
  backend::UploadBudget b(8 * kMiB);
  ASSERT_TRUE(b.acquire(4 * kMiB, nullptr, nullptr));
  // UINT64_MAX does not fit (and must not wrap into something that does): it waits until
  // let through, and then the count saturates.
  EXPECT_TRUE(b.acquire(UINT64_MAX, [] { return true; }, nullptr));
  EXPECT_EQ(b.pending(), UINT64_MAX);
}

// ---- config ----

TEST(QuotaConfig, GpuMemoryAndUploadBytesAreAcceptedPerIdentity) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"limits": {
      "default": {"gpu_memory": 4294967296, "upload_bytes": 67108864},
      "clients": {"token": {"gpu_memory": 0}, "uid:7": {"upload_bytes": 8388608}}}})",
                                "f.json", &c));
  ClientLimits d = backend::limits_for(c.isolation, "host:10.0.0.1");
  EXPECT_EQ(d.gpu_memory, 4294967296);
  EXPECT_EQ(d.upload_bytes, 67108864);
  ClientLimits t = backend::limits_for(c.isolation, "token");
  EXPECT_EQ(t.gpu_memory, 0);  // 0: no GPU memory at all
  EXPECT_EQ(t.upload_bytes, 67108864);
  ClientLimits u = backend::limits_for(c.isolation, "uid:7");
  EXPECT_EQ(u.gpu_memory, 4294967296);
  EXPECT_EQ(u.upload_bytes, 8388608);
  Config none;
  ASSERT_TRUE(parse_config_json("{}", "f.json", &none));
  EXPECT_EQ(backend::limits_for(none.isolation, "token").gpu_memory, -1);
  EXPECT_EQ(backend::limits_for(none.isolation, "token").upload_bytes, -1);
}

TEST(QuotaConfig, BadValuesAreRefused) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      {R"({"limits": {"default": {"gpu_memory": -1}}})", "gpu_memory"},
      {R"({"limits": {"default": {"gpu_memory": "8GiB"}}})", "gpu_memory"},
      {R"({"limits": {"default": {"gpu_memory": 1.5}}})", "gpu_memory"},
      {R"({"limits": {"default": {"gpu_memory": 18446744073709551615}}})", "gpu_memory"},
      {R"({"limits": {"default": {"gpu_memory": 1125899906842625}}})", "gpu_memory"},
      {R"({"limits": {"clients": {"token": {"upload_bytes": 1}}}})", "at least 8388608"},
      {R"({"limits": {"default": {"upload_bytes": -8388608}}})", "upload_bytes"},
      {R"({"limits": {"default": {"gpu_memroy": 1}}})", "unknown key \"gpu_memroy\""},
  };
  for (const auto& k : cases) {
    Config c;
    Status s = parse_config_json(k.json, "f.json", &c);
    EXPECT_FALSE(s) << k.json;
    EXPECT_NE(s.message().find(k.says), std::string::npos) << k.json << ": " << s.message();
  }
}

}  // namespace
}  // namespace gvirtus
