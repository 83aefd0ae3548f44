// cudaMemcpyBatchAsync and cudaMemcpy3DBatchAsync: host-to-device, device-to-host and
// device-to-device entries in one batch, pageable and page-locked host memory, several
// attribute sets, 3D operations with row lengths and layer heights, to and from a CUDA array,
// the per-thread default stream, and the arguments CUDA refuses.
#include <cstring>
#include <vector>

#include "check.h"

namespace {

constexpr size_t kN = 3000;

__global__ void add_one(int* p, size_t n) {
  size_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}

int pat(size_t i, int seed) { return static_cast<int>(i * 7 + seed * 1000 + i / 5); }

bool flat_batches(cudaStream_t s) {
  std::vector<int> a(kN), b(kN), back_a(kN, 0), back_c(kN, 0);
  for (size_t i = 0; i < kN; ++i) {
    a[i] = pat(i, 1);
    b[i] = pat(i, 2);
  }
  int* pinned = nullptr;
  CHECK(cudaMallocHost(&pinned, kN * sizeof(int)));
  std::memcpy(pinned, b.data(), kN * sizeof(int));
  int *da, *db, *dc;
  CHECK(cudaMalloc(&da, kN * sizeof(int)));
  CHECK(cudaMalloc(&db, kN * sizeof(int)));
  CHECK(cudaMalloc(&dc, kN * sizeof(int)));

  // Up: pageable and page-locked sources, one attribute set each.
  void* dsts[] = {da, db};
  const void* srcs[] = {a.data(), pinned};
  size_t sizes[] = {kN * sizeof(int), kN * sizeof(int)};
  cudaMemcpyAttributes attrs[2] = {};
  attrs[0].srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  attrs[1].srcAccessOrder = cudaMemcpySrcAccessOrderDuringApiCall;
  for (cudaMemcpyAttributes& at : attrs)  // where host operands live (ignored for device memory)
    at.srcLocHint.type = at.dstLocHint.type = cudaMemLocationTypeHost;
  size_t idxs[] = {0, 1};
  CHECK(cudaMemcpyBatchAsync(dsts, srcs, sizes, 2, attrs, idxs, 2, s));
  add_one<<<(kN + 255) / 256, 256, 0, s>>>(da, kN);
  // Down and across in one batch, behind the kernel in stream order.
  void* dsts2[] = {back_a.data(), dc};
  const void* srcs2[] = {da, db};
  CHECK(cudaMemcpyBatchAsync(dsts2, srcs2, sizes, 2, attrs, idxs, 1, s));
  // The device-to-device result, back through a second batch of one.
  void* dsts3[] = {back_c.data()};
  const void* srcs3[] = {dc};
  CHECK(cudaMemcpyBatchAsync(dsts3, srcs3, sizes, 1, attrs, idxs, 1, s));
  CHECK(cudaStreamSynchronize(s));
  bool ok = true;
  for (size_t i = 0; i < kN; ++i) ok &= back_a[i] == a[i] + 1 && back_c[i] == b[i];
  std::printf("flat batch: %s\n", ok ? "ok" : "WRONG");

  // What CUDA refuses: the legacy stream, a bad access order, attribute indices not from 0.
  REPORT(cudaMemcpyBatchAsync(dsts, srcs, sizes, 2, attrs, idxs, 2, 0));
  REPORT(cudaGetLastError());
  cudaMemcpyAttributes bad = attrs[0];
  bad.srcAccessOrder = cudaMemcpySrcAccessOrderInvalid;
  REPORT(cudaMemcpyBatchAsync(dsts, srcs, sizes, 2, &bad, idxs, 1, s));
  REPORT(cudaGetLastError());
  size_t from_one[] = {1};
  REPORT(cudaMemcpyBatchAsync(dsts, srcs, sizes, 2, attrs, from_one, 1, s));
  REPORT(cudaGetLastError());
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));
  CHECK(cudaFreeHost(pinned));
  return ok;
}

cudaMemcpy3DBatchOp pointers(void* dst, const void* src, cudaExtent ext) {
  cudaMemcpy3DBatchOp op{};
  op.src.type = op.dst.type = cudaMemcpyOperandTypePointer;
  op.src.op.ptr.ptr = const_cast<void*>(src);
  op.dst.op.ptr.ptr = dst;
  op.src.op.ptr.locHint.type = op.dst.op.ptr.locHint.type = cudaMemLocationTypeHost;
  op.extent = ext;
  op.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  return op;
}

bool batches_3d(cudaStream_t s) {
  // A 5 x 3 x 2 box of floats inside a host volume of 8 x 4 rows per slice.
  const size_t w = 5, h = 3, d = 2, row = 8, layer = 4;
  std::vector<float> host(row * layer * d), flat(w * h * d, -1.f), wide(7 * h * d, -1.f),
      from_array(w * h * d, -1.f);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i) * 0.5f;
  float* dev = nullptr;
  CHECK(cudaMalloc(&dev, w * h * d * sizeof(float)));
  cudaArray_t arr = nullptr;
  cudaChannelFormatDesc fd = cudaCreateChannelDesc<float>();
  CHECK(cudaMalloc3DArray(&arr, &fd, make_cudaExtent(w, h, d)));

  // Bytes between pointers: rowLength counts bytes there.
  cudaMemcpy3DBatchOp up = pointers(dev, host.data(), make_cudaExtent(w * 4, h, d));
  up.src.op.ptr.rowLength = row * 4;
  up.src.op.ptr.layerHeight = layer;
  // Host to array: elements of the array (floats).
  cudaMemcpy3DBatchOp to_arr{};
  to_arr.src.type = cudaMemcpyOperandTypePointer;
  to_arr.src.op.ptr.ptr = host.data();
  to_arr.src.op.ptr.rowLength = row;
  to_arr.src.op.ptr.layerHeight = layer;
  to_arr.src.op.ptr.locHint.type = cudaMemLocationTypeHost;
  to_arr.dst.type = cudaMemcpyOperandTypeArray;
  to_arr.dst.op.array.array = arr;
  to_arr.extent = make_cudaExtent(w, h, d);
  to_arr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  cudaMemcpy3DBatchOp ops[] = {up, to_arr};
  CHECK(cudaMemcpy3DBatchAsync(2, ops, 0, s));

  cudaMemcpy3DBatchOp down = pointers(flat.data(), dev, make_cudaExtent(w * 4, h, d));
  cudaMemcpy3DBatchOp down_wide = pointers(wide.data(), dev, make_cudaExtent(w * 4, h, d));
  down_wide.dst.op.ptr.rowLength = 7 * 4;
  cudaMemcpy3DBatchOp from_arr{};
  from_arr.src.type = cudaMemcpyOperandTypeArray;
  from_arr.src.op.array.array = arr;
  from_arr.dst.type = cudaMemcpyOperandTypePointer;
  from_arr.dst.op.ptr.ptr = from_array.data();
  from_arr.dst.op.ptr.locHint.type = cudaMemLocationTypeHost;
  from_arr.extent = make_cudaExtent(w, h, d);
  from_arr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  cudaMemcpy3DBatchOp ops2[] = {down, down_wide, from_arr};
  CHECK(cudaMemcpy3DBatchAsync(3, ops2, 0, s));
  CHECK(cudaStreamSynchronize(s));

  bool ok = true;
  for (size_t z = 0; z < d; ++z)
    for (size_t y = 0; y < h; ++y)
      for (size_t x = 0; x < 7; ++x) {
        float want = x < w ? host[(z * layer + y) * row + x] : -1.f;
        if (x < w) ok &= flat[(z * h + y) * w + x] == want;
        if (x < w) ok &= from_array[(z * h + y) * w + x] == want;
        ok &= wide[(z * h + y) * 7 + x] == want;
      }
  std::printf("3D batch: %s\n", ok ? "ok" : "WRONG");

  // Per-thread default stream (stream 0 of the _ptsz form is that stream, not the legacy one).
  std::vector<float> again(w * h * d, 0.f);
  cudaMemcpy3DBatchOp down2 = pointers(again.data(), dev, make_cudaExtent(w * 4, h, d));
  CHECK(cudaMemcpy3DBatchAsync(1, &down2, 0, cudaStreamPerThread));
  CHECK(cudaStreamSynchronize(cudaStreamPerThread));
  bool same = again == flat;
  std::printf("3D batch on the per-thread stream: %s\n", same ? "ok" : "WRONG");

  // Refused: the legacy stream, flags, a zero extent, a row length below the width.
  REPORT(cudaMemcpy3DBatchAsync(1, &down2, 0, 0));
  REPORT(cudaGetLastError());
  REPORT(cudaMemcpy3DBatchAsync(1, &down2, 1, s));
  REPORT(cudaGetLastError());
  cudaMemcpy3DBatchOp empty = down2;
  empty.extent.depth = 0;
  REPORT(cudaMemcpy3DBatchAsync(1, &empty, 0, s));
  REPORT(cudaGetLastError());
  cudaMemcpy3DBatchOp narrow = down2;
  narrow.dst.op.ptr.rowLength = 4;
  REPORT(cudaMemcpy3DBatchAsync(1, &narrow, 0, s));
  REPORT(cudaGetLastError());
  CHECK(cudaFree(dev));
  CHECK(cudaFreeArray(arr));
  return ok && same;
}

}  // namespace

int main() {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  bool ok = flat_batches(s);
  ok &= batches_3d(s);
  CHECK(cudaStreamDestroy(s));
  return verdict(ok);
}
