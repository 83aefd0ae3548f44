// Helpers shared by the generated cuDNN stubs (build/gen/cudnn_client.cc) and the hand-written
// functions in this folder. Contract between the generator (api/cudnn.api) and this library.
#pragma once
#include <cudnn.h>

#include <cstddef>

#include "frontend/core/client.h"
#include "frontend/core/live_set.h"
#include "frontend/cudnn/batch_norm.h"
#include "frontend/cudnn/variant_pack.h"

namespace gvirtus::cudnn {

// The session is gone: CUDNN_STATUS_NOT_INITIALIZED, what cuDNN answers when it cannot reach
// the GPU.
cudnnStatus_t lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core.
cudnnStatus_t finish(const client::Call& c);

// Descriptor data types the client has seen set (tensor, filter, RNN data, sequence data
// descriptors: the `hook`s below), for the calls that send host values whose size depends on it.
// A descriptor the client knows nothing of counts as CUDNN_DATA_FLOAT.
//   scale_bytes: alpha/beta and friends: 8 (double) for CUDNN_DATA_DOUBLE, else 4 (float).
//   elem_bytes:  one element of the descriptor's data type (cudnnSetTensor's value).
//   fill_bytes:  the paddingFill value of an RNN data / sequence data descriptor.
size_t scale_bytes(const void* desc);
size_t elem_bytes(const void* desc);
size_t fill_bytes(const void* desc);
size_t dtype_bytes(cudnnDataType_t t);

// Handles and tensor descriptors created and not destroyed (after= of their Create and
// Destroy). cudnnSetStream on a live handle and the destruction of a live descriptor are sure
// to succeed, so they go out without waiting (async_if=): PyTorch does both around every
// convolution.
client::LiveSet& objects();
// cudnnDestroyTensorDescriptor's after=: the descriptor's client-side records go with it (its
// data type, its shape: the ids are never reused, so they would only grow).
void tensor_destroyed(cudnnTensorDescriptor_t d);
// The same for the other descriptors whose data type the client records (filter, RNN data,
// sequence data): after= of their Destroy.
void descriptor_destroyed(const void* d);
// Descriptors whose data type is recorded now (tests).
size_t recorded_descriptor_types();
// cudnnSetTensorNdDescriptor on a live descriptor with an argument list that succeeded before
// (kept by its hook): sent without waiting (async_if=).
bool tensor_nd_accepted(cudnnTensorDescriptor_t d, cudnnDataType_t t, int n, const int* dims,
                        const int* strides);

// Hooks (annotation word `hook`): run after the call succeeded, with its arguments.
void hook_cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t,
                                     cudnnDataType_t t, int, int, int, int);
void hook_cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t d, cudnnDataType_t t, int, int,
                                       int, int, int, int, int, int);
void hook_cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t d, cudnnDataType_t t, int,
                                     const int*, const int*);
void hook_cudnnSetTensorNdDescriptorEx(cudnnTensorDescriptor_t d, cudnnTensorFormat_t,
                                       cudnnDataType_t t, int, const int*);
void hook_cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t,
                                     cudnnTensorFormat_t, int, int, int, int);
void hook_cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t,
                                     cudnnTensorFormat_t, int, const int*);
void hook_cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t d, cudnnDataType_t t,
                                    cudnnRNNDataLayout_t, int, int, int, const int*, void*);
void hook_cudnnSetSeqDataDescriptor(cudnnSeqDataDescriptor_t d, cudnnDataType_t t, int,
                                    const int*, const cudnnSeqDataAxis_t*, size_t, const int*,
                                    void*);
// Descriptors cuDNN fills itself take their data type by cuDNN's rules: derived batch-norm /
// normalization descriptors are float for half and bfloat16 inputs, else the input's type; a
// transform's destination and the folded descriptors take their source's.
void hook_cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derived,
                                        const cudnnTensorDescriptor_t x, cudnnBatchNormMode_t);
void hook_cudnnDeriveNormTensorDescriptor(cudnnTensorDescriptor_t scaleBias,
                                          cudnnTensorDescriptor_t meanVar,
                                          const cudnnTensorDescriptor_t x, cudnnNormMode_t, int);
void hook_cudnnInitTransformDest(const cudnnTensorTransformDescriptor_t,
                                 const cudnnTensorDescriptor_t src, cudnnTensorDescriptor_t dest,
                                 size_t*);
void hook_cudnnGetFoldedConvBackwardDataDescriptors(
    const cudnnHandle_t, const cudnnFilterDescriptor_t filter, const cudnnTensorDescriptor_t diff,
    const cudnnConvolutionDescriptor_t, const cudnnTensorDescriptor_t grad,
    const cudnnTensorFormat_t,
    cudnnFilterDescriptor_t foldedFilter, cudnnTensorDescriptor_t paddedDiff,
    cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t foldedGrad,
    cudnnTensorTransformDescriptor_t, cudnnTensorTransformDescriptor_t,
    cudnnTensorTransformDescriptor_t, cudnnTensorTransformDescriptor_t);

}  // namespace gvirtus::cudnn
