// cuSPARSE natively and through GVirtuS, on every machine: what a cuSPARSE program sees must be
// the same (the worker loads the cuSPARSE plugin and NVIDIA's libcusparse.so.12 on the first
// call). Without a GPU: properties, status names and strings, handle creation failing as
// natively, NULL handles answered by cuSPARSE, matrix descriptors (pure host objects) set and
// read back, vector and matrix descriptors and legacy infos created and destroyed (their getters'
// values are printed only with a GPU: without one cuSPARSE returns unfilled values). With a GPU
// also a 3x3 CSR SpMV. Run by tests/cuda_plugins.cmake.
#include <cuda_runtime.h>
#include <cusparse.h>

#include <cstdint>
#include <cstdio>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace {

void status(const char* what, cusparseStatus_t s) {
  std::printf("%s: %d %s\n", what, static_cast<int>(s), cusparseGetErrorName(s));
}

bool g_gpu = false;

// y = A x for A = [[1 0 2] [0 3 0] [4 0 5]] in CSR, x = (1 2 3): y = (7 6 19).
void spmv(cusparseHandle_t h) {
  const int rows[4] = {0, 2, 3, 5};
  const int cols[5] = {0, 2, 1, 0, 2};
  const float vals[5] = {1, 2, 3, 4, 5};
  const float x[3] = {1, 2, 3};
  int *d_rows = nullptr, *d_cols = nullptr;
  float *d_vals = nullptr, *d_x = nullptr, *d_y = nullptr;
  if (cudaMalloc(&d_rows, sizeof rows) != cudaSuccess || cudaMalloc(&d_cols, sizeof cols) ||
      cudaMalloc(&d_vals, sizeof vals) || cudaMalloc(&d_x, sizeof x) ||
      cudaMalloc(&d_y, sizeof x)) {
    std::printf("cudaMalloc failed\n");
    return;
  }
  cudaMemcpy(d_rows, rows, sizeof rows, cudaMemcpyHostToDevice);
  cudaMemcpy(d_cols, cols, sizeof cols, cudaMemcpyHostToDevice);
  cudaMemcpy(d_vals, vals, sizeof vals, cudaMemcpyHostToDevice);
  cudaMemcpy(d_x, x, sizeof x, cudaMemcpyHostToDevice);
  cusparseSpMatDescr_t a = nullptr;
  cusparseDnVecDescr_t vx = nullptr, vy = nullptr;
  status("  CreateCsr",
         cusparseCreateCsr(&a, 3, 3, 5, d_rows, d_cols, d_vals, CUSPARSE_INDEX_32I,
                           CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  status("  CreateDnVec(x)", cusparseCreateDnVec(&vx, 3, d_x, CUDA_R_32F));
  status("  CreateDnVec(y)", cusparseCreateDnVec(&vy, 3, d_y, CUDA_R_32F));
  const float alpha = 1.0f, beta = 0.0f;
  size_t size = 0;
  status("  SpMV_bufferSize",
         cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a, vx, &beta, vy,
                                 CUDA_R_32F, CUSPARSE_SPMV_CSR_ALG1, &size));
  void* buf = nullptr;
  if (size > 0) cudaMalloc(&buf, size);
  status("  SpMV", cusparseSpMV(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a, vx, &beta, vy,
                                CUDA_R_32F, CUSPARSE_SPMV_CSR_ALG1, buf));
  float y[3] = {0, 0, 0};
  cudaMemcpy(y, d_y, sizeof y, cudaMemcpyDeviceToHost);
  std::printf("  y = %.1f %.1f %.1f\n", y[0], y[1], y[2]);
  status("  DestroySpMat", cusparseDestroySpMat(a));
  status("  DestroyDnVec(x)", cusparseDestroyDnVec(vx));
  status("  DestroyDnVec(y)", cusparseDestroyDnVec(vy));
  cudaFree(buf);
  cudaFree(d_rows);
  cudaFree(d_cols);
  cudaFree(d_vals);
  cudaFree(d_x);
  cudaFree(d_y);
}

void handle_calls() {
  cusparseHandle_t h = nullptr;
  const cusparseStatus_t s = cusparseCreate(&h);
  status("cusparseCreate", s);
  if (s != CUSPARSE_STATUS_SUCCESS) return;
  int version = 0;
  status("  GetVersion", cusparseGetVersion(h, &version));
  std::printf("  version %d\n", version);
  cusparsePointerMode_t mode = CUSPARSE_POINTER_MODE_DEVICE;
  status("  GetPointerMode", cusparseGetPointerMode(h, &mode));
  std::printf("  mode %d\n", static_cast<int>(mode));
  status("  SetPointerMode(DEVICE)", cusparseSetPointerMode(h, CUSPARSE_POINTER_MODE_DEVICE));
  status("  GetPointerMode", cusparseGetPointerMode(h, &mode));
  std::printf("  mode %d\n", static_cast<int>(mode));
  status("  SetPointerMode(HOST)", cusparseSetPointerMode(h, CUSPARSE_POINTER_MODE_HOST));
  cudaStream_t st = nullptr;
  cudaStreamCreate(&st);
  status("  SetStream", cusparseSetStream(h, st));
  cudaStream_t got = nullptr;
  status("  GetStream", cusparseGetStream(h, &got));
  std::printf("  same stream: %d\n", got == st ? 1 : 0);
  spmv(h);
  cudaStreamSynchronize(st);
  status("  SetStream(0)", cusparseSetStream(h, nullptr));
  cudaStreamDestroy(st);
  status("  Destroy", cusparseDestroy(h));
}

void mat_descr() {
  cusparseMatDescr_t d = nullptr;
  status("cusparseCreateMatDescr", cusparseCreateMatDescr(&d));
  std::printf("  fresh: type %d fill %d diag %d base %d\n", cusparseGetMatType(d),
              cusparseGetMatFillMode(d), cusparseGetMatDiagType(d), cusparseGetMatIndexBase(d));
  status("  SetMatType(TRIANGULAR)", cusparseSetMatType(d, CUSPARSE_MATRIX_TYPE_TRIANGULAR));
  status("  SetMatFillMode(UPPER)", cusparseSetMatFillMode(d, CUSPARSE_FILL_MODE_UPPER));
  status("  SetMatDiagType(UNIT)", cusparseSetMatDiagType(d, CUSPARSE_DIAG_TYPE_UNIT));
  status("  SetMatIndexBase(ONE)", cusparseSetMatIndexBase(d, CUSPARSE_INDEX_BASE_ONE));
  status("  SetMatType(77)", cusparseSetMatType(d, static_cast<cusparseMatrixType_t>(77)));
  status("  SetMatIndexBase(5)", cusparseSetMatIndexBase(d, static_cast<cusparseIndexBase_t>(5)));
  std::printf("  set: type %d fill %d diag %d base %d\n", cusparseGetMatType(d),
              cusparseGetMatFillMode(d), cusparseGetMatDiagType(d), cusparseGetMatIndexBase(d));
  status("  DestroyMatDescr", cusparseDestroyMatDescr(d));
  std::printf("  NULL: type %d base %d\n", cusparseGetMatType(nullptr),
              cusparseGetMatIndexBase(nullptr));
  status("  SetMatType(NULL)", cusparseSetMatType(nullptr, CUSPARSE_MATRIX_TYPE_GENERAL));
}

void generic_descriptors() {
  void* const p1 = reinterpret_cast<void*>(0x100000);  // never dereferenced
  void* const p2 = reinterpret_cast<void*>(0x200000);
  void* const p3 = reinterpret_cast<void*>(0x300000);
  cusparseSpMatDescr_t csr = nullptr, coo = nullptr;
  status("cusparseCreateCsr(4x5, 6)",
         cusparseCreateCsr(&csr, 4, 5, 6, p1, p2, p3, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                           CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  status("cusparseCreateCoo(7x8, 9)",
         cusparseCreateCoo(&coo, 7, 8, 9, p1, p2, p3, CUSPARSE_INDEX_64I, CUSPARSE_INDEX_BASE_ONE,
                           CUDA_R_64F));
  cusparseConstSpMatDescr_t ccsr = nullptr;
  status("cusparseCreateConstCsr(2x2, 1)",
         cusparseCreateConstCsr(&ccsr, 2, 2, 1, p1, p2, p3, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  cusparseDnMatDescr_t dn = nullptr;
  status("cusparseCreateDnMat(3x4, ld 3)",
         cusparseCreateDnMat(&dn, 3, 4, 3, p1, CUDA_R_64F, CUSPARSE_ORDER_COL));
  cusparseDnVecDescr_t vec = nullptr;
  status("cusparseCreateDnVec(6)", cusparseCreateDnVec(&vec, 6, p2, CUDA_R_32F));
  cusparseSpVecDescr_t spv = nullptr;
  status("cusparseCreateSpVec(10, 3)", cusparseCreateSpVec(&spv, 10, 3, p1, p2, CUSPARSE_INDEX_32I,
                                                           CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  if (g_gpu) {
    int64_t r = -1, c = -1, n = -1;
    status("  SpMatGetSize(csr)", cusparseSpMatGetSize(csr, &r, &c, &n));
    std::printf("  %lld %lld %lld\n", static_cast<long long>(r), static_cast<long long>(c),
                static_cast<long long>(n));
    void *rp = nullptr, *ci = nullptr, *v = nullptr;
    cusparseIndexType_t rt, ct;
    cusparseIndexBase_t b;
    cudaDataType t;
    status("  CsrGet", cusparseCsrGet(csr, &r, &c, &n, &rp, &ci, &v, &rt, &ct, &b, &t));
    std::printf("  %lld %lld %lld same pointers %d types %d %d %d %d\n", static_cast<long long>(r),
                static_cast<long long>(c), static_cast<long long>(n),
                rp == p1 && ci == p2 && v == p3, rt, ct, b, t);
    cusparseFormat_t f;
    status("  SpMatGetFormat(coo)", cusparseSpMatGetFormat(coo, &f));
    std::printf("  format %d\n", f);
    status("  SpMatGetIndexBase(coo)", cusparseSpMatGetIndexBase(coo, &b));
    std::printf("  base %d\n", b);
    cusparseFillMode_t fill = CUSPARSE_FILL_MODE_UPPER;
    status("  SpMatSetAttribute(FILL_MODE)",
           cusparseSpMatSetAttribute(csr, CUSPARSE_SPMAT_FILL_MODE, &fill, sizeof fill));
    cusparseFillMode_t back = CUSPARSE_FILL_MODE_LOWER;
    status("  SpMatGetAttribute(FILL_MODE)",
           cusparseSpMatGetAttribute(csr, CUSPARSE_SPMAT_FILL_MODE, &back, sizeof back));
    std::printf("  fill %d\n", back);
    status("  CsrSetStridedBatch(2)", cusparseCsrSetStridedBatch(csr, 2, 5, 6));
    int batches = 0;
    status("  SpMatGetStridedBatch", cusparseSpMatGetStridedBatch(csr, &batches));
    std::printf("  batches %d\n", batches);
    int64_t ld = -1;
    cusparseOrder_t o;
    status("  DnMatGet", cusparseDnMatGet(dn, &r, &c, &ld, &v, &t, &o));
    std::printf("  %lld %lld %lld same pointer %d type %d order %d\n", static_cast<long long>(r),
                static_cast<long long>(c), static_cast<long long>(ld), v == p1, t, o);
    status("  DnMatSetStridedBatch(3)", cusparseDnMatSetStridedBatch(dn, 3, 12));
    int64_t stride = -1;
    status("  DnMatGetStridedBatch", cusparseDnMatGetStridedBatch(dn, &batches, &stride));
    std::printf("  %d %lld\n", batches, static_cast<long long>(stride));
    status("  DnVecSetValues", cusparseDnVecSetValues(vec, p3));
    status("  DnVecGet", cusparseDnVecGet(vec, &n, &v, &t));
    std::printf("  %lld same pointer %d type %d\n", static_cast<long long>(n), v == p3, t);
    const void* cv = nullptr;
    status("  ConstSpMatGetValues", cusparseConstSpMatGetValues(ccsr, &cv));
    std::printf("  same pointer %d\n", cv == p3);
    status("  SpVecGet", cusparseSpVecGet(spv, &r, &n, &rp, &v, &rt, &b, &t));
    std::printf("  %lld %lld same pointers %d\n", static_cast<long long>(r),
                static_cast<long long>(n), rp == p1 && v == p2);
  }
  status("cusparseDestroySpMat(csr)", cusparseDestroySpMat(csr));
  status("cusparseDestroySpMat(coo)", cusparseDestroySpMat(coo));
  status("cusparseDestroySpMat(const csr)", cusparseDestroySpMat(ccsr));
  status("cusparseDestroyDnMat", cusparseDestroyDnMat(dn));
  status("cusparseDestroyDnVec", cusparseDestroyDnVec(vec));
  status("cusparseDestroySpVec", cusparseDestroySpVec(spv));

  cusparseSpSVDescr_t sv = nullptr;
  status("cusparseSpSV_createDescr", cusparseSpSV_createDescr(&sv));
  status("cusparseSpSV_destroyDescr", cusparseSpSV_destroyDescr(sv));
  cusparseSpSMDescr_t sm = nullptr;
  status("cusparseSpSM_createDescr", cusparseSpSM_createDescr(&sm));
  status("cusparseSpSM_destroyDescr", cusparseSpSM_destroyDescr(sm));
  cusparseSpGEMMDescr_t sg = nullptr;
  status("cusparseSpGEMM_createDescr", cusparseSpGEMM_createDescr(&sg));
  status("cusparseSpGEMM_destroyDescr", cusparseSpGEMM_destroyDescr(sg));
}

void null_handle() {
  // cuSPARSE's own answers for a NULL handle, scalars in host memory
  const float one = 1.0f;
  status("cusparseSetStream(NULL)", cusparseSetStream(nullptr, nullptr));
  int v = 0;
  status("cusparseGetVersion(NULL)", cusparseGetVersion(nullptr, &v));
  status("cusparseSetPointerMode(NULL)",
         cusparseSetPointerMode(nullptr, CUSPARSE_POINTER_MODE_HOST));
  size_t size = 0;
  status("cusparseSpMV_bufferSize(NULL)",
         cusparseSpMV_bufferSize(nullptr, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, nullptr, nullptr,
                                 &one, nullptr, CUDA_R_32F, CUSPARSE_SPMV_ALG_DEFAULT, &size));
  status("cusparseSpMM(NULL)",
         cusparseSpMM(nullptr, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                      &one, nullptr, nullptr, &one, nullptr, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT,
                      nullptr));
  size = 0;
  status("cusparseSpGEMM_workEstimation(NULL)",
         cusparseSpGEMM_workEstimation(nullptr, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       CUSPARSE_OPERATION_NON_TRANSPOSE, &one, nullptr, nullptr,
                                       &one, nullptr, CUDA_R_32F, CUSPARSE_SPGEMM_DEFAULT, nullptr,
                                       &size, nullptr));
  std::printf("  size %zu\n", size);
  size_t bytes = 0;
  status("cusparseCsr2cscEx2_bufferSize(NULL)",
         cusparseCsr2cscEx2_bufferSize(nullptr, 2, 2, 1, nullptr, nullptr, nullptr, nullptr,
                                       nullptr, nullptr, CUDA_R_32F, CUSPARSE_ACTION_NUMERIC,
                                       CUSPARSE_INDEX_BASE_ZERO, CUSPARSE_CSR2CSC_ALG1, &bytes));
  int nnz = -1;
  status("cusparseXcsrgeam2Nnz(NULL)",
         cusparseXcsrgeam2Nnz(nullptr, 2, 2, nullptr, 1, nullptr, nullptr, nullptr, 1, nullptr,
                              nullptr, nullptr, nullptr, &nnz, nullptr));
}

// Without a GPU cuSPARSE creates some infos and answers CUSPARSE_STATUS_INVALID_VALUE when they
// are destroyed, and refuses others (CUSPARSE_STATUS_ALLOC_FAILED, leaving a freed pointer
// behind natively): an info is used and destroyed only when its creation succeeded.
template <class Info>
void info(const char* name, cusparseStatus_t (*create)(Info*), cusparseStatus_t (*destroy)(Info)) {
  Info i = nullptr;
  const cusparseStatus_t s = create(&i);
  std::printf("%s: create %d %s\n", name, static_cast<int>(s), cusparseGetErrorName(s));
  if (s != CUSPARSE_STATUS_SUCCESS) return;
  const cusparseStatus_t d = destroy(i);
  std::printf("%s: destroy %d %s\n", name, static_cast<int>(d), cusparseGetErrorName(d));
}

void legacy_infos() {
  bsrsv2Info_t sv = nullptr;
  const cusparseStatus_t s = cusparseCreateBsrsv2Info(&sv);
  status("cusparseCreateBsrsv2Info", s);
  if (s == CUSPARSE_STATUS_SUCCESS) {
    int pos = 7;
    status("  Xbsrsv2_zeroPivot(NULL handle)", cusparseXbsrsv2_zeroPivot(nullptr, sv, &pos));
    std::printf("  position %d\n", pos);
    status("cusparseDestroyBsrsv2Info", cusparseDestroyBsrsv2Info(sv));
  }
  info("bsrsm2", cusparseCreateBsrsm2Info, cusparseDestroyBsrsm2Info);
  info("csric02", cusparseCreateCsric02Info, cusparseDestroyCsric02Info);
  info("csrilu02", cusparseCreateCsrilu02Info, cusparseDestroyCsrilu02Info);
  info("bsrilu02", cusparseCreateBsrilu02Info, cusparseDestroyBsrilu02Info);
}

}  // namespace

int main() {
  int value = -1;
  status("cusparseGetProperty(MAJOR_VERSION)", cusparseGetProperty(MAJOR_VERSION, &value));
  std::printf("  %d\n", value);
  status("cusparseGetProperty(MINOR_VERSION)", cusparseGetProperty(MINOR_VERSION, &value));
  std::printf("  %d\n", value);
  status("cusparseGetProperty(PATCH_LEVEL)", cusparseGetProperty(PATCH_LEVEL, &value));
  std::printf("  %d\n", value);
  for (int s = 0; s <= 12; ++s) {
    const auto st = static_cast<cusparseStatus_t>(s);
    std::printf("status %d: %s / %s\n", s, cusparseGetErrorName(st), cusparseGetErrorString(st));
  }
  std::printf("status 99: %s / %s\n", cusparseGetErrorName(static_cast<cusparseStatus_t>(99)),
              cusparseGetErrorString(static_cast<cusparseStatus_t>(99)));
  int devices = 0;
  std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorName(cudaGetDeviceCount(&devices)));
  g_gpu = devices > 0;

  handle_calls();
  mat_descr();
  generic_descriptors();
  null_handle();
  legacy_infos();
  return 0;
}
