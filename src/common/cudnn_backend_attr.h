// The C size of one element of each cudnnBackendAttributeType_t, shared by the cuDNN plugin's
// client (src/frontend/cudnn) and server (src/backend/cudnn): cudnnBackendSetAttribute /
// GetAttribute carry `elementCount` elements of this size. Header-only; needs cudnn_graph.h.
#pragma once
#include <cudnn_graph.h>

#include <cstddef>
#include <cstdint>

namespace gvirtus::cudnn_attr {

// How an attribute's elements travel: ids of cuDNN handles or backend descriptors (translated on
// both ends), device pointers (u64, passed through), or plain values (their bytes).
enum class Wire { kUnknown, kHandle, kDescriptor, kPointer, kValue };

struct TypeInfo {
  Wire wire;
  size_t size;  // bytes per element in the application's array; 0 for kUnknown
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
inline TypeInfo type_info(cudnnBackendAttributeType_t t) {
  switch (t) {
    case CUDNN_TYPE_HANDLE: return {Wire::kHandle, sizeof(cudnnHandle_t)};
    case CUDNN_TYPE_BACKEND_DESCRIPTOR: return {Wire::kDescriptor, sizeof(cudnnBackendDescriptor_t)};
    case CUDNN_TYPE_VOID_PTR: return {Wire::kPointer, sizeof(void*)};
    case CUDNN_TYPE_DATA_TYPE: return {Wire::kValue, sizeof(cudnnDataType_t)};
    case CUDNN_TYPE_BOOLEAN: return {Wire::kValue, sizeof(bool)};
    case CUDNN_TYPE_INT64: return {Wire::kValue, sizeof(int64_t)};
    case CUDNN_TYPE_FLOAT: return {Wire::kValue, sizeof(float)};
    case CUDNN_TYPE_DOUBLE: return {Wire::kValue, sizeof(double)};
    case CUDNN_TYPE_CONVOLUTION_MODE: return {Wire::kValue, sizeof(cudnnConvolutionMode_t)};
    case CUDNN_TYPE_HEUR_MODE: return {Wire::kValue, sizeof(cudnnBackendHeurMode_t)};
    case CUDNN_TYPE_KNOB_TYPE: return {Wire::kValue, sizeof(cudnnBackendKnobType_t)};
    case CUDNN_TYPE_NAN_PROPOGATION: return {Wire::kValue, sizeof(cudnnNanPropagation_t)};
    case CUDNN_TYPE_NUMERICAL_NOTE: return {Wire::kValue, sizeof(cudnnBackendNumericalNote_t)};
    case CUDNN_TYPE_LAYOUT_TYPE: return {Wire::kValue, sizeof(cudnnBackendLayoutType_t)};
    case CUDNN_TYPE_ATTRIB_NAME: return {Wire::kValue, sizeof(cudnnBackendAttributeName_t)};
    case CUDNN_TYPE_POINTWISE_MODE: return {Wire::kValue, sizeof(cudnnPointwiseMode_t)};
    case CUDNN_TYPE_GENSTATS_MODE: return {Wire::kValue, sizeof(cudnnGenStatsMode_t)};
    case CUDNN_TYPE_BN_FINALIZE_STATS_MODE:
      return {Wire::kValue, sizeof(cudnnBnFinalizeStatsMode_t)};
    case CUDNN_TYPE_REDUCTION_OPERATOR_TYPE: return {Wire::kValue, sizeof(cudnnReduceTensorOp_t)};
    case CUDNN_TYPE_BEHAVIOR_NOTE: return {Wire::kValue, sizeof(cudnnBackendBehaviorNote_t)};
    case CUDNN_TYPE_TENSOR_REORDERING_MODE:
      return {Wire::kValue, sizeof(cudnnBackendTensorReordering_t)};
    case CUDNN_TYPE_RESAMPLE_MODE: return {Wire::kValue, sizeof(cudnnResampleMode_t)};
    case CUDNN_TYPE_PADDING_MODE: return {Wire::kValue, sizeof(cudnnPaddingMode_t)};
    case CUDNN_TYPE_INT32: return {Wire::kValue, sizeof(int32_t)};
    case CUDNN_TYPE_CHAR: return {Wire::kValue, sizeof(char)};
    case CUDNN_TYPE_SIGNAL_MODE: return {Wire::kValue, sizeof(cudnnSignalMode_t)};
    case CUDNN_TYPE_FRACTION: return {Wire::kValue, sizeof(cudnnFraction_t)};
    case CUDNN_TYPE_NORM_MODE: return {Wire::kValue, sizeof(cudnnBackendNormMode_t)};
    case CUDNN_TYPE_NORM_FWD_PHASE: return {Wire::kValue, sizeof(cudnnBackendNormFwdPhase_t)};
    case CUDNN_TYPE_RNG_DISTRIBUTION: return {Wire::kValue, sizeof(cudnnRngDistribution_t)};
    case CUDNN_TYPE_MOE_GROUPED_MATMUL_MODE:
      return {Wire::kValue, sizeof(cudnnMoeGroupedMatmulMode_t)};
  }
  return {Wire::kUnknown, 0};
}
#pragma GCC diagnostic pop

// Bytes of one element on the wire: ids and pointers as u64, values as themselves.
inline size_t wire_size(const TypeInfo& i) {
  return i.wire == Wire::kValue ? i.size : sizeof(uint64_t);
}

// The most bytes one SetAttribute / GetAttribute array may have on the wire (the library's
// `bound buffer=`); no honest graph comes close.
constexpr size_t kMaxArrayBytes = 1u << 20;

// Scalars passed by value (protocol 3.10; docs/libraries.md, "Tensors passed by value"). A
// tensor with CUDNN_ATTR_TENSOR_IS_BY_VALUE has its one element on the host: the variant pack's
// pointer for it is an address of the application's memory, whose bytes cuDNN reads on the
// CPU. After the elements of a SetAttribute of CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS
// (CUDNN_TYPE_VOID_PTR), the client may send
//   u32 k (1..count), then k x (u32 index, kByValueBytes bytes),
// in ascending index order: for each element whose address is readable host memory of the
// client and lies in no device memory it knows of, the bytes found there (zeros past what was
// readable). The worker keeps them in host memory of its own, which the element then points
// to, unless the address is device memory on the worker. No trailer: k = 0.
constexpr size_t kByValueBytes = 16;  // the largest scalar cuDNN takes (a complex double)
constexpr uint16_t kByValueMinor = 10;

}  // namespace gvirtus::cudnn_attr
