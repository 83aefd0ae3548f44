// Where a library's pointer-mode scalars live, decided the same way by the client (which sends a
// host scalar's bytes or a device scalar's address) and by the worker (which checks what came
// against the library's own state before the call): one definition for both sides.
#pragma once
#include <cublasLt.h>

#include <cstdint>
#include <cstring>

namespace gvirtus::scalar_homes {

// cuBLASLt (cublasLtMatmul, cublasLtMatrixTransform): the descriptor's POINTER_MODE attribute
// and the scalar's parameter name (alpha or beta); true for a device pointer.
inline bool cublaslt_device(int32_t mode, const char* param) {
  switch (mode) {
    case CUBLASLT_POINTER_MODE_HOST:
      return false;
    case CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST:
      return std::strcmp(param, "alpha") == 0;
    default:  // DEVICE, DEVICE_VECTOR, ALPHA_DEVICE_VECTOR_BETA_ZERO
      return true;
  }
}

// cuSPARSE: the SpGEMM calls' size arguments (bufferSize1..5) are read and written host values
// in every pointer mode; the other scalars follow the handle's mode.
inline bool cusparse_always_host(const char* param) {
  return std::strncmp(param, "bufferSize", 10) == 0;
}

}  // namespace gvirtus::scalar_homes
