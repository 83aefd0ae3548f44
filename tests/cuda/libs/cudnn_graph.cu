// cuDNN's backend (graph) API the way cudnn-frontend (PyTorch) drives it: tensor, convolution
// and operation descriptors built attribute by attribute, an operation graph, engine heuristics
// whose results land in engine-config descriptors the program created, an execution plan, a
// variant pack and cudnnBackendExecute. The convolution is checked against the CPU; a pointwise
// ReLU graph too if some engine takes it. Attributes are read back and printed, and a few misuses
// must fail with the same status as natively.
#include <string>
#include <vector>

#include "cudnn_common.h"

namespace {

cudnnHandle_t handle;

using Desc = cudnnBackendDescriptor_t;

Desc create(cudnnBackendDescriptorType_t type) {
  Desc d = nullptr;
  DNN_CHECK(cudnnBackendCreateDescriptor(type, &d));
  return d;
}

void set(Desc d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
         const void* values) {
  cudnnStatus_t s = cudnnBackendSetAttribute(d, name, type, count, values);
  if (s != CUDNN_STATUS_SUCCESS) {
    std::printf("FAILED: set attribute %d (type %d): %s\n", static_cast<int>(name), static_cast<int>(type),
                dnn_status_name(s));
    std::exit(1);
  }
}

void set_desc(Desc d, cudnnBackendAttributeName_t name, Desc value) {
  set(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value);
}

void set_i64(Desc d, cudnnBackendAttributeName_t name, std::vector<int64_t> v) {
  set(d, name, CUDNN_TYPE_INT64, static_cast<int64_t>(v.size()), v.data());
}

// A packed NCHW float tensor, 16-byte aligned.
Desc tensor(int64_t uid, std::vector<int64_t> dims) {
  Desc t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  std::vector<int64_t> strides(dims.size());
  int64_t s = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = s;
    s *= dims[i];
  }
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  set_i64(t, CUDNN_ATTR_TENSOR_DIMENSIONS, dims);
  set_i64(t, CUDNN_ATTR_TENSOR_STRIDES, strides);
  set_i64(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, {uid});
  set_i64(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, {16});
  DNN_CHECK(cudnnBackendFinalize(t));
  return t;
}

void print_tensor(const char* what, Desc t) {
  int64_t dims[8] = {}, strides[8] = {}, uid = -1, align = -1, n = 0, m = 0, k = 0, a = 0;
  cudnnDataType_t type = CUDNN_DATA_DOUBLE;
  int64_t tn = 0;
  DNN_CHECK(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 8, &n, dims));
  DNN_CHECK(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 8, &m, strides));
  DNN_CHECK(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &k, &uid));
  // cuDNN 9.14 does not read the alignment back (NOT_SUPPORTED natively): report it, both runs
  // must agree.
  DNN_REPORT(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &a, &align));
  DNN_CHECK(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &tn, &type));
  std::printf("%s: uid %lld type %d alignment %lld dims", what, static_cast<long long>(uid), type,
              static_cast<long long>(align));
  for (int64_t i = 0; i < n && i < 8; ++i) std::printf(" %lld", static_cast<long long>(dims[i]));
  std::printf(" strides");
  for (int64_t i = 0; i < m && i < 8; ++i) std::printf(" %lld", static_cast<long long>(strides[i]));
  std::printf("\n");
}

// Heuristics for the graph, then the first engine configuration whose plan finalizes.
// Returns the plan or nullptr; prints what it found.
Desc make_plan(const char* what, Desc graph, cudnnBackendHeurMode_t mode) {
  Desc heur = create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
  set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  cudnnStatus_t s = cudnnBackendFinalize(heur);
  std::printf("%s: heuristics mode %d finalize: %s\n", what, mode, dnn_status_name(s));
  if (s != CUDNN_STATUS_SUCCESS) {
    DNN_CHECK(cudnnBackendDestroyDescriptor(heur));
    return nullptr;
  }
  int64_t count = -1;
  DNN_CHECK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                     nullptr));
  std::printf("%s: heuristic results: %lld\n", what, static_cast<long long>(count));
  std::vector<Desc> cfgs(static_cast<size_t>(count > 0 ? count : 0));
  for (auto& c : cfgs) c = create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
  int64_t got = -1;
  if (count > 0)
    DNN_CHECK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                                       &got, cfgs.data()));
  std::printf("%s: engine configs returned: %lld\n", what, static_cast<long long>(got));

  Desc plan = nullptr;
  for (int64_t i = 0; i < got && !plan; ++i) {
    Desc p = create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    // Deprecated in later cuDNN 9 releases, required by the first ones (cudnn-frontend sets it).
    (void)cudnnBackendSetAttribute(p, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    set_desc(p, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfgs[i]);
    if (cudnnBackendFinalize(p) == CUDNN_STATUS_SUCCESS) {
      plan = p;
      // The engine behind the configuration, read into a descriptor made here.
      Desc engine = create(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
      int64_t n = 0, index = -1;
      DNN_REPORT(cudnnBackendGetAttribute(cfgs[i], CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                                          &engine));
      DNN_REPORT(cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n, &index));
      std::printf("%s: plan from engine config %lld (engine %lld)\n", what, static_cast<long long>(i),
                  static_cast<long long>(index));
      DNN_CHECK(cudnnBackendDestroyDescriptor(engine));
    } else {
      DNN_CHECK(cudnnBackendDestroyDescriptor(p));
    }
  }
  if (!plan) std::printf("%s: no engine config finalized\n", what);
  for (auto c : cfgs) DNN_CHECK(cudnnBackendDestroyDescriptor(c));
  DNN_CHECK(cudnnBackendDestroyDescriptor(heur));
  return plan;
}

// Runs the plan with the given tensors; returns the status of cudnnBackendExecute.
cudnnStatus_t execute(const char* what, Desc plan, std::vector<int64_t> uids, std::vector<void*> ptrs) {
  int64_t ws_size = -1, n = 0;
  DNN_CHECK(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n,
                                     &ws_size));
  std::printf("%s: workspace size %lld\n", what, static_cast<long long>(ws_size));
  void* ws = nullptr;
  CHECK(cudaMalloc(&ws, static_cast<size_t>(ws_size) + 256));
  Desc pack = create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, static_cast<int64_t>(ptrs.size()),
      ptrs.data());
  set_i64(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, uids);
  set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
  DNN_CHECK(cudnnBackendFinalize(pack));
  cudnnStatus_t s = cudnnBackendExecute(handle, plan, pack);
  std::printf("%s: execute: %s\n", what, dnn_status_name(s));
  CHECK(cudaDeviceSynchronize());
  DNN_CHECK(cudnnBackendDestroyDescriptor(pack));
  CHECK(cudaFree(ws));
  return s;
}

constexpr int64_t N = 2, C = 4, H = 8, W = 8, K = 8, R = 3, S = 3, PAD = 1;

void convolution() {
  auto hx = dyadic(N * C * H * W, 31), hw = dyadic(K * C * R * S, 32);
  float *x = to_device(hx), *w = to_device(hw), *y = device_zeros<float>(N * K * H * W);

  Desc xt = tensor('x', {N, C, H, W}), wt = tensor('w', {K, C, R, S}), yt = tensor('y', {N, K, H, W});
  print_tensor("X", xt);
  print_tensor("W", wt);
  print_tensor("Y", yt);

  Desc conv = create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  cudnnDataType_t comp = CUDNN_DATA_FLOAT;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  set_i64(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, {2});
  set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
  set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  set_i64(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, {PAD, PAD});
  set_i64(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, {PAD, PAD});
  set_i64(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, {1, 1});
  set_i64(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, {1, 1});
  DNN_CHECK(cudnnBackendFinalize(conv));
  {
    int64_t pads[4] = {}, n = 0, sd = 0, k = 0;
    cudnnConvolutionMode_t m = CUDNN_CONVOLUTION;
    // Read-backs: reported, not required (cuDNN 9.14 refuses some natively; both runs agree).
    DNN_REPORT(cudnnBackendGetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 4, &n, pads));
    DNN_REPORT(cudnnBackendGetAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &k, &sd));
    DNN_REPORT(cudnnBackendGetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &k, &m));
    std::printf("conv: spatial dims %lld mode %d pre paddings (%lld) %lld %lld\n", static_cast<long long>(sd), m,
                static_cast<long long>(n), static_cast<long long>(pads[0]), static_cast<long long>(pads[1]));
  }

  Desc op = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  float alpha = 1, beta = 0;
  set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, xt);
  set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, wt);
  set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, yt);
  set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv);
  set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
  set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  DNN_CHECK(cudnnBackendFinalize(op));

  Desc graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  DNN_REPORT(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle));
  set_desc(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
  DNN_CHECK(cudnnBackendFinalize(graph));
  {
    int64_t engines = -1, n = 0;
    DNN_REPORT(cudnnBackendGetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT, CUDNN_TYPE_INT64, 1, &n,
                                        &engines));
    std::printf("conv graph: engines %lld\n", static_cast<long long>(engines));
    // The graph's operation, read back into a descriptor made here.
    Desc back = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    int64_t ops = -1;
    DNN_REPORT(cudnnBackendGetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &ops,
                                        &back));
    std::printf("conv graph: ops %lld\n", static_cast<long long>(ops));
    DNN_CHECK(cudnnBackendDestroyDescriptor(back));
  }

  Desc plan = make_plan("conv", graph, CUDNN_HEUR_MODE_A);
  if (!plan) plan = make_plan("conv", graph, CUDNN_HEUR_MODE_FALLBACK);
  if (!plan) {
    std::printf("FAILED: no plan for the convolution\n");
    std::exit(1);
  }
  DNN_CHECK(execute("conv", plan, {'x', 'w', 'y'}, {x, w, y}));

  std::vector<float> want(N * K * H * W);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < H; ++p)
        for (int64_t q = 0; q < W; ++q) {
          double s = 0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t t = 0; t < S; ++t) {
                int64_t h = p + r - PAD, ww = q + t - PAD;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s += hx[((n * C + c) * H + h) * W + ww] * hw[((k * C + c) * R + r) * S + t];
              }
          want[((n * K + k) * H + p) * W + q] = static_cast<float>(s);
        }
  // The inputs are small multiples of 1/8: exact in any order and in TF32; Winograd-like
  // engines still round, hence the tolerance.
  expect(all_close(to_host(y, N * K * H * W), want, 1e-3, 1e-4), "graph conv forward vs CPU");

  for (Desc d : {plan, graph, op, conv, xt, wt, yt}) DNN_CHECK(cudnnBackendDestroyDescriptor(d));
  for (float* p : {x, w, y}) CHECK(cudaFree(p));
}

// y = relu(x) as a one-operation pointwise graph. Not every cuDNN has an engine for it: without
// one, the statuses are printed and nothing runs.
void pointwise() {
  const int64_t n = 2, c = 16, h = 4, w = 4, count = n * c * h * w;
  auto hx = spread(count, 33, -2, 2);
  float *x = to_device(hx), *y = device_zeros<float>(count);
  Desc xt = tensor(1, {n, c, h, w}), yt = tensor(2, {n, c, h, w});
  Desc pw = create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  cudnnPointwiseMode_t mode = CUDNN_POINTWISE_RELU_FWD;
  cudnnDataType_t prec = CUDNN_DATA_FLOAT;
  set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
  set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
  DNN_CHECK(cudnnBackendFinalize(pw));
  {
    cudnnPointwiseMode_t m = CUDNN_POINTWISE_ADD;
    int64_t k = 0;
    DNN_REPORT(cudnnBackendGetAttribute(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &k, &m));
    std::printf("pointwise mode read back: %d\n", m);
  }
  Desc op = create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
  set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, xt);
  set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, yt);
  DNN_CHECK(cudnnBackendFinalize(op));
  Desc graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  (void)cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  set_desc(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
  cudnnStatus_t s = DNN_REPORT(cudnnBackendFinalize(graph));
  Desc plan = nullptr;
  if (s == CUDNN_STATUS_SUCCESS) {
    plan = make_plan("relu", graph, CUDNN_HEUR_MODE_A);
    if (!plan) plan = make_plan("relu", graph, CUDNN_HEUR_MODE_FALLBACK);
  }
  if (plan && execute("relu", plan, {1, 2}, {x, y}) == CUDNN_STATUS_SUCCESS) {
    std::vector<float> want(count);
    for (int64_t i = 0; i < count; ++i) want[i] = hx[i] > 0 ? hx[i] : 0.0f;
    expect(all_close(to_host(y, count), want, 0, 0), "graph relu vs CPU");
  }
  if (plan) DNN_CHECK(cudnnBackendDestroyDescriptor(plan));
  for (Desc d : {graph, op, pw, xt, yt}) DNN_CHECK(cudnnBackendDestroyDescriptor(d));
  for (float* p : {x, y}) CHECK(cudaFree(p));
}

// Misuses whose status must be the native one.
void errors() {
  Desc t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  float wrong[4] = {1, 2, 3, 4};
  DNN_REPORT(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_FLOAT, 4, wrong));
  DNN_REPORT(cudnnBackendFinalize(t));  // no dimensions, strides or id
  int64_t dims[4] = {}, n = -1;
  DNN_REPORT(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, &n, dims));
  DNN_REPORT(cudnnBackendDestroyDescriptor(t));
  Desc op = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  DNN_REPORT(cudnnBackendFinalize(op));  // no tensors
  DNN_REPORT(cudnnBackendDestroyDescriptor(op));
  Desc graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  Desc not_an_op = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  DNN_REPORT(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                      &not_an_op));
  DNN_REPORT(cudnnBackendDestroyDescriptor(not_an_op));
  DNN_REPORT(cudnnBackendDestroyDescriptor(graph));
}

}  // namespace

int main() {
  std::printf("cudnnGetVersion: %zu\n", cudnnGetVersion());
  DNN_CHECK(cudnnCreate(&handle));
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  DNN_CHECK(cudnnSetStream(handle, stream));
  errors();
  convolution();
  pointwise();
  CHECK(cudaStreamDestroy(stream));
  DNN_REPORT(cudnnDestroy(handle));
  return verdict(true);
}
