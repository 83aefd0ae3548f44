// Helpers for the cuDNN test programs: status names from our own table (not from the library
// under test), checks that stop the program, deterministic inputs and digests of outputs.
// Nothing printed depends on pointers, timings or the order of timed results.
#pragma once
#include <cudnn.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../check.h"  // CHECK(cudaError_t), REPORT(cudaError_t), verdict()

inline const char* dnn_status_name(cudnnStatus_t s) {
  switch (s) {
#define NAME(x) \
  case x:       \
    return #x;
    NAME(CUDNN_STATUS_SUCCESS)
    NAME(CUDNN_STATUS_NOT_INITIALIZED)
    NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
    NAME(CUDNN_STATUS_DEPRECATED)
    NAME(CUDNN_STATUS_LICENSE_ERROR)
    NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
    NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
    NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    NAME(CUDNN_STATUS_BAD_PARAM)
    NAME(CUDNN_STATUS_INVALID_VALUE)
    NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
    NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
    NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
    NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE)
    NAME(CUDNN_STATUS_INTERNAL_ERROR)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    NAME(CUDNN_STATUS_EXECUTION_FAILED)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef NAME
    default:
      break;
  }
  static char buf[32];
  std::snprintf(buf, sizeof buf, "cudnnStatus %d", static_cast<int>(s));
  return buf;
}

// Prints "what: CUDNN_STATUS_..." and returns the status.
inline cudnnStatus_t dnn_report(const char* what, cudnnStatus_t s) {
  std::printf("%s: %s\n", what, dnn_status_name(s));
  return s;
}
#define DNN_REPORT(call) dnn_report(#call, (call))

// Stops the program (exit 1) with the status's name if a call that must succeed fails.
inline void dnn_check(cudnnStatus_t s, const char* what, int line) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  std::printf("FAILED line %d: %s: %s\n", line, what, dnn_status_name(s));
  std::exit(1);
}
#define DNN_CHECK(call) dnn_check((call), #call, __LINE__)

// Stops the program if a verified result is wrong; prints "what: PASS" otherwise.
inline void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", what, ok ? "PASS" : "FAIL");
  if (!ok) std::exit(1);
}

// Small dyadic values (k/8 in [-1, 1]): products and sums of a few hundred of them are exact in
// fp32 (and in TF32), so convolutions give the same bits in any summation order.
inline std::vector<float> dyadic(size_t n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    v[i] = static_cast<float>(static_cast<int>((s >> 16) % 17) - 8) / 8.0f;
  }
  return v;
}

// Values spread over [lo, hi) that are all different (for max pooling's arg max).
inline std::vector<float> spread(size_t n, unsigned seed, float lo, float hi) {
  std::vector<float> v(n);
  uint32_t s = seed * 2246822519u + 7u;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    v[i] = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

inline uint64_t fnv1a(const void* data, size_t bytes) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

template <typename T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, h.size() * sizeof(T) + 16));
  CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <typename T>
T* device_zeros(size_t n) {
  T* d = nullptr;
  CHECK(cudaMalloc(&d, n * sizeof(T) + 16));
  CHECK(cudaMemset(d, 0, n * sizeof(T) + 16));
  return d;
}

template <typename T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// Bit-exact digest: FNV-1a of the raw bytes and the sum.
inline void print_digest(const char* what, const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += x;
  std::printf("%s: fnv %016llx sum %.6e\n", what,
              static_cast<unsigned long long>(fnv1a(v.data(), v.size() * sizeof(float))), sum);
}

// For results that may differ in the last bits between runs: the sum of magnitudes to 4
// significant digits (no cancellation, so small differences stay small).
inline void print_rough(const char* what, const std::vector<float>& v) {
  double sum = 0;
  bool finite = true;
  for (float x : v) {
    sum += std::fabs(x);
    finite = finite && std::isfinite(x);
  }
  std::printf("%s: finite %d sum|x| %.3e\n", what, finite, sum);
}

// |a - b| <= atol + rtol * |b| everywhere.
inline bool all_close(const std::vector<float>& a, const std::vector<float>& b, double atol,
                  double rtol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= atol + rtol * std::fabs(static_cast<double>(b[i])))) {
      std::printf("  mismatch at %zu: got %.8e want %.8e\n", i, a[i], b[i]);
      return false;
    }
  }
  return true;
}
