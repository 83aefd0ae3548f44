// Helpers shared by the generated cuBLAS stubs (build/gen/cublas_client.cc) and the hand-written
// functions in this folder. Contract between the generator (api/cublas.api) and this library.
#pragma once
#include <cublas_api.h>

#include <cstdint>
#include <type_traits>

#include "frontend/core/client.h"

namespace gvirtus::cublas {

// The session is gone: CUBLAS_STATUS_NOT_INITIALIZED, what cuBLAS answers when the CUDA
// runtime beneath it fails.
cublasStatus_t lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply (the runtime's <<<>>> launches) is the runtime's to report: posted to the core.
cublasStatus_t finish(const client::Call& c);

// True when the handle's scalars (alpha, beta, results) are device pointers: the pointer mode
// the application last set with cublasSetPointerMode (CUBLAS_POINTER_MODE_HOST by default).
bool device_pointers(cublasHandle_t handle);

// Bytes of a scalar of data type t (0 for a type cuBLAS takes for no scalar), and of alpha/beta
// of cublasGemmEx & co. (the compute type's precision, complex when C is complex).
size_t type_bytes(cudaDataType t);
size_t compute_scalar_bytes(cublasComputeType_t compute, cudaDataType c_type);

// Handles made by cublasCreate and not destroyed (after= of those calls). Setters on a live
// handle with arguments cuBLAS accepts are sent without waiting (async_if=): PyTorch sets the
// stream, workspace and math mode before every product.
void handle_created(const cublasHandle_t* handle);
void handle_destroyed(cublasHandle_t handle);
bool live(cublasHandle_t handle);
// cublasSetWorkspace: cuBLAS wants the workspace aligned to 256 bytes.
bool workspace_accepted(cublasHandle_t handle, const void* workspace);
// cublasSetMathMode: one of the modes cuBLAS 13 defines, optionally with
// CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION.
bool math_mode_accepted(cublasHandle_t handle, cublasMath_t mode);
// A setting of the handle that succeeded (after= of its setter), kept in the core's answers
// under "cublas:setting:<handle>:<name>" as two int64 values: cuBLASLt's kept heuristic answers
// (frontend/cublasLt/heuristic_cache.h) are keyed on them, as a cublasHandle_t is also a
// cublasLtHandle_t.
void note_setting_values(cublasHandle_t handle, const char* name, int64_t a, int64_t b);
template <class T>
int64_t to_int(T v) {
  if constexpr (std::is_pointer_v<T>) return static_cast<int64_t>(reinterpret_cast<uintptr_t>(v));
  else return static_cast<int64_t>(v);
}
template <class A, class B = int64_t>
void note_setting(cublasHandle_t handle, const char* name, A a, B b = 0) {
  note_setting_values(handle, name, static_cast<int64_t>(to_int(a)), static_cast<int64_t>(b));
}
// cublas[SD]gemm and their StridedBatched forms: cuBLAS refuses at once (INVALID_VALUE) only
// what these check (the BLAS argument rules); such a call on a live handle that passes them
// goes out without waiting (async_if=). PyTorch's float32 products.
bool gemm_accepted(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                   int m, int n, int k, const void* alpha, int lda, int ldb, const void* beta,
                   int ldc, int batch_count = 1);

}  // namespace gvirtus::cublas
