// The cuDNN plugin without a GPU: what a cuDNN program sees must be the same natively and through
// GVirtuS (the worker loads the cuDNN plugin and NVIDIA's libcudnn.so.9 on the first call).
// Versions are the backend's library, error strings the real library's, descriptors (host
// objects in cuDNN) round-trip, the backend (graph) API's attributes too, and cudnnCreate
// answers as natively. Run by tests/cuda_plugins.cmake on every machine.
#include <cudnn.h>

#include <cstdio>

int main() {
  std::printf("cudnnGetVersion: %zu\n", cudnnGetVersion());
  std::printf("cudnnGetCudartVersion: %zu\n", cudnnGetCudartVersion());
  std::printf("cudnnGetMaxDeviceVersion: %zu\n", cudnnGetMaxDeviceVersion());
  int major = -1;
  cudnnStatus_t s = cudnnGetProperty(MAJOR_VERSION, &major);
  std::printf("cudnnGetProperty(MAJOR_VERSION): %d %d\n", static_cast<int>(s), major);
  for (int code : {0, 1001, 2000, 2002, 3000, 4003, 5000, 1, 99999})
    std::printf("cudnnGetErrorString(%d): %s\n", code,
                cudnnGetErrorString(static_cast<cudnnStatus_t>(code)));

  cudnnHandle_t h = nullptr;
  s = cudnnCreate(&h);
  std::printf("cudnnCreate: %d\n", static_cast<int>(s));

  // Legacy descriptors.
  cudnnTensorDescriptor_t x = nullptr;
  s = cudnnCreateTensorDescriptor(&x);
  std::printf("cudnnCreateTensorDescriptor: %d\n", static_cast<int>(s));
  s = cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_DOUBLE, 2, 3, 8, 8);
  std::printf("cudnnSetTensor4dDescriptor: %d\n", static_cast<int>(s));
  cudnnDataType_t t = CUDNN_DATA_FLOAT;
  int nb = 0, dims[5] = {}, strides[5] = {};
  s = cudnnGetTensorNdDescriptor(x, 5, &t, &nb, dims, strides);
  std::printf("cudnnGetTensorNdDescriptor: %d type %d nb %d dims %d %d %d %d strides %d %d %d %d\n",
              static_cast<int>(s), static_cast<int>(t), nb, dims[0], dims[1], dims[2], dims[3],
              strides[0], strides[1], strides[2], strides[3]);
  cudnnFilterDescriptor_t w = nullptr;
  cudnnCreateFilterDescriptor(&w);
  const int wdims[4] = {4, 3, 3, 3};
  s = cudnnSetFilterNdDescriptor(w, CUDNN_DATA_DOUBLE, CUDNN_TENSOR_NCHW, 4, wdims);
  std::printf("cudnnSetFilterNdDescriptor: %d\n", static_cast<int>(s));
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnCreateConvolutionDescriptor(&conv);
  const int pad[2] = {1, 1}, stride[2] = {1, 1}, dil[2] = {1, 1};
  s = cudnnSetConvolutionNdDescriptor(conv, 2, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                      CUDNN_DATA_DOUBLE);
  std::printf("cudnnSetConvolutionNdDescriptor: %d\n", static_cast<int>(s));
  int out[4] = {};
  s = cudnnGetConvolutionNdForwardOutputDim(conv, x, w, 4, out);
  std::printf("cudnnGetConvolutionNdForwardOutputDim: %d %d %d %d %d\n", static_cast<int>(s),
              out[0], out[1], out[2], out[3]);
  s = cudnnSetConvolutionGroupCount(conv, 1);
  std::printf("cudnnSetConvolutionGroupCount: %d\n", static_cast<int>(s));
  s = cudnnSetConvolutionMathType(conv, CUDNN_TENSOR_OP_MATH);
  std::printf("cudnnSetConvolutionMathType: %d\n", static_cast<int>(s));
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  s = cudnnGetConvolutionMathType(conv, &math);
  std::printf("cudnnGetConvolutionMathType: %d %d\n", static_cast<int>(s), static_cast<int>(math));
  std::printf("cudnnDestroyConvolutionDescriptor: %d\n",
              static_cast<int>(cudnnDestroyConvolutionDescriptor(conv)));
  std::printf("cudnnDestroyFilterDescriptor: %d\n",
              static_cast<int>(cudnnDestroyFilterDescriptor(w)));
  std::printf("cudnnDestroyTensorDescriptor: %d\n",
              static_cast<int>(cudnnDestroyTensorDescriptor(x)));

  // The backend (graph) API: a tensor descriptor's attributes.
  cudnnBackendDescriptor_t bt = nullptr;
  s = cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &bt);
  std::printf("cudnnBackendCreateDescriptor: %d\n", static_cast<int>(s));
  cudnnDataType_t half = CUDNN_DATA_HALF;
  int64_t bdims[3] = {1, 16, 32}, bstrides[3] = {512, 32, 1}, uid = 7, align = 16;
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &half);
  std::printf("SetAttribute(DATA_TYPE): %d\n", static_cast<int>(s));
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 3, bdims);
  std::printf("SetAttribute(DIMENSIONS): %d\n", static_cast<int>(s));
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 3, bstrides);
  std::printf("SetAttribute(STRIDES): %d\n", static_cast<int>(s));
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  std::printf("SetAttribute(UNIQUE_ID): %d\n", static_cast<int>(s));
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
  std::printf("SetAttribute(BYTE_ALIGNMENT): %d\n", static_cast<int>(s));
  // A mismatched type is cuDNN's to refuse.
  s = cudnnBackendSetAttribute(bt, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_FLOAT, 1, &align);
  std::printf("SetAttribute(UNIQUE_ID as FLOAT): %d\n", static_cast<int>(s));
  s = cudnnBackendFinalize(bt);
  std::printf("cudnnBackendFinalize: %d\n", static_cast<int>(s));
  int64_t got[4] = {}, count = -1;
  s = cudnnBackendGetAttribute(bt, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, &count, got);
  std::printf("GetAttribute(DIMENSIONS): %d count %lld %lld %lld %lld %lld\n", static_cast<int>(s),
              static_cast<long long>(count), static_cast<long long>(got[0]),
              static_cast<long long>(got[1]), static_cast<long long>(got[2]),
              static_cast<long long>(got[3]));
  std::printf("cudnnBackendDestroyDescriptor: %d\n",
              static_cast<int>(cudnnBackendDestroyDescriptor(bt)));
  if (s == CUDNN_STATUS_SUCCESS && h != nullptr) cudnnDestroy(h);
  return 0;
}
