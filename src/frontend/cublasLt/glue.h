// Helpers shared by the generated cuBLASLt stubs (build/gen/cublasLt_client.cc) and the
// hand-written functions in this folder. Contract between the generator (api/cublasLt.api) and
// this library.
#pragma once
#include <cublasLt.h>

#include <cstddef>

#include "frontend/core/client.h"
#include "frontend/core/live_set.h"
#include "frontend/cublasLt/heuristic_cache.h"

namespace gvirtus::cublasLt {

// The session is gone: CUBLAS_STATUS_NOT_INITIALIZED, as for cuBLAS.
cublasStatus_t lost();

// Completes a call that got a reply: its status (a deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core).
cublasStatus_t finish(const client::Call& c);

// What the frontend knows of each matmul and matrix transform descriptor, to send
// cublasLtMatmul's and cublasLtMatrixTransform's alpha/beta: the scale type (their element
// type) and the pointer mode (host or device memory). Recorded when a descriptor is created,
// updated when SetAttribute succeeds on SCALE_TYPE or POINTER_MODE, forgotten at Destroy
// (the generated stubs' after= hooks).
void desc_created(const cublasLtMatmulDesc_t* desc, cublasComputeType_t computeType,
                  cudaDataType_t scaleType);
void desc_created(const cublasLtMatrixTransformDesc_t* desc, cudaDataType_t scaleType);
void desc_destroyed(const void* desc);
// A matmul or transform descriptor created and not destroyed.
bool desc_live(const void* desc);
// Matrix layouts and matmul preferences created and not destroyed (after= of their Create and
// Destroy): destroying a live one is sure to succeed, so it goes out without waiting
// (async_if=).
client::LiveSet& objects();
// Create and Destroy of layouts and preferences: objects() and their state for the heuristic
// cache (heuristic_cache.h).
void layout_created(const cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                    uint64_t cols, int64_t ld);
void layout_destroyed(cublasLtMatrixLayout_t layout);
void preference_created(const cublasLtMatmulPreference_t* pref);
void preference_destroyed(cublasLtMatmulPreference_t pref);
// SetAttribute on a live object, with a buffer, of the size a successful SetAttribute of that
// attribute had: cuBLASLt checks nothing else, so the call goes out without waiting
// (async_if=). The sizes are learnt by desc_set, layout_set and preference_set (after=).
bool set_accepted(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                  const void* buf, size_t size);
bool set_accepted(cublasLtMatrixTransformDesc_t desc,
                  cublasLtMatrixTransformDescAttributes_t attr, const void* buf, size_t size);
bool set_accepted(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr,
                  const void* buf, size_t size);
bool set_accepted(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                  const void* buf, size_t size);
void layout_set(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr,
                const void* buf, size_t size);
void preference_set(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                    const void* buf, size_t size);
void desc_set(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void* buf,
              size_t size);
void desc_set(cublasLtMatrixTransformDesc_t desc, cublasLtMatrixTransformDescAttributes_t attr,
              const void* buf, size_t size);

// Bytes of one alpha/beta of the descriptor: the size of its scale type; 0 for a descriptor
// this process does not know or a type without a size (the stub then answers
// CUBLAS_STATUS_INVALID_VALUE for a host scalar, as cuBLASLt does for an invalid descriptor).
size_t scale_bytes(const void* desc);

// True when the scalar parameter `param` ("alpha" or "beta") is a device pointer under the
// descriptor's pointer mode: HOST: neither; DEVICE, DEVICE_VECTOR, ALPHA_DEVICE_VECTOR_BETA_ZERO:
// both (beta is not read in the last: its value travels, never dereferenced on the client);
// ALPHA_DEVICE_VECTOR_BETA_HOST: alpha only.
bool device_scalar(const void* desc, const char* param);

// The byte size of a cudaDataType_t value (sub-byte types count one byte), 0 if unknown.
size_t data_type_bytes(int type);

}  // namespace gvirtus::cublasLt
