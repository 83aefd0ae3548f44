// The cuBLASLt plugin's handlers (generated from api/cublasLt.api and src/backend/cublasLt):
// requests an honest client never sends end the session before cuBLASLt is called; honest ones
// reach cuBLASLt, which answers as natively (descriptors are host objects and work without a
// GPU; a NULL or missing light handle answers not initialized).
#include <cublasLt.h>
#include <gtest/gtest.h>

#include <cstring>

#include "backend/cublasLt/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cublasLt {
void handle_cublasLtGetVersion(CallContext&);
void handle_cublasLtHeuristicsCacheSetCapacity(CallContext&);
void handle_cublasLtMatmul(CallContext&);
void handle_cublasLtMatmulAlgoConfigSetAttribute(CallContext&);
void handle_cublasLtMatmulAlgoGetHeuristic(CallContext&);
void handle_cublasLtMatmulDescDestroy(CallContext&);
void handle_cublasLtMatmulDescGetAttribute(CallContext&);
void handle_cublasLtMatmulDescSetAttribute(CallContext&);
void handle_cublasLtMatrixLayoutSetAttribute(CallContext&);
}  // namespace gvirtus::backend::cublasLt

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace lt = gvirtus::backend::cublasLt;

class CublasLtHandlers : public HandlerTest {
 protected:
  void TearDown() override {
    if (desc_ != nullptr) cublasLtMatmulDescDestroy(desc_);
  }
  // A real matmul descriptor (a host object: no GPU needed), registered in the session.
  uint64_t real_desc() {
    EXPECT_EQ(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F),
              CUBLAS_STATUS_SUCCESS);
    return session_.handles().add(be::HandleKind::kCublasLtMatmulDesc, desc_);
  }
  // cublasLtMatmulDescSetAttribute(desc, attr, sizeInBytes, buf: presence + `sent` bytes).
  static wire::Writer set_attr(uint64_t desc, int32_t attr, uint64_t size, size_t sent) {
    wire::Writer w;
    w.put<uint64_t>(desc);
    w.put<int32_t>(attr);
    w.put<uint64_t>(size);
    w.put<uint8_t>(1);
    for (size_t i = 0; i < sent; ++i) w.put<uint8_t>(0);
    return w;
  }
  // cublasLtMatmulDescGetAttribute(desc, attr, sizeInBytes, sizeWritten presence, buf presence).
  static wire::Writer get_attr(uint64_t desc, int32_t attr, uint64_t size, bool buf) {
    wire::Writer w;
    w.put<uint64_t>(desc);
    w.put<int32_t>(attr);
    w.put<uint64_t>(size);
    w.put<uint8_t>(1);
    w.put<uint8_t>(buf ? 1 : 0);
    return w;
  }
  // cublasLtMatmulAlgoGetHeuristic(handle, desc, A, B, C, D layouts, pref, count, ...).
  static wire::Writer heuristic(int32_t count, uint64_t handle = 0) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    for (int i = 0; i < 6; ++i) w.put<uint64_t>(0);
    w.put<int32_t>(count);
    w.put<uint8_t>(1);  // returnAlgoCount
    w.put<uint8_t>(1);  // heuristicResultsArray
    return w;
  }
  // One pointer-mode scalar: tag 0 NULL, 1 host bytes, 2 device pointer.
  static void scalar(wire::Writer& w, uint8_t tag, uint8_t bytes) {
    w.put<uint8_t>(tag);
    if (tag == 1) {
      w.put<uint8_t>(bytes);
      for (uint8_t i = 0; i < bytes; ++i) w.put<uint8_t>(0);
    } else if (tag == 2) {
      w.put<uint64_t>(0x1000);
    }
  }
  // cublasLtMatmul with every handle NULL, alpha sent as (tag, bytes), beta as a host float.
  static wire::Writer matmul(uint8_t tag, uint8_t bytes) {
    wire::Writer w;
    w.put<uint64_t>(0);  // lightHandle
    w.put<uint64_t>(0);  // computeDesc
    scalar(w, tag, bytes);
    for (int i = 0; i < 4; ++i) w.put<uint64_t>(0);  // A, Adesc, B, Bdesc
    scalar(w, 1, 4);
    for (int i = 0; i < 4; ++i) w.put<uint64_t>(0);  // C, Cdesc, D, Ddesc
    w.put<uint8_t>(0);                               // algo
    w.put<uint64_t>(0);                              // workspace
    w.put<uint64_t>(0);                              // workspaceSizeInBytes
    w.put<uint64_t>(0);                              // stream
    return w;
  }
  cublasLtMatmulDesc_t desc_ = nullptr;
};

TEST_F(CublasLtHandlers, ForgedDescriptorEndsTheSession) {
  // kind kCublasLtMatmulDesc (34) in the top byte, never issued
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescSetAttribute,
                   set_attr(0x2200000000000123ull, CUBLASLT_MATMUL_DESC_TRANSA, 4, 4)),
               "forged cuBLAS object handle 0x2200000000000123");
}

TEST_F(CublasLtHandlers, DescriptorOfAnotherKindEndsTheSession) {
  int dummy = 0;
  const uint64_t layout = session_.handles().add(be::HandleKind::kCublasLtMatrixLayout, &dummy);
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescSetAttribute,
                   set_attr(layout, CUBLASLT_MATMUL_DESC_TRANSA, 4, 4)),
               "forged cuBLAS object handle 0x2300000000000001");
  const uint64_t desc = session_.handles().add(be::HandleKind::kCublasLtMatmulDesc, &dummy);
  EXPECT_FAULT(run(lt::handle_cublasLtMatrixLayoutSetAttribute,
                   set_attr(desc, CUBLASLT_MATRIX_LAYOUT_ROWS, 8, 8)),
               "forged cuBLAS object handle 0x2200000000000002");
}

TEST_F(CublasLtHandlers, StaleDescriptorAnswersInvalidValue) {
  int dummy = 0;
  const uint64_t id = session_.handles().add(be::HandleKind::kCublasLtMatmulDesc, &dummy);
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCublasLtMatmulDesc, id, &p));
  EXPECT_EQ(run(lt::handle_cublasLtMatmulDescSetAttribute,
                set_attr(id, CUBLASLT_MATMUL_DESC_TRANSA, 4, 4)),
            CUBLAS_STATUS_INVALID_VALUE);
  wire::Writer destroy;
  destroy.put<uint64_t>(id);
  EXPECT_EQ(run(lt::handle_cublasLtMatmulDescDestroy, destroy), CUBLAS_STATUS_INVALID_VALUE);
}

TEST_F(CublasLtHandlers, AttributeSizesThatLie) {
  const uint64_t desc = real_desc();
  // fewer bytes than sizeInBytes says
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescSetAttribute,
                   set_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, 8, 4)),
               "payload too short: wanted 8 bytes, 4 left");
  // more bytes than it says
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescSetAttribute,
                   set_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, 4, 8)),
               "4 unexpected bytes at the end of the payload");
  // over the bound (the client refuses those itself), for Set and Get
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescSetAttribute,
                   set_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, (1u << 20) + 1, 0)),
               "cublasLtMatmulDescSetAttribute: buf: buffer length 1048577 out of bounds");
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulDescGetAttribute,
                   get_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, ~0ull, true)),
               "cublasLtMatmulDescGetAttribute: buf: buffer length -1 out of bounds");
  // a size cuBLASLt does not expect is its own to refuse
  EXPECT_EQ(run(lt::handle_cublasLtMatmulDescSetAttribute,
                set_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, 2, 2)),
            CUBLAS_STATUS_INVALID_VALUE);
}

TEST_F(CublasLtHandlers, HonestAttributesReachCublasLt) {
  const uint64_t desc = real_desc();
  // NULL buffer, size 0: asks for the size; only sizeWritten comes back
  std::vector<uint8_t> out;
  ASSERT_EQ(run(lt::handle_cublasLtMatmulDescGetAttribute,
                get_attr(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, 0, false), &out),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  size_t native = 0;
  ASSERT_EQ(cublasLtMatmulDescGetAttribute(desc_, CUBLASLT_MATMUL_DESC_SCALE_TYPE, nullptr, 0,
                                           &native),
            CUBLAS_STATUS_SUCCESS);
  uint64_t written = 0;
  std::memcpy(&written, out.data(), sizeof written);
  EXPECT_EQ(written, native);
  // set TRANSA, read it back through the handlers
  wire::Writer set;
  set.put<uint64_t>(desc);
  set.put<int32_t>(CUBLASLT_MATMUL_DESC_TRANSA);
  set.put<uint64_t>(4);
  set.put<uint8_t>(1);
  set.put<int32_t>(CUBLAS_OP_T);
  ASSERT_EQ(run(lt::handle_cublasLtMatmulDescSetAttribute, set), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(run(lt::handle_cublasLtMatmulDescGetAttribute,
                get_attr(desc, CUBLASLT_MATMUL_DESC_TRANSA, 4, true), &out),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t) + sizeof(int32_t));
  int32_t transa = -1;
  std::memcpy(&transa, out.data() + sizeof(uint64_t), sizeof transa);
  EXPECT_EQ(transa, CUBLAS_OP_T);
}

TEST_F(CublasLtHandlers, HeuristicCountsAreBounded) {
  EXPECT_FAULT(
      run(lt::handle_cublasLtMatmulAlgoGetHeuristic, heuristic(1 << 20)),
      "cublasLtMatmulAlgoGetHeuristic: heuristicResultsArray: buffer length 1048576 out of bounds");
  EXPECT_FAULT(
      run(lt::handle_cublasLtMatmulAlgoGetHeuristic, heuristic(-1)),
      "cublasLtMatmulAlgoGetHeuristic: heuristicResultsArray: buffer length -1 out of bounds");
  // an honest count on a destroyed handle: not initialized, nothing written back (with a NULL
  // handle NVIDIA's cublasLtMatmulAlgoGetHeuristic crashes, natively too)
  int dummy = 0;
  const uint64_t id = session_.handles().add(be::HandleKind::kCublasLtHandle, &dummy);
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCublasLtHandle, id, &p));
  std::vector<uint8_t> out;
  EXPECT_EQ(run(lt::handle_cublasLtMatmulAlgoGetHeuristic, heuristic(4, id), &out),
            CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
}

TEST_F(CublasLtHandlers, ScalarsAreBounded) {
  EXPECT_FAULT(run(lt::handle_cublasLtMatmul, matmul(1, 65)),
               "cublasLtMatmul: alpha: a scalar of 65 bytes");
  EXPECT_FAULT(run(lt::handle_cublasLtMatmul, matmul(1, 0)),
               "cublasLtMatmul: alpha: a scalar of 0 bytes");
  EXPECT_FAULT(run(lt::handle_cublasLtMatmul, matmul(3, 0)), "scalar tag is not 0, 1 or 2");
  // honest forms reach cuBLASLt, which refuses the NULL handle
  for (uint8_t tag : {0, 1})
    EXPECT_EQ(run(lt::handle_cublasLtMatmul, matmul(tag, 4)), CUBLAS_STATUS_NOT_INITIALIZED);
  // a device alpha where the descriptor (here none: host mode) has cuBLASLt read host memory
  EXPECT_FAULT(run(lt::handle_cublasLtMatmul, matmul(2, 4)),
               "cublasLtMatmul: alpha: a device pointer where the library's pointer mode takes "
               "the other");
}

TEST_F(CublasLtHandlers, AlgoConfigSetAttribute) {
  wire::Writer bad;
  bad.put<uint8_t>(2);
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulAlgoConfigSetAttribute, bad),
               "algo presence flag is neither 0 nor 1");
  wire::Writer big;
  big.put<uint8_t>(0);
  big.put<int32_t>(CUBLASLT_ALGO_CONFIG_SPLITK_NUM);
  big.put<uint64_t>((1u << 20) + 1);
  big.put<uint8_t>(1);
  EXPECT_FAULT(run(lt::handle_cublasLtMatmulAlgoConfigSetAttribute, big),
               "cublasLtMatmulAlgoConfigSetAttribute: buffer of 1048577 bytes");
  // a zeroed algo: whatever cuBLASLt answers, the algo comes back only on success
  wire::Writer w;
  w.put<uint8_t>(1);
  w.put<cublasLtMatmulAlgo_t>(cublasLtMatmulAlgo_t{});
  w.put<int32_t>(CUBLASLT_ALGO_CONFIG_SPLITK_NUM);
  w.put<uint64_t>(4);
  w.put<uint8_t>(1);
  w.put<int32_t>(2);
  std::vector<uint8_t> out;
  const int32_t s = run(lt::handle_cublasLtMatmulAlgoConfigSetAttribute, w, &out);
  EXPECT_EQ(out.size(), s == CUBLAS_STATUS_SUCCESS ? sizeof(cublasLtMatmulAlgo_t) : 0u);
}

TEST_F(CublasLtHandlers, VersionIsForwarded) {
  std::vector<uint8_t> out;
  ASSERT_EQ(run(lt::handle_cublasLtGetVersion, wire::Writer(), &out), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t v = 0;
  std::memcpy(&v, out.data(), sizeof v);
  EXPECT_EQ(v, cublasLtGetVersion());
}

// A huge heuristics cache (2^39 entries, from the fuzzer) kept the worker allocating without end:
// it is refused at once; a capacity within the bound reaches cuBLASLt.
TEST_F(CublasLtHandlers, HeuristicsCacheCapacityIsBounded) {
  auto capacity = [](uint64_t n) {
    wire::Writer w;
    w.put<uint64_t>(n);
    return w;
  };
  EXPECT_EQ(run(lt::handle_cublasLtHeuristicsCacheSetCapacity, capacity(uint64_t{1} << 39)),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(run(lt::handle_cublasLtHeuristicsCacheSetCapacity, capacity(65537)),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(run(lt::handle_cublasLtHeuristicsCacheSetCapacity, capacity(65536)),
            static_cast<int32_t>(cublasLtHeuristicsCacheSetCapacity(65536)));
  EXPECT_EQ(run(lt::handle_cublasLtHeuristicsCacheSetCapacity, capacity(8192)),
            CUBLAS_STATUS_SUCCESS);
}

}  // namespace
}  // namespace gvirtus::testing
