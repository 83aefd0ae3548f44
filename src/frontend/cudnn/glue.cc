// glue.h: loss, reply completion and the data type of each descriptor; registers the "cudnn"
// plugin.
#include "frontend/cudnn/glue.h"

#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "frontend/core/live_set.h"

namespace gvirtus::cudnn {
namespace {

__attribute__((constructor)) void announce_plugin() { client::add_plugin("cudnn"); }

// Descriptor id -> data type. Ids are never reused (and carry their kind), so one map serves
// every descriptor type; the entries of tensor, filter, RNN-data and sequence-data descriptors
// go with their Destroy (PyTorch makes new ones around every operation).
struct Types {
  std::mutex mu;
  std::unordered_map<const void*, cudnnDataType_t> of;  // REQUIRES: mu
};

Types& types() {
  static auto* t = new Types;
  return *t;
}

void remember(const void* desc, cudnnDataType_t t) {
  if (desc == nullptr) return;
  forget_tensor_shape(desc);  // set some other way than cudnnSetTensorNdDescriptor, or again
  Types& m = types();
  std::lock_guard<std::mutex> g(m.mu);
  m.of[desc] = t;
}

cudnnDataType_t type_of(const void* desc) {
  Types& m = types();
  std::lock_guard<std::mutex> g(m.mu);
  auto it = m.of.find(desc);
  return it == m.of.end() ? CUDNN_DATA_FLOAT : it->second;
}

// cuDNN's rule for derived batch-norm and normalization descriptors.
cudnnDataType_t derived_type(const void* x) {
  const cudnnDataType_t t = type_of(x);
  return t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16 ? CUDNN_DATA_FLOAT : t;
}

}  // namespace

cudnnStatus_t lost() { return CUDNN_STATUS_NOT_INITIALIZED; }

cudnnStatus_t finish(const client::Call& c) { return client::library_result<cudnnStatus_t>(c); }

size_t dtype_bytes(cudnnDataType_t t) {
  switch (t) {
    case CUDNN_DATA_DOUBLE:
    case CUDNN_DATA_INT64:
      return 8;
    case CUDNN_DATA_HALF:
    case CUDNN_DATA_BFLOAT16:
      return 2;
    case CUDNN_DATA_INT8:
    case CUDNN_DATA_UINT8:
    case CUDNN_DATA_BOOLEAN:
    case CUDNN_DATA_FP8_E4M3:
    case CUDNN_DATA_FP8_E5M2:
      return 1;
    default:
      return 4;
  }
}

size_t scale_bytes(const void* desc) { return type_of(desc) == CUDNN_DATA_DOUBLE ? 8 : 4; }
size_t elem_bytes(const void* desc) { return dtype_bytes(type_of(desc)); }
size_t fill_bytes(const void* desc) { return dtype_bytes(type_of(desc)); }

void hook_cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t,
                                     cudnnDataType_t t, int, int, int, int) {
  remember(d, t);
}
void hook_cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t d, cudnnDataType_t t, int, int,
                                       int, int, int, int, int, int) {
  remember(d, t);
}
namespace {

// Argument lists of cudnnSetTensorNdDescriptor that succeeded: its result depends on nothing
// else, so the same list on a live descriptor succeeds again.
struct TensorShapes {
  std::mutex mu;
  std::unordered_set<std::string> ok;  // REQUIRES: mu
};
TensorShapes& tensor_shapes() {
  static auto* s = new TensorShapes;
  return *s;
}
bool shape_key(cudnnDataType_t t, int n, const int* dims, const int* strides, std::string* key) {
  if (n < 0 || n > CUDNN_DIM_MAX || (n > 0 && (!dims || !strides))) return false;
  key->assign(reinterpret_cast<const char*>(&t), sizeof t);
  key->append(reinterpret_cast<const char*>(&n), sizeof n);
  key->append(reinterpret_cast<const char*>(dims), sizeof(int) * static_cast<size_t>(n));
  key->append(reinterpret_cast<const char*>(strides), sizeof(int) * static_cast<size_t>(n));
  return true;
}

}  // namespace

bool tensor_nd_accepted(cudnnTensorDescriptor_t d, cudnnDataType_t t, int n, const int* dims,
                        const int* strides) {
  std::string key;
  if (!objects().contains(d) || !shape_key(t, n, dims, strides, &key)) return false;
  TensorShapes& s = tensor_shapes();
  std::lock_guard<std::mutex> g(s.mu);
  return s.ok.count(key) != 0;
}

void hook_cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t d, cudnnDataType_t t, int n,
                                     const int* dims, const int* strides) {
  remember(d, t);
  std::string key;
  if (!shape_key(t, n, dims, strides, &key)) return;
  note_tensor_shape(d, key);
  TensorShapes& s = tensor_shapes();
  std::lock_guard<std::mutex> g(s.mu);
  s.ok.insert(key);
}
void hook_cudnnSetTensorNdDescriptorEx(cudnnTensorDescriptor_t d, cudnnTensorFormat_t,
                                       cudnnDataType_t t, int, const int*) {
  remember(d, t);
}
void hook_cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t,
                                     cudnnTensorFormat_t, int, int, int, int) {
  remember(d, t);
}
void hook_cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t,
                                     cudnnTensorFormat_t, int, const int*) {
  remember(d, t);
}
void hook_cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t d, cudnnDataType_t t,
                                    cudnnRNNDataLayout_t, int, int, int, const int*, void*) {
  remember(d, t);
}
void hook_cudnnSetSeqDataDescriptor(cudnnSeqDataDescriptor_t d, cudnnDataType_t t, int,
                                    const int*, const cudnnSeqDataAxis_t*, size_t, const int*,
                                    void*) {
  remember(d, t);
}
void hook_cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derived,
                                        const cudnnTensorDescriptor_t x, cudnnBatchNormMode_t) {
  remember(derived, derived_type(x));
}
void hook_cudnnDeriveNormTensorDescriptor(cudnnTensorDescriptor_t scaleBias,
                                          cudnnTensorDescriptor_t meanVar,
                                          const cudnnTensorDescriptor_t x, cudnnNormMode_t, int) {
  remember(scaleBias, derived_type(x));
  remember(meanVar, derived_type(x));
}
void hook_cudnnInitTransformDest(const cudnnTensorTransformDescriptor_t,
                                 const cudnnTensorDescriptor_t src, cudnnTensorDescriptor_t dest,
                                 size_t*) {
  remember(dest, type_of(src));
}
void hook_cudnnGetFoldedConvBackwardDataDescriptors(
    const cudnnHandle_t, const cudnnFilterDescriptor_t filter, const cudnnTensorDescriptor_t diff,
    const cudnnConvolutionDescriptor_t, const cudnnTensorDescriptor_t grad,
    const cudnnTensorFormat_t, cudnnFilterDescriptor_t foldedFilter,
    cudnnTensorDescriptor_t paddedDiff, cudnnConvolutionDescriptor_t,
    cudnnTensorDescriptor_t foldedGrad, cudnnTensorTransformDescriptor_t,
    cudnnTensorTransformDescriptor_t, cudnnTensorTransformDescriptor_t,
    cudnnTensorTransformDescriptor_t) {
  remember(foldedFilter, type_of(filter));
  remember(paddedDiff, type_of(diff));
  remember(foldedGrad, type_of(grad));
}

client::LiveSet& objects() {
  static auto* s = new client::LiveSet;
  return *s;
}

size_t recorded_descriptor_types() {
  Types& m = types();
  std::lock_guard<std::mutex> g(m.mu);
  return m.of.size();
}

void descriptor_destroyed(const void* d) {
  Types& m = types();
  std::lock_guard<std::mutex> g(m.mu);
  m.of.erase(d);
}

void tensor_destroyed(cudnnTensorDescriptor_t d) {
  objects().remove(d);
  forget_tensor_shape(d);
  Types& m = types();
  std::lock_guard<std::mutex> g(m.mu);
  m.of.erase(d);
}

}  // namespace gvirtus::cudnn
