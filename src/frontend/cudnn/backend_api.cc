// cudnnBackendSetAttribute / cudnnBackendGetAttribute (the graph API PyTorch's cudnn-frontend
// drives): an array of elements whose size and meaning come from the attribute type
// (common/cudnn_backend_attr.h). Handles and backend descriptors travel as their ids (the
// client's handles are ids already), device pointers as u64, every other type as its bytes.
//
// Set request: desc u64, name i32, type i32, count i64, presence u8, count wire elements; for
//   pointers, then the scalars of tensors passed by value (common/cudnn_backend_attr.h).
// Get request: desc u64, name i32, type i32, requested i64, elementCount presence u8, array
//   presence u8, and for descriptor types the `requested` ids of the descriptors cuDNN fills.
// Get reply (on success): [elementCount i64], [returned u64, returned wire elements].
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/cudnn_backend_attr.h"
#include "cudnn_calls.h"
#include "frontend/core/host_memory_ops.h"
#include "frontend/core/ranges.h"
#include "frontend/cudnn/glue.h"
#include "frontend/cudnn/variant_pack.h"

namespace attr = gvirtus::cudnn_attr;

namespace gvirtus::cudnn {
namespace {

using attr::Wire;

// The type's layout, or false (the call answers CUDNN_STATUS_NOT_SUPPORTED, said once) for an
// attribute type this build cannot size.
bool known_type(cudnnBackendAttributeType_t t, const char* fn, attr::TypeInfo* info) {
  *info = attr::type_info(t);
  if (info->wire != Wire::kUnknown) return true;
  client::unsupported(fn);
  return false;
}

void put_elements(wire::Writer& a, const attr::TypeInfo& info, const void* arr, int64_t n) {
  if (info.wire == Wire::kValue) {
    a.put_bytes(arr, info.size * static_cast<size_t>(n));
    return;
  }
  const auto* p = static_cast<void* const*>(arr);
  for (int64_t i = 0; i < n; ++i)
    a.put<uint64_t>(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p[i])));
}

// The bytes at p in this process, as many of kByValueBytes as are readable (the rest zero: the
// kernel copies up to the first unreadable byte); false if none is.
bool read_own(const void* p, unsigned char* out) {
  std::memset(out, 0, attr::kByValueBytes);
  iovec local{out, attr::kByValueBytes};
  iovec remote{const_cast<void*>(p), attr::kByValueBytes};
  return ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) > 0;
}

// Memory the application may hand cuDNN as tensor data that is host memory of this process:
// page-locked or managed (natively reachable from the GPU). Never taken for a scalar.
bool gpu_reachable_host(const void* p) {
  const client::HostMemoryOps* ops = client::host_memory_ops();
  return ops && ((ops->is_page_locked && ops->is_page_locked(p)) ||
                 (ops->contains_managed && ops->contains_managed(p)));
}

// The by-value trailer of a variant pack's pointers (common/cudnn_backend_attr.h): the scalars
// of elements that are host memory of this process. False when an element is neither a device
// address this process knows nor a scalar it could read: the worker refuses the call, so it
// must not be predicted to succeed.
bool put_by_value(wire::Writer& a, const void* arr, int64_t n) {
  if (client::server_minor() < attr::kByValueMinor) return true;
  const auto* p = static_cast<void* const*>(arr);
  bool all_known = true;
  std::vector<std::pair<uint32_t, std::array<unsigned char, attr::kByValueBytes>>> found;
  for (int64_t i = 0; i < n; ++i) {
    if (!p[i] || client::device_ranges().contains(p[i])) continue;
    std::array<unsigned char, attr::kByValueBytes> bytes;
    if (!gpu_reachable_host(p[i]) && read_own(p[i], bytes.data()))
      found.emplace_back(static_cast<uint32_t>(i), bytes);
    else
      all_known = false;
  }
  if (found.empty()) return all_known;
  a.put<uint32_t>(static_cast<uint32_t>(found.size()));
  for (const auto& [i, bytes] : found) {
    a.put<uint32_t>(i);
    a.put_bytes(bytes.data(), bytes.size());
  }
  return all_known;
}

}  // namespace
}  // namespace gvirtus::cudnn

using namespace gvirtus;

extern "C" GV_API cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor,
                                                         cudnnBackendAttributeName_t attributeName,
                                                         cudnnBackendAttributeType_t attributeType,
                                                         int64_t elementCount,
                                                         const void* arrayOfElements) {
  try {
    attr::TypeInfo info;
    if (!cudnn::known_type(attributeType, "cudnnBackendSetAttribute (this attribute type)", &info))
      return CUDNN_STATUS_NOT_SUPPORTED;
    if (elementCount < 0 ||
        static_cast<uint64_t>(elementCount) > attr::kMaxArrayBytes / attr::wire_size(info))
      return CUDNN_STATUS_BAD_PARAM;
    client::Call c(cudnn::kCall_cudnnBackendSetAttribute);
    wire::Writer& a = c.args();
    a.put<uint64_t>(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(descriptor)));
    a.put<int32_t>(static_cast<int32_t>(attributeName));
    a.put<int32_t>(static_cast<int32_t>(attributeType));
    a.put<int64_t>(elementCount);
    a.put<uint8_t>(arrayOfElements != nullptr);
    if (arrayOfElements != nullptr) cudnn::put_elements(a, info, arrayOfElements, elementCount);
    // Scalars passed by value; a pointer that is none of those and no device address this
    // process knows may be refused by the worker: that Set waits for its answer.
    bool predictable = true;
    if (arrayOfElements != nullptr && attributeName == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS &&
        info.wire == attr::Wire::kPointer)
      predictable = cudnn::put_by_value(a, arrayOfElements, elementCount);
    // A variant pack's pointers, ids and workspace: sure to be accepted (variant_pack.h).
    if (predictable && cudnn::variant_set_predicted(descriptor, attributeName, attributeType,
                                                    elementCount, arrayOfElements))
      return c.send_async() ? CUDNN_STATUS_SUCCESS : cudnn::lost();
    if (!c.invoke()) return cudnn::lost();
    const cudnnStatus_t s = cudnn::finish(c);
    cudnn::variant_set_done(descriptor, attributeName, elementCount, arrayOfElements, s);
    return s;
  } catch (...) {
    return cudnn::lost();
  }
}

extern "C" GV_API cudnnStatus_t cudnnBackendGetAttribute(
    cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t attributeName,
    cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount,
    int64_t* elementCount, void* arrayOfElements) {
  try {
    attr::TypeInfo info;
    if (!cudnn::known_type(attributeType, "cudnnBackendGetAttribute (this attribute type)", &info))
      return CUDNN_STATUS_NOT_SUPPORTED;
    if (requestedElementCount < 0 ||
        static_cast<uint64_t>(requestedElementCount) > attr::kMaxArrayBytes / attr::wire_size(info))
      return CUDNN_STATUS_BAD_PARAM;
    client::Call c(cudnn::kCall_cudnnBackendGetAttribute);
    wire::Writer& a = c.args();
    a.put<uint64_t>(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(descriptor)));
    a.put<int32_t>(static_cast<int32_t>(attributeName));
    a.put<int32_t>(static_cast<int32_t>(attributeType));
    a.put<int64_t>(requestedElementCount);
    a.put<uint8_t>(elementCount != nullptr);
    a.put<uint8_t>(arrayOfElements != nullptr);
    // Descriptors are filled in place: cuDNN needs the ones the application created.
    if (arrayOfElements != nullptr && info.wire == attr::Wire::kDescriptor)
      cudnn::put_elements(a, info, arrayOfElements, requestedElementCount);
    if (!c.invoke()) return cudnn::lost();
    const cudnnStatus_t s = cudnn::finish(c);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    wire::Reader& r = c.result();
    if (elementCount != nullptr) *elementCount = r.get<int64_t>();
    if (arrayOfElements != nullptr) {
      const uint64_t n = r.get<uint64_t>();
      if (n > static_cast<uint64_t>(requestedElementCount))
        throw wire::DecodeError("more elements than requested");
      if (info.wire == attr::Wire::kValue) {
        std::memcpy(arrayOfElements, r.get_bytes(n * info.size), n * info.size);
      } else {
        auto* p = static_cast<void**>(arrayOfElements);
        for (uint64_t i = 0; i < n; ++i)
          p[i] = reinterpret_cast<void*>(static_cast<uintptr_t>(r.get<uint64_t>()));
      }
    }
    r.expect_end();
    return s;
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string("cudnnBackendGetAttribute: ") + e.what());
    return cudnn::lost();
  } catch (...) {
    return cudnn::lost();
  }
}
