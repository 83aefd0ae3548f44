// The batch copies (batch_copy.h): checks, then single copies through transfer.cc.
#include "frontend/cudart/batch_copy.h"

#include <vector>

#include "frontend/cudart/local.h"

namespace gvirtus::cudart {

namespace {

bool access_order_ok(cudaMemcpySrcAccessOrder o) {
  return o == cudaMemcpySrcAccessOrderStream || o == cudaMemcpySrcAccessOrderDuringApiCall ||
         o == cudaMemcpySrcAccessOrderAny;
}

bool copy_flags_ok(unsigned int f) {
  return (f & ~unsigned{cudaMemcpyFlagPreferOverlapWithCompute}) == 0;
}

}  // namespace

bool batch_stream_ok(uint64_t stream) {
  return stream != 0 && stream != to_wire(cudaStreamLegacy);
}

cudaError_t check_batch(void* const* dsts, const void* const* srcs, const size_t* sizes,
                        size_t count, const cudaMemcpyAttributes* attrs, const size_t* idxs,
                        size_t num_attrs) {
  if (count == 0 || !dsts || !srcs || !sizes || !attrs || !idxs) return cudaErrorInvalidValue;
  if (num_attrs == 0 || num_attrs > count) return cudaErrorInvalidValue;
  for (size_t k = 0; k < num_attrs; ++k) {
    if (k == 0 ? idxs[k] != 0 : idxs[k] <= idxs[k - 1]) return cudaErrorInvalidValue;
    if (idxs[k] >= count) return cudaErrorInvalidValue;
    if (!access_order_ok(attrs[k].srcAccessOrder) || !copy_flags_ok(attrs[k].flags))
      return cudaErrorInvalidValue;
  }
  for (size_t i = 0; i < count; ++i)
    if (!dsts[i] || !srcs[i]) return cudaErrorInvalidValue;
  return cudaSuccess;
}

cudaError_t run_batch(void* const* dsts, const void* const* srcs, const size_t* sizes,
                      size_t count, const Target& t) {
  for (size_t i = 0; i < count; ++i) {
    cudaError_t e = copy_1d(dsts[i], srcs[i], sizes[i], cudaMemcpyDefault, t);
    if (e != cudaSuccess) return e;  // copy() recorded it
  }
  return cudaSuccess;
}

cudaError_t describe_batch_op(const cudaMemcpy3DBatchOp& op, ElementSize elem, Copy3D* out) {
  const cudaExtent& ext = op.extent;
  if (ext.width == 0 || ext.height == 0 || ext.depth == 0) return cudaErrorInvalidValue;
  if (!access_order_ok(op.srcAccessOrder) || !copy_flags_ok(op.flags)) return cudaErrorInvalidValue;
  for (const cudaMemcpy3DOperand* o : {&op.src, &op.dst}) {
    if (o->type == cudaMemcpyOperandTypePointer) {
      if (!o->op.ptr.ptr) return cudaErrorInvalidValue;
      if (o->op.ptr.rowLength != 0 && o->op.ptr.rowLength < ext.width) return cudaErrorInvalidValue;
      if (o->op.ptr.layerHeight != 0 && o->op.ptr.layerHeight < ext.height)
        return cudaErrorInvalidValue;
    } else if (o->type == cudaMemcpyOperandTypeArray) {
      if (!o->op.array.array) return cudaErrorInvalidValue;
    } else {
      return cudaErrorInvalidValue;
    }
  }
  // Elements are bytes between pointers, the array's element otherwise (both arrays alike).
  uint64_t size = 1;
  bool have = false;
  for (const cudaMemcpy3DOperand* o : {&op.src, &op.dst}) {
    if (o->type != cudaMemcpyOperandTypeArray) continue;
    uint64_t s = 0;
    cudaError_t e = elem(o->op.array.array, &s);
    if (e != cudaSuccess) return e;
    if (s == 0 || (have && s != size)) return cudaErrorInvalidValue;
    size = s;
    have = true;
  }
  if (ext.width > UINT64_MAX / size) return cudaErrorInvalidValue;
  auto end_of = [&](const cudaMemcpy3DOperand& o, CopyEnd* e) {
    *e = CopyEnd{};
    if (o.type == cudaMemcpyOperandTypeArray) {
      if (o.op.array.offset.x > UINT64_MAX / size) return false;
      e->kind = CopyEnd::Kind::kArray;
      e->base = to_wire(o.op.array.array);
      e->x = o.op.array.offset.x * size;
      e->y = o.op.array.offset.y;
      e->z = o.op.array.offset.z;
      return true;
    }
    // A pointer operand starts at the copy's first element; zero lengths mean tightly packed.
    const uint64_t row = o.op.ptr.rowLength ? o.op.ptr.rowLength : ext.width;
    if (row > UINT64_MAX / size) return false;
    e->kind = CopyEnd::Kind::kHost;
    e->base = to_wire(o.op.ptr.ptr);
    e->pitch = row * size;
    e->xsize = ext.width * size;
    e->ysize = o.op.ptr.layerHeight ? o.op.ptr.layerHeight : ext.height;
    return true;
  };
  if (!end_of(op.src, &out->src) || !end_of(op.dst, &out->dst)) return cudaErrorInvalidValue;
  out->width = ext.width * size;
  out->height = ext.height;
  out->depth = ext.depth;
  return cudaSuccess;
}

cudaError_t run_3d_batch(size_t n, const cudaMemcpy3DBatchOp* ops, unsigned long long flags,
                         ElementSize elem, const Target& t) {
  if (n == 0 || !ops || flags != 0) return argument_error(cudaErrorInvalidValue);
  std::vector<Copy3D> copies(n);
  for (size_t i = 0; i < n; ++i) {
    cudaError_t e = describe_batch_op(ops[i], elem, &copies[i]);
    if (e == cudaSuccess) e = classify_ends(cudaMemcpyDefault, &copies[i].src, &copies[i].dst);
    if (e != cudaSuccess) return argument_error(e);
  }
  for (const Copy3D& c : copies) {
    cudaError_t e = copy_3d(c, t);
    if (e != cudaSuccess) return e;  // copy_3d recorded it
  }
  return cudaSuccess;
}

}  // namespace gvirtus::cudart
