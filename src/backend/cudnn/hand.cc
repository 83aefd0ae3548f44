// Hand-written cuDNN handlers: the version queries (size_t answers), cudnnGetLastErrorString and
// the legacy CTC loss calls with host arrays (src/frontend/cudnn/hand.cc has the wire layouts).
#include <cstring>
#include <string>
#include <vector>

#include "backend/cudnn/support.h"
#include "cudnn_handles.h"

namespace gvirtus::backend::cudnn {
namespace {

void answer_size(CallContext& ctx, size_t v) {
  ctx.in.expect_end();
  ctx.status = CUDNN_STATUS_SUCCESS;
  ctx.out.put<uint64_t>(v);
}

// The CTC host arrays. Their lengths come from the real probabilities descriptor (the batch
// size) and from the label lengths received, never from the client alone: a batch size that
// differs from the descriptor's answers CUDNN_STATUS_BAD_PARAM (the descriptor changed under a
// racing thread), a labels array that is not the sum of the lengths ends the session.
struct CtcArrays {
  std::vector<int> labels, label_lengths, input_lengths;
  bool has_labels = false, has_label_lengths = false, has_input_lengths = false;
};

void get_ints(wire::Reader& in, std::vector<int>* v, size_t n) {
  v->resize(n ? n : 1);
  if (n) std::memcpy(v->data(), in.get_bytes(n * sizeof(int)), n * sizeof(int));
}

void read_ctc_arrays(CallContext& ctx, const char* fn, CtcArrays* a, int32_t* n) {
  constexpr int64_t kMax = (1 << 20) / sizeof(int);
  wire::Reader& in = ctx.in;
  *n = in.get<int32_t>();
  if (*n < 0 || *n > kMax) throw SessionFault(std::string(fn) + ": batch size out of bounds");
  // Each flag names its array, so a test of one cannot pass on another.
  auto flag = [&in](const char* what) {
    const uint8_t f = in.get<uint8_t>();
    if (f > 1) throw wire::DecodeError(std::string(what) + " presence flag is neither 0 nor 1");
    return f != 0;
  };
  a->has_label_lengths = flag("label lengths");
  if (a->has_label_lengths) get_ints(in, &a->label_lengths, static_cast<size_t>(*n));
  a->has_input_lengths = flag("input lengths");
  if (a->has_input_lengths) get_ints(in, &a->input_lengths, static_cast<size_t>(*n));
  a->has_labels = flag("labels");
  if (a->has_labels) {
    if (!a->has_label_lengths) throw SessionFault(std::string(fn) + ": labels without lengths");
    int64_t total = 0;
    for (int32_t i = 0; i < *n; ++i) {
      if (a->label_lengths[i] < 0) throw SessionFault(std::string(fn) + ": negative label length");
      total += a->label_lengths[i];
      if (total > kMax) throw SessionFault(std::string(fn) + ": labels out of bounds");
    }
    get_ints(in, &a->labels, static_cast<size_t>(total));
  }
  in.expect_end();
}

// True when the real descriptor's batch size is n; else sets the status.
bool batch_matches(CallContext& ctx, cudnnTensorDescriptor_t probs, int32_t n) {
  int dims[8] = {}, strides[8] = {}, nb = 0;
  cudnnDataType_t t;
  const cudnnStatus_t s = cudnnGetTensorNdDescriptor(probs, 8, &t, &nb, dims, strides);
  if (s != CUDNN_STATUS_SUCCESS) {
    ctx.status = s;
    return false;
  }
  if (nb < 2 || dims[1] != n) {
    ctx.status = CUDNN_STATUS_BAD_PARAM;
    return false;
  }
  return true;
}

template <typename T>
T from_u64(uint64_t v) {
  return reinterpret_cast<T>(static_cast<uintptr_t>(v));
}

}  // namespace

void handle_cudnnGetVersion(CallContext& ctx) { answer_size(ctx, cudnnGetVersion()); }
void handle_cudnnGetMaxDeviceVersion(CallContext& ctx) {
  answer_size(ctx, cudnnGetMaxDeviceVersion());
}
void handle_cudnnGetCudartVersion(CallContext& ctx) { answer_size(ctx, cudnnGetCudartVersion()); }

// cudnnGetLastErrorString(max_size u64) -> the message (at most max_size - 1 bytes).
void handle_cudnnGetLastErrorString(CallContext& ctx) {
  const uint64_t n = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (n == 0 || n > 65536) throw SessionFault("cudnnGetLastErrorString: size out of bounds");
  std::vector<char> buf(n, '\0');
  cudnnGetLastErrorString(buf.data(), buf.size());
  buf.back() = '\0';
  ctx.status = CUDNN_STATUS_SUCCESS;
  ctx.out.put_string(buf.data());
}

void handle_cudnnCTCLoss(CallContext& ctx) {
  wire::Reader& in = ctx.in;
  const uint64_t w_handle = in.get<uint64_t>(), w_probs_desc = in.get<uint64_t>();
  void* probs = from_u64<void*>(in.get<uint64_t>());
  void* costs = from_u64<void*>(in.get<uint64_t>());
  const uint64_t w_grad_desc = in.get<uint64_t>();
  void* gradients = from_u64<void*>(in.get<uint64_t>());
  const auto algo = static_cast<cudnnCTCLossAlgo_t>(in.get<int32_t>());
  const uint64_t w_ctc = in.get<uint64_t>();
  void* workspace = from_u64<void*>(in.get<uint64_t>());
  const size_t ws_size = static_cast<size_t>(in.get<uint64_t>());
  CtcArrays a;
  int32_t n = 0;
  read_ctc_arrays(ctx, "cudnnCTCLoss", &a, &n);
  cudnnHandle_t handle;
  cudnnTensorDescriptor_t probs_desc, grad_desc;
  cudnnCTCLossDescriptor_t ctc;
  if (!cudnn_in(ctx, w_handle, &handle) || !tensor_in(ctx, w_probs_desc, &probs_desc) ||
      !tensor_in(ctx, w_grad_desc, &grad_desc) || !ctc_in(ctx, w_ctc, &ctc))
    return;
  if (!batch_matches(ctx, probs_desc, n)) return;
  ctx.status = cudnnCTCLoss(handle, probs_desc, probs, a.has_labels ? a.labels.data() : nullptr,
                            a.has_label_lengths ? a.label_lengths.data() : nullptr,
                            a.has_input_lengths ? a.input_lengths.data() : nullptr, costs,
                            grad_desc, gradients, algo, ctc, workspace, ws_size);
}

void handle_cudnnGetCTCLossWorkspaceSize(CallContext& ctx) {
  wire::Reader& in = ctx.in;
  const uint64_t w_handle = in.get<uint64_t>(), w_probs_desc = in.get<uint64_t>();
  const uint64_t w_grad_desc = in.get<uint64_t>();
  const auto algo = static_cast<cudnnCTCLossAlgo_t>(in.get<int32_t>());
  const uint64_t w_ctc = in.get<uint64_t>();
  const uint8_t want_size = in.get<uint8_t>();
  if (want_size > 1) throw wire::DecodeError("workspace size presence flag is neither 0 nor 1");
  CtcArrays a;
  int32_t n = 0;
  read_ctc_arrays(ctx, "cudnnGetCTCLossWorkspaceSize", &a, &n);
  cudnnHandle_t handle;
  cudnnTensorDescriptor_t probs_desc, grad_desc;
  cudnnCTCLossDescriptor_t ctc;
  if (!cudnn_in(ctx, w_handle, &handle) || !tensor_in(ctx, w_probs_desc, &probs_desc) ||
      !tensor_in(ctx, w_grad_desc, &grad_desc) || !ctc_in(ctx, w_ctc, &ctc))
    return;
  if (!batch_matches(ctx, probs_desc, n)) return;
  size_t size = 0;
  const cudnnStatus_t s = cudnnGetCTCLossWorkspaceSize(
      handle, probs_desc, grad_desc, a.has_labels ? a.labels.data() : nullptr,
      a.has_label_lengths ? a.label_lengths.data() : nullptr,
      a.has_input_lengths ? a.input_lengths.data() : nullptr, algo, ctc,
      want_size ? &size : nullptr);
  ctx.status = s;
  if (s == CUDNN_STATUS_SUCCESS && want_size) ctx.out.put<uint64_t>(size);
}

}  // namespace gvirtus::backend::cudnn
