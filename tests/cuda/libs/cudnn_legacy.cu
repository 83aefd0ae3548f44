// cuDNN's descriptor ("legacy") API as PyTorch's cuDNN paths call it: the handle and its stream,
// versions and error strings, tensor/filter/convolution/pooling/activation descriptors read
// back, convolutions (forward, backward data, backward filter; algorithm search with Find*Ex
// and Get*_v7), fused convolution + bias + ReLU, pooling, activations, softmax, batch
// normalisation (plain and Ex forms), dropout and a two-layer LSTM through the v8 RNN API.
// Results are checked against the CPU where that is simple; otherwise a bit-exact digest of
// outputs that are deterministic, or a rounded sum of those that may not be.
#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "cudnn_common.h"

namespace {

cudnnHandle_t handle;

void set4d(cudnnTensorDescriptor_t d, int n, int c, int h, int w) {
  DNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}

cudnnTensorDescriptor_t tensor4d(int n, int c, int h, int w) {
  cudnnTensorDescriptor_t d;
  DNN_CHECK(cudnnCreateTensorDescriptor(&d));
  set4d(d, n, c, h, w);
  return d;
}

void versions() {
  std::printf("cudnnGetVersion: %zu\n", cudnnGetVersion());
  std::printf("cudnnGetCudartVersion: %zu\n", cudnnGetCudartVersion());
  int major = -1, minor = -1, patch = -1;
  DNN_REPORT(cudnnGetProperty(MAJOR_VERSION, &major));
  DNN_REPORT(cudnnGetProperty(MINOR_VERSION, &minor));
  DNN_REPORT(cudnnGetProperty(PATCH_LEVEL, &patch));
  std::printf("property version %d.%d.%d, matches cudnnGetVersion: %d\n", major, minor, patch,
              static_cast<size_t>(major * 10000 + minor * 100 + patch) == cudnnGetVersion());
  for (cudnnStatus_t s : {CUDNN_STATUS_SUCCESS, CUDNN_STATUS_NOT_INITIALIZED, CUDNN_STATUS_BAD_PARAM,
                          CUDNN_STATUS_BAD_PARAM_NULL_POINTER, CUDNN_STATUS_NOT_SUPPORTED,
                          CUDNN_STATUS_INTERNAL_ERROR, CUDNN_STATUS_EXECUTION_FAILED,
                          static_cast<cudnnStatus_t>(12345)})
    std::printf("cudnnGetErrorString(%d): %s\n", static_cast<int>(s), cudnnGetErrorString(s));
}

void handle_and_stream() {
  DNN_CHECK(cudnnCreate(&handle));
  cudaStream_t mine, got = nullptr;
  CHECK(cudaStreamCreate(&mine));
  DNN_REPORT(cudnnSetStream(handle, mine));
  DNN_REPORT(cudnnGetStream(handle, &got));
  std::printf("stream read back: %d\n", got == mine);
  DNN_REPORT(cudnnSetStream(handle, nullptr));
  DNN_REPORT(cudnnGetStream(handle, &got));
  std::printf("default stream read back: %d\n", got == nullptr);
  // A second handle, destroyed at once; everything below runs on `mine`.
  cudnnHandle_t other;
  DNN_REPORT(cudnnCreate(&other));
  DNN_REPORT(cudnnDestroy(other));
  DNN_CHECK(cudnnSetStream(handle, mine));
}

void descriptors() {
  cudnnTensorDescriptor_t t;
  DNN_CHECK(cudnnCreateTensorDescriptor(&t));
  cudnnDataType_t dt;
  int n, c, h, w, ns, cs, hs, ws;
  DNN_REPORT(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 3, 5, 7));
  DNN_REPORT(cudnnGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
  std::printf("tensor4d: type %d dims %d %d %d %d strides %d %d %d %d\n", dt, n, c, h, w, ns, cs, hs, ws);
  DNN_REPORT(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, 2, 3, 5, 7));
  DNN_REPORT(cudnnGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
  std::printf("tensor4d nhwc: type %d dims %d %d %d %d strides %d %d %d %d\n", dt, n, c, h, w, ns, cs, hs, ws);
  DNN_REPORT(cudnnSetTensor4dDescriptorEx(t, CUDNN_DATA_DOUBLE, 2, 3, 4, 5, 100, 30, 7, 1));
  DNN_REPORT(cudnnGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
  std::printf("tensor4dEx: type %d dims %d %d %d %d strides %d %d %d %d\n", dt, n, c, h, w, ns, cs, hs, ws);
  size_t bytes = 0;
  DNN_REPORT(cudnnGetTensorSizeInBytes(t, &bytes));
  std::printf("tensor4dEx bytes: %zu\n", bytes);

  const int dims5[5] = {2, 3, 4, 5, 6}, strides5[5] = {360, 120, 30, 6, 1};
  int nb = 0, gd[8] = {}, gs[8] = {};
  DNN_REPORT(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 5, dims5, strides5));
  DNN_REPORT(cudnnGetTensorNdDescriptor(t, 8, &dt, &nb, gd, gs));
  std::printf("tensorNd: type %d nb %d dims %d %d %d %d %d strides %d %d %d %d %d\n", dt, nb, gd[0], gd[1],
              gd[2], gd[3], gd[4], gs[0], gs[1], gs[2], gs[3], gs[4]);
  DNN_REPORT(cudnnSetTensorNdDescriptorEx(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 4, dims5));
  DNN_REPORT(cudnnGetTensorNdDescriptor(t, 8, &dt, &nb, gd, gs));
  std::printf("tensorNdEx nhwc: nb %d dims %d %d %d %d strides %d %d %d %d\n", nb, gd[0], gd[1], gd[2],
              gd[3], gs[0], gs[1], gs[2], gs[3]);
  DNN_REPORT(cudnnGetTensorSizeInBytes(t, &bytes));
  std::printf("tensorNdEx bytes: %zu\n", bytes);
  DNN_REPORT(cudnnDestroyTensorDescriptor(t));

  cudnnFilterDescriptor_t f;
  cudnnTensorFormat_t fmt;
  int k;
  DNN_REPORT(cudnnCreateFilterDescriptor(&f));
  DNN_REPORT(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, 3, 5));
  DNN_REPORT(cudnnGetFilter4dDescriptor(f, &dt, &fmt, &k, &c, &h, &w));
  std::printf("filter4d: type %d format %d dims %d %d %d %d\n", dt, fmt, k, c, h, w);
  DNN_REPORT(cudnnGetFilterSizeInBytes(f, &bytes));
  std::printf("filter4d bytes: %zu\n", bytes);
  DNN_REPORT(cudnnSetFilterNdDescriptor(f, CUDNN_DATA_HALF, CUDNN_TENSOR_NHWC, 5, dims5));
  DNN_REPORT(cudnnGetFilterNdDescriptor(f, 8, &dt, &fmt, &nb, gd));
  std::printf("filterNd: type %d format %d nb %d dims %d %d %d %d %d\n", dt, fmt, nb, gd[0], gd[1], gd[2],
              gd[3], gd[4]);
  DNN_REPORT(cudnnDestroyFilterDescriptor(f));

  cudnnConvolutionDescriptor_t cv;
  int ph, pw, u, v, dh, dw, groups = 0;
  cudnnConvolutionMode_t mode;
  cudnnMathType_t math;
  DNN_REPORT(cudnnCreateConvolutionDescriptor(&cv));
  DNN_REPORT(cudnnSetConvolution2dDescriptor(cv, 1, 2, 1, 2, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  DNN_REPORT(cudnnGetConvolution2dDescriptor(cv, &ph, &pw, &u, &v, &dh, &dw, &mode, &dt));
  std::printf("conv2d: pad %d %d stride %d %d dilation %d %d mode %d type %d\n", ph, pw, u, v, dh, dw, mode, dt);
  DNN_REPORT(cudnnSetConvolutionGroupCount(cv, 3));
  DNN_REPORT(cudnnGetConvolutionGroupCount(cv, &groups));
  DNN_REPORT(cudnnSetConvolutionMathType(cv, CUDNN_TENSOR_OP_MATH));
  DNN_REPORT(cudnnGetConvolutionMathType(cv, &math));
  std::printf("conv groups %d math %d\n", groups, math);
  DNN_REPORT(cudnnSetConvolutionMathType(cv, CUDNN_FMA_MATH));
  DNN_REPORT(cudnnGetConvolutionMathType(cv, &math));
  std::printf("conv math %d\n", math);
  {
    // Output shape of a grouped convolution: 2x6x9x11 input, 6 output channels of 2 inputs each.
    cudnnTensorDescriptor_t in = tensor4d(2, 6, 9, 11);
    cudnnFilterDescriptor_t fl;
    DNN_CHECK(cudnnCreateFilterDescriptor(&fl));
    DNN_CHECK(cudnnSetFilter4dDescriptor(fl, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 2, 3, 3));
    DNN_REPORT(cudnnGetConvolution2dForwardOutputDim(cv, in, fl, &n, &c, &h, &w));
    std::printf("conv2d output: %d %d %d %d\n", n, c, h, w);
    int out[4] = {};
    DNN_REPORT(cudnnGetConvolutionNdForwardOutputDim(cv, in, fl, 4, out));
    std::printf("convNd output: %d %d %d %d\n", out[0], out[1], out[2], out[3]);
    // Error: the filter's input channels do not divide into the groups' (6 / 3 = 2 != 4).
    DNN_CHECK(cudnnSetFilter4dDescriptor(fl, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 4, 3, 3));
    DNN_REPORT(cudnnGetConvolution2dForwardOutputDim(cv, in, fl, &n, &c, &h, &w));
    DNN_CHECK(cudnnDestroyFilterDescriptor(fl));
    DNN_CHECK(cudnnDestroyTensorDescriptor(in));
  }
  const int pad3[3] = {0, 1, 2}, str3[3] = {1, 2, 3}, dil3[3] = {1, 1, 2};
  int gp[3] = {}, gst[3] = {}, gdl[3] = {}, len = 0;
  DNN_REPORT(cudnnSetConvolutionNdDescriptor(cv, 3, pad3, str3, dil3, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT));
  DNN_REPORT(cudnnGetConvolutionNdDescriptor(cv, 3, &len, gp, gst, gdl, &mode, &dt));
  std::printf("convNd: len %d pad %d %d %d stride %d %d %d dilation %d %d %d mode %d type %d\n", len, gp[0],
              gp[1], gp[2], gst[0], gst[1], gst[2], gdl[0], gdl[1], gdl[2], mode, dt);
  DNN_REPORT(cudnnDestroyConvolutionDescriptor(cv));

  cudnnPoolingDescriptor_t p;
  cudnnPoolingMode_t pm;
  cudnnNanPropagation_t nan;
  DNN_REPORT(cudnnCreatePoolingDescriptor(&p));
  DNN_REPORT(cudnnSetPooling2dDescriptor(p, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 3, 2, 1, 0, 2, 2));
  DNN_REPORT(cudnnGetPooling2dDescriptor(p, &pm, &nan, &h, &w, &ph, &pw, &u, &v));
  std::printf("pool2d: mode %d nan %d window %d %d pad %d %d stride %d %d\n", pm, nan, h, w, ph, pw, u, v);
  {
    cudnnTensorDescriptor_t in = tensor4d(2, 3, 9, 8);
    DNN_REPORT(cudnnGetPooling2dForwardOutputDim(p, in, &n, &c, &h, &w));
    std::printf("pool2d output: %d %d %d %d\n", n, c, h, w);
    DNN_CHECK(cudnnDestroyTensorDescriptor(in));
  }
  const int win2[2] = {2, 3}, pad2[2] = {1, 1}, str2[2] = {1, 2};
  int gwin[2] = {}, gpad[2] = {}, gstr[2] = {};
  DNN_REPORT(cudnnSetPoolingNdDescriptor(p, CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING, CUDNN_PROPAGATE_NAN,
                                         2, win2, pad2, str2));
  DNN_REPORT(cudnnGetPoolingNdDescriptor(p, 2, &pm, &nan, &nb, gwin, gpad, gstr));
  std::printf("poolNd: mode %d nan %d nb %d window %d %d pad %d %d stride %d %d\n", pm, nan, nb, gwin[0],
              gwin[1], gpad[0], gpad[1], gstr[0], gstr[1]);
  DNN_REPORT(cudnnDestroyPoolingDescriptor(p));

  cudnnActivationDescriptor_t a;
  DNN_REPORT(cudnnCreateActivationDescriptor(&a));
  for (auto [am, coef] : {std::make_tuple(CUDNN_ACTIVATION_RELU, 0.0), std::make_tuple(CUDNN_ACTIVATION_SIGMOID, 0.0),
                          std::make_tuple(CUDNN_ACTIVATION_TANH, 0.0),
                          std::make_tuple(CUDNN_ACTIVATION_CLIPPED_RELU, 6.0)}) {
    cudnnActivationMode_t gm;
    double gc = -1;
    DNN_REPORT(cudnnSetActivationDescriptor(a, am, CUDNN_PROPAGATE_NAN, coef));
    DNN_REPORT(cudnnGetActivationDescriptor(a, &gm, &nan, &gc));
    std::printf("activation: mode %d nan %d coef %g\n", gm, nan, gc);
  }
  DNN_REPORT(cudnnDestroyActivationDescriptor(a));
}

void errors() {
  DNN_REPORT(cudnnSetTensor4dDescriptor(nullptr, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, 1));
  cudnnTensorDescriptor_t t;
  DNN_CHECK(cudnnCreateTensorDescriptor(&t));
  DNN_REPORT(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 0, 3, 4, 4));
  DNN_REPORT(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, -3, 4, 4));
  const int dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, strides[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  DNN_REPORT(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, 9, dims, strides));
  DNN_REPORT(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, -1, dims, strides));
  DNN_CHECK(cudnnDestroyTensorDescriptor(t));
}

// ---- convolutions ------------------------------------------------------------------------------
constexpr int N = 2, C = 3, H = 8, W = 8, K = 4, R = 3, S = 3, PAD = 1;  // stride 1: P = H, Q = W

float at(const std::vector<float>& x, int n, int c, int h, int w, int cc, int hh, int ww) {
  if (h < 0 || h >= hh || w < 0 || w >= ww) return 0;
  return x[((n * cc + c) * hh + h) * ww + w];
}

std::vector<float> cpu_conv(const std::vector<float>& x, const std::vector<float>& w) {
  std::vector<float> y(N * K * H * W);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k)
      for (int p = 0; p < H; ++p)
        for (int q = 0; q < W; ++q) {
          double s = 0;
          for (int c = 0; c < C; ++c)
            for (int r = 0; r < R; ++r)
              for (int t = 0; t < S; ++t)
                s += at(x, n, c, p + r - PAD, q + t - PAD, C, H, W) * w[((k * C + c) * R + r) * S + t];
          y[((n * K + k) * H + p) * W + q] = static_cast<float>(s);
        }
  return y;
}

std::vector<float> cpu_conv_bwd_data(const std::vector<float>& dy, const std::vector<float>& w) {
  std::vector<float> dx(N * C * H * W, 0);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k)
      for (int p = 0; p < H; ++p)
        for (int q = 0; q < W; ++q)
          for (int c = 0; c < C; ++c)
            for (int r = 0; r < R; ++r)
              for (int t = 0; t < S; ++t) {
                int h = p + r - PAD, x = q + t - PAD;
                if (h < 0 || h >= H || x < 0 || x >= W) continue;
                dx[((n * C + c) * H + h) * W + x] +=
                    dy[((n * K + k) * H + p) * W + q] * w[((k * C + c) * R + r) * S + t];
              }
  return dx;
}

std::vector<float> cpu_conv_bwd_filter(const std::vector<float>& x, const std::vector<float>& dy) {
  std::vector<float> dw(K * C * R * S, 0);
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < S; ++t) {
          double s = 0;
          for (int n = 0; n < N; ++n)
            for (int p = 0; p < H; ++p)
              for (int q = 0; q < W; ++q)
                s += dy[((n * K + k) * H + p) * W + q] * at(x, n, c, p + r - PAD, q + t - PAD, C, H, W);
          dw[((k * C + c) * R + r) * S + t] = static_cast<float>(s);
        }
  return dw;
}

// Find*Ex returns its results ordered by measured time: print them ordered by algorithm.
template <typename Perf>
void print_found(const char* what, const Perf* perf, int count) {
  std::vector<std::tuple<int, int, int>> rows;
  bool any = false;
  for (int i = 0; i < count; ++i) {
    rows.emplace_back(perf[i].algo, perf[i].mathType, perf[i].status);
    any = any || perf[i].status == CUDNN_STATUS_SUCCESS;
  }
  std::sort(rows.begin(), rows.end());
  std::printf("%s: %d results\n", what, count);
  for (auto [algo, math, status] : rows)
    std::printf("  algo %d math %d: %s\n", algo, math, dnn_status_name(static_cast<cudnnStatus_t>(status)));
  std::printf("%s: at least one succeeded: %d\n", what, any);
}

void convolutions() {
  const float one = 1, zero = 0;
  auto hx = dyadic(N * C * H * W, 1), hw = dyadic(K * C * R * S, 2), hdy = dyadic(N * K * H * W, 3);
  auto hb = dyadic(K, 4);
  float *x = to_device(hx), *w = to_device(hw), *dy = to_device(hdy), *bias = to_device(hb);
  float *y = device_zeros<float>(N * K * H * W), *dx = device_zeros<float>(N * C * H * W);
  float* dw = device_zeros<float>(K * C * R * S);

  cudnnTensorDescriptor_t xd = tensor4d(N, C, H, W), yd = tensor4d(N, K, H, W), bd = tensor4d(1, K, 1, 1);
  cudnnFilterDescriptor_t wd;
  DNN_CHECK(cudnnCreateFilterDescriptor(&wd));
  DNN_CHECK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, K, C, R, S));
  cudnnConvolutionDescriptor_t cd;
  DNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
  DNN_CHECK(cudnnSetConvolution2dDescriptor(cd, PAD, PAD, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  int n, c, h, wo;
  DNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &h, &wo));
  std::printf("conv output: %d %d %d %d\n", n, c, h, wo);

  const size_t ws_size = size_t{64} << 20;
  void* ws;
  CHECK(cudaMalloc(&ws, ws_size));

  // Algorithm search. The algorithm that computes is fixed below, whatever the search says.
  int maxf = 0, maxd = 0, maxw = 0, got = 0;
  DNN_REPORT(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &maxf));
  DNN_REPORT(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &maxd));
  DNN_REPORT(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &maxw));
  std::printf("max algorithm counts: fwd %d bwd data %d bwd filter %d\n", maxf, maxd, maxw);
  {
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(maxf);
    DNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(handle, xd, x, wd, w, cd, yd, y, maxf, &got, perf.data(), ws,
                                                     ws_size));
    print_found("fwd find", perf.data(), got);
    DNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, xd, wd, cd, yd, maxf, &got, perf.data()));
    std::printf("fwd get_v7: %d results\n", got);
  }
  {
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(maxd);
    DNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(handle, wd, w, yd, dy, cd, xd, dx, maxd, &got,
                                                          perf.data(), ws, ws_size));
    print_found("bwd data find", perf.data(), got);
    DNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wd, yd, cd, xd, maxd, &got, perf.data()));
    std::printf("bwd data get_v7: %d results\n", got);
  }
  {
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(maxw);
    DNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(handle, xd, x, yd, dy, cd, wd, dw, maxw, &got,
                                                            perf.data(), ws, ws_size));
    print_found("bwd filter find", perf.data(), got);
    DNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xd, yd, cd, wd, maxw, &got, perf.data()));
    std::printf("bwd filter get_v7: %d results\n", got);
  }

  size_t need = 0;
  DNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                                    &need));
  std::printf("fwd implicit gemm workspace fits: %d\n", need <= ws_size);
  CHECK(cudaMemset(y, 0, N * K * H * W * sizeof(float)));
  DNN_CHECK(cudnnConvolutionForward(handle, &one, xd, x, wd, w, cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, ws,
                                    ws_size, &zero, yd, y));
  auto ref = cpu_conv(hx, hw);
  auto hy = to_host(y, N * K * H * W);
  expect(all_close(hy, ref, 1e-5, 1e-5), "conv forward (implicit gemm) vs CPU");
  print_digest("conv forward", hy);

  DNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, wd, yd, cd, xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                                         &need));
  std::printf("bwd data algo 1 workspace fits: %d\n", need <= ws_size);
  CHECK(cudaMemset(dx, 0, N * C * H * W * sizeof(float)));
  DNN_CHECK(cudnnConvolutionBackwardData(handle, &one, wd, w, yd, dy, cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, ws,
                                         ws_size, &zero, xd, dx));
  auto hdx = to_host(dx, N * C * H * W);
  expect(all_close(hdx, cpu_conv_bwd_data(hdy, hw), 1e-5, 1e-5), "conv backward data (algo 1) vs CPU");
  print_digest("conv backward data", hdx);

  DNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xd, yd, cd, wd,
                                                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &need));
  std::printf("bwd filter algo 1 workspace fits: %d\n", need <= ws_size);
  CHECK(cudaMemset(dw, 0, K * C * R * S * sizeof(float)));
  DNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, xd, x, yd, dy, cd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, ws,
                                           ws_size, &zero, wd, dw));
  auto hdw = to_host(dw, K * C * R * S);
  expect(all_close(hdw, cpu_conv_bwd_filter(hx, hdy), 1e-5, 1e-5), "conv backward filter (algo 1) vs CPU");
  print_digest("conv backward filter", hdw);

  // Bias gradient: the sum of dy over n, h, w.
  float* db = device_zeros<float>(K);
  DNN_CHECK(cudnnConvolutionBackwardBias(handle, &one, yd, dy, &zero, bd, db));
  {
    std::vector<float> want(K, 0);
    for (int i = 0; i < N * K * H * W; ++i) want[(i / (H * W)) % K] += hdy[i];
    expect(all_close(to_host(db, K), want, 1e-5, 1e-5), "conv backward bias vs CPU");
  }

  // y = relu(conv(x, w) + bias) with z = y and alpha2 = 0.
  cudnnActivationDescriptor_t relu;
  DNN_CHECK(cudnnCreateActivationDescriptor(&relu));
  DNN_CHECK(cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
  DNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
      handle, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &need));
  std::printf("fwd precomp gemm workspace fits: %d\n", need <= ws_size);
  CHECK(cudaMemset(y, 0, N * K * H * W * sizeof(float)));
  DNN_CHECK(cudnnConvolutionBiasActivationForward(handle, &one, xd, x, wd, w, cd,
                                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws, ws_size,
                                                  &zero, yd, y, bd, bias, relu, yd, y));
  for (size_t i = 0; i < ref.size(); ++i) ref[i] = std::max(0.0f, ref[i] + hb[(i / (H * W)) % K]);
  hy = to_host(y, N * K * H * W);
  expect(all_close(hy, ref, 1e-5, 1e-5), "conv bias relu forward vs CPU");
  print_digest("conv bias relu forward", hy);

  DNN_CHECK(cudnnDestroyActivationDescriptor(relu));
  DNN_CHECK(cudnnDestroyConvolutionDescriptor(cd));
  DNN_CHECK(cudnnDestroyFilterDescriptor(wd));
  for (auto d : {xd, yd, bd}) DNN_CHECK(cudnnDestroyTensorDescriptor(d));
  for (void* p : {static_cast<void*>(x), static_cast<void*>(w), static_cast<void*>(dy), static_cast<void*>(bias),
                  static_cast<void*>(y), static_cast<void*>(dx), static_cast<void*>(dw), static_cast<void*>(db), ws})
    CHECK(cudaFree(p));
}

// ---- pooling -----------------------------------------------------------------------------------
void pooling() {
  const float one = 1, zero = 0;
  const int n = 2, c = 3, h = 8, w = 8;
  auto hx = spread(n * c * h * w, 5, -4, 4);
  float* x = to_device(hx);
  cudnnTensorDescriptor_t xd = tensor4d(n, c, h, w);
  cudnnPoolingDescriptor_t pd;
  DNN_CHECK(cudnnCreatePoolingDescriptor(&pd));

  // Max 2x2, stride 2.
  DNN_CHECK(cudnnSetPooling2dDescriptor(pd, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2));
  int on, oc, oh, ow;
  DNN_CHECK(cudnnGetPooling2dForwardOutputDim(pd, xd, &on, &oc, &oh, &ow));
  std::printf("max pool output: %d %d %d %d\n", on, oc, oh, ow);
  const int ny = on * oc * oh * ow;
  cudnnTensorDescriptor_t yd = tensor4d(on, oc, oh, ow);
  float *y = device_zeros<float>(ny), *dx = device_zeros<float>(n * c * h * w);
  auto hdy = dyadic(ny, 6);
  float* dy = to_device(hdy);
  DNN_CHECK(cudnnPoolingForward(handle, pd, &one, xd, x, &zero, yd, y));
  std::vector<float> want(ny), want_dx(n * c * h * w, 0);
  for (int i = 0; i < on * oc; ++i)
    for (int p = 0; p < oh; ++p)
      for (int q = 0; q < ow; ++q) {
        int best = -1;
        for (int r = 0; r < 2; ++r)
          for (int s = 0; s < 2; ++s) {
            int at = (i * h + 2 * p + r) * w + 2 * q + s;
            if (best < 0 || hx[at] > hx[best]) best = at;
          }
        want[(i * oh + p) * ow + q] = hx[best];
        want_dx[best] += hdy[(i * oh + p) * ow + q];
      }
  auto hy = to_host(y, ny);
  expect(all_close(hy, want, 0, 0), "max pool forward vs CPU");
  DNN_CHECK(cudnnPoolingBackward(handle, pd, &one, yd, y, yd, dy, xd, x, &zero, xd, dx));
  expect(all_close(to_host(dx, n * c * h * w), want_dx, 0, 0), "max pool backward vs CPU");

  // Average 3x3 counting the padding, padding 1, stride 1: same size as the input.
  DNN_CHECK(cudnnSetPooling2dDescriptor(pd, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, CUDNN_NOT_PROPAGATE_NAN, 3,
                                        3, 1, 1, 1, 1));
  DNN_CHECK(cudnnGetPooling2dForwardOutputDim(pd, xd, &on, &oc, &oh, &ow));
  std::printf("average pool output: %d %d %d %d\n", on, oc, oh, ow);
  float* ya = device_zeros<float>(n * c * h * w);
  auto hdya = dyadic(n * c * h * w, 7);
  float* dya = to_device(hdya);
  DNN_CHECK(cudnnPoolingForward(handle, pd, &one, xd, x, &zero, xd, ya));
  std::vector<float> wa(n * c * h * w, 0), wdx(n * c * h * w, 0);
  for (int i = 0; i < n * c; ++i)
    for (int p = 0; p < h; ++p)
      for (int q = 0; q < w; ++q) {
        double s = 0;
        for (int r = -1; r <= 1; ++r)
          for (int t = -1; t <= 1; ++t) {
            int hh = p + r, ww = q + t;
            if (hh < 0 || hh >= h || ww < 0 || ww >= w) continue;
            s += hx[(i * h + hh) * w + ww];
            wdx[(i * h + hh) * w + ww] += hdya[(i * h + p) * w + q] / 9.0f;
          }
        wa[(i * h + p) * w + q] = static_cast<float>(s / 9);
      }
  auto hya = to_host(ya, n * c * h * w);
  expect(all_close(hya, wa, 1e-5, 1e-5), "average pool forward vs CPU");
  DNN_CHECK(cudnnPoolingBackward(handle, pd, &one, xd, ya, xd, dya, xd, x, &zero, xd, dx));
  expect(all_close(to_host(dx, n * c * h * w), wdx, 1e-5, 1e-5), "average pool backward vs CPU");

  DNN_CHECK(cudnnDestroyPoolingDescriptor(pd));
  DNN_CHECK(cudnnDestroyTensorDescriptor(xd));
  DNN_CHECK(cudnnDestroyTensorDescriptor(yd));
  for (float* p : {x, y, dx, dy, ya, dya}) CHECK(cudaFree(p));
}

// ---- activations -------------------------------------------------------------------------------
void activations() {
  const float one = 1, zero = 0;
  const int n = 2, c = 3, h = 5, w = 7, count = n * c * h * w;
  auto hx = spread(count, 8, -3, 3), hdy = spread(count, 9, -1, 1);
  float *x = to_device(hx), *dy = to_device(hdy), *y = device_zeros<float>(count), *dx = device_zeros<float>(count);
  cudnnTensorDescriptor_t d = tensor4d(n, c, h, w);
  cudnnActivationDescriptor_t a;
  DNN_CHECK(cudnnCreateActivationDescriptor(&a));
  const struct {
    cudnnActivationMode_t mode;
    const char* name;
  } modes[] = {{CUDNN_ACTIVATION_RELU, "relu"}, {CUDNN_ACTIVATION_SIGMOID, "sigmoid"}, {CUDNN_ACTIVATION_TANH, "tanh"}};
  for (auto m : modes) {
    DNN_CHECK(cudnnSetActivationDescriptor(a, m.mode, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    DNN_CHECK(cudnnActivationForward(handle, a, &one, d, x, &zero, d, y));
    auto hy = to_host(y, count);
    std::vector<float> want(count), want_dx(count);
    for (int i = 0; i < count; ++i) {
      double v = hx[i];
      double f = m.mode == CUDNN_ACTIVATION_RELU ? std::max(0.0, v)
                 : m.mode == CUDNN_ACTIVATION_SIGMOID ? 1 / (1 + std::exp(-v))
                                                     : std::tanh(v);
      want[i] = static_cast<float>(f);
      double yy = hy[i];  // the derivative from the GPU's own forward result
      double g = m.mode == CUDNN_ACTIVATION_RELU ? (v > 0 ? 1.0 : 0.0)
                 : m.mode == CUDNN_ACTIVATION_SIGMOID ? yy * (1 - yy)
                                                     : 1 - yy * yy;
      want_dx[i] = static_cast<float>(hdy[i] * g);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%s forward vs CPU", m.name);
    expect(all_close(hy, want, 1e-5, 1e-4), what);
    DNN_CHECK(cudnnActivationBackward(handle, a, &one, d, y, d, dy, d, x, &zero, d, dx));
    std::snprintf(what, sizeof what, "%s backward vs CPU", m.name);
    expect(all_close(to_host(dx, count), want_dx, 1e-5, 1e-4), what);
  }
  DNN_CHECK(cudnnDestroyActivationDescriptor(a));

  // Softmax over the channels, accurate and log.
  const int sc = 5;
  auto sx = spread(n * sc * h * w, 10, -2, 2), sdy = spread(n * sc * h * w, 11, -1, 1);
  float *x2 = to_device(sx), *dy2 = to_device(sdy), *y2 = device_zeros<float>(sx.size()),
        *dx2 = device_zeros<float>(sx.size());
  cudnnTensorDescriptor_t sd = tensor4d(n, sc, h, w);
  for (auto algo : {CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_LOG}) {
    const bool log = algo == CUDNN_SOFTMAX_LOG;
    DNN_CHECK(cudnnSoftmaxForward(handle, algo, CUDNN_SOFTMAX_MODE_CHANNEL, &one, sd, x2, &zero, sd, y2));
    auto hy = to_host(y2, sx.size());
    std::vector<float> want(sx.size()), want_dx(sx.size());
    for (int i = 0; i < n; ++i)
      for (int p = 0; p < h * w; ++p) {
        auto idx = [&](int ch) { return (i * sc + ch) * h * w + p; };
        double mx = sx[idx(0)], sum = 0, dot = 0, dsum = 0;
        for (int ch = 1; ch < sc; ++ch) mx = std::max<double>(mx, sx[idx(ch)]);
        for (int ch = 0; ch < sc; ++ch) sum += std::exp(sx[idx(ch)] - mx);
        for (int ch = 0; ch < sc; ++ch) {
          double e = sx[idx(ch)] - mx;
          want[idx(ch)] = static_cast<float>(log ? e - std::log(sum) : std::exp(e) / sum);
          dot += static_cast<double>(sdy[idx(ch)]) * hy[idx(ch)];
          dsum += sdy[idx(ch)];
        }
        for (int ch = 0; ch < sc; ++ch)
          want_dx[idx(ch)] = static_cast<float>(log ? sdy[idx(ch)] - std::exp(static_cast<double>(hy[idx(ch)])) * dsum
                                                    : hy[idx(ch)] * (sdy[idx(ch)] - dot));
      }
    expect(all_close(hy, want, 1e-5, 1e-4), log ? "log softmax forward vs CPU" : "softmax forward vs CPU");
    DNN_CHECK(cudnnSoftmaxBackward(handle, algo, CUDNN_SOFTMAX_MODE_CHANNEL, &one, sd, y2, sd, dy2, &zero, sd, dx2));
    expect(all_close(to_host(dx2, sx.size()), want_dx, 1e-5, 1e-4),
           log ? "log softmax backward vs CPU" : "softmax backward vs CPU");
  }
  DNN_CHECK(cudnnDestroyTensorDescriptor(d));
  DNN_CHECK(cudnnDestroyTensorDescriptor(sd));
  for (float* p : {x, dy, y, dx, x2, dy2, y2, dx2}) CHECK(cudaFree(p));
}

// ---- batch normalisation -----------------------------------------------------------------------
void batch_norm() {
  const float one = 1, zero = 0;
  const int n = 4, c = 3, h = 5, w = 5, count = n * c * h * w, m = n * h * w;
  const double eps = 1e-5, factor = 0.5;
  auto hx = spread(count, 12, -2, 2), hdy = spread(count, 13, -1, 1);
  for (int i = 0; i < count; ++i) hx[i] += static_cast<float>((i / (h * w)) % c);  // per-channel means differ
  const std::vector<float> gamma = {1.5f, 0.5f, -1.0f}, beta = {0.25f, -0.5f, 1.0f};
  float *x = to_device(hx), *dy = to_device(hdy), *y = device_zeros<float>(count), *dx = device_zeros<float>(count);
  float *sc = to_device(gamma), *bi = to_device(beta);
  float *rmean = device_zeros<float>(c), *rvar = device_zeros<float>(c), *smean = device_zeros<float>(c),
        *sinv = device_zeros<float>(c), *dsc = device_zeros<float>(c), *dbi = device_zeros<float>(c);
  const std::vector<float> ones(c, 1.0f), zeros(c, 0.0f);

  cudnnTensorDescriptor_t xd = tensor4d(n, c, h, w), bd;
  DNN_CHECK(cudnnCreateTensorDescriptor(&bd));
  DNN_REPORT(cudnnDeriveBNTensorDescriptor(bd, xd, CUDNN_BATCHNORM_SPATIAL));
  {
    cudnnDataType_t dt;
    int a, b, cc, d, s0, s1, s2, s3;
    DNN_CHECK(cudnnGetTensor4dDescriptor(bd, &dt, &a, &b, &cc, &d, &s0, &s1, &s2, &s3));
    std::printf("bn derived: type %d dims %d %d %d %d\n", dt, a, b, cc, d);
  }

  // CPU reference.
  std::vector<double> mean(c, 0), var(c, 0);
  for (int i = 0; i < count; ++i) mean[(i / (h * w)) % c] += hx[i];
  for (auto& v : mean) v /= m;
  for (int i = 0; i < count; ++i) {
    double d = hx[i] - mean[(i / (h * w)) % c];
    var[(i / (h * w)) % c] += d * d;
  }
  for (auto& v : var) v /= m;
  std::vector<float> want_y(count), want_rmean(c), want_rvar(c), want_smean(c), want_sinv(c);
  std::vector<double> dbeta(c, 0), dgamma(c, 0);
  for (int ch = 0; ch < c; ++ch) {
    want_rmean[ch] = static_cast<float>(factor * mean[ch]);
    want_rvar[ch] = static_cast<float>((1 - factor) * 1.0 + factor * var[ch] * m / (m - 1));
    want_smean[ch] = static_cast<float>(mean[ch]);
    want_sinv[ch] = static_cast<float>(1 / std::sqrt(var[ch] + eps));
  }
  for (int i = 0; i < count; ++i) {
    int ch = (i / (h * w)) % c;
    double xhat = (hx[i] - mean[ch]) * want_sinv[ch];
    want_y[i] = static_cast<float>(gamma[ch] * xhat + beta[ch]);
    dbeta[ch] += hdy[i];
    dgamma[ch] += hdy[i] * xhat;
  }
  std::vector<float> want_dx(count), want_dsc(c), want_dbi(c);
  for (int i = 0; i < count; ++i) {
    int ch = (i / (h * w)) % c;
    double xhat = (hx[i] - mean[ch]) * want_sinv[ch];
    want_dx[i] = static_cast<float>(gamma[ch] * want_sinv[ch] / m * (m * hdy[i] - dbeta[ch] - xhat * dgamma[ch]));
  }
  for (int ch = 0; ch < c; ++ch) {
    want_dsc[ch] = static_cast<float>(dgamma[ch]);
    want_dbi[ch] = static_cast<float>(dbeta[ch]);
  }

  auto reset_running = [&] {
    CHECK(cudaMemcpy(rmean, zeros.data(), c * sizeof(float), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(rvar, ones.data(), c * sizeof(float), cudaMemcpyHostToDevice));
  };
  auto check_forward = [&](const char* what) {
    std::string s(what);
    expect(all_close(to_host(y, count), want_y, 1e-4, 1e-4), (s + " y vs CPU").c_str());
    expect(all_close(to_host(rmean, c), want_rmean, 1e-5, 1e-4), (s + " running mean vs CPU").c_str());
    expect(all_close(to_host(rvar, c), want_rvar, 1e-5, 1e-4), (s + " running variance vs CPU").c_str());
    expect(all_close(to_host(smean, c), want_smean, 1e-5, 1e-4), (s + " saved mean vs CPU").c_str());
    expect(all_close(to_host(sinv, c), want_sinv, 1e-5, 1e-4), (s + " saved inverse std vs CPU").c_str());
  };
  auto check_backward = [&](const char* what) {
    std::string s(what);
    expect(all_close(to_host(dx, count), want_dx, 1e-4, 1e-3), (s + " dx vs CPU").c_str());
    expect(all_close(to_host(dsc, c), want_dsc, 1e-4, 1e-4), (s + " dscale vs CPU").c_str());
    expect(all_close(to_host(dbi, c), want_dbi, 1e-4, 1e-4), (s + " dbias vs CPU").c_str());
  };

  reset_running();
  DNN_CHECK(cudnnBatchNormalizationForwardTraining(handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x, xd, y, bd,
                                                   sc, bi, factor, rmean, rvar, eps, smean, sinv));
  check_forward("bn training");
  DNN_CHECK(cudnnBatchNormalizationBackward(handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd, x, xd, dy,
                                            xd, dx, bd, sc, dsc, dbi, eps, smean, sinv));
  check_backward("bn backward");

  // Inference with given statistics.
  const std::vector<float> emean = {0.5f, 1.0f, 2.5f}, evar = {1.0f, 0.25f, 4.0f};
  float *em = to_device(emean), *ev = to_device(evar);
  DNN_CHECK(cudnnBatchNormalizationForwardInference(handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x, xd, y, bd,
                                                    sc, bi, em, ev, eps));
  std::vector<float> want_inf(count);
  for (int i = 0; i < count; ++i) {
    int ch = (i / (h * w)) % c;
    want_inf[i] = static_cast<float>(gamma[ch] * (hx[i] - emean[ch]) / std::sqrt(evar[ch] + eps) + beta[ch]);
  }
  expect(all_close(to_host(y, count), want_inf, 1e-4, 1e-4), "bn inference vs CPU");

  // The Ex forms, plain batch norm (no activation, no addition).
  size_t fws = 0, bws = 0, rs = 0;
  cudnnStatus_t s1 = DNN_REPORT(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
      handle, CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, xd, nullptr, xd, bd, nullptr, &fws));
  cudnnStatus_t s2 = DNN_REPORT(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
      handle, CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, nullptr, xd, &rs));
  cudnnStatus_t s3 = DNN_REPORT(cudnnGetBatchNormalizationBackwardExWorkspaceSize(
      handle, CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, xd, xd, xd, nullptr, xd, bd, nullptr, &bws));
  std::printf("bn ex sizes: forward workspace %zu reserve %zu backward workspace %zu\n", fws, rs, bws);
  if (s1 == CUDNN_STATUS_SUCCESS && s2 == CUDNN_STATUS_SUCCESS && s3 == CUDNN_STATUS_SUCCESS) {
    void *fw = nullptr, *bw = nullptr, *res = nullptr;
    CHECK(cudaMalloc(&fw, fws + 16));
    CHECK(cudaMalloc(&bw, bws + 16));
    CHECK(cudaMalloc(&res, rs + 16));
    reset_running();
    CHECK(cudaMemset(y, 0, count * sizeof(float)));
    cudnnStatus_t f = DNN_REPORT(cudnnBatchNormalizationForwardTrainingEx(
        handle, CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, &one, &zero, xd, x, nullptr, nullptr, xd, y, bd, sc,
        bi, factor, rmean, rvar, eps, smean, sinv, nullptr, fw, fws, res, rs));
    if (f == CUDNN_STATUS_SUCCESS) check_forward("bn training ex");
    CHECK(cudaMemset(dx, 0, count * sizeof(float)));
    CHECK(cudaMemset(dsc, 0, c * sizeof(float)));
    CHECK(cudaMemset(dbi, 0, c * sizeof(float)));
    cudnnStatus_t b = DNN_REPORT(cudnnBatchNormalizationBackwardEx(
        handle, CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, &one, &zero, &one, &zero, xd, x, xd, y, xd, dy,
        nullptr, nullptr, xd, dx, bd, sc, bi, dsc, dbi, eps, smean, sinv, nullptr, bw, bws, res, rs));
    if (b == CUDNN_STATUS_SUCCESS) check_backward("bn backward ex");
    for (void* p : {fw, bw, res}) CHECK(cudaFree(p));
  }

  DNN_CHECK(cudnnDestroyTensorDescriptor(xd));
  DNN_CHECK(cudnnDestroyTensorDescriptor(bd));
  for (float* p : {x, dy, y, dx, sc, bi, rmean, rvar, smean, sinv, dsc, dbi, em, ev}) CHECK(cudaFree(p));
}

// ---- dropout -----------------------------------------------------------------------------------
void dropout() {
  const int n = 2, c = 4, h = 16, w = 16, count = n * c * h * w;
  auto hx = dyadic(count, 14), hdy = dyadic(count, 15);
  float *x = to_device(hx), *dy = to_device(hdy), *y = device_zeros<float>(count), *dx = device_zeros<float>(count);
  cudnnTensorDescriptor_t d = tensor4d(n, c, h, w);
  size_t states_size = 0, reserve_size = 0;
  DNN_CHECK(cudnnDropoutGetStatesSize(handle, &states_size));
  DNN_CHECK(cudnnDropoutGetReserveSpaceSize(d, &reserve_size));
  std::printf("dropout states size %zu reserve size %zu\n", states_size, reserve_size);
  void *states, *reserve;
  CHECK(cudaMalloc(&states, states_size));
  CHECK(cudaMalloc(&reserve, reserve_size));
  cudnnDropoutDescriptor_t dd;
  DNN_CHECK(cudnnCreateDropoutDescriptor(&dd));
  DNN_REPORT(cudnnSetDropoutDescriptor(dd, handle, 0.5f, states, states_size, 2024ull));
  float p = -1;
  void* got_states = nullptr;
  unsigned long long seed = 0;
  DNN_REPORT(cudnnGetDropoutDescriptor(dd, handle, &p, &got_states, &seed));
  std::printf("dropout read back: p %g seed %llu same states %d\n", p, seed, got_states == states);
  DNN_CHECK(cudnnDropoutForward(handle, dd, d, x, d, y, reserve, reserve_size));
  DNN_CHECK(cudnnDropoutBackward(handle, dd, d, dy, d, dx, reserve, reserve_size));
  auto hy = to_host(y, count), hdx = to_host(dx, count);
  // Each output is the input scaled by 1 / (1 - p) = 2 or dropped; dx keeps the same elements.
  bool ok = true;
  int kept = 0, known = 0;
  for (int i = 0; i < count; ++i) {
    if (hx[i] == 0) {
      ok = ok && hy[i] == 0;
      continue;
    }
    ++known;
    bool keep = hy[i] != 0;
    kept += keep;
    ok = ok && (keep ? hy[i] == 2 * hx[i] : true) && hdx[i] == (keep ? 2 * hdy[i] : 0.0f);
  }
  std::printf("dropout kept %d of %d\n", kept, known);
  expect(ok && kept > known / 4 && kept < known * 3 / 4, "dropout forward/backward consistent");
  print_digest("dropout forward", hy);
  print_digest("dropout backward", hdx);
  DNN_CHECK(cudnnDestroyDropoutDescriptor(dd));
  DNN_CHECK(cudnnDestroyTensorDescriptor(d));
  for (void* q : {static_cast<void*>(x), static_cast<void*>(dy), static_cast<void*>(y), static_cast<void*>(dx), states,
                  reserve})
    CHECK(cudaFree(q));
}

// ---- LSTM (v8 RNN API) -------------------------------------------------------------------------
void lstm() {
  const int input = 8, hidden = 16, layers = 2, batch = 3, seq = 5;
  const int lengths[batch] = {5, 3, 4};
  size_t states_size = 0;
  DNN_CHECK(cudnnDropoutGetStatesSize(handle, &states_size));
  void* states;
  CHECK(cudaMalloc(&states, states_size));
  cudnnDropoutDescriptor_t dd;
  DNN_CHECK(cudnnCreateDropoutDescriptor(&dd));
  DNN_CHECK(cudnnSetDropoutDescriptor(dd, handle, 0.0f, states, states_size, 7ull));

  cudnnRNNDescriptor_t rnn;
  DNN_CHECK(cudnnCreateRNNDescriptor(&rnn));
  DNN_REPORT(cudnnSetRNNDescriptor_v8(rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                      CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                                      CUDNN_DEFAULT_MATH, input, hidden, hidden, layers, dd,
                                      CUDNN_RNN_PADDED_IO_ENABLED));
  {
    cudnnRNNAlgo_t algo;
    cudnnRNNMode_t cell;
    cudnnRNNBiasMode_t bias;
    cudnnDirectionMode_t dir;
    cudnnRNNInputMode_t in;
    cudnnDataType_t dt, mp;
    cudnnMathType_t math;
    int32_t is, hs, ps, nl;
    cudnnDropoutDescriptor_t gdd;
    uint32_t aux;
    DNN_REPORT(cudnnGetRNNDescriptor_v8(rnn, &algo, &cell, &bias, &dir, &in, &dt, &mp, &math, &is, &hs, &ps, &nl,
                                        &gdd, &aux));
    std::printf("rnn read back: algo %d cell %d bias %d dir %d input %d type %d %d math %d sizes %d %d %d layers %d "
                "same dropout %d aux %u\n",
                algo, cell, bias, dir, in, dt, mp, math, is, hs, ps, nl, gdd == dd, aux);
  }

  float pad = 0;
  cudnnRNNDataDescriptor_t xd, yd;
  DNN_CHECK(cudnnCreateRNNDataDescriptor(&xd));
  DNN_CHECK(cudnnCreateRNNDataDescriptor(&yd));
  DNN_CHECK(cudnnSetRNNDataDescriptor(xd, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, seq, batch,
                                      input, lengths, &pad));
  DNN_CHECK(cudnnSetRNNDataDescriptor(yd, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, seq, batch,
                                      hidden, lengths, &pad));
  {
    cudnnDataType_t dt;
    cudnnRNNDataLayout_t layout;
    int ms, bs, vs, lens[batch] = {};
    float fill = -1;
    DNN_REPORT(cudnnGetRNNDataDescriptor(xd, &dt, &layout, &ms, &bs, &vs, batch, lens, &fill));
    std::printf("rnn data read back: type %d layout %d seq %d batch %d vector %d lengths %d %d %d fill %g\n", dt,
                layout, ms, bs, vs, lens[0], lens[1], lens[2], fill);
  }
  const int hdims[3] = {layers, batch, hidden}, hstrides[3] = {batch * hidden, hidden, 1};
  cudnnTensorDescriptor_t hd;
  DNN_CHECK(cudnnCreateTensorDescriptor(&hd));
  DNN_CHECK(cudnnSetTensorNdDescriptor(hd, CUDNN_DATA_FLOAT, 3, hdims, hstrides));

  size_t wsize = 0, work = 0, reserve = 0;
  DNN_CHECK(cudnnGetRNNWeightSpaceSize(handle, rnn, &wsize));
  DNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, rnn, CUDNN_FWD_MODE_TRAINING, xd, &work, &reserve));
  std::printf("rnn weight space %zu, work space > 0: %d, reserve space > 0: %d\n", wsize, work > 0, reserve > 0);
  const size_t nw = wsize / sizeof(float);
  float* weights = to_device(spread(nw, 16, -0.2f, 0.2f));
  float* dweights = device_zeros<float>(nw);
  void *workspace, *reservespace;
  CHECK(cudaMalloc(&workspace, work + 16));
  CHECK(cudaMalloc(&reservespace, reserve + 16));

  // Where each layer's matrices and biases lie in the weight space.
  cudnnTensorDescriptor_t md, bd;
  DNN_CHECK(cudnnCreateTensorDescriptor(&md));
  DNN_CHECK(cudnnCreateTensorDescriptor(&bd));
  for (int layer = 0; layer < layers; ++layer)
    for (int lin = 0; lin < 8; ++lin) {
      void *maddr = nullptr, *baddr = nullptr;
      DNN_CHECK(cudnnGetRNNWeightParams(handle, rnn, layer, wsize, weights, lin, md, &maddr, bd, &baddr));
      cudnnDataType_t dt;
      int mnb = 0, bnb = 0, mdim[3] = {}, bdim[3] = {}, st[3];
      DNN_CHECK(cudnnGetTensorNdDescriptor(md, 3, &dt, &mnb, mdim, st));
      DNN_CHECK(cudnnGetTensorNdDescriptor(bd, 3, &dt, &bnb, bdim, st));
      std::printf("layer %d lin %d: matrix %d %d %d at %td, bias %d %d %d at %td\n", layer, lin, mdim[0], mdim[1],
                  mdim[2], static_cast<float*>(maddr) - weights, bdim[0], bdim[1], bdim[2],
                  static_cast<float*>(baddr) - weights);
    }

  const size_t nx = size_t{seq} * batch * input, ny = size_t{seq} * batch * hidden, nh = size_t{layers} * batch * hidden;
  float *x = to_device(spread(nx, 17, -1, 1)), *y = device_zeros<float>(ny);
  float *hx = to_device(spread(nh, 18, -0.5f, 0.5f)), *cx = to_device(spread(nh, 19, -0.5f, 0.5f));
  float *hy = device_zeros<float>(nh), *cy = device_zeros<float>(nh);
  float *dy = to_device(spread(ny, 20, -1, 1)), *dhy = to_device(spread(nh, 21, -1, 1)),
        *dcy = to_device(spread(nh, 22, -1, 1));
  float *dx = device_zeros<float>(nx), *dhx = device_zeros<float>(nh), *dcx = device_zeros<float>(nh);
  int32_t* dev_lengths = to_device(std::vector<int32_t>(lengths, lengths + batch));

  DNN_CHECK(cudnnRNNForward(handle, rnn, CUDNN_FWD_MODE_TRAINING, dev_lengths, xd, x, yd, y, hd, hx, hy, hd, cx, cy,
                            wsize, weights, work, workspace, reserve, reservespace));
  auto hy_y = to_host(y, ny);
  // Padding positions (t >= length) are filled with the padding value.
  bool padded = true;
  for (int t = 0; t < seq; ++t)
    for (int b = 0; b < batch; ++b)
      if (t >= lengths[b])
        for (int v = 0; v < hidden; ++v) padded = padded && hy_y[(t * batch + b) * hidden + v] == 0;
  expect(padded, "lstm padding filled");
  print_rough("lstm y", hy_y);
  print_rough("lstm hy", to_host(hy, nh));
  print_rough("lstm cy", to_host(cy, nh));

  DNN_CHECK(cudnnRNNBackwardData_v8(handle, rnn, dev_lengths, yd, y, dy, xd, dx, hd, hx, dhy, dhx, hd, cx, dcy, dcx,
                                    wsize, weights, work, workspace, reserve, reservespace));
  print_rough("lstm dx", to_host(dx, nx));
  print_rough("lstm dhx", to_host(dhx, nh));
  print_rough("lstm dcx", to_host(dcx, nh));
  DNN_CHECK(cudnnRNNBackwardWeights_v8(handle, rnn, CUDNN_WGRAD_MODE_ADD, dev_lengths, xd, x, hd, hx, yd, y, wsize,
                                       dweights, work, workspace, reserve, reservespace));
  print_rough("lstm dw", to_host(dweights, nw));

  DNN_CHECK(cudnnDestroyTensorDescriptor(md));
  DNN_CHECK(cudnnDestroyTensorDescriptor(bd));
  DNN_CHECK(cudnnDestroyTensorDescriptor(hd));
  DNN_CHECK(cudnnDestroyRNNDataDescriptor(xd));
  DNN_CHECK(cudnnDestroyRNNDataDescriptor(yd));
  DNN_CHECK(cudnnDestroyRNNDescriptor(rnn));
  DNN_CHECK(cudnnDestroyDropoutDescriptor(dd));
  for (void* p : {static_cast<void*>(weights), static_cast<void*>(dweights), workspace, reservespace,
                  static_cast<void*>(x), static_cast<void*>(y), static_cast<void*>(hx), static_cast<void*>(cx),
                  static_cast<void*>(hy), static_cast<void*>(cy), static_cast<void*>(dy), static_cast<void*>(dhy),
                  static_cast<void*>(dcy), static_cast<void*>(dx), static_cast<void*>(dhx), static_cast<void*>(dcx),
                  static_cast<void*>(dev_lengths), states})
    CHECK(cudaFree(p));
}

}  // namespace

int main() {
  versions();
  handle_and_stream();
  descriptors();
  errors();
  convolutions();
  pooling();
  activations();
  batch_norm();
  dropout();
  lstm();
  CHECK(cudaDeviceSynchronize());
  DNN_REPORT(cudnnDestroy(handle));
  return verdict(true);
}
