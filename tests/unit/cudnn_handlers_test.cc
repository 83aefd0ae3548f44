// The cuDNN plugin's handlers (generated from api/cudnn.api and src/backend/cudnn): requests an
// honest client never sends end the session before cuDNN is called; honest ones reach cuDNN,
// which answers as natively (descriptors are host objects: they work without a GPU).
#include <cudnn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cudnn/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cudnn {
void handle_cudnnGetVersion(CallContext&);
void handle_cudnnCreateTensorDescriptor(CallContext&);
void handle_cudnnSetTensor4dDescriptor(CallContext&);
void handle_cudnnGetTensor4dDescriptor(CallContext&);
void handle_cudnnDestroyTensorDescriptor(CallContext&);
void handle_cudnnBackendCreateDescriptor(CallContext&);
void handle_cudnnBackendSetAttribute(CallContext&);
void handle_cudnnBackendGetAttribute(CallContext&);
void handle_cudnnCTCLoss(CallContext&);
size_t by_value_descriptors(CallContext&);
const void* by_value_scalar(CallContext&, uint64_t desc, size_t j);
}  // namespace gvirtus::backend::cudnn

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cd = gvirtus::backend::cudnn;

class CudnnHandlers : public HandlerTest {
 protected:
  // A real descriptor made through a handler: its id.
  uint64_t create(be::Handler h) {
    wire::Writer w;
    w.put<uint8_t>(1);
    std::vector<uint8_t> out;
    EXPECT_EQ(run(h, w, &out), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(out.size(), sizeof(uint64_t));
    uint64_t id = 0;
    if (out.size() == sizeof(id)) std::memcpy(&id, out.data(), sizeof(id));
    return id;
  }
  uint64_t backend_tensor() { return backend_desc(CUDNN_BACKEND_TENSOR_DESCRIPTOR); }
  // A backend descriptor of `type` made through the handler: its id.
  uint64_t backend_desc(cudnnBackendDescriptorType_t type) {
    wire::Writer w;
    w.put<int32_t>(type);
    w.put<uint8_t>(1);
    std::vector<uint8_t> out;
    EXPECT_EQ(run(cd::handle_cudnnBackendCreateDescriptor, w, &out), CUDNN_STATUS_SUCCESS);
    uint64_t id = 0;
    if (out.size() == sizeof(id)) std::memcpy(&id, out.data(), sizeof(id));
    return id;
  }
  // A SetAttribute of DATA_POINTERS (or `name`) of `ps` on backend descriptor d, then a
  // by-value trailer of (index, value) scalars unless `count` is -1 (none); `count` may disagree
  // with the scalars (hostile requests).
  static wire::Writer data_pointers(uint64_t d, const std::vector<uint64_t>& ps, int64_t count,
                                    const std::vector<std::pair<uint32_t, float>>& scalars,
                                    int32_t name = CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS) {
    wire::Writer w;
    w.put<uint64_t>(d);
    w.put<int32_t>(name);
    w.put<int32_t>(CUDNN_TYPE_VOID_PTR);
    w.put<int64_t>(static_cast<int64_t>(ps.size()));
    w.put<uint8_t>(1);
    for (uint64_t p : ps) w.put<uint64_t>(p);
    if (count < 0) return w;
    w.put<uint32_t>(static_cast<uint32_t>(count));
    for (const auto& [i, v] : scalars) {
      w.put<uint32_t>(i);
      unsigned char b[16] = {};
      std::memcpy(b, &v, sizeof v);
      w.put_bytes(b, sizeof b);
    }
    return w;
  }
  static wire::Writer set4d(uint64_t desc) {
    wire::Writer w;
    w.put<uint64_t>(desc);
    w.put<int32_t>(CUDNN_TENSOR_NCHW);
    w.put<int32_t>(CUDNN_DATA_DOUBLE);
    for (int v : {2, 3, 4, 5}) w.put<int32_t>(v);
    return w;
  }
  // cudnnBackendSetAttribute(desc, name, type, count) with `elems` u64 elements attached.
  static wire::Writer set_attr(uint64_t desc, int32_t type, int64_t count, size_t bytes) {
    wire::Writer w;
    w.put<uint64_t>(desc);
    w.put<int32_t>(CUDNN_ATTR_TENSOR_DATA_TYPE);
    w.put<int32_t>(type);
    w.put<int64_t>(count);
    w.put<uint8_t>(1);
    for (size_t i = 0; i < bytes; ++i) w.put<uint8_t>(0);
    return w;
  }
};

TEST_F(CudnnHandlers, VersionIsTheBackendLibrary) {
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cd::handle_cudnnGetVersion, wire::Writer(), &out), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t v = 0;
  std::memcpy(&v, out.data(), sizeof(v));
  EXPECT_EQ(v, cudnnGetVersion());
}

TEST_F(CudnnHandlers, DescriptorsRoundTrip) {
  const uint64_t t = create(cd::handle_cudnnCreateTensorDescriptor);
  ASSERT_NE(t, 0u);
  EXPECT_EQ(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(t)), CUDNN_STATUS_SUCCESS);
  wire::Writer get;
  get.put<uint64_t>(t);
  for (int i = 0; i < 9; ++i) get.put<uint8_t>(1);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cd::handle_cudnnGetTensor4dDescriptor, get, &out), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), 9 * sizeof(int32_t));
  int32_t v[9];
  std::memcpy(v, out.data(), sizeof(v));
  EXPECT_EQ(v[0], CUDNN_DATA_DOUBLE);
  EXPECT_EQ(v[1], 2);
  EXPECT_EQ(v[4], 5);
  wire::Writer destroy;
  destroy.put<uint64_t>(t);
  EXPECT_EQ(run(cd::handle_cudnnDestroyTensorDescriptor, destroy), CUDNN_STATUS_SUCCESS);
  // Now stale: cuDNN's answer for a bad descriptor, and nothing is called.
  EXPECT_EQ(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(t)), CUDNN_STATUS_BAD_PARAM);
}

TEST_F(CudnnHandlers, ForgedOrWrongKindDescriptorEndsTheSession) {
  const uint64_t forged = (uint64_t{static_cast<uint8_t>(be::HandleKind::kCudnnTensorDesc)} << 56) |
                          0x123456;
  EXPECT_FAULT(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(forged)),
               "forged cuDNN object handle 0x2900000000123456");
  // A live filter descriptor is no tensor descriptor, nor a backend descriptor.
  int dummy = 0;
  const uint64_t filter = session_.handles().add(be::HandleKind::kCudnnFilterDesc, &dummy);
  EXPECT_FAULT(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(filter)),
               "forged cuDNN object handle 0x2a00000000000001");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute,
                   set_attr(filter, CUDNN_TYPE_DATA_TYPE, 1, sizeof(int32_t))),
               "forged cuDNN object handle 0x2a00000000000001");
}

// Presence flag 2: the create names its descriptor by its request's ticket (docs/protocol.md,
// "Client-chosen handle ids"); nothing comes back.
TEST_F(CudnnHandlers, ClientChosenIdNamesTheDescriptor) {
  wire::Writer w;
  w.put<uint8_t>(2);
  std::vector<uint8_t> out;
  ASSERT_EQ(run(cd::handle_cudnnCreateTensorDescriptor, w, &out, 41), CUDNN_STATUS_SUCCESS);
  EXPECT_TRUE(out.empty());
  const uint64_t t = wire::client_id(be::HandleKind::kCudnnTensorDesc, 41);
  EXPECT_EQ(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(t)), CUDNN_STATUS_SUCCESS);
  // The backend API's creates too, beside the worker's own ids.
  wire::Writer b;
  b.put<int32_t>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  b.put<uint8_t>(2);
  ASSERT_EQ(run(cd::handle_cudnnBackendCreateDescriptor, b, &out, 42), CUDNN_STATUS_SUCCESS);
  EXPECT_TRUE(out.empty());
  const uint64_t own = backend_tensor();
  EXPECT_FALSE(wire::is_client_id(own));
  wire::Writer destroy;
  destroy.put<uint64_t>(t);
  EXPECT_EQ(run(cd::handle_cudnnDestroyTensorDescriptor, destroy), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(run(cd::handle_cudnnSetTensor4dDescriptor, set4d(t)), CUDNN_STATUS_BAD_PARAM);
  // A create that fails (an unknown backend descriptor type) leaves its id stale, not forged:
  // later uses fail as an invalid handle, the session goes on.
  wire::Writer bad;
  bad.put<int32_t>(12345);
  bad.put<uint8_t>(2);
  EXPECT_NE(run(cd::handle_cudnnBackendCreateDescriptor, bad, &out, 43), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                set_attr(wire::client_id(be::HandleKind::kCudnnBackendDesc, 43),
                         CUDNN_TYPE_DATA_TYPE, 1, sizeof(int32_t))),
            CUDNN_STATUS_BAD_PARAM);
}

TEST_F(CudnnHandlers, ForgedClientChosenIdsEndTheSession) {
  wire::Writer w;
  w.put<uint8_t>(2);
  // No ticket (an auxiliary connection's request, or the fuzzer's) names nothing.
  EXPECT_FAULT(run(cd::handle_cudnnCreateTensorDescriptor, w, nullptr, 0),
               "a client-chosen cuDNN object id for ticket 0 (a create that asks for one needs a "
               "ticket below 2^55)");
  ASSERT_EQ(run(cd::handle_cudnnCreateTensorDescriptor, w, nullptr, 50), CUDNN_STATUS_SUCCESS);
  // The same ticket again (a replay), or an older one.
  EXPECT_FAULT(
      run(cd::handle_cudnnCreateTensorDescriptor, w, nullptr, 50),
      "client-chosen cuDNN object id 0x2980000000000032 named twice (ticket 50, last claimed 50)");
  EXPECT_FAULT(
      run(cd::handle_cudnnCreateTensorDescriptor, w, nullptr, 49),
      "client-chosen cuDNN object id 0x2980000000000031 named twice (ticket 49, last claimed 50)");
  // A flag above 2 does not decode; creates without the word take only 0 and 1.
  wire::Writer three;
  three.put<uint8_t>(3);
  EXPECT_FAULT(run(cd::handle_cudnnCreateTensorDescriptor, three, nullptr, 60),
               "presence flag is not 0, 1 or 2");
  // Uses of ids never named: above the last ticket claimed, or another kind's.
  EXPECT_FAULT(run(cd::handle_cudnnSetTensor4dDescriptor,
                   set4d(wire::client_id(be::HandleKind::kCudnnTensorDesc, 51))),
               "forged cuDNN object handle 0x2980000000000033");
  EXPECT_FAULT(run(cd::handle_cudnnSetTensor4dDescriptor,
                   set4d(wire::client_id(be::HandleKind::kCudnnFilterDesc, 50))),
               "forged cuDNN object handle 0x2a80000000000032");
  // The honest one still works.
  EXPECT_EQ(run(cd::handle_cudnnSetTensor4dDescriptor,
                set4d(wire::client_id(be::HandleKind::kCudnnTensorDesc, 50))),
            CUDNN_STATUS_SUCCESS);
}

TEST_F(CudnnHandlers, SetAttributeHonestAndStale) {
  const uint64_t d = backend_tensor();
  ASSERT_NE(d, 0u);
  wire::Writer w = set_attr(d, CUDNN_TYPE_DATA_TYPE, 1, 0);
  w.put<int32_t>(CUDNN_DATA_HALF);
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute, w), CUDNN_STATUS_SUCCESS);
  // GetAttribute answers as natively (an unfinalized descriptor: cuDNN's own status), and on
  // success with the count and the element.
  cudnnBackendDescriptor_t native = nullptr;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &native),
            CUDNN_STATUS_SUCCESS);
  cudnnDataType_t half = CUDNN_DATA_HALF, got = CUDNN_DATA_FLOAT;
  ASSERT_EQ(cudnnBackendSetAttribute(native, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1,
                                     &half),
            CUDNN_STATUS_SUCCESS);
  int64_t n = 0;
  const cudnnStatus_t expected = cudnnBackendGetAttribute(
      native, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &n, &got);
  cudnnBackendDestroyDescriptor(native);
  wire::Writer g;
  g.put<uint64_t>(d);
  g.put<int32_t>(CUDNN_ATTR_TENSOR_DATA_TYPE);
  g.put<int32_t>(CUDNN_TYPE_DATA_TYPE);
  g.put<int64_t>(1);
  g.put<uint8_t>(1);
  g.put<uint8_t>(1);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cd::handle_cudnnBackendGetAttribute, g, &out), expected);
  if (expected == CUDNN_STATUS_SUCCESS) {
    ASSERT_EQ(out.size(), sizeof(int64_t) + sizeof(uint64_t) + sizeof(int32_t));
    int32_t t = 0;
    std::memcpy(&t, out.data() + 16, sizeof(t));
    EXPECT_EQ(t, CUDNN_DATA_HALF);
  } else {
    EXPECT_TRUE(out.empty());
  }
  // A released id is stale: cuDNN's bad-parameter answer.
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCudnnBackendDesc, d, &p));
  wire::Writer again = set_attr(d, CUDNN_TYPE_DATA_TYPE, 1, sizeof(int32_t));
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute, again), CUDNN_STATUS_BAD_PARAM);
  cudnnBackendDestroyDescriptor(static_cast<cudnnBackendDescriptor_t>(p));
}

// A pointer attribute (a variant pack's data pointers) holding host memory: a tensor passed by
// value, whose scalar cuDNN would read on the worker's CPU at the client's address, or an
// address of the worker's own memory. Refused as not supported before cuDNN sees it; NULL
// elements (and, on a GPU, device memory) reach cuDNN. Without a GPU no address is device
// memory.
TEST_F(CudnnHandlers, PointerAttributesTakeDeviceMemoryOnly) {
  const uint64_t d = backend_tensor();
  ASSERT_NE(d, 0u);
  auto pointers = [d](const std::vector<uint64_t>& ps) { return data_pointers(d, ps, -1, {}); };
  float scale = 0.125f;
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                pointers({0, reinterpret_cast<uintptr_t>(&scale)})),
            CUDNN_STATUS_NOT_SUPPORTED);
  cudnnBackendDescriptor_t native = nullptr;
  ASSERT_EQ(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &native),
            CUDNN_STATUS_SUCCESS);
  void* none[2] = {nullptr, nullptr};
  const cudnnStatus_t expected = cudnnBackendSetAttribute(
      native, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 2, none);
  cudnnBackendDestroyDescriptor(native);
  ASSERT_NE(expected, CUDNN_STATUS_NOT_SUPPORTED);  // else the refusal above would prove nothing
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute, pointers({0, 0})), expected);
}

// A tensor passed by value (protocol 3.10): the client sends the scalar's bytes after the
// pointers, and the variant pack's element points to the worker's copy of them, never to the
// client's address. cuDNN answers the element as it holds it.
class CudnnByValue : public CudnnHandlers {
 protected:
  uint64_t pack() { return backend_desc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR); }
  // The value of the j-th scalar the worker keeps for descriptor d (NaN: none kept).
  float scalar(uint64_t d, size_t j) {
    wire::FrameHeader hdr;
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(nullptr, 0), wire::Writer()};
    const void* p = cd::by_value_scalar(ctx, d, j);
    float v = std::nanf("");
    if (p) std::memcpy(&v, p, sizeof v);
    return v;
  }
  size_t kept() {
    wire::FrameHeader hdr;
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(nullptr, 0), wire::Writer()};
    return cd::by_value_descriptors(ctx);
  }
};

// (Which pointer cuDNN then holds is seen on the GPU: cuDNN answers a pack's pointers only
// once finalized, which needs one; the PyTorch workload sdpa_cudnn passes its attention scale by
// value.)
TEST_F(CudnnByValue, AScalarSentByValueIsKeptByTheWorker) {
  const uint64_t d = pack();
  ASSERT_NE(d, 0u);
  const uint64_t client_address = 0x7ffc00001000ull;  // the scalar in the client's memory
  ASSERT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                data_pointers(d, {0, client_address}, 1, {{1, 0.125f}})),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(scalar(d, 0), 0.125f);
  // Set again: the new scalar replaces the old; a descriptor keeps one set of scalars.
  ASSERT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                data_pointers(d, {client_address, 0}, 1, {{0, 2.5f}})),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(scalar(d, 0), 2.5f);
  EXPECT_EQ(kept(), 1u);
  // A set cuDNN refuses (a stale pack) keeps nothing.
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCudnnBackendDesc, d, &p));
  EXPECT_NE(run(cd::handle_cudnnBackendSetAttribute,
                data_pointers(d, {client_address}, 1, {{0, 9.0f}})),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(scalar(d, 0), 2.5f);
  cudnnBackendDestroyDescriptor(static_cast<cudnnBackendDescriptor_t>(p));
  // Without its bytes, a host address is still refused.
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                data_pointers(pack(), {0, client_address}, -1, {})),
            CUDNN_STATUS_NOT_SUPPORTED);
}

TEST_F(CudnnByValue, ScalarsOfDestroyedDescriptorsAreDropped) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 200; ++i) {
    const uint64_t d = pack();
    ASSERT_EQ(run(cd::handle_cudnnBackendSetAttribute,
                  data_pointers(d, {0x1000}, 1, {{0, 1.0f}})),
              CUDNN_STATUS_SUCCESS);
    void* p = nullptr;  // destroyed: its id is released
    ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCudnnBackendDesc, d, &p));
    cudnnBackendDestroyDescriptor(static_cast<cudnnBackendDescriptor_t>(p));
  }
  EXPECT_LE(kept(), 64u) << "the table follows the live descriptors, not every one ever made";
}

TEST_F(CudnnByValue, MalformedScalarsEndTheSession) {
  const uint64_t d = pack();
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, data_pointers(d, {1, 2}, 0, {})),
               "0 by-value scalars for 2 pointers");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute,
                   data_pointers(d, {1, 2}, 3, {{0, 1}, {1, 1}, {1, 1}})),
               "3 by-value scalars for 2 pointers");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, data_pointers(d, {1, 2}, 1, {{2, 1}})),
               "by-value scalar index 2 out of order or past 2 pointers");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute,
                   data_pointers(d, {1, 2}, 2, {{1, 1}, {0, 1}})),
               "by-value scalar index 0 out of order");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, data_pointers(d, {1, 2}, 2, {{0, 1}})),
               "payload too short");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute,
                   data_pointers(d, {1}, 1, {{0, 1}}, CUDNN_ATTR_VARIANT_PACK_WORKSPACE)),
               "by-value scalars for attribute");
  EXPECT_EQ(kept(), 0u);
}

TEST_F(CudnnHandlers, SetAttributeBytesMustMatchTypeAndCount) {
  const uint64_t d = backend_tensor();
  // 2 INT64 elements declared, 8 bytes sent; 1 DATA_TYPE declared, 8 sent; a descriptor element
  // with 4 bytes instead of an 8-byte id.
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, set_attr(d, CUDNN_TYPE_INT64, 2, 8)),
               "cudnnBackendSetAttribute: 8 bytes for 2 elements of attribute type 3");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, set_attr(d, CUDNN_TYPE_DATA_TYPE, 1, 8)),
               "cudnnBackendSetAttribute: 8 bytes for 1 elements of attribute type 1");
  EXPECT_FAULT(
      run(cd::handle_cudnnBackendSetAttribute, set_attr(d, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 4)),
      "cudnnBackendSetAttribute: 4 bytes for 1 elements of attribute type 15");
  // Counts over the bound, or negative, before anything is allocated.
  EXPECT_FAULT(
      run(cd::handle_cudnnBackendSetAttribute, set_attr(d, CUDNN_TYPE_INT64, int64_t{1} << 40, 0)),
      "cudnnBackendSetAttribute: element count 1099511627776 out of bounds");
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, set_attr(d, CUDNN_TYPE_INT64, -1, 0)),
               "cudnnBackendSetAttribute: element count -1 out of bounds");
  // A forged descriptor id inside the array.
  wire::Writer w = set_attr(d, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 0);
  w.put<uint64_t>((uint64_t{static_cast<uint8_t>(be::HandleKind::kCudnnBackendDesc)} << 56) | 0x7777);
  EXPECT_FAULT(run(cd::handle_cudnnBackendSetAttribute, w),
               "forged cuDNN object handle 0x3c00000000007777");
  // A type nobody can size: refused, cuDNN is not called.
  EXPECT_EQ(run(cd::handle_cudnnBackendSetAttribute, set_attr(d, 9999, 1, 0)),
            CUDNN_STATUS_NOT_SUPPORTED);
}

TEST_F(CudnnHandlers, GetAttributeCountsAreBounded) {
  const uint64_t d = backend_tensor();
  wire::Writer g;
  g.put<uint64_t>(d);
  g.put<int32_t>(CUDNN_ATTR_TENSOR_DIMENSIONS);
  g.put<int32_t>(CUDNN_TYPE_INT64);
  g.put<int64_t>(int64_t{1} << 30);
  g.put<uint8_t>(1);
  g.put<uint8_t>(1);
  EXPECT_FAULT(run(cd::handle_cudnnBackendGetAttribute, g),
               "cudnnBackendGetAttribute: element count 1073741824 out of bounds");
  // Descriptor ids that do not match the requested count.
  wire::Writer h;
  h.put<uint64_t>(d);
  h.put<int32_t>(CUDNN_ATTR_ENGINEHEUR_RESULTS);
  h.put<int32_t>(CUDNN_TYPE_BACKEND_DESCRIPTOR);
  h.put<int64_t>(3);
  h.put<uint8_t>(1);
  h.put<uint8_t>(1);
  h.put<uint64_t>(0);
  EXPECT_FAULT(run(cd::handle_cudnnBackendGetAttribute, h),
               "cudnnBackendGetAttribute: descriptor ids disagree with the element count");
}

TEST_F(CudnnHandlers, CtcLabelsMustMatchTheirLengths) {
  wire::Writer w;
  for (int i = 0; i < 6; ++i) w.put<uint64_t>(0);  // handle .. gradients
  w.put<int32_t>(CUDNN_CTC_LOSS_ALGO_DETERMINISTIC);
  w.put<uint64_t>(0);
  w.put<uint64_t>(0);
  w.put<uint64_t>(0);
  w.put<int32_t>(1);  // batch 1
  w.put<uint8_t>(1);
  w.put<int32_t>(1000);  // one label length of 1000 ...
  w.put<uint8_t>(1);
  w.put<int32_t>(5);
  w.put<uint8_t>(1);
  w.put<int32_t>(7);  // ... and one label
  EXPECT_FAULT(run(cd::handle_cudnnCTCLoss, w), "payload too short: wanted 4000 bytes, 4 left");
  wire::Writer big;
  for (int i = 0; i < 6; ++i) big.put<uint64_t>(0);
  big.put<int32_t>(0);
  big.put<uint64_t>(0);
  big.put<uint64_t>(0);
  big.put<uint64_t>(0);
  big.put<int32_t>(1 << 30);  // batch over the bound
  EXPECT_FAULT(run(cd::handle_cudnnCTCLoss, big), "cudnnCTCLoss: batch size out of bounds");
}

}  // namespace
}  // namespace gvirtus::testing
