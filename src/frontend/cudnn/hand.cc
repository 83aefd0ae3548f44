// Hand-written cuDNN functions of the client: the version queries (they return size_t and must
// report the backend's library), the error strings, cudnnGetLastErrorString, and the legacy CTC
// loss calls whose host arrays are sized by the probabilities' descriptor.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cudnn_calls.h"
#include "frontend/core/status_table.h"
#include "frontend/core/value_call.h"
#include "frontend/cudnn/glue.h"

namespace gvirtus::cudnn {
namespace {

// {code, name, string} as the real libcudnn.so.9 answers, by code (build time, errtable.cc).
const client::StatusRow kErrors[] = {
#include "cudnn_errors.inc"
};

// The batch size of a CTC probabilities tensor (T x N x A): the length of the host arrays of
// label and input lengths. Asked of the backend with the forwarded cudnnGetTensorNdDescriptor.
cudnnStatus_t ctc_batch(cudnnTensorDescriptor_t probs, int* n) {
  int dims[8] = {}, strides[8] = {}, nb = 0;
  cudnnDataType_t t;
  const cudnnStatus_t s = cudnnGetTensorNdDescriptor(probs, 8, &t, &nb, dims, strides);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  if (nb < 2 || dims[1] < 0) return CUDNN_STATUS_BAD_PARAM;
  *n = dims[1];
  return CUDNN_STATUS_SUCCESS;
}

// Appends the CTC host arrays: the batch size, then labelLengths[n], inputLengths[n] and
// labels[sum of labelLengths], each with a presence byte. The server checks every count against
// its own descriptor and the lengths it received.
cudnnStatus_t put_ctc_arrays(wire::Writer& a, int n, const int* labels, const int* labelLengths,
                             const int* inputLengths) {
  constexpr long long kMax = (1 << 20) / sizeof(int);
  if (n > kMax) return CUDNN_STATUS_BAD_PARAM;
  long long total = 0;
  if (labelLengths != nullptr) {
    for (int i = 0; i < n; ++i) {
      if (labelLengths[i] < 0) return CUDNN_STATUS_BAD_PARAM;
      total += labelLengths[i];
      if (total > kMax) return CUDNN_STATUS_BAD_PARAM;
    }
  }
  a.put<int32_t>(n);
  a.put<uint8_t>(labelLengths != nullptr);
  if (labelLengths != nullptr) a.put_bytes(labelLengths, sizeof(int) * static_cast<size_t>(n));
  a.put<uint8_t>(inputLengths != nullptr);
  if (inputLengths != nullptr) a.put_bytes(inputLengths, sizeof(int) * static_cast<size_t>(n));
  // Without labelLengths cuDNN fails before reading the labels: none are sent.
  const bool send_labels = labels != nullptr && labelLengths != nullptr;
  a.put<uint8_t>(send_labels);
  if (send_labels) a.put_bytes(labels, sizeof(int) * static_cast<size_t>(total));
  return CUDNN_STATUS_SUCCESS;
}

uint64_t u64(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

}  // namespace
}  // namespace gvirtus::cudnn

using namespace gvirtus;

extern "C" GV_API size_t cudnnGetVersion(void) {
  return client::u64_call(cudnn::kCall_cudnnGetVersion, CUDNN_STATUS_SUCCESS,
                          "cudnnGetVersion");
}
extern "C" GV_API size_t cudnnGetMaxDeviceVersion(void) {
  return client::u64_call(cudnn::kCall_cudnnGetMaxDeviceVersion, CUDNN_STATUS_SUCCESS,
                          "cudnnGetMaxDeviceVersion");
}
extern "C" GV_API size_t cudnnGetCudartVersion(void) {
  return client::u64_call(cudnn::kCall_cudnnGetCudartVersion, CUDNN_STATUS_SUCCESS,
                          "cudnnGetCudartVersion");
}

// Answered locally from the real library's table.
extern "C" GV_API const char* cudnnGetErrorString(cudnnStatus_t status) {
  const client::StatusRow* r = client::find_status(cudnn::kErrors, static_cast<int>(status));
  return r ? r->text : "CUDNN_UNKNOWN_STATUS";
}

// cuDNN keeps the last error message per thread; the worker serves each client thread on a
// thread of its own, so the backend's answer is this thread's.
extern "C" GV_API void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (message == nullptr || max_size == 0) return;
  message[0] = '\0';
  constexpr size_t kMax = 65536;
  const size_t n = max_size < kMax ? max_size : kMax;
  try {
    client::Call c(cudnn::kCall_cudnnGetLastErrorString);
    c.args().put<uint64_t>(n);
    if (!c.invoke() || c.status() != CUDNN_STATUS_SUCCESS) return;
    wire::Reader& r = c.result();
    const std::string s = r.get_string(n - 1);
    r.expect_end();
    std::memcpy(message, s.c_str(), s.size() + 1);
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cudnnGetLastErrorString: ") + e.what());
  } catch (...) {
  }
}

extern "C" GV_API cudnnStatus_t cudnnCTCLoss(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t probsDesc, const void* probs,
    const int* hostLabels, const int* hostLabelLengths, const int* hostInputLengths, void* costs,
    const cudnnTensorDescriptor_t gradientsDesc, void* gradients, cudnnCTCLossAlgo_t algo,
    cudnnCTCLossDescriptor_t ctcLossDesc, void* workspace, size_t workSpaceSizeInBytes) {
  try {
    int n = 0;
    cudnnStatus_t s = cudnn::ctc_batch(probsDesc, &n);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    client::Call c(cudnn::kCall_cudnnCTCLoss);
    wire::Writer& a = c.args();
    a.put<uint64_t>(cudnn::u64(handle));
    a.put<uint64_t>(cudnn::u64(probsDesc));
    a.put<uint64_t>(cudnn::u64(probs));
    a.put<uint64_t>(cudnn::u64(costs));
    a.put<uint64_t>(cudnn::u64(gradientsDesc));
    a.put<uint64_t>(cudnn::u64(gradients));
    a.put<int32_t>(static_cast<int32_t>(algo));
    a.put<uint64_t>(cudnn::u64(ctcLossDesc));
    a.put<uint64_t>(cudnn::u64(workspace));
    a.put<uint64_t>(workSpaceSizeInBytes);
    s = cudnn::put_ctc_arrays(a, n, hostLabels, hostLabelLengths, hostInputLengths);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    if (!c.invoke()) return cudnn::lost();
    return cudnn::finish(c);
  } catch (...) {
    return cudnn::lost();
  }
}

extern "C" GV_API cudnnStatus_t cudnnGetCTCLossWorkspaceSize(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t probsDesc,
    const cudnnTensorDescriptor_t gradientsDesc, const int* labels, const int* labelLengths,
    const int* inputLengths, cudnnCTCLossAlgo_t algo, cudnnCTCLossDescriptor_t ctcLossDesc,
    size_t* sizeInBytes) {
  try {
    int n = 0;
    cudnnStatus_t s = cudnn::ctc_batch(probsDesc, &n);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    client::Call c(cudnn::kCall_cudnnGetCTCLossWorkspaceSize);
    wire::Writer& a = c.args();
    a.put<uint64_t>(cudnn::u64(handle));
    a.put<uint64_t>(cudnn::u64(probsDesc));
    a.put<uint64_t>(cudnn::u64(gradientsDesc));
    a.put<int32_t>(static_cast<int32_t>(algo));
    a.put<uint64_t>(cudnn::u64(ctcLossDesc));
    a.put<uint8_t>(sizeInBytes != nullptr);
    s = cudnn::put_ctc_arrays(a, n, labels, labelLengths, inputLengths);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    if (!c.invoke()) return cudnn::lost();
    s = cudnn::finish(c);
    if (s == CUDNN_STATUS_SUCCESS && sizeInBytes != nullptr) {
      wire::Reader& r = c.result();
      *sizeInBytes = static_cast<size_t>(r.get<uint64_t>());
      r.expect_end();
    }
    return s;
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cudnnGetCTCLossWorkspaceSize: ") + e.what());
    return cudnn::lost();
  } catch (...) {
    return cudnn::lost();
  }
}
