// cudnnBackendSetAttribute / cudnnBackendGetAttribute (wire layouts in
// src/frontend/cudnn/backend_api.cc). Every count is checked before anything is allocated: an
// array larger than cudnn_attr::kMaxArrayBytes, or bytes that disagree with the declared type
// and element count, end the session; an attribute type this build cannot size answers
// CUDNN_STATUS_NOT_SUPPORTED (an honest client refuses it itself).
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/cudnn/support.h"
#include "backend/device_memory.h"
#include "backend/worker.h"
#include "common/cudnn_backend_attr.h"
#include "common/log.h"
#include "cudnn_handles.h"

namespace gvirtus::backend::cudnn {
namespace {

namespace attr = ::gvirtus::cudnn_attr;

// The element count of a request's array, bounded, as a size_t.
size_t bounded_count(int64_t n, const attr::TypeInfo& info, const char* fn) {
  if (n < 0 || static_cast<uint64_t>(n) > attr::kMaxArrayBytes / attr::wire_size(info))
    throw SessionFault(std::string(fn) + ": element count " + std::to_string(n) +
                       " out of bounds");
  return static_cast<size_t>(n);
}

// Ids of handles or descriptors -> this worker's objects, into `out` (pointer-sized elements).
// False with ctx.status set for a stale id; a forged one throws.
bool ids_in(CallContext& ctx, const attr::TypeInfo& info, const std::vector<uint64_t>& ids,
            void** out) {
  for (size_t i = 0; i < ids.size(); ++i) {
    bool ok = true;
    if (info.wire == attr::Wire::kHandle) {
      cudnnHandle_t h;
      ok = cudnn_in(ctx, ids[i], &h);
      out[i] = h;
    } else if (info.wire == attr::Wire::kDescriptor) {
      cudnnBackendDescriptor_t d;
      ok = backend_in(ctx, ids[i], &d);
      out[i] = d;
    } else {
      out[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(ids[i]));
    }
    if (!ok) return false;
  }
  return true;
}

// Whether every non-NULL pointer of a VOID_PTR attribute (a variant pack's data pointers, its
// workspace) is GPU memory of this worker (cuDNN reads and writes those on the GPU), or the
// worker's copy of a scalar passed by value. Any other address is the client's: it means
// nothing here, and the worker's own host memory must not be reachable through it. Not
// supported (logged once) rather than passed on.
bool device_memory_only(void* const* p, size_t n, const std::vector<bool>& by_value) {
  for (size_t i = 0; i < n; ++i) {
    if (!p[i] || by_value[i] || device_memory(p[i])) continue;
    log::once(log::Level::kWarn, "cudnn-host-pointer",
              "cudnnBackendSetAttribute: a pointer attribute holds an address that is no device "
              "memory of the worker and whose bytes the client did not send (a client before "
              "protocol 3.10, or memory it could not read): answered CUDNN_STATUS_NOT_SUPPORTED");
    return false;
  }
  return true;
}

// Scalars of tensors passed by value (common/cudnn_backend_attr.h), in host memory of the
// worker, per backend descriptor (its wire id), with the client's addresses they stand for
// (GetAttribute answers those), kept until the descriptor's pointers are set
// again or it is destroyed (swept: descriptors whose ids are no longer live are dropped once
// the table has doubled since the last sweep, so its size follows the live descriptors').
class ByValueScalars {
 public:
  using Scalar = std::array<unsigned char, attr::kByValueBytes>;
  struct Kept {
    std::unique_ptr<Scalar[]> copies;
    std::vector<uint64_t> client;  // each copy's address in the client (what cuDNN was given)
  };
  // The scalars of descriptor `id` from now on (its pointers were set), replacing what it held
  // before (which no pointer of it reaches any more).
  void keep(CallContext& ctx, uint64_t id, Kept kept) {
    std::lock_guard<std::mutex> g(mu_);
    if (held_.size() >= sweep_at_) {
      for (auto it = held_.begin(); it != held_.end();) {
        void* obj = nullptr;
        if (ctx.session.handles().find(HandleKind::kCudnnBackendDesc, it->first, &obj) ==
            HandleTable::Found::kLive)
          ++it;
        else
          it = held_.erase(it);
      }
      sweep_at_ = std::max<size_t>(64, 2 * held_.size());
    }
    held_[id] = std::move(kept);
  }
  // The client's address for p if p is one of descriptor id's copies, else p itself.
  uint64_t client_address(uint64_t id, const void* p) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = held_.find(id);
    if (it != held_.end())
      for (size_t j = 0; j < it->second.client.size(); ++j)
        if (p == it->second.copies[j].data()) return it->second.client[j];
    return reinterpret_cast<uintptr_t>(p);
  }
  size_t size() {
    std::lock_guard<std::mutex> g(mu_);
    return held_.size();
  }
  const Scalar* find(uint64_t id, size_t j) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = held_.find(id);
    return it == held_.end() || j >= it->second.client.size() ? nullptr : &it->second.copies[j];
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, Kept> held_;
  size_t sweep_at_ = 64;
};

// Reads the by-value trailer, if any, after n pointer elements: (index, bytes) in ascending
// index order, at most n of them. A trailer that breaks these rules ends the session.
std::vector<std::pair<uint32_t, ByValueScalars::Scalar>> by_value_trailer(wire::Reader& in,
                                                                          size_t n,
                                                                          const char* fn) {
  std::vector<std::pair<uint32_t, ByValueScalars::Scalar>> out;
  if (in.remaining() == 0) return out;
  const uint32_t k = in.get<uint32_t>();
  if (k == 0 || k > n)
    throw SessionFault(std::string(fn) + ": " + std::to_string(k) + " by-value scalars for " +
                       std::to_string(n) + " pointers");
  out.reserve(k);
  for (uint32_t j = 0; j < k; ++j) {
    const uint32_t i = in.get<uint32_t>();
    if (i >= n || (!out.empty() && i <= out.back().first))
      throw SessionFault(std::string(fn) + ": by-value scalar index " + std::to_string(i) +
                         " out of order or past " + std::to_string(n) + " pointers");
    ByValueScalars::Scalar b;
    std::memcpy(b.data(), in.get_bytes(attr::kByValueBytes), attr::kByValueBytes);
    out.emplace_back(i, b);
  }
  return out;
}

}  // namespace

// For tests: how many descriptors hold scalars, and where the j-th scalar of one is kept.
size_t by_value_descriptors(CallContext& ctx) { return ctx.session.state<ByValueScalars>().size(); }
const void* by_value_scalar(CallContext& ctx, uint64_t desc, size_t j) {
  return ctx.session.state<ByValueScalars>().find(desc, j);
}

void handle_cudnnBackendSetAttribute(CallContext& ctx) {
  static constexpr const char* kFn = "cudnnBackendSetAttribute";
  wire::Reader& in = ctx.in;
  const uint64_t w_desc = in.get<uint64_t>();
  const auto name = static_cast<cudnnBackendAttributeName_t>(in.get<int32_t>());
  const auto type = static_cast<cudnnBackendAttributeType_t>(in.get<int32_t>());
  const int64_t count = in.get<int64_t>();
  const bool present = in.get_flag();
  const attr::TypeInfo info = attr::type_info(type);
  if (info.wire == attr::Wire::kUnknown) {
    ctx.status = CUDNN_STATUS_NOT_SUPPORTED;
    return;
  }
  const size_t n = bounded_count(count, info, kFn);
  const size_t bytes = present ? n * attr::wire_size(info) : 0;
  // Pointers may be followed by scalars passed by value; every other type is exactly its bytes.
  if (in.remaining() != bytes && (info.wire != attr::Wire::kPointer || in.remaining() < bytes))
    throw SessionFault(std::string(kFn) + ": " + std::to_string(in.remaining()) +
                       " bytes for " + std::to_string(n) + " elements of attribute type " +
                       std::to_string(static_cast<int>(type)));
  // Pointer-sized elements for handles, descriptors and pointers; the bytes otherwise.
  std::vector<unsigned char> values;
  std::vector<void*> ptrs;
  const void* arr = nullptr;
  if (present && info.wire == attr::Wire::kValue) {
    values.resize(bytes ? bytes : 1);
    if (bytes) std::memcpy(values.data(), in.get_bytes(bytes), bytes);
    arr = values.data();
  } else if (present) {
    std::vector<uint64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = in.get<uint64_t>();
    const auto scalars = info.wire == attr::Wire::kPointer ? by_value_trailer(in, n, kFn)
                             : std::vector<std::pair<uint32_t, ByValueScalars::Scalar>>{};
    if (!scalars.empty() && name != CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
      throw SessionFault(std::string(kFn) + ": by-value scalars for attribute " +
                         std::to_string(static_cast<int>(name)));
    ptrs.resize(n ? n : 1);
    arr = ptrs.data();
    in.expect_end();
    cudnnBackendDescriptor_t d;
    if (!backend_in(ctx, w_desc, &d)) return;
    if (!ids_in(ctx, info, ids, ptrs.data())) return;
    if (info.wire == attr::Wire::kPointer) {
      // A scalar's address that is device memory here was device memory all along (one the
      // client did not know of): it stays. The others point to the worker's copy.
      std::vector<bool> host(n, false);
      ByValueScalars::Kept kept;
      if (!scalars.empty()) {
        kept.copies.reset(new ByValueScalars::Scalar[scalars.size()]);
        kept.client.assign(scalars.size(), 0);
      }
      for (size_t j = 0; j < scalars.size(); ++j) {
        const uint32_t i = scalars[j].first;
        if (device_memory(ptrs[i])) continue;
        kept.copies[j] = scalars[j].second;
        kept.client[j] = ids[i];
        ptrs[i] = kept.copies[j].data();
        host[i] = true;
      }
      if (!device_memory_only(ptrs.data(), n, host)) {
        ctx.status = CUDNN_STATUS_NOT_SUPPORTED;
        return;
      }
      ctx.status = cudnnBackendSetAttribute(d, name, type, count, arr);
      // Kept only once cuDNN holds the pointers: a refused set leaves the pack's earlier ones,
      // and the scalars they point to.
      if (ctx.status == CUDNN_STATUS_SUCCESS && kept.copies)
        ctx.session.state<ByValueScalars>().keep(ctx, w_desc, std::move(kept));
      return;
    }
    ctx.status = cudnnBackendSetAttribute(d, name, type, count, arr);
    return;
  }
  in.expect_end();
  cudnnBackendDescriptor_t d;
  if (!backend_in(ctx, w_desc, &d)) return;
  ctx.status = cudnnBackendSetAttribute(d, name, type, count, arr);
}

void handle_cudnnBackendGetAttribute(CallContext& ctx) {
  static constexpr const char* kFn = "cudnnBackendGetAttribute";
  wire::Reader& in = ctx.in;
  const uint64_t w_desc = in.get<uint64_t>();
  const auto name = static_cast<cudnnBackendAttributeName_t>(in.get<int32_t>());
  const auto type = static_cast<cudnnBackendAttributeType_t>(in.get<int32_t>());
  const int64_t requested = in.get<int64_t>();
  const bool want_count = in.get_flag();
  const bool want_array = in.get_flag();
  const attr::TypeInfo info = attr::type_info(type);
  if (info.wire == attr::Wire::kUnknown) {
    ctx.status = CUDNN_STATUS_NOT_SUPPORTED;
    return;
  }
  const size_t n = bounded_count(requested, info, kFn);
  // Descriptors are filled in place: the client sends the ones it created.
  std::vector<uint64_t> ids;
  if (want_array && info.wire == attr::Wire::kDescriptor) {
    if (in.remaining() != n * sizeof(uint64_t))
      throw SessionFault(std::string(kFn) + ": descriptor ids disagree with the element count");
    ids.resize(n);
    for (size_t i = 0; i < n; ++i) ids[i] = in.get<uint64_t>();
  }
  in.expect_end();
  cudnnBackendDescriptor_t d;
  if (!backend_in(ctx, w_desc, &d)) return;
  // Zeroed storage of the application's element size (pointer-sized for ids and pointers).
  std::vector<unsigned char> arr(want_array && n ? n * info.size : 1, 0);
  if (!ids.empty() && !ids_in(ctx, info, ids, reinterpret_cast<void**>(arr.data()))) return;
  int64_t count = 0;
  const cudnnStatus_t s = cudnnBackendGetAttribute(d, name, type, requested,
                                                   want_count ? &count : nullptr,
                                                   want_array ? arr.data() : nullptr);
  ctx.status = s;
  if (s != CUDNN_STATUS_SUCCESS) return;
  if (want_count) ctx.out.put<int64_t>(count);
  if (!want_array) return;
  // The elements cuDNN wrote (all requested ones when the count was not asked for).
  size_t ret = n;
  if (want_count && count >= 0 && static_cast<uint64_t>(count) < n) ret = static_cast<size_t>(count);
  ctx.out.put<uint64_t>(ret);
  if (info.wire == attr::Wire::kValue) {
    ctx.out.put_bytes(arr.data(), ret * info.size);
    return;
  }
  auto* p = reinterpret_cast<void**>(arr.data());
  for (size_t i = 0; i < ret; ++i) {
    uint64_t v;
    if (info.wire == attr::Wire::kHandle)
      v = cudnn_out(ctx, static_cast<cudnnHandle_t>(p[i]));
    else if (info.wire == attr::Wire::kDescriptor)
      v = backend_out(ctx, static_cast<cudnnBackendDescriptor_t>(p[i]));
    else if (name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
      v = ctx.session.state<ByValueScalars>().client_address(w_desc, p[i]);  // as it was set
    else
      v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p[i]));
    ctx.out.put<uint64_t>(v);
  }
}

}  // namespace gvirtus::backend::cudnn
