// Helpers shared by the generated cuSPARSE stubs (build/gen/cusparse_client.cc) and the
// hand-written functions in this folder. Contract between the generator (api/cusparse.api) and
// this library.
#pragma once
#include <cusparse.h>

#include <cstddef>

#include "frontend/core/client.h"

namespace gvirtus::cusparse {

// The session is gone: CUSPARSE_STATUS_NOT_INITIALIZED, what cuSPARSE answers when the CUDA
// runtime beneath it cannot be set up.
cusparseStatus_t lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core.
cusparseStatus_t finish(const client::Call& c);

// Pointer modes (the library's `pointer_mode` directive): true when the handle's scalars are
// device pointers, as the application last set with cusparseSetPointerMode (host by default).
bool device_pointers(cusparseHandle_t handle);
// The same per parameter, for the SpGEMM calls whose size arguments (bufferSize1..5) are read and
// written host values in every pointer mode: false for those, device_pointers(handle) for the
// scalars (alpha, beta).
bool device_scalar(cusparseHandle_t handle, const char* param);
// after= hooks: a successful cusparseSetPointerMode / cusparseDestroy.
void pointer_mode_set(cusparseHandle_t handle, cusparsePointerMode_t mode);
void handle_destroyed(cusparseHandle_t handle);

// Bytes of one value of data type t (0 for a type cuSPARSE takes no scalar of): alpha/beta of
// the generic API are of the computeType.
size_t type_bytes(cudaDataType t);

// cusparseAxpby and cusparseRot take no computeType: their scalars are of the compute type that
// goes with the value type of the dense vector vecY (float for half and bfloat16, cuComplex for
// their complex forms, else the value type itself). The frontend records each dense vector
// descriptor's value type when it is created (after= hooks) and forgets it when it is
// destroyed; vec_scalar_bytes answers 0 for a descriptor this process does not know (the stub
// then answers CUSPARSE_STATUS_INVALID_VALUE for a host scalar).
void record_vec(const void* desc, cudaDataType value_type);
void forget_vec(const void* desc);
size_t vec_scalar_bytes(const void* desc);
template <typename D>
void vec_created(const D* desc, cudaDataType value_type) {
  if (desc != nullptr) record_vec(*desc, value_type);
}
inline void vec_destroyed(const void* desc) { forget_vec(desc); }

}  // namespace gvirtus::cusparse
