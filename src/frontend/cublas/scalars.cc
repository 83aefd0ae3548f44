// How wide the untyped scalars of the *Ex functions are (api/cublas.api's [BYTES] expressions).
#include "frontend/cublas/glue.h"

namespace gvirtus::cublas {

size_t type_bytes(cudaDataType t) {
  switch (t) {
    case CUDA_R_16F: case CUDA_R_16BF: return 2;
    case CUDA_R_32F: case CUDA_R_32I: case CUDA_R_32U: case CUDA_C_16F: case CUDA_C_16BF:
      return 4;
    case CUDA_R_64F: case CUDA_C_32F: case CUDA_R_64I: case CUDA_R_64U: case CUDA_C_32I:
      return 8;
    case CUDA_C_64F: case CUDA_C_64I: return 16;
    case CUDA_R_8I: case CUDA_R_8U: return 1;
    case CUDA_C_8I: case CUDA_C_8U: return 2;
    default: return 0;  // the client refuses it (CUBLAS_STATUS_INVALID_VALUE)
  }
}

// cuBLAS's rule for cublasGemmEx & co.: alpha and beta have the compute type's precision, and
// are complex when C is.
size_t compute_scalar_bytes(cublasComputeType_t compute, cudaDataType c_type) {
  const bool complex = c_type == CUDA_C_16F || c_type == CUDA_C_16BF || c_type == CUDA_C_32F ||
                       c_type == CUDA_C_64F || c_type == CUDA_C_8I || c_type == CUDA_C_32I;
  size_t real = 0;
  switch (compute) {
    case CUBLAS_COMPUTE_16F: case CUBLAS_COMPUTE_16F_PEDANTIC: real = 2; break;
    case CUBLAS_COMPUTE_32F: case CUBLAS_COMPUTE_32F_PEDANTIC: case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF: case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
    case CUBLAS_COMPUTE_32I: case CUBLAS_COMPUTE_32I_PEDANTIC: real = 4; break;
    case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: real = 8; break;
    default:
      // The legacy form passes a cudaDataType as the compute type.
      return type_bytes(static_cast<cudaDataType>(compute));
  }
  return complex ? 2 * real : real;
}

}  // namespace gvirtus::cublas
