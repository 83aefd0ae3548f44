// The batch-norm calls PyTorch makes around every BatchNorm layer of a training step
// (cudnnGetBatchNormalization*Size, cudnnBatchNormalizationForwardTrainingEx,
// cudnnBatchNormalizationBackwardEx) answered or sent without waiting where the client can tell
// the result exactly: a size query whose arguments, descriptor contents included, were answered
// before gets the same size (cuDNN computes it from nothing else), and a call whose checked
// properties (handle, modes, descriptor contents, which pointers are null and their alignment,
// epsilon, the average factor, workspace and reserve sizes) equal those of a call that succeeded
// is accepted again, so it goes out without waiting and a failure of its kernels comes back as a
// deferred error, as a launch's does. Anything the client does not know (a descriptor set other
// than through cudnnSetTensorNdDescriptor, an activation descriptor, a null output pointer) waits.
// Wired to api/cudnn.api through local=, async_if= and hook.
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <optional>
#include <string>

namespace gvirtus::cudnn {

// The content of a tensor descriptor as the client knows it (glue.cc's hooks): set by
// cudnnSetTensorNdDescriptor; any other setter makes it unknown; destroying the descriptor
// drops it.
void note_tensor_shape(cudnnTensorDescriptor_t d, const std::string& key);
void forget_tensor_shape(const void* d);

std::optional<cudnnStatus_t> bn_forward_workspace_local(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t z, cudnnTensorDescriptor_t y,
    cudnnTensorDescriptor_t bn, cudnnActivationDescriptor_t act, size_t* size);
void hook_cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t z, cudnnTensorDescriptor_t y,
    cudnnTensorDescriptor_t bn, cudnnActivationDescriptor_t act, size_t* size);

std::optional<cudnnStatus_t> bn_backward_workspace_local(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y, cudnnTensorDescriptor_t dy,
    cudnnTensorDescriptor_t dz, cudnnTensorDescriptor_t dx, cudnnTensorDescriptor_t dbn,
    cudnnActivationDescriptor_t act, size_t* size);
void hook_cudnnGetBatchNormalizationBackwardExWorkspaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y, cudnnTensorDescriptor_t dy,
    cudnnTensorDescriptor_t dz, cudnnTensorDescriptor_t dx, cudnnTensorDescriptor_t dbn,
    cudnnActivationDescriptor_t act, size_t* size);

std::optional<cudnnStatus_t> bn_reserve_local(cudnnHandle_t h, cudnnBatchNormMode_t mode,
                                              cudnnBatchNormOps_t ops,
                                              cudnnActivationDescriptor_t act,
                                              cudnnTensorDescriptor_t x, size_t* size);
void hook_cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnActivationDescriptor_t act, cudnnTensorDescriptor_t x, size_t* size);

bool bn_forward_accepted(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                         const void* alpha, const void* beta, cudnnTensorDescriptor_t x,
                         const void* xData, cudnnTensorDescriptor_t z, const void* zData,
                         cudnnTensorDescriptor_t y, void* yData, cudnnTensorDescriptor_t bn,
                         const void* scale, const void* bias, double factor, void* runMean,
                         void* runVar, double epsilon, void* saveMean, void* saveInvVar,
                         cudnnActivationDescriptor_t act, void* ws, size_t wsBytes,
                         void* reserve, size_t reserveBytes);
void hook_cudnnBatchNormalizationForwardTrainingEx(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops, const void* alpha,
    const void* beta, cudnnTensorDescriptor_t x, const void* xData, cudnnTensorDescriptor_t z,
    const void* zData, cudnnTensorDescriptor_t y, void* yData, cudnnTensorDescriptor_t bn,
    const void* scale, const void* bias, double factor, void* runMean, void* runVar,
    double epsilon, void* saveMean, void* saveInvVar, cudnnActivationDescriptor_t act, void* ws,
    size_t wsBytes, void* reserve, size_t reserveBytes);

bool bn_backward_accepted(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                          const void* alphaData, const void* betaData, const void* alphaParam,
                          const void* betaParam, cudnnTensorDescriptor_t x, const void* xData,
                          cudnnTensorDescriptor_t y, const void* yData,
                          cudnnTensorDescriptor_t dy, const void* dyData,
                          cudnnTensorDescriptor_t dz, void* dzData, cudnnTensorDescriptor_t dx,
                          void* dxData, cudnnTensorDescriptor_t dbn, const void* scale,
                          const void* bias, void* dScale, void* dBias, double epsilon,
                          const void* savedMean, const void* savedInvVar,
                          cudnnActivationDescriptor_t act, void* ws, size_t wsBytes,
                          void* reserve, size_t reserveBytes);
void hook_cudnnBatchNormalizationBackwardEx(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops, const void* alphaData,
    const void* betaData, const void* alphaParam, const void* betaParam,
    cudnnTensorDescriptor_t x, const void* xData, cudnnTensorDescriptor_t y, const void* yData,
    cudnnTensorDescriptor_t dy, const void* dyData, cudnnTensorDescriptor_t dz, void* dzData,
    cudnnTensorDescriptor_t dx, void* dxData, cudnnTensorDescriptor_t dbn, const void* scale,
    const void* bias, void* dScale, void* dBias, double epsilon, const void* savedMean,
    const void* savedInvVar, cudnnActivationDescriptor_t act, void* ws, size_t wsBytes,
    void* reserve, size_t reserveBytes);

}  // namespace gvirtus::cudnn
