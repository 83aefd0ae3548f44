// Descriptor creates that name their object by a client-chosen id (docs/protocol.md,
// "Client-chosen handle ids"): cuDNN tensor and backend descriptors, cuBLASLt matrix layouts,
// matmul descriptors and preferences, each created, used (set, and read back where the library
// allows it before finalisation) and destroyed
// many times with the same arguments, and a few created in a row before any is used. Every
// result is printed and checked (exit 1 on a mismatch); natively and through GVirtuS the output
// must be the same. tests/gpu/create_round_trips.py runs it with GVIRTUS_CALL_STATS=1 and checks
// that only the first create of each argument list waited for the worker's reply.
#include <cublasLt.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>

namespace {

int g_failures = 0;

void expect(bool ok, const char* what, int round) {
  if (ok) return;
  std::printf("FAIL round %d: %s\n", round, what);
  ++g_failures;
}

constexpr int kRounds = 20;  // tests/gpu/create_round_trips.py counts on it

void cudnn_round(int round) {
  cudnnTensorDescriptor_t t = nullptr;
  expect(cudnnCreateTensorDescriptor(&t) == CUDNN_STATUS_SUCCESS, "cudnnCreateTensorDescriptor",
         round);
  expect(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 3, 4, 5 + round) ==
             CUDNN_STATUS_SUCCESS,
         "cudnnSetTensor4dDescriptor", round);
  cudnnDataType_t type;
  int n = 0, c = 0, h = 0, w = 0, ns = 0, cs = 0, hs = 0, ws = 0;
  expect(cudnnGetTensor4dDescriptor(t, &type, &n, &c, &h, &w, &ns, &cs, &hs, &ws) ==
             CUDNN_STATUS_SUCCESS,
         "cudnnGetTensor4dDescriptor", round);
  expect(type == CUDNN_DATA_FLOAT && n == 2 && c == 3 && h == 4 && w == 5 + round &&
             ws == 1 && hs == w,
         "the tensor descriptor reads back as set", round);
  expect(cudnnDestroyTensorDescriptor(t) == CUDNN_STATUS_SUCCESS, "cudnnDestroyTensorDescriptor",
         round);

  cudnnBackendDescriptor_t d = nullptr;
  expect(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &d) ==
             CUDNN_STATUS_SUCCESS,
         "cudnnBackendCreateDescriptor", round);
  int64_t uid = 100 + round;
  expect(cudnnBackendSetAttribute(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid) ==
             CUDNN_STATUS_SUCCESS,
         "cudnnBackendSetAttribute", round);
  expect(cudnnBackendDestroyDescriptor(d) == CUDNN_STATUS_SUCCESS,
         "cudnnBackendDestroyDescriptor", round);
}

void cublaslt_round(int round) {
  cublasLtMatrixLayout_t l = nullptr;
  expect(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 8, 4, 8) == CUBLAS_STATUS_SUCCESS,
         "cublasLtMatrixLayoutCreate", round);
  uint64_t rows = 0;
  size_t written = 0;
  expect(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows,
                                          &written) == CUBLAS_STATUS_SUCCESS &&
             rows == 8 && written == sizeof rows,
         "the layout's rows read back", round);
  expect(cublasLtMatrixLayoutDestroy(l) == CUBLAS_STATUS_SUCCESS, "cublasLtMatrixLayoutDestroy",
         round);

  cublasLtMatmulDesc_t m = nullptr;
  expect(cublasLtMatmulDescCreate(&m, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS,
         "cublasLtMatmulDescCreate", round);
  int32_t scale = 0;
  expect(cublasLtMatmulDescGetAttribute(m, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &scale, sizeof scale,
                                        &written) == CUBLAS_STATUS_SUCCESS &&
             scale == CUDA_R_32F,
         "the matmul descriptor's scale type reads back", round);
  expect(cublasLtMatmulDescDestroy(m) == CUBLAS_STATUS_SUCCESS, "cublasLtMatmulDescDestroy",
         round);

  cublasLtMatmulPreference_t p = nullptr;
  expect(cublasLtMatmulPreferenceCreate(&p) == CUBLAS_STATUS_SUCCESS,
         "cublasLtMatmulPreferenceCreate", round);
  uint64_t ws = 1024u * (round + 1), ws_back = 0;
  expect(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof ws) == CUBLAS_STATUS_SUCCESS,
         "cublasLtMatmulPreferenceSetAttribute", round);
  expect(cublasLtMatmulPreferenceGetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                              &ws_back, sizeof ws_back, &written) ==
                 CUBLAS_STATUS_SUCCESS &&
             ws_back == ws,
         "the preference's workspace reads back", round);
  expect(cublasLtMatmulPreferenceDestroy(p) == CUBLAS_STATUS_SUCCESS,
         "cublasLtMatmulPreferenceDestroy", round);
}

}  // namespace

int main() {
  for (int round = 0; round < kRounds; ++round) {
    cudnn_round(round);
    cublaslt_round(round);
  }
  // Several created before any is used: each names its own object.
  cudnnTensorDescriptor_t many[8];
  for (auto& t : many) expect(cudnnCreateTensorDescriptor(&t) == CUDNN_STATUS_SUCCESS, "create", -1);
  for (int i = 0; i < 8; ++i)
    expect(cudnnSetTensor4dDescriptor(many[i], CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1,
                                      i + 1) == CUDNN_STATUS_SUCCESS,
           "set one of several", i);
  for (int i = 0; i < 8; ++i) {
    cudnnDataType_t type;
    int n, c, h, w, ns, cs, hs, ws;
    expect(cudnnGetTensor4dDescriptor(many[i], &type, &n, &c, &h, &w, &ns, &cs, &hs, &ws) ==
                   CUDNN_STATUS_SUCCESS &&
               w == i + 1,
           "each of several reads back its own width", i);
    expect(cudnnDestroyTensorDescriptor(many[i]) == CUDNN_STATUS_SUCCESS, "destroy", i);
  }
  std::printf("%d rounds of creates, uses and destroys: %s\n", kRounds,
              g_failures == 0 ? "PASS" : "FAIL");
  return g_failures == 0 ? 0 : 1;
}
