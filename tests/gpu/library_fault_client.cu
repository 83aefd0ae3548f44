// A client for the fault tests (faults.py) that is inside long cuDNN work when it is killed.
//   library_fault_client free        device memory free in MiB (or the error), natively
//   library_fault_client hold MIB    allocate MIB of device memory, run one large convolution,
//                                    print "ready", then run convolutions (each tens of
//                                    milliseconds on the GPU) and wait for each, forever.
// Without a GPU, "hold" prints "ready" and calls cuDNN forever (each call reaches the backend's
// cuDNN plugin), so the process checks still mean something.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#define DNN(call)                                                                   \
  do {                                                                              \
    cudnnStatus_t s_ = (call);                                                      \
    if (s_ != CUDNN_STATUS_SUCCESS) {                                               \
      std::printf("%s: %s\n", #call, cudnnGetErrorString(s_));                      \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "free") == 0) {
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) {
      std::printf("error %s\n", cudaGetErrorName(e));
      return 0;
    }
    std::printf("free %zu\n", free_b >> 20);
    return 0;
  }
  if (std::strcmp(mode, "hold") != 0 || argc < 3) {
    std::fprintf(stderr, "usage: library_fault_client free | hold MIB\n");
    return 2;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("ready\n");
    for (;;) {
      cudnnHandle_t h = nullptr;
      if (cudnnCreate(&h) == CUDNN_STATUS_SUCCESS) cudnnDestroy(h);
    }
  }
  const size_t hold = std::strtoull(argv[2], nullptr, 10) << 20;
  void* held = nullptr;
  if (cudaMalloc(&held, hold) != cudaSuccess) {
    std::printf("cudaMalloc failed\n");
    return 1;
  }
  // N=32, C=K=256, 128x128, 3x3, fp32: about 2.5 TFLOP per convolution.
  const int n = 32, c = 256, k = 256, hw = 128;
  cudnnHandle_t h;
  DNN(cudnnCreate(&h));
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  DNN(cudnnCreateTensorDescriptor(&x));
  DNN(cudnnCreateTensorDescriptor(&y));
  DNN(cudnnCreateFilterDescriptor(&w));
  DNN(cudnnCreateConvolutionDescriptor(&conv));
  DNN(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, hw, hw));
  DNN(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, hw, hw));
  DNN(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, 3, 3));
  DNN(cudnnSetConvolution2dDescriptor(conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                      CUDNN_DATA_FLOAT));
  const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t ws_size = 0;
  DNN(cudnnGetConvolutionForwardWorkspaceSize(h, x, w, conv, y, algo, &ws_size));
  void *dx = nullptr, *dw = nullptr, *dy = nullptr, *ws = nullptr;
  if (cudaMalloc(&dx, size_t(n) * c * hw * hw * 4) != cudaSuccess ||
      cudaMalloc(&dw, size_t(k) * c * 9 * 4) != cudaSuccess ||
      cudaMalloc(&dy, size_t(n) * k * hw * hw * 4) != cudaSuccess ||
      (ws_size && cudaMalloc(&ws, ws_size) != cudaSuccess)) {
    std::printf("cudaMalloc failed\n");
    return 1;
  }
  cudaMemset(dx, 0, size_t(n) * c * hw * hw * 4);
  cudaMemset(dw, 0, size_t(k) * c * 9 * 4);
  const float one = 1.0f, zero = 0.0f;
  DNN(cudnnConvolutionForward(h, &one, x, dx, w, dw, conv, algo, ws, ws_size, &zero, y, dy));
  cudaDeviceSynchronize();
  std::printf("ready\n");
  for (;;) {
    cudnnConvolutionForward(h, &one, x, dx, w, dw, conv, algo, ws, ws_size, &zero, y, dy);
    cudaDeviceSynchronize();
  }
}
