// Tensor maps (TMA descriptors): cuTensorMapEncodeTiled over a device matrix, read by a kernel
// with cp.async.bulk.tensor (a tile inside the matrix, one hanging over its edge, filled with
// zeros), cuTensorMapReplaceAddress onto a second matrix, cuTensorMapEncodeIm2col and
// cuTensorMapEncodeIm2colWide, and the errors of bad arguments. Prints results only (an
// encoding as a hash of its bytes, for an address that is the same in every run). sm_90.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "driver/check_drv.h"

namespace {

constexpr int kN = 64;     // the matrix is kN x kN floats
constexpr int kBox = 16;   // a tile is kBox x kBox

// One block: thread 0 asks the TMA unit for the tile at (x, y) and every thread waits on the
// barrier, then copies the tile out. A tile that never arrives leaves -1 (no hang).
__global__ void load_tile(const __grid_constant__ CUtensorMap map, float* out, int x, int y) {
  __shared__ alignas(128) float tile[kBox * kBox];
  __shared__ alignas(8) unsigned long long bar;
  const unsigned b = static_cast<unsigned>(__cvta_generic_to_shared(&bar));
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared.b64 [%0], 1;" ::"r"(b));
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(b),
                 "r"(static_cast<unsigned>(sizeof tile))
                 : "memory");
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(tile));
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
        " [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
        "l"(reinterpret_cast<unsigned long long>(&map)), "r"(x), "r"(y), "r"(b)
        : "memory");
  }
  unsigned done = 0;
  for (long spins = 0; !done && spins < 100000000L; ++spins)
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], 0;\n"
        " selp.u32 %0, 1, 0, p;\n}"
        : "=r"(done)
        : "r"(b)
        : "memory");
  for (int i = threadIdx.x; i < kBox * kBox; i += blockDim.x) out[i] = done ? tile[i] : -1.0f;
}

uint64_t fnv(const void* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 1099511628211ull;
  return h;
}

CUresult encode(CUtensorMap* m, void* base, CUtensorMapFloatOOBfill fill) {
  const cuuint64_t dims[2] = {kN, kN};
  const cuuint64_t strides[1] = {kN * sizeof(float)};
  const cuuint32_t box[2] = {kBox, kBox};
  const cuuint32_t elem[2] = {1, 1};
  return cuTensorMapEncodeTiled(m, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, base, dims, strides, box,
                                elem, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                CU_TENSOR_MAP_L2_PROMOTION_NONE, fill);
}

// Reads the tile at (x, y) through `map` and counts the elements that differ from `matrix`'s
// (zero outside it).
int wrong_elements(const CUtensorMap& map, const std::vector<float>& matrix, float* d_out, int x,
                   int y) {
  load_tile<<<1, 128>>>(map, d_out, x, y);
  if (cudaDeviceSynchronize() != cudaSuccess) return -1;
  std::vector<float> got(kBox * kBox);
  if (cudaMemcpy(got.data(), d_out, got.size() * sizeof(float), cudaMemcpyDeviceToHost) !=
      cudaSuccess)
    return -1;
  int wrong = 0;
  for (int r = 0; r < kBox; ++r)
    for (int c = 0; c < kBox; ++c) {
      const int gy = y + r, gx = x + c;
      const float want = gy < kN && gx < kN ? matrix[gy * kN + gx] : 0.0f;
      wrong += got[r * kBox + c] != want;
    }
  return wrong;
}

}  // namespace

int main() {
  DCHECK(cuInit(0));
  cudaFree(nullptr);  // the primary context, current
  std::vector<float> a(kN * kN), b(kN * kN);
  for (int i = 0; i < kN * kN; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = static_cast<float>(-3 * i);
  }
  float *d_a, *d_b, *d_out;
  if (cudaMalloc(&d_a, a.size() * 4) != cudaSuccess || cudaMalloc(&d_b, b.size() * 4) != cudaSuccess ||
      cudaMalloc(&d_out, kBox * kBox * 4) != cudaSuccess) {
    std::printf("cudaMalloc failed\n");
    return 1;
  }
  cudaMemcpy(d_a, a.data(), a.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(d_b, b.data(), b.size() * 4, cudaMemcpyHostToDevice);

  CUtensorMap map;
  DCHECK(encode(&map, d_a, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
  std::printf("tile inside: %d wrong\n", wrong_elements(map, a, d_out, 16, 32));
  std::printf("tile over the edge: %d wrong\n", wrong_elements(map, a, d_out, 56, 60));
  DCHECK(cuTensorMapReplaceAddress(&map, d_b));
  std::printf("after replacing the address: %d wrong\n", wrong_elements(map, b, d_out, 16, 32));

  // The same arguments give the same bytes (an address no allocation has: encoding only
  // checks its alignment).
  void* fixed = reinterpret_cast<void*>(uintptr_t{1} << 40);
  CUtensorMap m1, m2;
  CUresult e1 = encode(&m1, fixed, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  CUresult e2 = encode(&m2, fixed, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  std::printf("fixed address: %s %s, hash %016llx, same twice: %d\n", drv_name(e1), drv_name(e2),
              e1 == CUDA_SUCCESS ? static_cast<unsigned long long>(fnv(&m1, sizeof m1)) : 0ull,
              e1 == CUDA_SUCCESS && std::memcmp(&m1, &m2, sizeof m1) == 0);
  if (e1 == CUDA_SUCCESS) {
    CUresult er = cuTensorMapReplaceAddress(&m1, reinterpret_cast<char*>(fixed) + 4096);
    std::printf("fixed address moved: %s, hash %016llx\n", drv_name(er),
                static_cast<unsigned long long>(fnv(&m1, sizeof m1)));
  }

  // Bad arguments.
  alignas(128) unsigned char raw[sizeof(CUtensorMap) + 64];
  auto* misaligned = reinterpret_cast<CUtensorMap*>(raw + 32);
  std::printf("descriptor 32 bytes off: %s\n",
              drv_name(encode(misaligned, d_a, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  std::printf("replace into it: %s\n", drv_name(cuTensorMapReplaceAddress(misaligned, d_a)));
  for (int off : {4, 8, 16}) {  // the alignment the driver asks for
    auto* m = reinterpret_cast<CUtensorMap*>(raw + off);
    std::printf("descriptor %d bytes off: %s\n", off,
                drv_name(encode(m, d_a, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  }
  std::printf("no descriptor: %s\n",
              drv_name(encode(nullptr, d_a, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  std::printf("address 4 bytes off: %s\n",
              drv_name(encode(&map, reinterpret_cast<char*>(d_a) + 4,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  const cuuint64_t dims6[6] = {kN, kN, 1, 1, 1, 1};
  const cuuint64_t strides6[5] = {kN * 4, kN * kN * 4, kN * kN * 4, kN * kN * 4, kN * kN * 4};
  const cuuint32_t box6[6] = {kBox, kBox, 1, 1, 1, 1};
  const cuuint32_t elem6[6] = {1, 1, 1, 1, 1, 1};
  for (cuuint32_t rank : {0u, 6u})
    std::printf("rank %u: %s\n", rank,
                drv_name(cuTensorMapEncodeTiled(
                    &map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, rank, d_a, dims6, strides6, box6,
                    elem6, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                    CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  std::printf("no dimensions: %s\n",
              drv_name(cuTensorMapEncodeTiled(
                  &map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, d_a, nullptr, strides6, box6, elem6,
                  CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                  CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));

  // Im2col over an NHWC tensor of 1 x 8 x 8 x 16 halves (rank 4): 4 pixels a column.
  const cuuint64_t nhwc[4] = {16, 8, 8, 1};
  const cuuint64_t nhwc_strides[3] = {16 * 2, 16 * 2 * 8, 16 * 2 * 8 * 8};
  const int lower[2] = {0, 0}, upper[2] = {-1, -1};
  const cuuint32_t elem4[4] = {1, 1, 1, 1};
  CUtensorMap i2c;
  CUresult ei = cuTensorMapEncodeIm2col(&i2c, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, fixed, nhwc,
                                        nhwc_strides, lower, upper, 16, 4, elem4,
                                        CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                        CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  std::printf("im2col: %s, hash %016llx\n", drv_name(ei),
              ei == CUDA_SUCCESS ? static_cast<unsigned long long>(fnv(&i2c, sizeof i2c)) : 0ull);
  std::printf("im2col of rank 2: %s\n",
              drv_name(cuTensorMapEncodeIm2col(
                  &i2c, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, fixed, nhwc, nhwc_strides, lower,
                  upper, 16, 4, elem4, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                  CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)));
  CUresult ew = cuTensorMapEncodeIm2colWide(
      &i2c, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, fixed, nhwc, nhwc_strides, 0, -1, 16, 4, elem4,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_IM2COL_WIDE_MODE_W, CU_TENSOR_MAP_SWIZZLE_NONE,
      CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  std::printf("im2col wide: %s, hash %016llx\n", drv_name(ew),
              ew == CUDA_SUCCESS ? static_cast<unsigned long long>(fnv(&i2c, sizeof i2c)) : 0ull);

  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_out);
  return 0;
}
