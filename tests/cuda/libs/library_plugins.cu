// Library plugins without a GPU: what a cuBLAS program sees on a machine where the CUDA runtime
// finds no device must be the same natively and through GVirtuS (the worker loads the cuBLAS
// plugin and NVIDIA's libcublas.so.13 on the first call, and cuBLAS answers as it does natively).
// Run by tests/cuda_plugins.cmake on every machine; on a GPU machine cublasCreate succeeds and
// the handle's state round-trips.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>

int main() {
  int major = -1, minor = -1;
  cublasStatus_t s = cublasGetProperty(MAJOR_VERSION, &major);
  std::printf("cublasGetProperty(MAJOR_VERSION): %d %d\n", static_cast<int>(s), major);
  s = cublasGetProperty(MINOR_VERSION, &minor);
  std::printf("cublasGetProperty(MINOR_VERSION): %d %s\n", static_cast<int>(s),
              minor >= 0 ? "set" : "unset");
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorName(e));

  // Status names (answered on the client from the real library's table) and the argument
  // checks of the copies (done on the client before any copy): as NVIDIA's library answers.
  for (int code : {0, 1, 7, 14, 12345})
    std::printf("status %d: %s / %s\n", code, cublasGetStatusName(static_cast<cublasStatus_t>(code)),
                cublasGetStatusString(static_cast<cublasStatus_t>(code)));
  float host[16] = {};
  std::printf("cublasSetMatrix(rows=-1): %d\n", static_cast<int>(cublasSetMatrix(-1, 2, 4, host, 4, nullptr, 4)));
  std::printf("cublasSetMatrix(lda=0): %d\n", static_cast<int>(cublasSetMatrix(2, 2, 4, host, 0, nullptr, 4)));
  std::printf("cublasGetMatrix(elemSize=0): %d\n", static_cast<int>(cublasGetMatrix(2, 2, 0, nullptr, 4, host, 4)));
  std::printf("cublasSetMatrix(empty): %d\n", static_cast<int>(cublasSetMatrix(0, 2, 4, host, 4, nullptr, 4)));
  std::printf("cublasSetVector(incx=0): %d\n", static_cast<int>(cublasSetVector(4, 4, host, 0, nullptr, 1)));
  std::printf("cublasGetVector(n=0): %d\n", static_cast<int>(cublasGetVector(0, 4, nullptr, 1, host, 1)));

  cublasHandle_t h = nullptr;
  s = cublasCreate(&h);
  std::printf("cublasCreate: %d\n", static_cast<int>(s));
  if (s != CUBLAS_STATUS_SUCCESS) return 0;

  int version = 0;
  s = cublasGetVersion(h, &version);
  std::printf("cublasGetVersion: %d %s\n", static_cast<int>(s), version > 0 ? "set" : "unset");
  cublasPointerMode_t mode = CUBLAS_POINTER_MODE_DEVICE;
  s = cublasGetPointerMode(h, &mode);
  std::printf("cublasGetPointerMode: %d %d\n", static_cast<int>(s), static_cast<int>(mode));
  s = cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE);
  std::printf("cublasSetPointerMode(DEVICE): %d\n", static_cast<int>(s));
  s = cublasGetPointerMode(h, &mode);
  std::printf("cublasGetPointerMode: %d %d\n", static_cast<int>(s), static_cast<int>(mode));
  // A negative size is refused by cuBLAS itself, whatever the pointer mode.
  // In device pointer mode alpha must be device memory (a host address there is the API's
  // undefined behaviour, and the worker ends a session that sends one).
  float* alpha = nullptr;
  cudaMalloc(&alpha, sizeof(float));
  s = cublasSaxpy(h, -1, alpha, nullptr, 1, nullptr, 1);
  std::printf("cublasSaxpy(n=-1): %d\n", static_cast<int>(s));
  s = cublasDestroy(h);
  std::printf("cublasDestroy: %d\n", static_cast<int>(s));
  cudaFree(alpha);
  return 0;
}
