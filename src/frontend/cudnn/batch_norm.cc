// batch_norm.h: memos of batch-norm size queries and accepted calls, keyed on everything cuDNN
// looks at.
#include "frontend/cudnn/batch_norm.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "frontend/core/call_key.h"
#include "frontend/core/process_owner.h"
#include "frontend/cudnn/glue.h"

namespace gvirtus::cudnn {
namespace {

// A forked child has a session of its own, whose ids may repeat the parent's: like the live set
// (client::LiveSet), each record starts empty in a new process.
struct Shapes {
  std::mutex mu;
  client::ProcessOwner owner;                       // REQUIRES: mu
  std::unordered_map<const void*, std::string> of;  // REQUIRES: mu
  void own_process() {                              // REQUIRES: mu
    if (owner.changed()) of.clear();
  }
};
Shapes& shapes() {
  static auto* s = new Shapes;
  return *s;
}

bool shape_of(const void* d, std::string* out) {
  Shapes& s = shapes();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  auto it = s.of.find(d);
  if (it == s.of.end()) return false;
  *out = it->second;
  return true;
}

// Entries of either memo before it starts again empty (a program with ever new shapes must not
// grow the client without bound; PyTorch's training steps use a few dozen).
constexpr size_t kMaxEntries = 4096;

struct Memo {
  std::mutex mu;
  client::ProcessOwner owner;                     // REQUIRES: mu
  std::unordered_map<std::string, size_t> sizes;  // REQUIRES: mu
  std::unordered_set<std::string> accepted;       // REQUIRES: mu
  void own_process() {                            // REQUIRES: mu
    if (!owner.changed()) return;
    sizes.clear();
    accepted.clear();
  }
};
Memo& memo() {
  static auto* m = new Memo;
  return *m;
}

// What a call's outcome depends on, as bytes; `ok` false when some of it is not known exactly.
class Key {
 public:
  explicit Key(char tag) { k_.push_back(tag); }
  template <class T>
  Key& value(const T& v) {
    k_.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Key& handle(cudnnHandle_t h) {
    if (h == nullptr || !objects().contains(h)) ok_ = false;
    return value(h);
  }
  // A live descriptor whose content the client knows, or none at all.
  Key& tensor(cudnnTensorDescriptor_t d) {
    if (d == nullptr) return value<uint8_t>(0);
    std::string shape;
    if (!objects().contains(d) || !shape_of(d, &shape)) {
      ok_ = false;
      return *this;
    }
    value<uint8_t>(1).value<uint32_t>(static_cast<uint32_t>(shape.size()));
    k_ += shape;
    return *this;
  }
  // Whether it is null, and its alignment up to 256 bytes (what a kernel choice may look at).
  Key& pointer(const void* p) {
    client::key_append_pointer(&k_, p);
    return *this;
  }
  // No activation descriptor: the client does not follow their contents.
  Key& no_activation(cudnnActivationDescriptor_t a) {
    if (a != nullptr) ok_ = false;
    return *this;
  }
  // A host scalar (alpha, beta): only whether it is there.
  Key& present(const void* p) { return value<uint8_t>(p != nullptr); }
  bool ok() const { return ok_; }
  const std::string& str() const { return k_; }

 private:
  std::string k_;
  bool ok_ = true;
};

std::optional<cudnnStatus_t> size_from(const Key& k, size_t* size) {
  if (!k.ok() || size == nullptr) return std::nullopt;
  Memo& m = memo();
  std::lock_guard<std::mutex> g(m.mu);
  m.own_process();
  auto it = m.sizes.find(k.str());
  if (it == m.sizes.end()) return std::nullopt;
  *size = it->second;
  return CUDNN_STATUS_SUCCESS;
}

void keep_size(const Key& k, const size_t* size) {
  if (!k.ok() || size == nullptr) return;
  Memo& m = memo();
  std::lock_guard<std::mutex> g(m.mu);
  m.own_process();
  if (m.sizes.size() >= kMaxEntries) m.sizes.clear();
  m.sizes[k.str()] = *size;
}

bool was_accepted(const Key& k) {
  if (!k.ok()) return false;
  Memo& m = memo();
  std::lock_guard<std::mutex> g(m.mu);
  m.own_process();
  return m.accepted.count(k.str()) != 0;
}

void keep_accepted(const Key& k) {
  if (!k.ok()) return;
  Memo& m = memo();
  std::lock_guard<std::mutex> g(m.mu);
  m.own_process();
  if (m.accepted.size() >= kMaxEntries) m.accepted.clear();
  m.accepted.insert(k.str());
}

Key forward_ws_key(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                   cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t z,
                   cudnnTensorDescriptor_t y, cudnnTensorDescriptor_t bn,
                   cudnnActivationDescriptor_t act) {
  Key k('F');
  k.handle(h).value(mode).value(ops).tensor(x).tensor(z).tensor(y).tensor(bn).no_activation(act);
  return k;
}

Key backward_ws_key(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y,
                    cudnnTensorDescriptor_t dy, cudnnTensorDescriptor_t dz,
                    cudnnTensorDescriptor_t dx, cudnnTensorDescriptor_t dbn,
                    cudnnActivationDescriptor_t act) {
  Key k('B');
  k.handle(h).value(mode).value(ops).tensor(x).tensor(y).tensor(dy).tensor(dz).tensor(dx);
  k.tensor(dbn).no_activation(act);
  return k;
}

Key reserve_key(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                cudnnActivationDescriptor_t act, cudnnTensorDescriptor_t x) {
  Key k('R');
  k.handle(h).value(mode).value(ops).no_activation(act).tensor(x);
  return k;
}

Key forward_key(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                const void* alpha, const void* beta, cudnnTensorDescriptor_t x,
                const void* xData, cudnnTensorDescriptor_t z, const void* zData,
                cudnnTensorDescriptor_t y, void* yData, cudnnTensorDescriptor_t bn,
                const void* scale, const void* bias, double factor, void* runMean, void* runVar,
                double epsilon, void* saveMean, void* saveInvVar,
                cudnnActivationDescriptor_t act, void* ws, size_t wsBytes, void* reserve,
                size_t reserveBytes) {
  Key k('f');
  k.handle(h).value(mode).value(ops).present(alpha).present(beta);
  k.tensor(x).pointer(xData).tensor(z).pointer(zData).tensor(y).pointer(yData);
  k.tensor(bn).pointer(scale).pointer(bias).value(factor).pointer(runMean).pointer(runVar);
  k.value(epsilon).pointer(saveMean).pointer(saveInvVar).no_activation(act);
  k.pointer(ws).value(wsBytes).pointer(reserve).value(reserveBytes);
  return k;
}

Key backward_key(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                 const void* alphaData, const void* betaData, const void* alphaParam,
                 const void* betaParam, cudnnTensorDescriptor_t x, const void* xData,
                 cudnnTensorDescriptor_t y, const void* yData, cudnnTensorDescriptor_t dy,
                 const void* dyData, cudnnTensorDescriptor_t dz, void* dzData,
                 cudnnTensorDescriptor_t dx, void* dxData, cudnnTensorDescriptor_t dbn,
                 const void* scale, const void* bias, void* dScale, void* dBias, double epsilon,
                 const void* savedMean, const void* savedInvVar, cudnnActivationDescriptor_t act,
                 void* ws, size_t wsBytes, void* reserve, size_t reserveBytes) {
  Key k('b');
  k.handle(h).value(mode).value(ops);
  k.present(alphaData).present(betaData).present(alphaParam).present(betaParam);
  k.tensor(x).pointer(xData).tensor(y).pointer(yData).tensor(dy).pointer(dyData);
  k.tensor(dz).pointer(dzData).tensor(dx).pointer(dxData).tensor(dbn).pointer(scale);
  k.pointer(bias).pointer(dScale).pointer(dBias).value(epsilon).pointer(savedMean);
  k.pointer(savedInvVar).no_activation(act);
  k.pointer(ws).value(wsBytes).pointer(reserve).value(reserveBytes);
  return k;
}

}  // namespace

void note_tensor_shape(cudnnTensorDescriptor_t d, const std::string& key) {
  if (d == nullptr) return;
  Shapes& s = shapes();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  s.of[d] = key;
}

void forget_tensor_shape(const void* d) {
  Shapes& s = shapes();
  std::lock_guard<std::mutex> g(s.mu);
  s.own_process();
  s.of.erase(d);
}

std::optional<cudnnStatus_t> bn_forward_workspace_local(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t z, cudnnTensorDescriptor_t y,
    cudnnTensorDescriptor_t bn, cudnnActivationDescriptor_t act, size_t* size) {
  return size_from(forward_ws_key(h, mode, ops, x, z, y, bn, act), size);
}
void hook_cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t z, cudnnTensorDescriptor_t y,
    cudnnTensorDescriptor_t bn, cudnnActivationDescriptor_t act, size_t* size) {
  keep_size(forward_ws_key(h, mode, ops, x, z, y, bn, act), size);
}

std::optional<cudnnStatus_t> bn_backward_workspace_local(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y, cudnnTensorDescriptor_t dy,
    cudnnTensorDescriptor_t dz, cudnnTensorDescriptor_t dx, cudnnTensorDescriptor_t dbn,
    cudnnActivationDescriptor_t act, size_t* size) {
  return size_from(backward_ws_key(h, mode, ops, x, y, dy, dz, dx, dbn, act), size);
}
void hook_cudnnGetBatchNormalizationBackwardExWorkspaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y, cudnnTensorDescriptor_t dy,
    cudnnTensorDescriptor_t dz, cudnnTensorDescriptor_t dx, cudnnTensorDescriptor_t dbn,
    cudnnActivationDescriptor_t act, size_t* size) {
  keep_size(backward_ws_key(h, mode, ops, x, y, dy, dz, dx, dbn, act), size);
}

std::optional<cudnnStatus_t> bn_reserve_local(cudnnHandle_t h, cudnnBatchNormMode_t mode,
                                              cudnnBatchNormOps_t ops,
                                              cudnnActivationDescriptor_t act,
                                              cudnnTensorDescriptor_t x, size_t* size) {
  return size_from(reserve_key(h, mode, ops, act, x), size);
}
void hook_cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
    cudnnActivationDescriptor_t act, cudnnTensorDescriptor_t x, size_t* size) {
  keep_size(reserve_key(h, mode, ops, act, x), size);
}

bool bn_forward_accepted(cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                         const void* alpha, const void* beta, cudnnTensorDescriptor_t x,
                         const void* xData, cudnnTensorDescriptor_t z, const void* zData,
                         cudnnTensorDescriptor_t y, void* yData, cudnnTensorDescriptor_t bn,
                         const void* scale, const void* bias, double factor, void* runMean,
                         void* runVar, double epsilon, void* saveMean, void* saveInvVar,
                         cudnnActivationDescriptor_t act, void* ws, size_t wsBytes,
                         void* reserve, size_t reserveBytes) {
  return was_accepted(forward_key(h, mode, ops, alpha, beta, x, xData, z, zData, y, yData, bn,
                                  scale, bias, factor, runMean, runVar, epsilon, saveMean,
                                  saveInvVar, act, ws, wsBytes, reserve, reserveBytes));
}
void hook_cudnnBatchNormalizationForwardTrainingEx(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops, const void* alpha,
    const void* beta, cudnnTensorDescriptor_t x, const void* xData, cudnnTensorDescriptor_t z,
    const void* zData, cudnnTensorDescriptor_t y, void* yData, cudnnTensorDescriptor_t bn,
    const void* scale, const void* bias, double factor, void* runMean, void* runVar,
    double epsilon, void* saveMean, void* saveInvVar, cudnnActivationDescriptor_t act, void* ws,
    size_t wsBytes, void* reserve, size_t reserveBytes) {
  keep_accepted(forward_key(h, mode, ops, alpha, beta, x, xData, z, zData, y, yData, bn, scale,
                            bias, factor, runMean, runVar, epsilon, saveMean, saveInvVar, act, ws,
                            wsBytes, reserve, reserveBytes));
}

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
                          void* reserve, size_t reserveBytes) {
  return was_accepted(backward_key(h, mode, ops, alphaData, betaData, alphaParam, betaParam, x,
                                   xData, y, yData, dy, dyData, dz, dzData, dx, dxData, dbn,
                                   scale, bias, dScale, dBias, epsilon, savedMean, savedInvVar,
                                   act, ws, wsBytes, reserve, reserveBytes));
}
void hook_cudnnBatchNormalizationBackwardEx(
    cudnnHandle_t h, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops, const void* alphaData,
    const void* betaData, const void* alphaParam, const void* betaParam,
    cudnnTensorDescriptor_t x, const void* xData, cudnnTensorDescriptor_t y, const void* yData,
    cudnnTensorDescriptor_t dy, const void* dyData, cudnnTensorDescriptor_t dz, void* dzData,
    cudnnTensorDescriptor_t dx, void* dxData, cudnnTensorDescriptor_t dbn, const void* scale,
    const void* bias, void* dScale, void* dBias, double epsilon, const void* savedMean,
    const void* savedInvVar, cudnnActivationDescriptor_t act, void* ws, size_t wsBytes,
    void* reserve, size_t reserveBytes) {
  keep_accepted(backward_key(h, mode, ops, alphaData, betaData, alphaParam, betaParam, x, xData,
                             y, yData, dy, dyData, dz, dzData, dx, dxData, dbn, scale, bias,
                             dScale, dBias, epsilon, savedMean, savedInvVar, act, ws, wsBytes,
                             reserve, reserveBytes));
}

}  // namespace gvirtus::cudnn
