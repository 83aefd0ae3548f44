// cuBLASLt natively and through GVirtuS: versions, status names, descriptors and their
// attributes (host objects: they work without a GPU), algo structs; on a GPU machine also a
// small SGEMM with alpha/beta in host memory and then in device memory (pointer mode), and
// the matmul descriptor's scale type changed to double. Run by tests/cuda_plugins.cmake.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace {

void status(const char* what, cublasStatus_t s) {
  std::printf("%s: %d %s\n", what, static_cast<int>(s), cublasLtGetStatusName(s));
}

// D = alpha * A * B + beta * C for 2x2 column-major matrices of `T` (scale type `scale`).
template <typename T>
void gemm(cublasLtHandle_t h, cudaDataType_t type, cublasComputeType_t compute,
          cudaDataType_t scale, bool device_scalars, const char* tag) {
  const T a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4] = {1, 1, 1, 1};
  const T alpha = 2, beta = 1;
  T *da, *db, *dc, *dd, *dab;
  cudaMalloc(&da, sizeof a);
  cudaMalloc(&db, sizeof b);
  cudaMalloc(&dc, sizeof c);
  cudaMalloc(&dd, sizeof c);
  cudaMalloc(&dab, 2 * sizeof(T));
  cudaMemcpy(da, a, sizeof a, cudaMemcpyHostToDevice);
  cudaMemcpy(db, b, sizeof b, cudaMemcpyHostToDevice);
  cudaMemcpy(dc, c, sizeof c, cudaMemcpyHostToDevice);
  const T ab[2] = {alpha, beta};
  cudaMemcpy(dab, ab, sizeof ab, cudaMemcpyHostToDevice);

  cublasLtMatmulDesc_t op = nullptr;
  // created with float scale, then set to `scale`: the frontend must follow
  status("MatmulDescCreate", cublasLtMatmulDescCreate(&op, compute, CUDA_R_32F));
  int32_t st = scale;
  status("SetAttribute(SCALE_TYPE)",
         cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &st, sizeof st));
  if (device_scalars) {
    int32_t pm = CUBLASLT_POINTER_MODE_DEVICE;
    status("SetAttribute(POINTER_MODE)",
           cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm));
  }
  cublasLtMatrixLayout_t l = nullptr;
  status("MatrixLayoutCreate", cublasLtMatrixLayoutCreate(&l, type, 2, 2, 2));
  cublasLtMatmulPreference_t pref = nullptr;
  status("MatmulPreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
  size_t ws = 0;
  status("PreferenceSetAttribute(MAX_WORKSPACE_BYTES)",
         cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof ws));
  cublasLtMatmulHeuristicResult_t res[4];
  int n = 0;
  cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(h, op, l, l, l, l, pref, 4, res, &n);
  status("MatmulAlgoGetHeuristic", s);
  std::printf("  results: %s\n", n > 0 ? "some" : "none");
  s = cublasLtMatmul(h, op, device_scalars ? &dab[0] : &alpha, da, l, db, l,
                     device_scalars ? &dab[1] : &beta, dc, l, dd, l, n > 0 ? &res[0].algo : nullptr,
                     nullptr, 0, nullptr);
  status(tag, s);
  T d[4] = {};
  cudaMemcpy(d, dd, sizeof d, cudaMemcpyDeviceToHost);
  std::printf("  D = %g %g %g %g\n", static_cast<double>(d[0]), static_cast<double>(d[1]),
              static_cast<double>(d[2]), static_cast<double>(d[3]));
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(op);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  cudaFree(dd);
  cudaFree(dab);
}

}  // namespace

int main() {
  std::printf("cublasLtGetVersion: %zu\n", cublasLtGetVersion());
  std::printf("cublasLtGetCudartVersion: %zu\n", cublasLtGetCudartVersion());
  int major = -1;
  cublasStatus_t s = cublasLtGetProperty(MAJOR_VERSION, &major);
  std::printf("cublasLtGetProperty(MAJOR_VERSION): %d %d\n", static_cast<int>(s), major);
  for (int code : {0, 1, 7, 15, 99})
    std::printf("status %d: %s / %s\n", code,
                cublasLtGetStatusName(static_cast<cublasStatus_t>(code)),
                cublasLtGetStatusString(static_cast<cublasStatus_t>(code)));

  // Descriptors are host objects: the same answers with and without a GPU.
  cublasLtMatmulDesc_t op = nullptr;
  status("MatmulDescCreate", cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  size_t need = 0;
  status("MatmulDescGetAttribute(SCALE_TYPE, NULL, 0)",
         cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_SCALE_TYPE, nullptr, 0, &need));
  std::printf("  size needed: %zu\n", need);
  int32_t transa = CUBLAS_OP_T, back = -1;
  size_t written = 0;
  status("MatmulDescSetAttribute(TRANSA)",
         cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa));
  status("MatmulDescSetAttribute(TRANSA, 2 bytes)",
         cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, 2));
  status("MatmulDescGetAttribute(TRANSA)",
         cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &back, sizeof back,
                                        &written));
  std::printf("  TRANSA = %d, %zu bytes\n", back, written);
  status("MatmulDescDestroy", cublasLtMatmulDescDestroy(op));

  cublasLtMatrixLayout_t layout = nullptr;
  status("MatrixLayoutCreate", cublasLtMatrixLayoutCreate(&layout, CUDA_R_16F, 64, 32, 64));
  uint64_t rows = 0;
  status("MatrixLayoutGetAttribute(ROWS)",
         cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows,
                                          &written));
  std::printf("  rows = %llu\n", static_cast<unsigned long long>(rows));
  int32_t batch = 3;
  status("MatrixLayoutSetAttribute(BATCH_COUNT)",
         cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                          sizeof batch));
  status("MatrixLayoutDestroy", cublasLtMatrixLayoutDestroy(layout));

  cublasLtMatmulPreference_t pref = nullptr;
  status("MatmulPreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = 1 << 20, ws_back = 0;
  status("MatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)",
         cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof ws));
  status("MatmulPreferenceGetAttribute(MAX_WORKSPACE_BYTES)",
         cublasLtMatmulPreferenceGetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                              &ws_back, sizeof ws_back, &written));
  std::printf("  workspace = %llu\n", static_cast<unsigned long long>(ws_back));
  status("MatmulPreferenceDestroy", cublasLtMatmulPreferenceDestroy(pref));

  cublasLtMatrixTransformDesc_t tr = nullptr;
  status("MatrixTransformDescCreate", cublasLtMatrixTransformDescCreate(&tr, CUDA_R_32F));
  int32_t scale = -1;
  status("MatrixTransformDescGetAttribute(SCALE_TYPE)",
         cublasLtMatrixTransformDescGetAttribute(tr, CUBLASLT_MATRIX_TRANSFORM_DESC_SCALE_TYPE,
                                                 &scale, sizeof scale, &written));
  std::printf("  scale type = %d\n", scale);
  status("MatrixTransformDescDestroy", cublasLtMatrixTransformDescDestroy(tr));

  cublasLtMatmulAlgo_t algo;
  std::memset(&algo, 0, sizeof algo);
  int32_t splitk = 2;
  status("MatmulAlgoConfigSetAttribute(SPLITK_NUM)",
         cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
                                              sizeof splitk));
  int32_t splitk_back = -1;
  status("MatmulAlgoConfigGetAttribute(SPLITK_NUM)",
         cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk_back,
                                              sizeof splitk_back, &written));
  std::printf("  splitK = %d\n", splitk_back);

  cublasLtHandle_t h = nullptr;
  s = cublasLtCreate(&h);
  status("cublasLtCreate", s);
  if (s != CUBLAS_STATUS_SUCCESS) return 0;
  gemm<float>(h, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, false, "Matmul(float, host scalars)");
  gemm<float>(h, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, true, "Matmul(float, device scalars)");
  gemm<double>(h, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, false,
               "Matmul(double, host scalars)");
  cudaDeviceSynchronize();
  status("cublasLtDestroy", cublasLtDestroy(h));
  return 0;
}
