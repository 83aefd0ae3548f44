// The batch copies' argument rules (frontend/cudart/batch_copy.h), without a session: what
// cudaMemcpyBatchAsync and cudaMemcpy3DBatchAsync refuse before sending anything, and how a
// 3D batch operation becomes a Copy3D. The copies themselves: cudart_copy_test.cc (Batch*).
#include <gtest/gtest.h>

#include <vector>

#include "frontend/cudart/batch_copy.h"

namespace gvirtus::testing {
namespace {

namespace cr = gvirtus::cudart;

struct Batch {
  std::vector<int> a = std::vector<int>(8), b = std::vector<int>(8);
  std::vector<void*> dsts{a.data(), b.data(), a.data()};
  std::vector<const void*> srcs{b.data(), a.data(), b.data()};
  std::vector<size_t> sizes{4, 8, 12};
  std::vector<cudaMemcpyAttributes> attrs = std::vector<cudaMemcpyAttributes>(2);
  std::vector<size_t> idxs{0, 2};
  Batch() {
    for (auto& at : attrs) at.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  }
  cudaError_t check(size_t n_attrs = 2) const {
    return cr::check_batch(dsts.data(), srcs.data(), sizes.data(), dsts.size(), attrs.data(),
                           idxs.data(), n_attrs);
  }
};

TEST(BatchCopy, AWellFormedBatchPasses) {
  Batch b;
  EXPECT_EQ(b.check(), cudaSuccess);
  EXPECT_EQ(b.check(1), cudaSuccess);  // one attribute set for every copy
  b.attrs[1].srcAccessOrder = cudaMemcpySrcAccessOrderAny;
  b.attrs[0].srcAccessOrder = cudaMemcpySrcAccessOrderDuringApiCall;
  b.attrs[0].flags = cudaMemcpyFlagPreferOverlapWithCompute;
  EXPECT_EQ(b.check(), cudaSuccess);
}

TEST(BatchCopy, AttributeRulesAreCudas) {
  Batch b;
  EXPECT_EQ(b.check(0), cudaErrorInvalidValue);
  EXPECT_EQ(b.check(4), cudaErrorInvalidValue);  // more attribute sets than copies
  b.idxs = {1, 2};  // must start at 0
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
  b.idxs = {0, 0};  // must grow
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
  b.idxs = {0, 3};  // must stay below count
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
  b.idxs = {0, 2};
  b.attrs[1].srcAccessOrder = cudaMemcpySrcAccessOrderInvalid;
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
  b.attrs[1].srcAccessOrder = static_cast<cudaMemcpySrcAccessOrder>(4);
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
  b.attrs[1].srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  b.attrs[1].flags = 2;  // no such flag
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
}

TEST(BatchCopy, MissingArraysAndPointersAreRefused) {
  Batch b;
  EXPECT_EQ(cr::check_batch(nullptr, b.srcs.data(), b.sizes.data(), 3, b.attrs.data(),
                            b.idxs.data(), 2),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::check_batch(b.dsts.data(), b.srcs.data(), nullptr, 3, b.attrs.data(),
                            b.idxs.data(), 2),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::check_batch(b.dsts.data(), b.srcs.data(), b.sizes.data(), 3, b.attrs.data(),
                            nullptr, 2),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::check_batch(b.dsts.data(), b.srcs.data(), b.sizes.data(), 0, b.attrs.data(),
                            b.idxs.data(), 0),
            cudaErrorInvalidValue);
  b.srcs[2] = nullptr;
  EXPECT_EQ(b.check(), cudaErrorInvalidValue);
}

TEST(BatchCopy, TheLegacyStreamIsRefused) {
  EXPECT_FALSE(cr::batch_stream_ok(0));
  EXPECT_FALSE(cr::batch_stream_ok(reinterpret_cast<uintptr_t>(cudaStreamLegacy)));
  EXPECT_TRUE(cr::batch_stream_ok(reinterpret_cast<uintptr_t>(cudaStreamPerThread)));
  EXPECT_TRUE(cr::batch_stream_ok(0x0100000000000005ull));
}

// Arrays 0x10 and 0x11 have 4-byte elements, 0x20 8-byte ones; 0x99 is not an array.
cudaError_t fake_elem(cudaArray_t a, uint64_t* bytes) {
  switch (reinterpret_cast<uintptr_t>(a)) {
    case 0x10:
    case 0x11: *bytes = 4; return cudaSuccess;
    case 0x20: *bytes = 8; return cudaSuccess;
    default: return cudaErrorInvalidResourceHandle;
  }
}
cudaArray_t arr(uintptr_t v) { return reinterpret_cast<cudaArray_t>(v); }

cudaMemcpy3DBatchOp pointer_op(void* dst, const void* src, cudaExtent ext) {
  cudaMemcpy3DBatchOp op{};
  op.src.type = op.dst.type = cudaMemcpyOperandTypePointer;
  op.src.op.ptr.ptr = const_cast<void*>(src);
  op.dst.op.ptr.ptr = dst;
  op.extent = ext;
  op.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  return op;
}

TEST(BatchCopy, PointerOperandsArePitchedInBytes) {
  char s[1], d[1];
  cudaMemcpy3DBatchOp op = pointer_op(d, s, cudaExtent{5, 3, 2});
  op.src.op.ptr.rowLength = 8;
  op.src.op.ptr.layerHeight = 4;
  cr::Copy3D c;
  ASSERT_EQ(cr::describe_batch_op(op, fake_elem, &c), cudaSuccess);
  EXPECT_EQ(c.width, 5u);
  EXPECT_EQ(c.height, 3u);
  EXPECT_EQ(c.depth, 2u);
  EXPECT_EQ(c.src.pitch, 8u);
  EXPECT_EQ(c.src.ysize, 4u);
  EXPECT_EQ(c.dst.pitch, 5u);  // zero: tightly packed
  EXPECT_EQ(c.dst.ysize, 3u);
  EXPECT_EQ(c.src.x + c.src.y + c.src.z, 0u);
}

TEST(BatchCopy, ArrayOperandsCountInTheArraysElements) {
  std::vector<float> host(64);
  cudaMemcpy3DBatchOp op = pointer_op(nullptr, host.data(), cudaExtent{4, 2, 1});
  op.dst.type = cudaMemcpyOperandTypeArray;
  op.dst.op.array.array = arr(0x10);
  op.dst.op.array.offset = {3, 1, 0};
  op.src.op.ptr.rowLength = 6;
  cr::Copy3D c;
  ASSERT_EQ(cr::describe_batch_op(op, fake_elem, &c), cudaSuccess);
  EXPECT_EQ(c.width, 16u);
  EXPECT_EQ(c.src.pitch, 24u);
  EXPECT_EQ(c.dst.kind, cr::CopyEnd::Kind::kArray);
  EXPECT_EQ(c.dst.base, 0x10u);
  EXPECT_EQ(c.dst.x, 12u);
  EXPECT_EQ(c.dst.y, 1u);
  // Two arrays of one element size copy; of different sizes they do not.
  op.src.type = cudaMemcpyOperandTypeArray;
  op.src.op.array.array = arr(0x11);
  op.src.op.array.offset = {};
  EXPECT_EQ(cr::describe_batch_op(op, fake_elem, &c), cudaSuccess);
  op.src.op.array.array = arr(0x20);
  EXPECT_EQ(cr::describe_batch_op(op, fake_elem, &c), cudaErrorInvalidValue);
  op.src.op.array.array = arr(0x99);  // the query's own error
  EXPECT_EQ(cr::describe_batch_op(op, fake_elem, &c), cudaErrorInvalidResourceHandle);
}

TEST(BatchCopy, OperationRulesAreCudas) {
  char s[1], d[1];
  const cudaMemcpy3DBatchOp good = pointer_op(d, s, cudaExtent{5, 3, 2});
  cr::Copy3D c;
  ASSERT_EQ(cr::describe_batch_op(good, fake_elem, &c), cudaSuccess);
  auto bad = [&](auto change) {
    cudaMemcpy3DBatchOp op = good;
    change(op);
    return cr::describe_batch_op(op, fake_elem, &c);
  };
  EXPECT_EQ(bad([](auto& op) { op.extent.depth = 0; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.extent.width = 0; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.src.op.ptr.rowLength = 4; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.dst.op.ptr.layerHeight = 2; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.dst.op.ptr.ptr = nullptr; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.src.type = static_cast<cudaMemcpy3DOperandType>(3); }),
            cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.srcAccessOrder = cudaMemcpySrcAccessOrderInvalid; }),
            cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) { op.flags = 8; }), cudaErrorInvalidValue);
  EXPECT_EQ(bad([](auto& op) {
              op.dst.type = cudaMemcpyOperandTypeArray;
              op.dst.op.array.array = nullptr;
            }),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace gvirtus::testing
