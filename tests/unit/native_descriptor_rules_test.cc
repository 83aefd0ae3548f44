// What NVIDIA's libraries answer, on the host alone, to the descriptor calls the client sends
// without waiting: the client predicts these statuses (frontend/cudnn/variant_pack.h,
// frontend/cublasLt/glue.h set_accepted), so a library update that checks more at Set or
// Finalize time must fail here first. Calls the real libcudnn.so.9 and libcublasLt.so.13 (no GPU
// needed: descriptors are host objects).
#include <cublasLt.h>
#include <cudnn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// cuBLASLt stores any value of the right size, and refuses only a wrong size, a NULL buffer and
// an attribute it does not know.
TEST(NativeRules, CublasLtSetChecksOnlyTheSize) {
  cublasLtMatmulDesc_t m;
  ASSERT_EQ(cublasLtMatmulDescCreate(&m, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
  const int32_t bogus = 99;
  const int64_t wide = 1;
  for (auto attr : {CUBLASLT_MATMUL_DESC_TRANSA, CUBLASLT_MATMUL_DESC_SCALE_TYPE,
                    CUBLASLT_MATMUL_DESC_POINTER_MODE, CUBLASLT_MATMUL_DESC_EPILOGUE,
                    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE}) {
    EXPECT_EQ(cublasLtMatmulDescSetAttribute(m, attr, &bogus, sizeof bogus),
              CUBLAS_STATUS_SUCCESS) << attr;
    EXPECT_EQ(cublasLtMatmulDescSetAttribute(m, attr, &wide, sizeof wide),
              CUBLAS_STATUS_INVALID_VALUE) << attr;
    EXPECT_EQ(cublasLtMatmulDescSetAttribute(m, attr, nullptr, sizeof bogus),
              CUBLAS_STATUS_INVALID_VALUE) << attr;
    int32_t back = 0;
    size_t written = 0;
    EXPECT_EQ(cublasLtMatmulDescGetAttribute(m, attr, &back, sizeof back, &written),
              CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(back, bogus) << "stored as sent: the client's copy of the state is the worker's";
  }
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(m, static_cast<cublasLtMatmulDescAttributes_t>(9999),
                                           &bogus, sizeof bogus),
            CUBLAS_STATUS_INVALID_VALUE);
  cublasLtMatrixLayout_t l;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 4, 4, 4), CUBLAS_STATUS_SUCCESS);
  const int32_t negative = -3;
  EXPECT_EQ(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &negative,
                                             sizeof negative),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &bogus,
                                             sizeof bogus),
            CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulPreference_t p;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&p), CUBLAS_STATUS_SUCCESS);
  const uint32_t odd = 3;
  EXPECT_EQ(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                 &odd, sizeof odd),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &odd, sizeof odd),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulPreferenceDestroy(p), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatrixLayoutDestroy(l), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmulDescDestroy(m), CUBLAS_STATUS_SUCCESS);
}

class VariantPack : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp_),
              CUDNN_STATUS_SUCCESS);
  }
  void TearDown() override { EXPECT_EQ(cudnnBackendDestroyDescriptor(vp_), CUDNN_STATUS_SUCCESS); }
  cudnnStatus_t set(cudnnBackendAttributeName_t n, cudnnBackendAttributeType_t t, int64_t count,
                    const void* arr) {
    return cudnnBackendSetAttribute(vp_, n, t, count, arr);
  }
  cudnnStatus_t pointers(int64_t n) {
    std::vector<void*> p(n > 0 ? n : 1, nullptr);
    for (int64_t i = 0; i < n; ++i) p[i] = reinterpret_cast<void*>(0x1000 * (i + 1));
    return set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, p.data());
  }
  cudnnStatus_t ids(int64_t n) {
    std::vector<int64_t> u(n > 0 ? n : 1, 7);  // repeated ids are accepted too
    return set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, u.data());
  }
  cudnnBackendDescriptor_t vp_ = nullptr;
};

// The Sets variant_set_predicted sends blind succeed; the ones it lets wait may fail.
TEST_F(VariantPack, SetsSucceedExactlyAsPredicted) {
  void* one = nullptr;
  const int64_t id = 1;
  EXPECT_EQ(pointers(1), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(pointers(4096), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(ids(1), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(ids(4096), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &one),
            CUDNN_STATUS_SUCCESS);
  // Not predicted: each of these fails natively.
  EXPECT_NE(pointers(0), CUDNN_STATUS_SUCCESS);
  EXPECT_NE(ids(0), CUDNN_STATUS_SUCCESS);
  EXPECT_NE(set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 1, nullptr),
            CUDNN_STATUS_SUCCESS);
  EXPECT_NE(set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_INT64, 1, &id),
            CUDNN_STATUS_SUCCESS);
  EXPECT_NE(set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_VOID_PTR, 1, &one),
            CUDNN_STATUS_SUCCESS);
  void* two[2] = {nullptr, nullptr};
  EXPECT_NE(set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 2, two),
            CUDNN_STATUS_SUCCESS);
}

// Finalize succeeds exactly when as many pointers as ids were set, once.
TEST_F(VariantPack, FinalizeNeedsAsManyPointersAsIds) {
  EXPECT_EQ(pointers(3), CUDNN_STATUS_SUCCESS);
  EXPECT_NE(cudnnBackendFinalize(vp_), CUDNN_STATUS_SUCCESS) << "3 pointers, no ids";
  EXPECT_EQ(ids(2), CUDNN_STATUS_SUCCESS);
  EXPECT_NE(cudnnBackendFinalize(vp_), CUDNN_STATUS_SUCCESS) << "3 pointers, 2 ids";
  EXPECT_EQ(ids(3), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(cudnnBackendFinalize(vp_), CUDNN_STATUS_SUCCESS) << "3 and 3, the last Set counts";
  EXPECT_NE(cudnnBackendFinalize(vp_), CUDNN_STATUS_SUCCESS) << "finalized already";
  EXPECT_NE(ids(3), CUDNN_STATUS_SUCCESS) << "a Set after Finalize";
}

TEST_F(VariantPack, AnEmptyPackFinalizes) {
  EXPECT_EQ(cudnnBackendFinalize(vp_), CUDNN_STATUS_SUCCESS);
}

}  // namespace
