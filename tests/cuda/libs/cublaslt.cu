// cuBLASLt (libcublasLt.so.13): matmul descriptors, matrix layouts and preferences with their
// attributes (set and read back, including the size query with no buffer), the heuristic, and
// cublasLtMatmul in fp32, fp16 and bf16 (fp32 compute) with a workspace, with the BIAS, GELU and
// GELU_BIAS epilogues (the bias pointer is a device pointer inside an attribute), with alpha and
// beta in device memory (CUBLASLT_POINTER_MODE_DEVICE), strided batches, and the implicit
// heuristic (no algorithm given); versions, status names, calls that must fail alike.
//
// Every status is printed, and the heuristic's first answer (its waves count and workspace size:
// the same GPU and library answer the same). Every result is checked against a CPU reference
// (PASS/FAIL, exit 1 if any fails) and printed with a hash of its bytes, which must match too.
#include <cublasLt.h>

#include "blas_common.h"

namespace {

cublasStatus_t lreport(const std::string& what, cublasStatus_t s) {
  std::printf("%s: %s\n", what.c_str(), cublasLtGetStatusName(s));
  return s;
}
void lcheck(const std::string& what, cublasStatus_t s, int line) {
  lreport(what, s);
  if (s == CUBLAS_STATUS_SUCCESS) return;
  std::printf("FAILED line %d: %s: %s (%s)\n", line, what.c_str(), cublasLtGetStatusName(s),
              cublasLtGetStatusString(s));
  std::exit(1);
}
// LT() prints the status and stops the program (exit 1) unless it is CUBLAS_STATUS_SUCCESS;
// LREPORT() only prints it.
#define LT(what, call) lcheck((what), (call), __LINE__)
#define LREPORT(what, call) lreport((what), (call))

template <class E> struct Kind;
template <> struct Kind<float> {
  static constexpr cudaDataType type = CUDA_R_32F;
  static constexpr double tol = 2e-4;
};
template <> struct Kind<__half> {
  static constexpr cudaDataType type = CUDA_R_16F;
  static constexpr double tol = 5e-3;
};
template <> struct Kind<__nv_bfloat16> {
  static constexpr cudaDataType type = CUDA_R_16BF;
  static constexpr double tol = 2e-2;
};

double gelu(double x) {  // the tanh approximation
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

struct Opts {
  std::string name;
  int m, n, k;
  cublasOperation_t ta, tb;
  int lda, ldb, ldc;  // C and D have the same layout (separate buffers)
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  bool device_scalars = false;
  int batch = 1;
  bool implicit_algo = false;  // algo NULL, no workspace: cublasLt runs its own heuristic
};

const size_t kWorkspace = size_t{4} << 20;

// D = epilogue(alpha op(A) op(B) + beta C [+ bias]) with fp32 compute and scale types.
template <class E> void matmul(cublasLtHandle_t lt, cudaStream_t stream, void* workspace, const Opts& o) {
  const cudaDataType t = Kind<E>::type;
  const std::string& nm = o.name;
  const int ar = o.ta == CUBLAS_OP_N ? o.m : o.k, ac = o.ta == CUBLAS_OP_N ? o.k : o.m;
  const int br = o.tb == CUBLAS_OP_N ? o.k : o.n, bc = o.tb == CUBLAS_OP_N ? o.n : o.k;
  // Batches start at multiples of 8 elements (16 bytes in fp16 and bf16) with a gap between them.
  auto stride = [&](long long size) { return o.batch > 1 ? (size + 8 + 7) / 8 * 8 : size; };
  const long long sa = stride(static_cast<long long>(o.lda) * ac), sb = stride(static_cast<long long>(o.ldb) * bc),
                  sc = stride(static_cast<long long>(o.ldc) * o.n);
  const bool has_bias = o.epilogue == CUBLASLT_EPILOGUE_BIAS || o.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS;
  const bool has_gelu = o.epilogue == CUBLASLT_EPILOGUE_GELU || o.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS;
  Lcg rng(fnv(nm.data(), nm.size()));
  Mat<E> a(rng, sa * o.batch), b(rng, sb * o.batch), c(rng, sc * o.batch), d(rng, sc * o.batch),
      bias(rng, o.m);

  cublasLtMatmulDesc_t desc;
  LT(nm + " MatmulDescCreate", cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const int32_t ta = o.ta, tb = o.tb;
  LT(nm + " set TRANSA", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  LT(nm + " set TRANSB", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  if (o.epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    const uint32_t e = o.epilogue;
    LT(nm + " set EPILOGUE", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e));
  }
  if (has_bias) {
    const void* p = bias.d;  // the attribute's value is the device pointer itself
    LT(nm + " set BIAS_POINTER", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p, sizeof p));
  }
  if (o.device_scalars) {
    const int32_t pm = CUBLASLT_POINTER_MODE_DEVICE;
    LT(nm + " set POINTER_MODE", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm));
  }

  cublasLtMatrixLayout_t la, lb, lc, ld;
  LT(nm + " layout A", cublasLtMatrixLayoutCreate(&la, t, ar, ac, o.lda));
  LT(nm + " layout B", cublasLtMatrixLayoutCreate(&lb, t, br, bc, o.ldb));
  LT(nm + " layout C", cublasLtMatrixLayoutCreate(&lc, t, o.m, o.n, o.ldc));
  LT(nm + " layout D", cublasLtMatrixLayoutCreate(&ld, t, o.m, o.n, o.ldc));
  if (o.batch > 1) {
    const int32_t count = o.batch;
    const int64_t strides[4] = {sa, sb, sc, sc};
    cublasLtMatrixLayout_t layouts[4] = {la, lb, lc, ld};
    for (int i = 0; i < 4; ++i) {
      std::string which = nm + " layout " + "ABCD"[i];
      LT(which + " set BATCH_COUNT",
         cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
      LT(which + " set STRIDED_BATCH_OFFSET",
         cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i],
                                          sizeof strides[i]));
    }
  }

  cublasLtMatmulHeuristicResult_t results[8];
  std::memset(results, 0, sizeof results);
  int count = 0;
  if (!o.implicit_algo) {
    cublasLtMatmulPreference_t pref;
    LT(nm + " PreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t max_ws = kWorkspace;
    LT(nm + " set MAX_WORKSPACE_BYTES",
       cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof max_ws));
    LT(nm + " AlgoGetHeuristic", cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, ld, pref, 8, results, &count));
    std::printf("%s heuristic: %d results, any %d", nm.c_str(), count, count > 0);
    if (count > 0)
      std::printf(", first: state %s waves %.6e workspace %zu", cublasLtGetStatusName(results[0].state),
                  results[0].wavesCount, results[0].workspaceSize);
    std::printf("\n");
    LT(nm + " PreferenceDestroy", cublasLtMatmulPreferenceDestroy(pref));
    verify_bool(nm + " heuristic found an algorithm", count > 0 && results[0].state == CUBLAS_STATUS_SUCCESS &&
                                                           results[0].workspaceSize <= kWorkspace);
  }

  if (o.implicit_algo || count > 0) {
    const float alpha = 0.75f, beta = -0.5f;
    const void* pa = &alpha;
    const void* pb = &beta;
    float* scalars = nullptr;
    if (o.device_scalars) {
      const float hs[2] = {alpha, beta};
      CHECK(cudaMalloc(&scalars, sizeof hs));
      CHECK(cudaMemcpy(scalars, hs, sizeof hs, cudaMemcpyHostToDevice));
      pa = scalars;
      pb = scalars + 1;
    }
    LT(nm + " Matmul", cublasLtMatmul(lt, desc, pa, a.d, la, b.d, lb, pb, c.d, lc, d.d, ld,
                                      o.implicit_algo ? nullptr : &results[0].algo,
                                      o.implicit_algo ? nullptr : workspace, o.implicit_algo ? 0 : kWorkspace,
                                      stream));
    CHECK(cudaStreamSynchronize(stream));
    if (scalars) CHECK(cudaFree(scalars));

    // D's padding and the gaps between batches keep their old contents.
    std::vector<cd> ref = d.w;
    for (int j = 0; j < o.batch; ++j) {
      std::vector<cd> r = c.w;
      ref_gemm(o.m, o.n, o.k, alpha, a.w, o.lda, o.ta, b.w, o.ldb, o.tb, beta, r, o.ldc, j * sa, j * sb, j * sc);
      for (int col = 0; col < o.n; ++col)
        for (int row = 0; row < o.m; ++row) {
          size_t i = j * sc + row + static_cast<size_t>(col) * o.ldc;
          cd v = r[i] + (has_bias ? bias.w[row] : cd(0));
          ref[i] = has_gelu ? cd(gelu(v.real())) : v;
        }
    }
    d.verify_out(nm + " D", ref, has_gelu ? std::max(Kind<E>::tol, 2e-3) : Kind<E>::tol);
    std::vector<E> c_after(c.h.size());
    CHECK(cudaMemcpy(c_after.data(), c.d, c_after.size() * sizeof(E), cudaMemcpyDeviceToHost));
    verify_bool(nm + " C unchanged", std::memcmp(c_after.data(), c.h.data(), c_after.size() * sizeof(E)) == 0);
  }

  for (auto l : {la, lb, lc, ld}) LT(nm + " MatrixLayoutDestroy", cublasLtMatrixLayoutDestroy(l));
  LT(nm + " MatmulDescDestroy", cublasLtMatmulDescDestroy(desc));
}

// Attributes set and read back; the size query (buf NULL, size 0) answers the attribute's size.
void attributes() {
  size_t written = 12345;
  cublasLtMatmulDesc_t desc;
  LT("MatmulDescCreate", cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  int32_t i32 = -1;
  uint32_t u32 = 12345;
  LT("get TRANSA default", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i32, sizeof i32, &written));
  std::printf("TRANSA %d, %zu bytes\n", i32, written);
  i32 = CUBLAS_OP_T;
  LT("set TRANSA", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i32, sizeof i32));
  written = 12345;
  LT("get TRANSA size query", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, nullptr, 0, &written));
  std::printf("TRANSA needs %zu bytes\n", written);
  i32 = -1;
  LT("get TRANSA", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i32, sizeof i32, &written));
  std::printf("TRANSA %d, %zu bytes\n", i32, written);
  verify_bool("TRANSA round trip", i32 == CUBLAS_OP_T && written == sizeof i32);

  LT("get EPILOGUE default", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &u32, sizeof u32, &written));
  std::printf("EPILOGUE %u\n", u32);
  u32 = CUBLASLT_EPILOGUE_GELU_BIAS;
  LT("set EPILOGUE", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &u32, sizeof u32));
  u32 = 0;
  LT("get EPILOGUE", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &u32, sizeof u32, &written));
  std::printf("EPILOGUE %u, %zu bytes\n", u32, written);
  verify_bool("EPILOGUE round trip", u32 == CUBLASLT_EPILOGUE_GELU_BIAS);

  void* dev;
  CHECK(cudaMalloc(&dev, 256));
  const void* bp = dev;
  LT("set BIAS_POINTER", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
  written = 12345;
  LT("get BIAS_POINTER size query",
     cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, nullptr, 0, &written));
  std::printf("BIAS_POINTER needs %zu bytes\n", written);
  const void* back = nullptr;
  LT("get BIAS_POINTER", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &back, sizeof back, &written));
  verify_bool("BIAS_POINTER round trip", back == bp && written == sizeof back);

  LT("get COMPUTE_TYPE", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &i32, sizeof i32, &written));
  std::printf("COMPUTE_TYPE %d\n", i32);
  verify_bool("COMPUTE_TYPE is 32F", i32 == CUBLAS_COMPUTE_32F);
  LT("get SCALE_TYPE", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &i32, sizeof i32, &written));
  std::printf("SCALE_TYPE %d\n", i32);
  LT("get POINTER_MODE", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &i32, sizeof i32, &written));
  std::printf("POINTER_MODE %d\n", i32);

  // Wrong sizes and a missing buffer.
  int64_t i64 = 0;
  LREPORT("get TRANSA into 8 bytes", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i64, sizeof i64, &written));
  LREPORT("get TRANSA no buffer, size 4", cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, nullptr, 4, &written));
  LREPORT("set TRANSA from 2 bytes", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i32, 2));
  LREPORT("set TRANSA from 8 bytes", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &i64, sizeof i64));
  LT("MatmulDescDestroy", cublasLtMatmulDescDestroy(desc));
  CHECK(cudaFree(dev));

  cublasLtMatrixLayout_t layout;
  LT("MatrixLayoutCreate", cublasLtMatrixLayoutCreate(&layout, CUDA_R_16F, 37, 29, 40));
  written = 12345;
  LT("get ROWS size query", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_ROWS, nullptr, 0, &written));
  std::printf("ROWS needs %zu bytes\n", written);
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0, offset = -1;
  int32_t order = -1, batch = -1;
  uint32_t type = 12345;
  LT("get ROWS", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows, &written));
  LT("get COLS", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols, &written));
  LT("get LD", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_LD, &ld, sizeof ld, &written));
  LT("get TYPE", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_TYPE, &type, sizeof type, &written));
  LT("get ORDER", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof order, &written));
  LT("get BATCH_COUNT", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch, &written));
  LT("get STRIDED_BATCH_OFFSET",
     cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset, sizeof offset, &written));
  std::printf("layout: rows %llu cols %llu ld %lld type %u order %d batch %d offset %lld\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols), static_cast<long long>(ld),
              type, order, batch, static_cast<long long>(offset));
  verify_bool("layout round trip", rows == 37 && cols == 29 && ld == 40 && type == CUDA_R_16F);
  batch = 5;
  offset = 40 * 29 + 3;
  LT("set BATCH_COUNT", cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch));
  LT("set STRIDED_BATCH_OFFSET",
     cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset, sizeof offset));
  batch = -1;
  offset = -1;
  LT("get BATCH_COUNT", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch, &written));
  LT("get STRIDED_BATCH_OFFSET",
     cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset, sizeof offset, &written));
  std::printf("batch %d offset %lld, %zu bytes\n", batch, static_cast<long long>(offset), written);
  verify_bool("batch attributes round trip", batch == 5 && offset == 40 * 29 + 3 && written == sizeof offset);
  LREPORT("get ROWS into 4 bytes", cublasLtMatrixLayoutGetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_ROWS, &type, sizeof type, &written));
  LT("MatrixLayoutDestroy", cublasLtMatrixLayoutDestroy(layout));

  cublasLtMatmulPreference_t pref;
  LT("PreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = 12345;
  LT("get MAX_WORKSPACE_BYTES default",
     cublasLtMatmulPreferenceGetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws, &written));
  std::printf("MAX_WORKSPACE_BYTES %llu\n", static_cast<unsigned long long>(ws));
  ws = 1 << 20;
  LT("set MAX_WORKSPACE_BYTES",
     cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  ws = 0;
  LT("get MAX_WORKSPACE_BYTES",
     cublasLtMatmulPreferenceGetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws, &written));
  std::printf("MAX_WORKSPACE_BYTES %llu, %zu bytes\n", static_cast<unsigned long long>(ws), written);
  verify_bool("MAX_WORKSPACE_BYTES round trip", ws == (1 << 20) && written == sizeof ws);
  LT("PreferenceDestroy", cublasLtMatmulPreferenceDestroy(pref));
}

// A heuristic query whose layouts do not fit together (D has one row more than op(A)).
void mismatch(cublasLtHandle_t lt) {
  cublasLtMatmulDesc_t desc;
  LT("mismatch MatmulDescCreate", cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasLtMatrixLayout_t la, lb, lc, ld;
  LT("mismatch layout A", cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 32, 16, 32));
  LT("mismatch layout B", cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 16, 8, 16));
  LT("mismatch layout C", cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 33, 8, 33));
  LT("mismatch layout D", cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, 33, 8, 33));
  cublasLtMatmulPreference_t pref;
  LT("mismatch PreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t results[4];
  std::memset(results, 0, sizeof results);
  int count = -1;
  LREPORT("mismatch AlgoGetHeuristic", cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, ld, pref, 4, results, &count));
  std::printf("mismatch heuristic: any %d\n", count > 0);
  LT("mismatch PreferenceDestroy", cublasLtMatmulPreferenceDestroy(pref));
  for (auto l : {la, lb, lc, ld}) LT("mismatch MatrixLayoutDestroy", cublasLtMatrixLayoutDestroy(l));
  LT("mismatch MatmulDescDestroy", cublasLtMatmulDescDestroy(desc));
}

}  // namespace

int main() {
  std::printf("cublasLtGetVersion: %zu\n", cublasLtGetVersion());
  std::printf("cublasLtGetCudartVersion: %zu\n", cublasLtGetCudartVersion());
  int v = -1;
  LT("GetProperty major", cublasLtGetProperty(MAJOR_VERSION, &v));
  std::printf("cuBLASLt major: %d\n", v);
  LT("GetProperty minor", cublasLtGetProperty(MINOR_VERSION, &v));
  std::printf("cuBLASLt minor: %d\n", v);
  LT("GetProperty patch", cublasLtGetProperty(PATCH_LEVEL, &v));
  std::printf("cuBLASLt patch: %d\n", v);
  for (int code : {0, 1, 3, 7, 8, 11, 13, 14, 15, 16, 12345}) {
    const char* nm = cublasLtGetStatusName(static_cast<cublasStatus_t>(code));
    const char* str = cublasLtGetStatusString(static_cast<cublasStatus_t>(code));
    std::printf("status %d: %s / %s\n", code, nm ? nm : "(null)", str ? str : "(null)");
  }

  attributes();

  cublasLtHandle_t lt;
  LT("Create", cublasLtCreate(&lt));
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  void* workspace;
  CHECK(cudaMalloc(&workspace, kWorkspace));

  const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
  // fp32, odd sizes, A transposed; then the same with the implicit heuristic.
  matmul<float>(lt, stream, workspace, {"fp32 TN", 37, 29, 41, T, N, 43, 44, 40});
  matmul<float>(lt, stream, workspace, {"fp32 TN implicit algo", 37, 29, 41, T, N, 43, 44, 40,
                                        CUBLASLT_EPILOGUE_DEFAULT, false, 1, true});
  // fp16 and bf16 storage with fp32 compute.
  matmul<__half>(lt, stream, workspace, {"fp16 NT", 64, 48, 40, N, T, 72, 56, 64});
  matmul<__nv_bfloat16>(lt, stream, workspace, {"bf16 TN", 64, 48, 40, T, N, 48, 40, 72});
  // Epilogues.
  matmul<float>(lt, stream, workspace, {"fp32 BIAS", 64, 48, 40, N, N, 64, 40, 68, CUBLASLT_EPILOGUE_BIAS});
  matmul<float>(lt, stream, workspace, {"fp32 GELU", 64, 48, 40, T, N, 40, 40, 64, CUBLASLT_EPILOGUE_GELU});
  matmul<__half>(lt, stream, workspace, {"fp16 GELU_BIAS", 64, 48, 40, N, T, 64, 48, 64, CUBLASLT_EPILOGUE_GELU_BIAS});
  // alpha and beta in device memory.
  matmul<float>(lt, stream, workspace, {"fp32 device scalars", 37, 29, 41, N, N, 40, 41, 39,
                                        CUBLASLT_EPILOGUE_DEFAULT, true});
  // Three strided batches.
  matmul<float>(lt, stream, workspace, {"fp32 batch 3", 33, 17, 25, N, N, 36, 25, 33,
                                        CUBLASLT_EPILOGUE_DEFAULT, false, 3});
  mismatch(lt);

  CHECK(cudaFree(workspace));
  CHECK(cudaStreamDestroy(stream));
  LT("Destroy", cublasLtDestroy(lt));
  return verdict(g_ok);
}
