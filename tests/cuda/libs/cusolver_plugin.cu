// cuSOLVER natively and through GVirtuS, on every machine: what a cuSOLVER program sees must be
// the same (the worker loads the cuSOLVER plugin and NVIDIA's libcusolver.so.12 on the first
// call). Without a GPU, cuSOLVER answers versions and creates params and info objects, and
// refuses its handles (CUSOLVER_STATUS_NOT_INITIALIZED) as it does natively. On a GPU machine
// the handles are made too: a 3x3 Cholesky factorisation on the device and a sparse QR solve on
// the host (cusolverSpDcsrlsvqrHost) run. Run by tests/cuda_plugins.cmake.
#define DISABLE_CUSOLVER_DEPRECATED
#include <cuda_runtime.h>
#include <cusolverDn.h>
#include <cusolverRf.h>
#include <cusolverSp.h>
#include <cusolverSp_LOWLEVEL_PREVIEW.h>
#include <cusparse.h>

#include <cmath>
#include <cstdio>

namespace {

void status(const char* what, cusolverStatus_t s) {
  std::printf("%s: %d\n", what, static_cast<int>(s));
}

double round3(double v) {
  const double r = std::round(v * 1000) / 1000;
  return r == 0 ? 0 : r;  // no "-0.000"
}

// A 3x3 SPD matrix factorised in place by cusolverDnDpotrf: prints L and devInfo.
void potrf3(cusolverDnHandle_t h) {
  double a[9] = {4, 2, 2, 2, 5, 3, 2, 3, 6};  // column-major, symmetric
  double* d = nullptr;
  int* info = nullptr;
  if (cudaMalloc(&d, sizeof a) != cudaSuccess || cudaMalloc(&info, sizeof(int)) != cudaSuccess) {
    std::printf("cudaMalloc failed\n");
    return;
  }
  cudaMemcpy(d, a, sizeof a, cudaMemcpyHostToDevice);
  int lwork = -1;
  status("cusolverDnDpotrf_bufferSize",
         cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, 3, d, 3, &lwork));
  std::printf("  lwork > 0: %d\n", lwork > 0);
  double* work = nullptr;
  if (lwork > 0 && cudaMalloc(&work, sizeof(double) * lwork) == cudaSuccess) {
    status("cusolverDnDpotrf", cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, 3, d, 3, work, lwork,
                                                info));
    int host_info = -1;
    cudaMemcpy(a, d, sizeof a, cudaMemcpyDeviceToHost);
    cudaMemcpy(&host_info, info, sizeof host_info, cudaMemcpyDeviceToHost);
    std::printf("  devInfo %d, L diagonal %.3f %.3f %.3f\n", host_info, round3(a[0]),
                round3(a[4]), round3(a[8]));
    cudaFree(work);
  }
  cudaFree(d);
  cudaFree(info);
}

// The tridiagonal system [2 -1 0; -1 2 -1; 0 -1 2] x = (1, 0, 1): x = (1, 1, 1), on the host.
void sparse_host(cusolverSpHandle_t h) {
  const double val[7] = {2, -1, -1, 2, -1, -1, 2};
  const int row[4] = {0, 2, 5, 7};
  const int col[7] = {0, 1, 0, 1, 2, 1, 2};
  const double b[3] = {1, 0, 1};
  double x[3] = {0, 0, 0};
  int singularity = -2;
  cusparseMatDescr_t descr = nullptr;
  if (cusparseCreateMatDescr(&descr) != CUSPARSE_STATUS_SUCCESS) {
    std::printf("cusparseCreateMatDescr failed\n");
    return;
  }
  cusparseSetMatType(descr, CUSPARSE_MATRIX_TYPE_GENERAL);
  cusparseSetMatIndexBase(descr, CUSPARSE_INDEX_BASE_ZERO);
  status("cusolverSpDcsrlsvqrHost",
         cusolverSpDcsrlsvqrHost(h, 3, 7, descr, val, row, col, b, 1e-12, 0, x, &singularity));
  std::printf("  singularity %d, x %.3f %.3f %.3f\n", singularity, round3(x[0]), round3(x[1]),
              round3(x[2]));
  int issym = -1;
  status("cusolverSpXcsrissymHost",
         cusolverSpXcsrissymHost(h, 3, 7, descr, row, row + 1, col, &issym));
  std::printf("  issym %d\n", issym);
  cusparseDestroyMatDescr(descr);
}

}  // namespace

int main() {
  int version = 0;
  status("cusolverGetVersion", cusolverGetVersion(&version));
  std::printf("  version: %d\n", version);
  int major = -1, minor = -1, patch = -1;
  status("cusolverGetProperty(MAJOR_VERSION)", cusolverGetProperty(MAJOR_VERSION, &major));
  status("cusolverGetProperty(MINOR_VERSION)", cusolverGetProperty(MINOR_VERSION, &minor));
  status("cusolverGetProperty(PATCH_LEVEL)", cusolverGetProperty(PATCH_LEVEL, &patch));
  std::printf("  %d.%d.%d\n", major, minor, patch);
  int devices = 0;
  std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorName(cudaGetDeviceCount(&devices)));

  // Objects cuSOLVER makes without a GPU.
  cusolverDnParams_t params = nullptr;
  cusolverStatus_t s = cusolverDnCreateParams(&params);
  status("cusolverDnCreateParams", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    status("cusolverDnSetAdvOptions(GETRF, ALG_0)",
           cusolverDnSetAdvOptions(params, CUSOLVERDN_GETRF, CUSOLVER_ALG_0));
    status("cusolverDnDestroyParams", cusolverDnDestroyParams(params));
  }
  syevjInfo_t syevj = nullptr;
  s = cusolverDnCreateSyevjInfo(&syevj);
  status("cusolverDnCreateSyevjInfo", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    status("cusolverDnXsyevjSetTolerance", cusolverDnXsyevjSetTolerance(syevj, 1e-7));
    status("cusolverDnXsyevjSetMaxSweeps", cusolverDnXsyevjSetMaxSweeps(syevj, 50));
    status("cusolverDnXsyevjSetSortEig", cusolverDnXsyevjSetSortEig(syevj, 1));
    status("cusolverDnDestroySyevjInfo", cusolverDnDestroySyevjInfo(syevj));
  }
  gesvdjInfo_t gesvdj = nullptr;
  s = cusolverDnCreateGesvdjInfo(&gesvdj);
  status("cusolverDnCreateGesvdjInfo", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    status("cusolverDnXgesvdjSetTolerance", cusolverDnXgesvdjSetTolerance(gesvdj, 1e-7));
    status("cusolverDnXgesvdjSetMaxSweeps", cusolverDnXgesvdjSetMaxSweeps(gesvdj, 20));
    status("cusolverDnXgesvdjSetSortEig", cusolverDnXgesvdjSetSortEig(gesvdj, 0));
    status("cusolverDnDestroyGesvdjInfo", cusolverDnDestroyGesvdjInfo(gesvdj));
  }
  cusolverDnIRSParams_t irs = nullptr;
  s = cusolverDnIRSParamsCreate(&irs);
  status("cusolverDnIRSParamsCreate", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    status("cusolverDnIRSParamsSetMaxIters(7)", cusolverDnIRSParamsSetMaxIters(irs, 7));
    cusolver_int_t iters = -1;
    status("cusolverDnIRSParamsGetMaxIters", cusolverDnIRSParamsGetMaxIters(irs, &iters));
    std::printf("  max iters %d\n", static_cast<int>(iters));
    status("cusolverDnIRSParamsSetSolverPrecisions(64F, 32F)",
           cusolverDnIRSParamsSetSolverPrecisions(irs, CUSOLVER_R_64F, CUSOLVER_R_32F));
    status("cusolverDnIRSParamsDestroy", cusolverDnIRSParamsDestroy(irs));
  }
  cusolverDnIRSInfos_t infos = nullptr;
  s = cusolverDnIRSInfosCreate(&infos);
  status("cusolverDnIRSInfosCreate", s);
  if (s == CUSOLVER_STATUS_SUCCESS) status("cusolverDnIRSInfosDestroy", cusolverDnIRSInfosDestroy(infos));
  csrqrInfo_t qr = nullptr;
  s = cusolverSpCreateCsrqrInfo(&qr);
  status("cusolverSpCreateCsrqrInfo", s);
  if (s == CUSOLVER_STATUS_SUCCESS) status("cusolverSpDestroyCsrqrInfo", cusolverSpDestroyCsrqrInfo(qr));
  csrcholInfo_t chol = nullptr;
  s = cusolverSpCreateCsrcholInfo(&chol);
  status("cusolverSpCreateCsrcholInfo", s);
  if (s == CUSOLVER_STATUS_SUCCESS) status("cusolverSpDestroyCsrcholInfo", cusolverSpDestroyCsrcholInfo(chol));

  // Handles: refused without a GPU, as natively; made and used with one.
  cusolverDnHandle_t dn = nullptr;
  s = cusolverDnCreate(&dn);
  status("cusolverDnCreate", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    status("cusolverDnSetStream(default)", cusolverDnSetStream(dn, nullptr));
    cudaStream_t got = reinterpret_cast<cudaStream_t>(1);
    status("cusolverDnGetStream", cusolverDnGetStream(dn, &got));
    std::printf("  default stream: %d\n", got == nullptr);
    potrf3(dn);
    status("cusolverDnDestroy", cusolverDnDestroy(dn));
  }
  cusolverSpHandle_t sp = nullptr;
  s = cusolverSpCreate(&sp);
  status("cusolverSpCreate", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    sparse_host(sp);
    status("cusolverSpDestroy", cusolverSpDestroy(sp));
  }
  cusolverRfHandle_t rf = nullptr;
  s = cusolverRfCreate(&rf);
  status("cusolverRfCreate", s);
  if (s == CUSOLVER_STATUS_SUCCESS) {
    cusolverRfMatrixFormat_t format = CUSOLVERRF_MATRIX_FORMAT_CSC;
    cusolverRfUnitDiagonal_t diag = CUSOLVERRF_UNIT_DIAGONAL_ASSUMED_L;
    status("cusolverRfGetMatrixFormat", cusolverRfGetMatrixFormat(rf, &format, &diag));
    std::printf("  format %d diag %d\n", static_cast<int>(format), static_cast<int>(diag));
    status("cusolverRfDestroy", cusolverRfDestroy(rf));
  }
  return 0;
}
