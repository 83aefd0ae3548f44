// Variant packs sent without waiting (docs/libraries.md, "cuDNN backend descriptors").
// cudnn-frontend builds a CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR for every execution: create,
// SetAttribute of DATA_POINTERS, UNIQUE_IDS and WORKSPACE, Finalize, cudnnBackendExecute,
// destroy. What cuDNN 9 answers to those Sets and that Finalize depends only on what the client
// sent (probed against libcudnn.so.9; tests/unit/native_descriptor_rules_test.cc checks it):
//   Set DATA_POINTERS: CUDNN_TYPE_VOID_PTR, count >= 1, an array: success (any pointer values);
//   Set UNIQUE_IDS:    CUDNN_TYPE_INT64, count >= 1, an array: success (any ids, repeats too);
//   Set WORKSPACE:     CUDNN_TYPE_VOID_PTR, count exactly 1, an array: success;
//   anything else, or any Set after a successful Finalize: not predicted (the call waits);
//   Finalize: success when as many pointers as ids were set (none of either included) and the
//   pack was not finalized before; CUDNN_STATUS_BAD_PARAM otherwise.
// So those go out without waiting when the client knows the pack's whole history; a descriptor
// one of whose Sets it could not predict and that failed, or that cudnnBackendInitialize
// touched, waits for every later Set and Finalize.
#pragma once
#include <cudnn.h>

#include <cstdint>

namespace gvirtus::cudnn {

// after= of cudnnBackendCreateDescriptor / DestroyDescriptor / Initialize / Finalize.
void backend_created(const cudnnBackendDescriptor_t* d, cudnnBackendDescriptorType_t type);
void backend_destroyed(cudnnBackendDescriptor_t d);
void backend_unknown(cudnnBackendDescriptor_t d);
void backend_finalized(cudnnBackendDescriptor_t d);

// cudnnBackendSetAttribute: true when the call is sure to succeed (it is then recorded as done
// and may go out without waiting).
bool variant_set_predicted(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                           cudnnBackendAttributeType_t type, int64_t count, const void* array);
// The status of a SetAttribute that waited: recorded (a failure leaves the pack unknown).
void variant_set_done(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                      int64_t count, cudnnStatus_t status);
// async_if= of cudnnBackendFinalize: a variant pack whose Finalize is sure to succeed.
bool variant_finalize_predicted(cudnnBackendDescriptor_t d);

}  // namespace gvirtus::cudnn
