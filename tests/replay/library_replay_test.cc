// The calls PyTorch 2.11 makes for one addmm through cuBLASLt and for one convolution through
// cuDNN's backend API (cudnn-frontend), replayed against a fake backend: which of them wait for
// a reply (client::round_trips(), and the requests the fake saw without kFlagNoReply). Over TCP
// each wait costs a round trip (~29 us on the H200 machine), so these counts are what a
// training step pays (docs/libraries.md, "What waits").
//
// The fake answers every request that wants a reply with success (a fresh id for a create, a
// numbered answer for a heuristic), and can fail chosen calls: a NoReply one then comes back as
// a deferred library failure on the next reply, as the worker reports it.
#include <cublasLt.h>
#include <cudnn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cublasLt_calls.h"
#include "cudnn_calls.h"
#include "fake_backend.h"
#include "frontend/core/answers.h"
#include "frontend/core/client.h"
#include "frontend/core/ranges.h"
#include "frontend/cublasLt/heuristic_cache.h"
#include "frontend/cudnn/glue.h"

namespace gvirtus {
namespace {

using testing::FakeBackend;
using testing::read_frame;
using testing::SessionOverride;
using testing::test_session_options;
namespace lt = cublasLt;
namespace dnn = cudnn;

struct Request {
  uint32_t call_id;
  bool waits;
  std::vector<uint8_t> payload;  // cudnnBackendSetAttribute's only
};

class Replay : public ::testing::Test {
 protected:
  Replay()
      : be_([this](Stream& s, const wire::Hello&) { serve(s); }),
        session_(test_session_options(be_.connector())),
        use_(&session_) {
    client::remember_current_device(0);
  }

  // Requests seen since the last call, and forgets them (the fake has read every request sent
  // before the last reply the client read).
  std::vector<Request> take() {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<Request> r;
    r.swap(seen_);
    return r;
  }
  // Call ids that waited among those requests.
  static std::multiset<uint32_t> waited(const std::vector<Request>& r) {
    std::multiset<uint32_t> w;
    for (const Request& q : r)
      if (q.waits) w.insert(q.call_id);
    return w;
  }
  // The next waited request of this call answers `status`.
  void fail_next(uint32_t call_id, int32_t status) {
    std::lock_guard<std::mutex> g(mu_);
    fail_[call_id] = status;
  }
  // The next NoReply request of this call fails: reported with the reply after it.
  void fail_next_async(uint32_t call_id, int32_t status) {
    std::lock_guard<std::mutex> g(mu_);
    fail_async_[call_id] = status;
  }
  int heuristics_answered() {
    std::lock_guard<std::mutex> g(mu_);
    return heuristics_;
  }

 private:
  void serve(Stream& s) {
    static const std::set<uint32_t> kCreates = {
        lt::kCall_cublasLtCreate, lt::kCall_cublasLtMatrixLayoutCreate,
        lt::kCall_cublasLtMatmulDescCreate, lt::kCall_cublasLtMatmulPreferenceCreate,
        dnn::kCall_cudnnCreate, dnn::kCall_cudnnBackendCreateDescriptor,
        dnn::kCall_cudnnCreateTensorDescriptor, dnn::kCall_cudnnCreateFilterDescriptor};
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      const bool waits = !(f.flags & wire::kFlagNoReply);
      int32_t status = 0;
      wire::Writer out;
      {
        std::lock_guard<std::mutex> g(mu_);
        seen_.push_back({f.call_id, waits,
                         f.call_id == dnn::kCall_cudnnBackendSetAttribute ? p
                                                                          : std::vector<uint8_t>{}});
        if (!waits) {
          auto it = fail_async_.find(f.call_id);
          if (it != fail_async_.end()) {
            if (deferred_ == 0) deferred_ = it->second;
            fail_async_.erase(it);
          }
          continue;
        }
        auto it = fail_.find(f.call_id);
        if (it != fail_.end()) {
          status = it->second;
          fail_.erase(it);
        }
        if (status == 0 && kCreates.count(f.call_id)) {
          // Ids are never reused in a process, as the worker's (the client keeps answers by id).
          static uint64_t serial = 0;
          out.put<uint64_t>(uint64_t{0x22} << 56 | ++serial);
        } else if (status == 0 && f.call_id == lt::kCall_cublasLtMatmulAlgoGetHeuristic) {
          // handle, desc, A, B, C, D, preference (u64 each), then requestedAlgoCount
          int requested;
          std::memcpy(&requested, p.data() + 7 * sizeof(uint64_t), sizeof requested);
          ++heuristics_;
          std::vector<cublasLtMatmulHeuristicResult_t> res(requested);
          std::memset(res.data(), 0, res.size() * sizeof res[0]);
          for (int i = 0; i < requested; ++i) {
            res[i].algo.data[0] = static_cast<uint64_t>(heuristics_) * 100 + i;
            res[i].workspaceSize = 4096;
            res[i].wavesCount = 1.0f;
          }
          out.put<int>(requested);
          out.put_bytes(res.data(), res.size() * sizeof res[0]);
        }
      }
      wire::FrameHeader r;
      r.kind = static_cast<uint16_t>(wire::Kind::kReply);
      r.call_id = f.call_id;
      r.request_id = f.request_id;
      r.status = status;
      {
        std::lock_guard<std::mutex> g(mu_);
        r.aux = deferred_;
        if (deferred_ != 0) r.flags = wire::kFlagLibraryDeferred;
        deferred_ = 0;
      }
      struct iovec iov = {const_cast<uint8_t*>(out.data()), out.size()};
      if (!send_frame(s, r, &iov, 1)) return;
    }
  }

  std::mutex mu_;
  std::vector<Request> seen_;
  std::map<uint32_t, int32_t> fail_, fail_async_;
  int32_t deferred_ = 0;
  int heuristics_ = 0;
  FakeBackend be_;
  client::Session session_;
  SessionOverride use_;
};

// ---- cuBLASLt: at::cuda::blas::gemm_and_bias (addmm with a bias epilogue) ----

struct Addmm {
  cublasLtHandle_t handle;
  int64_t m = 64, n = 32, k = 128;
  int32_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  uint64_t workspace = 1u << 22;
  const void* bias = reinterpret_cast<const void*>(0x7f0000001000);
  void* mem = reinterpret_cast<void*>(0x7f0000100000);  // A, B, C, D and the workspace
  int requested = 1;
  cublasLtMatmulHeuristicResult_t result{};
  cublasStatus_t heuristic_status = CUBLAS_STATUS_SUCCESS;
  cublasStatus_t matmul_status = CUBLAS_STATUS_SUCCESS;
};

// The calls in PyTorch's order; every status but the heuristic's and the matmul's must be
// success.
void run_addmm(Addmm& x) {
  cublasLtMatmulDesc_t desc = nullptr;
  ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), 0);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &x.transa,
                                           sizeof x.transa), 0);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &x.transb,
                                           sizeof x.transb), 0);
  const uint32_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                           sizeof epilogue), 0);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &x.bias,
                                           sizeof x.bias), 0);
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, d = nullptr;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&a, CUDA_R_32F, x.transa == CUBLAS_OP_N ? x.m : x.k,
                                       x.transa == CUBLAS_OP_N ? x.k : x.m, x.k), 0);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&b, CUDA_R_32F, x.k, x.n, x.k), 0);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&c, CUDA_R_32F, x.m, x.n, x.m), 0);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&d, CUDA_R_32F, x.m, x.n, x.m), 0);
  const int32_t batch = 1;
  for (cublasLtMatrixLayout_t l : {a, b, c, d})
    ASSERT_EQ(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                               sizeof batch), 0);
  cublasLtMatmulPreference_t pref = nullptr;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), 0);
  ASSERT_EQ(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &x.workspace, sizeof x.workspace), 0);
  const uint32_t align = 16;
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    ASSERT_EQ(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align), 0);
  int returned = 0;
  std::vector<cublasLtMatmulHeuristicResult_t> results(x.requested);
  x.heuristic_status = cublasLtMatmulAlgoGetHeuristic(x.handle, desc, a, b, c, d, pref,
                                                      x.requested, results.data(), &returned);
  if (x.heuristic_status == CUBLAS_STATUS_SUCCESS) {
    ASSERT_EQ(returned, x.requested);
    x.result = results[0];
    const float alpha = 1.0f, beta = 0.0f;
    void* mem = x.mem;
    x.matmul_status = cublasLtMatmul(x.handle, desc, &alpha, mem, a, mem, b, &beta, mem, c, mem, d,
                                     &x.result.algo, mem, x.workspace, nullptr);
  }
  ASSERT_EQ(cublasLtMatmulPreferenceDestroy(pref), 0);
  for (cublasLtMatrixLayout_t l : {d, c, b, a}) ASSERT_EQ(cublasLtMatrixLayoutDestroy(l), 0);
  ASSERT_EQ(cublasLtMatmulDescDestroy(desc), 0);
}

class ReplayLt : public Replay {
 protected:
  void SetUp() override {
    ASSERT_EQ(cublasLtCreate(&x_.handle), CUBLAS_STATUS_SUCCESS);
    take();
  }
  Addmm x_;
};

TEST_F(ReplayLt, RepeatedAddmmWaitsForNothing) {
  const uint64_t before = client::round_trips();
  run_addmm(x_);
  const auto first = take();
  const uint64_t first_waits = client::round_trips() - before;
  // The first product learns: each distinct create, each attribute's size, the heuristic, the
  // matmul's acceptance.
  EXPECT_EQ(waited(first).count(lt::kCall_cublasLtMatmulAlgoGetHeuristic), 1u);
  EXPECT_EQ(waited(first).count(lt::kCall_cublasLtMatmul), 1u);
  // 27 calls: 1 + 4 + 4 + 4 + 1 + 5 creates and sets, heuristic, matmul, 6 destroys.
  std::printf("addmm through cuBLASLt (27 calls): %llu waited the first time\n",
              static_cast<unsigned long long>(first_waits));
  const cublasLtMatmulHeuristicResult_t answer = x_.result;
  for (int step = 0; step < 5; ++step) {
    const uint64_t b = client::round_trips();
    run_addmm(x_);
    const auto again = take();
    // Nothing waits: the heuristic is the kept answer, and a matmul like one that succeeded
    // is accepted (its kernels' failure would be asynchronous).
    EXPECT_EQ(waited(again), std::multiset<uint32_t>{}) << step;
    EXPECT_EQ(client::round_trips() - b, 0u) << step;
    EXPECT_EQ(x_.matmul_status, CUBLAS_STATUS_SUCCESS) << step;
    EXPECT_EQ(std::memcmp(&x_.result, &answer, sizeof answer), 0) << "the first answer, kept";
    if (step == 0)
      std::printf("addmm through cuBLASLt (27 calls): 0 waited on every later step\n");
  }
  EXPECT_EQ(heuristics_answered(), 1);
}

// The matmul waits again when anything cuBLASLt checks at the call differs from the calls that
// succeeded, and a failure is never taken as acceptance.
TEST_F(ReplayLt, MatmulWaitsUnlessLikeOneThatSucceeded) {
  run_addmm(x_);
  take();
  auto matmul_waits = [&](const char* what) {
    run_addmm(x_);
    EXPECT_EQ(waited(take()).count(lt::kCall_cublasLtMatmul), 1u) << what;
  };
  x_.mem = reinterpret_cast<void*>(0x7f0000100004);
  matmul_waits("operands aligned to 4 bytes only");
  x_.mem = reinterpret_cast<void*>(0x7f0000200000);
  run_addmm(x_);
  EXPECT_EQ(waited(take()).count(lt::kCall_cublasLtMatmul), 0u) << "other, aligned operands";
  x_.workspace = 1u << 21;
  matmul_waits("another workspace size");
  x_.transb = CUBLAS_OP_T;
  matmul_waits("a changed descriptor");
  x_.m = 96;
  fail_next(lt::kCall_cublasLtMatmul, CUBLAS_STATUS_NOT_SUPPORTED);
  run_addmm(x_);
  take();
  EXPECT_EQ(x_.matmul_status, CUBLAS_STATUS_NOT_SUPPORTED) << "the worker's status, as is";
  matmul_waits("after a failure");
}

// Every input of the heuristic is in the key: a change of any one asks the worker again.
TEST_F(ReplayLt, AnyChangedInputAsksAgain) {
  run_addmm(x_);
  ASSERT_EQ(heuristics_answered(), 1);
  auto asks_again = [&](const char* what) {
    const int before = heuristics_answered();
    run_addmm(x_);
    EXPECT_EQ(heuristics_answered(), before + 1) << what;
    EXPECT_EQ(x_.heuristic_status, CUBLAS_STATUS_SUCCESS) << what;
    // And the new answer is kept in turn.
    run_addmm(x_);
    EXPECT_EQ(heuristics_answered(), before + 1) << what << ", asked twice";
  };
  x_.transa = CUBLAS_OP_N;
  asks_again("a matmul descriptor attribute");
  x_.bias = reinterpret_cast<const void*>(0x7f0000002000);
  asks_again("the bias pointer");
  x_.k = 256;
  asks_again("a layout's creation arguments");
  x_.workspace = 1u << 20;
  asks_again("a preference attribute");
  x_.requested = 4;
  asks_again("the requested count");
  client::remember_current_device(1);
  asks_again("the current device");
  const std::string math = "cublas:setting:" +
                           std::to_string(reinterpret_cast<uintptr_t>(x_.handle)) + ":math";
  const int64_t tf32[2] = {CUBLAS_TF32_TENSOR_OP_MATH, 0};
  client::remember_answer(math, tf32, sizeof tf32);
  asks_again("the cuBLAS handle's math mode");
  cublasLtHandle_t other;
  ASSERT_EQ(cublasLtCreate(&other), CUBLAS_STATUS_SUCCESS);
  x_.handle = other;
  asks_again("the handle");
}

TEST_F(ReplayLt, UnknownDeviceOrFailureIsNotKept) {
  client::forget_current_device();
  run_addmm(x_);
  run_addmm(x_);
  EXPECT_EQ(heuristics_answered(), 2) << "no current device known: every heuristic is asked";
  client::remember_current_device(0);
  fail_next(lt::kCall_cublasLtMatmulAlgoGetHeuristic, CUBLAS_STATUS_NOT_SUPPORTED);
  run_addmm(x_);
  EXPECT_EQ(x_.heuristic_status, CUBLAS_STATUS_NOT_SUPPORTED) << "the worker's status, as is";
  run_addmm(x_);
  EXPECT_EQ(x_.heuristic_status, CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(heuristics_answered(), 3) << "the failure was not kept; the success is";
}

// A Set with the wrong size, or an unknown attribute, waits and reports cuBLASLt's status (the
// fake's here); one with a size that succeeded before goes without waiting.
TEST_F(ReplayLt, SetAttributesWaitUntilTheirSizeIsKnown) {
  cublasLtMatmulDesc_t desc;
  ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), 0);
  // An attribute no other test sets: its size is not known yet in this process.
  const auto attr = CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET;
  const int64_t wide = 1;
  fail_next(lt::kCall_cublasLtMatmulDescSetAttribute, CUBLAS_STATUS_INVALID_VALUE);
  take();
  const uint64_t b = client::round_trips();
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, attr, &wide, sizeof wide),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(client::round_trips() - b, 1u) << "the wrong size waits";
  const int32_t sms = 8;
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, attr, &sms, sizeof sms), 0);
  EXPECT_EQ(client::round_trips() - b, 2u) << "the first of the right size waits";
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, attr, &sms, sizeof sms), 0);
  EXPECT_EQ(client::round_trips() - b, 2u) << "then it goes without waiting";
  fail_next(lt::kCall_cublasLtMatmulDescSetAttribute, CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, attr, nullptr, sizeof sms),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(client::round_trips() - b, 3u) << "a NULL buffer waits";
  fail_next(lt::kCall_cublasLtMatmulDescSetAttribute, CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, attr, &wide, sizeof wide),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(client::round_trips() - b, 4u) << "the wrong size still waits";
}

// ---- cuDNN backend API: cudnn-frontend's convolution (graph built once, executed per step) ----

constexpr int64_t kX = 1, kW = 2, kY = 3;

// Creates, sets and finalizes a backend descriptor of `type` as cudnn-frontend does when it
// builds a graph (every status must be success).
cudnnBackendDescriptor_t build(cudnnBackendDescriptorType_t type,
                               std::initializer_list<std::pair<cudnnBackendAttributeName_t,
                                                               int64_t>> int_attrs) {
  cudnnBackendDescriptor_t d = nullptr;
  EXPECT_EQ(cudnnBackendCreateDescriptor(type, &d), CUDNN_STATUS_SUCCESS);
  for (const auto& [name, v] : int_attrs)
    EXPECT_EQ(cudnnBackendSetAttribute(d, name, CUDNN_TYPE_INT64, 1, &v), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnBackendFinalize(d), CUDNN_STATUS_SUCCESS);
  return d;
}

class ReplayDnn : public Replay {
 protected:
  // The tensors' and workspaces' addresses below are device memory this process knows, as the
  // caching allocator's cudaMalloc blocks are (an unknown one makes the pointers' Set wait).
  static constexpr uintptr_t kDeviceBase = 0x7f0000000000, kDeviceBytes = 16u << 20;
  void TearDown() override { client::device_ranges().remove(kDeviceBase); }
  void SetUp() override {
    client::device_ranges().assign(kDeviceBase, kDeviceBytes);
    ASSERT_EQ(cudnnCreate(&handle_), CUDNN_STATUS_SUCCESS);
    const uint64_t before = client::round_trips();
    // The graph: three tensors, the convolution, its operation, the graph, an engine, its
    // configuration and the execution plan (attributes abridged: one per descriptor; the
    // shapes and links do not change what waits).
    for (int64_t uid : {kX, kW, kY})
      built_.push_back(
          build(CUDNN_BACKEND_TENSOR_DESCRIPTOR, {{CUDNN_ATTR_TENSOR_UNIQUE_ID, uid}}));
    built_.push_back(build(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR,
                           {{CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 2}}));
    built_.push_back(build(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, {}));
    built_.push_back(build(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, {}));
    built_.push_back(build(CUDNN_BACKEND_ENGINE_DESCRIPTOR,
                           {{CUDNN_ATTR_ENGINE_GLOBAL_INDEX, 0}}));
    built_.push_back(build(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, {}));
    plan_ = build(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, {});
    built_.push_back(plan_);
    build_waits_ = client::round_trips() - before;
    take();
  }

  // One execution: cudnn-frontend's variant pack, built, executed and destroyed every time.
  cudnnStatus_t execute(void* x, void* w, void* y, void* workspace) {
    cudnnBackendDescriptor_t vp = nullptr;
    EXPECT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
    void* ptrs[3] = {x, w, y};
    const int64_t uids[3] = {kX, kW, kY};
    EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                       CUDNN_TYPE_VOID_PTR, 3, ptrs), 0);
    EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                                       3, uids), 0);
    EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR,
                                       1, &workspace), 0);
    EXPECT_EQ(cudnnBackendFinalize(vp), 0);
    const cudnnStatus_t s = cudnnBackendExecute(handle_, plan_, vp);
    EXPECT_EQ(cudnnBackendDestroyDescriptor(vp), 0);
    return s;
  }

  cudnnHandle_t handle_ = nullptr;
  cudnnBackendDescriptor_t plan_ = nullptr;
  std::vector<cudnnBackendDescriptor_t> built_;
  uint64_t build_waits_ = 0;
};

TEST_F(ReplayDnn, RepeatedExecutionWaitsForNothing) {
  // 23 calls: a create, Sets and a Finalize for each of 9 descriptors. Every Set and Finalize
  // waits (only a variant pack's are predicted); a create waits the first time its arguments
  // are seen in the process.
  std::printf("convolution graph through cuDNN's backend API (23 calls): %llu waited to build\n",
              static_cast<unsigned long long>(build_waits_));
  void* x = reinterpret_cast<void*>(0x7f0000010000);
  void* w = reinterpret_cast<void*>(0x7f0000020000);
  void* y = reinterpret_cast<void*>(0x7f0000030000);
  void* ws = reinterpret_cast<void*>(0x7f0000040000);
  const uint64_t b0 = client::round_trips();
  ASSERT_EQ(execute(x, w, y, ws), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(waited(take()).count(dnn::kCall_cudnnBackendExecute), 1u) << "the first waits";
  std::printf("one execution (7 calls): %llu waited the first time\n",
              static_cast<unsigned long long>(client::round_trips() - b0));
  for (int step = 0; step < 5; ++step) {
    // New pointers every step (the caching allocator's blocks move), aligned alike: no wait.
    const uint64_t b = client::round_trips();
    ASSERT_EQ(execute(static_cast<char*>(x) + 256 * step, w, y, ws), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(waited(take()), std::multiset<uint32_t>{}) << step;
    EXPECT_EQ(client::round_trips() - b, 0u) << step;
    if (step == 0)
      std::printf("one execution (7 calls): 0 waited on every later step\n");
  }
}

// An execution waits unless its pack matches one that succeeded with that plan: the same ids,
// pointers null alike and aligned alike; a failure is never taken as acceptance.
TEST_F(ReplayDnn, ExecuteWaitsUnlessLikeOneThatSucceeded) {
  char* x = reinterpret_cast<char*>(0x7f0000110000);
  void* w = reinterpret_cast<void*>(0x7f0000120000);
  void* y = reinterpret_cast<void*>(0x7f0000130000);
  void* ws = reinterpret_cast<void*>(0x7f0000140000);
  ASSERT_EQ(execute(x, w, y, ws), CUDNN_STATUS_SUCCESS);
  take();
  auto execute_waits = [&](void* px, void* pws, const char* what) {
    EXPECT_EQ(execute(px, w, y, pws), CUDNN_STATUS_SUCCESS) << what;
    EXPECT_EQ(waited(take()).count(dnn::kCall_cudnnBackendExecute), 1u) << what;
  };
  execute_waits(x + 4, ws, "an operand aligned to 4 bytes only");
  execute_waits(x, nullptr, "no workspace");
  ASSERT_EQ(execute(x + 512, w, y, ws), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(waited(take()).count(dnn::kCall_cudnnBackendExecute), 0u) << "aligned alike";
  fail_next(dnn::kCall_cudnnBackendExecute, CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(execute(x + 8, w, y, ws), CUDNN_STATUS_NOT_SUPPORTED) << "the worker's status";
  take();
  execute_waits(x + 8, ws, "after a failure");
}

// The client's records of descriptors (their data type, a tensor's shape) go with the
// descriptor: PyTorch makes new ones around every operation, and the ids are never reused.
TEST_F(ReplayDnn, DescriptorRecordsGoWithTheirDescriptors) {
  const size_t before = cudnn::recorded_descriptor_types();
  for (int i = 0; i < 50; ++i) {
    cudnnTensorDescriptor_t t = nullptr;
    cudnnFilterDescriptor_t f = nullptr;
    ASSERT_EQ(cudnnCreateTensorDescriptor(&t), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnCreateFilterDescriptor(&f), CUDNN_STATUS_SUCCESS);
    const int dims[4] = {8, 16, 4, 4}, strides[4] = {256, 16, 4, 1};
    ASSERT_EQ(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_DOUBLE, 4, dims, strides), 0);
    ASSERT_EQ(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_HALF, CUDNN_TENSOR_NCHW, 8, 16, 3, 3), 0);
    EXPECT_EQ(cudnn::scale_bytes(t), 8u) << "recorded while it lives";
    EXPECT_EQ(cudnn::recorded_descriptor_types(), before + 2);
    ASSERT_EQ(cudnnDestroyTensorDescriptor(t), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnDestroyFilterDescriptor(f), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnn::recorded_descriptor_types(), before) << i;
  }
}

// A scalar passed by value (cuDNN SDPA's attention scale): its address is host memory of this
// process, so its bytes travel after the pointers (common/cudnn_backend_attr.h); device memory
// the client knows of, and NULL, do not. Other pointer attributes carry none.
TEST_F(ReplayDnn, ScalarsPassedByValueTravelWithTheirPointers) {
  cudnnBackendDescriptor_t vp;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
  const uintptr_t dev = 0x7f0000200000;
  client::device_ranges().assign(dev, 4096);
  float scale = 0.125f;
  void* ptrs[3] = {reinterpret_cast<void*>(dev + 256), &scale, nullptr};
  take();
  ASSERT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                     CUDNN_TYPE_VOID_PTR, 3, ptrs), 0);
  ASSERT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR,
                                     1, &ptrs[1]), 0);
  // A call that waits (a tensor's Set): the fake has read both Sets when it answers.
  cudnnBackendDescriptor_t t;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t), 0);
  const int64_t uid = 7;
  ASSERT_EQ(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid),
            0);
  client::device_ranges().remove(dev);
  std::vector<std::vector<uint8_t>> sets;
  for (Request& r : take()) {
    int32_t name = 0;
    if (r.payload.size() >= 12) std::memcpy(&name, r.payload.data() + 8, sizeof name);
    if (name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS || name == CUDNN_ATTR_VARIANT_PACK_WORKSPACE)
      sets.push_back(r.payload);
  }
  ASSERT_EQ(sets.size(), 2u);
  const size_t head = 8 + 4 + 4 + 8 + 1;
  ASSERT_EQ(sets[0].size(), head + 3 * 8 + 4 + 4 + 16);
  wire::Reader r(sets[0].data() + head + 3 * 8, 4 + 4 + 16);
  EXPECT_EQ(r.get<uint32_t>(), 1u);  // one scalar
  EXPECT_EQ(r.get<uint32_t>(), 1u);  // the second pointer's
  float sent = 0;
  std::memcpy(&sent, r.get_bytes(16), sizeof sent);
  EXPECT_EQ(sent, 0.125f);
  EXPECT_EQ(sets[1].size(), head + 8) << "a workspace is never a scalar";
  ASSERT_EQ(cudnnBackendDestroyDescriptor(t), 0);
  ASSERT_EQ(cudnnBackendDestroyDescriptor(vp), 0);
}

// A pointer that is neither device memory this process knows nor readable memory of its own
// (nor NULL) may be refused by the worker: that Set waits for its answer instead of being
// predicted. So does page-locked host memory, which is never taken for a scalar.
TEST_F(ReplayDnn, PointersTheClientCannotPlaceWaitForTheWorker) {
  cudnnBackendDescriptor_t vp;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
  void* ptrs[2] = {reinterpret_cast<void*>(kDeviceBase + 512), reinterpret_cast<void*>(0x10)};
  uint64_t b = client::round_trips();
  EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                     CUDNN_TYPE_VOID_PTR, 2, ptrs), 0);
  EXPECT_EQ(client::round_trips() - b, 1u);
  ASSERT_EQ(cudnnBackendDestroyDescriptor(vp), 0);
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
  ptrs[1] = reinterpret_cast<void*>(kDeviceBase + 1024);
  b = client::round_trips();
  EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                     CUDNN_TYPE_VOID_PTR, 2, ptrs), 0);
  EXPECT_EQ(client::round_trips() - b, 0u) << "device memory it knows: predicted";
  ASSERT_EQ(cudnnBackendDestroyDescriptor(vp), 0);
}

// What the client cannot tell waits, and reports the worker's status.
TEST_F(ReplayDnn, VariantPackSetsItCannotPredictWait) {
  cudnnBackendDescriptor_t vp;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
  void* ptrs[2] = {nullptr, nullptr};
  const int64_t uids[2] = {1, 2};
  struct Case {
    const char* what;
    cudnnBackendAttributeName_t name;
    cudnnBackendAttributeType_t type;
    int64_t count;
    const void* array;
  } cases[] = {
      {"no elements", CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 0, ptrs},
      {"no array", CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 2, nullptr},
      {"wrong type", CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_VOID_PTR, 2, ptrs},
      {"two workspaces", CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 2, ptrs},
      {"intermediates", CUDNN_ATTR_VARIANT_PACK_INTERMEDIATES, CUDNN_TYPE_VOID_PTR, 1, ptrs},
  };
  take();
  for (const Case& c : cases) {
    fail_next(dnn::kCall_cudnnBackendSetAttribute, CUDNN_STATUS_BAD_PARAM);
    const uint64_t b = client::round_trips();
    EXPECT_EQ(cudnnBackendSetAttribute(vp, c.name, c.type, c.count, c.array),
              CUDNN_STATUS_BAD_PARAM) << c.what;
    EXPECT_EQ(client::round_trips() - b, 1u) << c.what;
  }
  // A Set that failed leaves the pack to cuDNN: later Sets and the Finalize wait too.
  const uint64_t b = client::round_trips();
  EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 2,
                                     uids), 0);
  EXPECT_EQ(cudnnBackendFinalize(vp), 0);
  EXPECT_EQ(client::round_trips() - b, 2u);
  ASSERT_EQ(cudnnBackendDestroyDescriptor(vp), 0);

  // Other descriptor types wait for every Set and Finalize.
  cudnnBackendDescriptor_t t;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t), 0);
  const uint64_t b2 = client::round_trips();
  EXPECT_EQ(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, uids), 0);
  EXPECT_EQ(cudnnBackendFinalize(t), 0);
  EXPECT_EQ(client::round_trips() - b2, 2u);
}

// Finalize: predicted only with as many pointers as ids, once.
TEST_F(ReplayDnn, VariantPackFinalizeIsPredictedOnlyWhenCountsAgree) {
  void* ptrs[3] = {nullptr, nullptr, nullptr};
  const int64_t uids[3] = {1, 2, 3};
  cudnnBackendDescriptor_t vp;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), 0);
  ASSERT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                     CUDNN_TYPE_VOID_PTR, 3, ptrs), 0);
  ASSERT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 2,
                                     uids), 0);
  fail_next(dnn::kCall_cudnnBackendFinalize, CUDNN_STATUS_BAD_PARAM);
  uint64_t b = client::round_trips();
  EXPECT_EQ(cudnnBackendFinalize(vp), CUDNN_STATUS_BAD_PARAM) << "3 pointers, 2 ids: it waits";
  EXPECT_EQ(client::round_trips() - b, 1u);
  ASSERT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3,
                                     uids), 0);
  b = client::round_trips();
  EXPECT_EQ(cudnnBackendFinalize(vp), 0);
  EXPECT_EQ(client::round_trips() - b, 0u) << "3 and 3: sent without waiting";
  fail_next(dnn::kCall_cudnnBackendFinalize, CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnBackendFinalize(vp), CUDNN_STATUS_BAD_PARAM) << "a second Finalize waits";
  fail_next(dnn::kCall_cudnnBackendSetAttribute, CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3,
                                     uids), CUDNN_STATUS_BAD_PARAM) << "a Set after it waits";
  EXPECT_EQ(client::round_trips() - b, 2u);
}

// A Set or Finalize sent without waiting that the worker fails after all (it ran out of host
// memory, say) is reported by the next cuDNN call that waits (here an execution unlike any that
// succeeded, so it waits), as cuDNN reports asynchronous failures.
TEST_F(ReplayDnn, AFailureOfAnUnwaitedCallSurfacesAtTheNextWait) {
  ASSERT_EQ(execute(nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_SUCCESS);
  void* x = reinterpret_cast<void*>(0x7f0000210000);
  fail_next_async(dnn::kCall_cudnnBackendFinalize, CUDNN_STATUS_ALLOC_FAILED);
  EXPECT_EQ(execute(x, nullptr, nullptr, nullptr), CUDNN_STATUS_ALLOC_FAILED);
  EXPECT_EQ(execute(x, nullptr, nullptr, nullptr), CUDNN_STATUS_SUCCESS) << "reported once";
}

}  // namespace
}  // namespace gvirtus
