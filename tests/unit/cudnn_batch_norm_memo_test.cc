// The cuDNN frontend's batch-norm memos (src/frontend/cudnn/batch_norm.cc): a size query is
// answered locally only for arguments, descriptor contents included, that were answered before,
// and a batch-norm call goes out without waiting only when everything cuDNN checks equals a call
// that succeeded. Each test changes one thing the outcome depends on and expects the memo to
// refuse it.
#include <gtest/gtest.h>

#include "frontend/core/live_set.h"
#include "frontend/cudnn/batch_norm.h"

namespace gvirtus::cudnn {
// glue.cc's live set (not linked here: its plugin announcement would change the tests' Hello).
client::LiveSet& objects() {
  static auto* s = new client::LiveSet;
  return *s;
}
}  // namespace gvirtus::cudnn

namespace gvirtus::testing {
namespace {

namespace dn = gvirtus::cudnn;

template <class T>
T id(uintptr_t v) {
  return reinterpret_cast<T>(v);
}

class BatchNormMemo : public ::testing::Test {
 protected:
  // Ids as the client sees them; each test uses its own range so the memos do not mix.
  void make(uintptr_t base) {
    h_ = id<cudnnHandle_t>(base + 1);
    x_ = id<cudnnTensorDescriptor_t>(base + 2);
    bn_ = id<cudnnTensorDescriptor_t>(base + 3);
    dn::objects().add(h_);
    dn::objects().add(x_);
    dn::objects().add(bn_);
    dn::note_tensor_shape(x_, "x:32x64x8x8");
    dn::note_tensor_shape(bn_, "bn:1x64x1x1");
  }
  std::optional<cudnnStatus_t> ask_forward(size_t* size) {
    return dn::bn_forward_workspace_local(h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
                                          CUDNN_BATCHNORM_OPS_BN, x_, nullptr, x_, bn_, nullptr,
                                          size);
  }
  void answer_forward(size_t size) {
    dn::hook_cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
        h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_OPS_BN, x_, nullptr, x_, bn_,
        nullptr, &size);
  }
  struct Fwd {
    void* x = reinterpret_cast<void*>(0x7000000000);
    void* y = reinterpret_cast<void*>(0x7000100000);
    void* ws = reinterpret_cast<void*>(0x7000200000);
    size_t ws_bytes = 4096;
    double eps = 1e-5;
    cudnnActivationDescriptor_t act = nullptr;
  };
  bool forward_accepted(const Fwd& f) {
    float one = 1, zero = 0;
    return dn::bn_forward_accepted(h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_OPS_BN,
                                   &one, &zero, x_, f.x, nullptr, nullptr, x_, f.y, bn_, f.x,
                                   f.x, 0.1, f.y, f.y, f.eps, f.y, f.y, f.act, f.ws, f.ws_bytes,
                                   nullptr, 0);
  }
  void forward_succeeded(const Fwd& f) {
    float one = 1, zero = 0;
    dn::hook_cudnnBatchNormalizationForwardTrainingEx(
        h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_OPS_BN, &one, &zero, x_, f.x,
        nullptr, nullptr, x_, f.y, bn_, f.x, f.x, 0.1, f.y, f.y, f.eps, f.y, f.y, f.act, f.ws,
        f.ws_bytes, nullptr, 0);
  }
  cudnnHandle_t h_ = nullptr;
  cudnnTensorDescriptor_t x_ = nullptr, bn_ = nullptr;
};

TEST_F(BatchNormMemo, ASizeIsAnsweredOnlyAfterTheSameQuery) {
  make(0x100000);
  size_t size = 7;
  EXPECT_FALSE(ask_forward(&size).has_value());
  answer_forward(1234);
  ASSERT_EQ(ask_forward(&size), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(size, 1234u);
  EXPECT_FALSE(ask_forward(nullptr).has_value());  // cuDNN's own answer to a null output
  // The reserve and backward queries have memos of their own.
  EXPECT_FALSE(dn::bn_reserve_local(h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
                                    CUDNN_BATCHNORM_OPS_BN, nullptr, x_, &size)
                   .has_value());
}

TEST_F(BatchNormMemo, AnotherShapeOrAnUnknownDescriptorAsksTheWorker) {
  make(0x200000);
  answer_forward(1234);
  size_t size = 0;
  ASSERT_TRUE(ask_forward(&size).has_value());
  // The same descriptor set to another shape.
  dn::note_tensor_shape(x_, "x:16x64x8x8");
  EXPECT_FALSE(ask_forward(&size).has_value());
  // Set some other way than cudnnSetTensorNdDescriptor: unknown content.
  dn::forget_tensor_shape(x_);
  EXPECT_FALSE(ask_forward(&size).has_value());
  dn::note_tensor_shape(x_, "x:32x64x8x8");
  EXPECT_TRUE(ask_forward(&size).has_value());
  // A destroyed descriptor or handle.
  dn::objects().remove(bn_);
  EXPECT_FALSE(ask_forward(&size).has_value());
  dn::objects().add(bn_);
  dn::objects().remove(h_);
  EXPECT_FALSE(ask_forward(&size).has_value());
}

TEST_F(BatchNormMemo, AnActivationDescriptorIsNeverMemoised) {
  make(0x300000);
  auto act = id<cudnnActivationDescriptor_t>(0x300010);
  size_t size = 99;
  dn::hook_cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
      h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_OPS_BN_ACTIVATION, act, x_, &size);
  EXPECT_FALSE(dn::bn_reserve_local(h_, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
                                    CUDNN_BATCHNORM_OPS_BN_ACTIVATION, act, x_, &size)
                   .has_value());
}

TEST_F(BatchNormMemo, ACallIsAcceptedOnlyLikeOneThatSucceeded) {
  make(0x400000);
  Fwd f;
  EXPECT_FALSE(forward_accepted(f));
  forward_succeeded(f);
  EXPECT_TRUE(forward_accepted(f));
  // Other buffers with the same alignment: accepted.
  Fwd moved = f;
  moved.x = reinterpret_cast<void*>(0x7100000000);
  moved.y = reinterpret_cast<void*>(0x7100100000);
  EXPECT_TRUE(forward_accepted(moved));
  // Each property cuDNN may check, changed alone.
  Fwd odd = f;
  odd.x = reinterpret_cast<void*>(0x7000000004);
  EXPECT_FALSE(forward_accepted(odd));
  Fwd eps = f;
  eps.eps = 1e-6;
  EXPECT_FALSE(forward_accepted(eps));
  Fwd ws = f;
  ws.ws_bytes = 2048;
  EXPECT_FALSE(forward_accepted(ws));
  Fwd no_ws = f;
  no_ws.ws = nullptr;
  EXPECT_FALSE(forward_accepted(no_ws));
  Fwd act = f;
  act.act = id<cudnnActivationDescriptor_t>(0x400010);
  forward_succeeded(act);
  EXPECT_FALSE(forward_accepted(act));
  dn::note_tensor_shape(x_, "x:8x64x8x8");
  EXPECT_FALSE(forward_accepted(f));
}

}  // namespace
}  // namespace gvirtus::testing
