// CUDA arrays and 3D memory: 1D/2D/3D/layered/mipmapped arrays in several channel formats,
// the 2D array copies (all directions, offsets, pitches, async, cudaMemcpyDefault), the
// deprecated 1D array copies, cudaMemcpy3D in every direction with sub-boxes, cudaMemcpy3DPeer,
// cudaMalloc3D + cudaMemset3D, copies large enough to take several chunks, and error cases.
#include <cstring>
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // cudaMemcpyToArray & co. are tested too
#include <vector>

#include "check.h"

namespace {

unsigned char pat(size_t i, int seed) { return static_cast<unsigned char>(i * 31 + i / 7 + seed * 13); }

// A host image of a W x H x D box of e-byte elements, with row pitch and rows per slice.
struct Box {
  size_t e, w, h, d, pitch, ysize;
  std::vector<unsigned char> bytes;
  Box(size_t e_, size_t w_, size_t h_, size_t d_, size_t pad_x, size_t pad_y)
      : e(e_), w(w_), h(h_), d(d_), pitch(w_ * e_ + pad_x), ysize(h_ + pad_y),
        bytes(pitch * ysize * d_, 0) {}
  unsigned char* at(size_t x, size_t y, size_t z) { return &bytes[z * pitch * ysize + y * pitch + x * e]; }
  void fill(int seed) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = pat(i, seed);
  }
  cudaPitchedPtr ptr() { return make_cudaPitchedPtr(bytes.data(), pitch, w * e, ysize); }
};

// Compares a sub-box of two boxes: n elements x rows x slices, from (ax, ay, az) in a and
// (bx, by, bz) in b.
bool same(Box& a, size_t ax, size_t ay, size_t az, Box& b, size_t bx, size_t by, size_t bz,
          size_t n, size_t rows, size_t slices) {
  for (size_t z = 0; z < slices; ++z)
    for (size_t y = 0; y < rows; ++y)
      if (std::memcmp(a.at(ax, ay + y, az + z), b.at(bx, by + y, bz + z), n * a.e) != 0) return false;
  return true;
}

const char* okw(bool ok) { return ok ? "ok" : "WRONG"; }

void print_info(const char* what, cudaArray_t a) {
  cudaChannelFormatDesc d;
  cudaExtent ext;
  unsigned int flags = 0;
  CHECK(cudaArrayGetInfo(&d, &ext, &flags, a));
  cudaChannelFormatDesc d2;
  CHECK(cudaGetChannelDesc(&d2, a));
  std::printf("%s: %d,%d,%d,%d kind %d, extent %zu x %zu x %zu, flags %u, channel desc %s\n", what,
              d.x, d.y, d.z, d.w, static_cast<int>(d.f), ext.width, ext.height, ext.depth, flags,
              std::memcmp(&d, &d2, sizeof d) == 0 ? "same" : "DIFFERENT");
}

// Host -> array -> array (sub-rectangle) -> pitched device -> host, and array -> host directly,
// for one channel format.
void two_d(const char* name, cudaChannelFormatDesc desc, size_t e, cudaStream_t s) {
  const size_t W = 67, H = 23;
  cudaArray_t a, b;
  CHECK(cudaMallocArray(&a, &desc, W, H));
  CHECK(cudaMallocArray(&b, &desc, W, H, cudaArraySurfaceLoadStore));
  print_info(name, b);
  Box src(e, W, H, 1, 13, 0), zero(e, W, H, 1, 0, 0), model(e, W, H, 1, 0, 0), back(e, W, H, 1, 5, 0);
  src.fill(1);
  CHECK(cudaMemcpy2DToArray(a, 0, 0, src.bytes.data(), src.pitch, W * e, H, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy2DToArrayAsync(b, 0, 0, zero.bytes.data(), zero.pitch, W * e, H, cudaMemcpyDefault, s));
  // b[2 + r][3 + c] = a[1 + r][1 + c]
  CHECK(cudaMemcpy2DArrayToArray(b, 3 * e, 2, a, 1 * e, 1, (W - 4) * e, H - 3, cudaMemcpyDeviceToDevice));
  for (size_t r = 0; r < H - 3; ++r) std::memcpy(model.at(3, 2 + r, 0), src.at(1, 1 + r, 0), (W - 4) * e);
  void* d;
  size_t dp;
  CHECK(cudaMallocPitch(&d, &dp, W * e, H));
  CHECK(cudaMemcpy2DFromArray(d, dp, b, 0, 0, W * e, H, cudaMemcpyDeviceToDevice));
  CHECK(cudaMemcpy2D(back.bytes.data(), back.pitch, d, dp, W * e, H, cudaMemcpyDeviceToHost));
  bool ok1 = same(back, 0, 0, 0, model, 0, 0, 0, W, H, 1);
  // Array -> host sub-rectangle, sync and async, default kind.
  Box sub(e, 10, 7, 1, 3, 0), sub2(e, 10, 7, 1, 0, 0);
  CHECK(cudaMemcpy2DFromArray(sub.bytes.data(), sub.pitch, a, 5 * e, 4, 10 * e, 7, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy2DFromArrayAsync(sub2.bytes.data(), sub2.pitch, a, 5 * e, 4, 10 * e, 7, cudaMemcpyDefault, s));
  CHECK(cudaStreamSynchronize(s));
  bool ok2 = same(sub, 0, 0, 0, src, 5, 4, 0, 10, 7, 1) && same(sub2, 0, 0, 0, src, 5, 4, 0, 10, 7, 1);
  // Device (pitched) -> array at an offset, then back to host.
  CHECK(cudaMemcpy2DToArray(a, 6 * e, 9, d, dp, 20 * e, 5, cudaMemcpyDefault));
  Box all(e, W, H, 1, 0, 0);
  CHECK(cudaMemcpy2DFromArray(all.bytes.data(), all.pitch, a, 0, 0, W * e, H, cudaMemcpyDeviceToHost));
  Box model2(e, W, H, 1, 0, 0);
  for (size_t r = 0; r < H; ++r) std::memcpy(model2.at(0, r, 0), src.at(0, r, 0), W * e);
  for (size_t r = 0; r < 5; ++r) std::memcpy(model2.at(6, 9 + r, 0), model.at(0, r, 0), 20 * e);
  bool ok3 = same(all, 0, 0, 0, model2, 0, 0, 0, W, H, 1);
  std::printf("%s: array->array->device %s, array->host %s, device->array %s\n", name, okw(ok1),
              okw(ok2), okw(ok3));
  CHECK(cudaFree(d));
  CHECK(cudaFreeArray(a));
  CHECK(cudaFreeArray(b));
}

void one_d() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<short>();
  const size_t N = 1000;
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, N));
  print_info("1D short", a);
  std::vector<short> h(N), back(N, 0);
  for (size_t i = 0; i < N; ++i) h[i] = static_cast<short>(i * 37 - 500);
  CHECK(cudaMemcpyToArray(a, 0, 0, h.data(), N * sizeof(short), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpyFromArray(back.data(), a, 0, 0, N * sizeof(short), cudaMemcpyDeviceToHost));
  bool ok = back == h;
  std::vector<short> part(100, 0);
  CHECK(cudaMemcpy2DFromArray(part.data(), 200, a, 300 * sizeof(short), 0, 100 * sizeof(short), 1,
                              cudaMemcpyDeviceToHost));
  ok = ok && std::memcmp(part.data(), h.data() + 300, 200) == 0;
  std::printf("1D round trip: %s\n", okw(ok));
  REPORT(cudaMemcpyToArray(a, 990 * sizeof(short), 0, h.data(), 20 * sizeof(short), cudaMemcpyHostToDevice));
  cudaGetLastError();
  CHECK(cudaFreeArray(a));

  // The deprecated copies on a 2D array, wrapping over rows, and array to array.
  cudaChannelFormatDesc d4 = cudaCreateChannelDesc<int>();
  cudaArray_t b, c;
  CHECK(cudaMallocArray(&b, &d4, 10, 6));
  CHECK(cudaMallocArray(&c, &d4, 10, 6));
  std::vector<int> v(60), w(60, 0), zero(60, 0);
  for (int i = 0; i < 60; ++i) v[i] = i * 11;
  CHECK(cudaMemcpyToArray(c, 0, 0, zero.data(), 240, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpyToArray(b, 0, 0, v.data(), 240, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpyToArray(b, 3 * sizeof(int), 1, v.data(), 25 * sizeof(int), cudaMemcpyHostToDevice));
  REPORT(cudaMemcpyArrayToArray(c, 4 * sizeof(int), 0, b, 0, 1, 30 * sizeof(int), cudaMemcpyDeviceToDevice));
  REPORT(cudaMemcpyFromArray(w.data(), c, 0, 0, 240, cudaMemcpyDeviceToHost));
  long sum = 0;
  for (int i = 0; i < 60; ++i) sum += static_cast<long>(w[i]) * (i + 1);
  std::printf("deprecated copies checksum %ld\n", sum);
  cudaGetLastError();
  CHECK(cudaFreeArray(b));
  CHECK(cudaFreeArray(c));
}

void three_d(cudaStream_t s) {
  const size_t W = 19, H = 11, D = 7, e = sizeof(float2);
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float2>();
  cudaArray_t a;
  CHECK(cudaMalloc3DArray(&a, &desc, make_cudaExtent(W, H, D)));
  print_info("3D float2", a);
  Box src(e, W, H, D, 8, 2);
  src.fill(2);
  cudaMemcpy3DParms p = {};
  p.srcPtr = src.ptr();
  p.dstArray = a;
  p.extent = make_cudaExtent(W, H, D);
  p.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&p));

  // Array sub-box -> pitched device memory at an offset.
  cudaPitchedPtr dev;
  CHECK(cudaMalloc3D(&dev, make_cudaExtent(W * e, H, D)));
  std::printf("cudaMalloc3D: xsize %zu ysize %zu pitch >= xsize %d\n", dev.xsize, dev.ysize,
              dev.pitch >= dev.xsize);
  CHECK(cudaMemset3D(dev, 0, make_cudaExtent(W * e, H, D)));
  p = {};
  p.srcArray = a;
  p.srcPos = make_cudaPos(2, 3, 1);
  p.dstPtr = dev;
  p.dstPos = make_cudaPos(1, 1, 2);  // elements of the array, for the pointer too
  p.extent = make_cudaExtent(10, 5, 4);  // elements, an array takes part
  p.kind = cudaMemcpyDeviceToDevice;
  CHECK(cudaMemcpy3D(&p));
  Box back(e, W, H, D, 0, 0), model(e, W, H, D, 0, 0);
  for (size_t z = 0; z < 4; ++z)
    for (size_t y = 0; y < 5; ++y) std::memcpy(model.at(1, 1 + y, 2 + z), src.at(2, 3 + y, 1 + z), 10 * e);
  p = {};
  p.srcPtr = dev;
  p.dstPtr = back.ptr();
  p.extent = make_cudaExtent(W * e, H, D);  // bytes: no array
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3D(&p));
  bool ok1 = same(back, 0, 0, 0, model, 0, 0, 0, W, H, D);

  // Array sub-box -> host sub-box (default kind, async), host sub-box -> array, host -> host.
  Box out(e, 12, 9, 5, 4, 3);
  p = {};
  p.srcArray = a;
  p.srcPos = make_cudaPos(5, 1, 2);
  p.dstPtr = out.ptr();
  p.dstPos = make_cudaPos(2, 1, 1);
  p.extent = make_cudaExtent(8, 6, 4);
  p.kind = cudaMemcpyDefault;
  CHECK(cudaMemcpy3DAsync(&p, s));
  CHECK(cudaStreamSynchronize(s));
  bool ok2 = same(out, 2, 1, 1, src, 5, 1, 2, 8, 6, 4);
  Box in(e, 6, 4, 3, 1, 1);
  in.fill(3);
  p = {};
  p.srcPtr = in.ptr();
  p.srcPos = make_cudaPos(1, 1, 1);
  p.dstArray = a;
  p.dstPos = make_cudaPos(10, 5, 3);
  p.extent = make_cudaExtent(4, 3, 2);
  p.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&p));
  for (size_t z = 0; z < 2; ++z)
    for (size_t y = 0; y < 3; ++y) std::memcpy(src.at(10, 5 + y, 3 + z), in.at(1, 1 + y, 1 + z), 4 * e);
  Box whole(e, W, H, D, 0, 0);
  p = {};
  p.srcArray = a;
  p.dstPtr = whole.ptr();
  p.extent = make_cudaExtent(W, H, D);
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3D(&p));
  bool ok3 = same(whole, 0, 0, 0, src, 0, 0, 0, W, H, D);
  Box hh(e, W, H, D, 0, 0);
  p = {};
  p.srcPtr = whole.ptr();
  p.srcPos = make_cudaPos(3 * e, 2, 1);
  p.dstPtr = hh.ptr();
  p.extent = make_cudaExtent(5 * e, 4, 3);
  p.kind = cudaMemcpyHostToHost;
  CHECK(cudaMemcpy3D(&p));
  bool ok4 = same(hh, 0, 0, 0, src, 3, 2, 1, 5, 4, 3);

  // Host -> pitched device (whole slices follow each other on both sides: one 2D copy), then
  // device -> array with cudaMemcpy3DPeer, array -> array, and back.
  Box flat(e, W, H, D, 0, 0);
  flat.fill(4);
  p = {};
  p.srcPtr = flat.ptr();
  p.dstPtr = dev;
  p.dstPtr.ysize = H;
  p.extent = make_cudaExtent(W * e, H, D);
  p.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&p));
  cudaMemcpy3DPeerParms pp = {};
  pp.srcPtr = dev;
  pp.srcDevice = 0;
  pp.dstArray = a;
  pp.dstDevice = 0;
  pp.extent = make_cudaExtent(W, H, D);
  CHECK(cudaMemcpy3DPeer(&pp));
  cudaArray_t a2;
  CHECK(cudaMalloc3DArray(&a2, &desc, make_cudaExtent(W, H, D)));
  p = {};
  p.srcArray = a;
  p.dstArray = a2;
  p.extent = make_cudaExtent(W, H, D);
  p.kind = cudaMemcpyDeviceToDevice;
  CHECK(cudaMemcpy3D(&p));
  Box again(e, W, H, D, 3, 0);
  p = {};
  p.srcArray = a2;
  p.dstPtr = again.ptr();
  p.extent = make_cudaExtent(W, H, D);
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3DAsync(&p, 0));
  CHECK(cudaDeviceSynchronize());
  bool ok5 = same(again, 0, 0, 0, flat, 0, 0, 0, W, H, D);

  // cudaMemset3D on a sub-box.
  cudaPitchedPtr sub = dev;
  sub.ptr = static_cast<char*>(dev.ptr) + dev.pitch * dev.ysize + dev.pitch + 8;
  CHECK(cudaMemset3D(sub, 0x5A, make_cudaExtent(16, 3, 2)));
  CHECK(cudaMemset3DAsync(dev, 0x11, make_cudaExtent(4, 1, 1), s));
  CHECK(cudaStreamSynchronize(s));
  Box ms(1, W * e, H, D, 0, 0);
  p = {};
  p.srcPtr = dev;
  p.dstPtr = ms.ptr();
  p.extent = make_cudaExtent(W * e, H, D);
  p.kind = cudaMemcpyDefault;
  CHECK(cudaMemcpy3D(&p));
  size_t n5a = 0, n11 = 0;
  for (unsigned char c : ms.bytes) {
    n5a += c == 0x5A;
    n11 += c == 0x11;
  }
  std::printf("3D: array->device %s, array->host %s, host->array %s, host->host %s, "
              "device->array->array->host %s, memset3D 0x5a %zu 0x11 %zu\n",
              okw(ok1), okw(ok2), okw(ok3), okw(ok4), okw(ok5), n5a, n11);
  CHECK(cudaFree(dev.ptr));
  CHECK(cudaFreeArray(a));
  CHECK(cudaFreeArray(a2));
}

void layered_and_mipmapped() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<unsigned int>();
  cudaArray_t l;
  CHECK(cudaMalloc3DArray(&l, &desc, make_cudaExtent(16, 8, 5), cudaArrayLayered));
  print_info("layered", l);
  std::vector<unsigned int> h(16 * 8), back(16 * 8, 0);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<unsigned int>(i * 1000 + 7);
  cudaMemcpy3DParms p = {};
  p.srcPtr = make_cudaPitchedPtr(h.data(), 16 * 4, 16, 8);
  p.dstArray = l;
  p.dstPos = make_cudaPos(0, 0, 3);
  p.extent = make_cudaExtent(16, 8, 1);
  p.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&p));
  p = {};
  p.srcArray = l;
  p.srcPos = make_cudaPos(0, 0, 3);
  p.dstPtr = make_cudaPitchedPtr(back.data(), 16 * 4, 16, 8);
  p.extent = make_cudaExtent(16, 8, 1);
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3D(&p));
  std::printf("layer 3 round trip: %s\n", okw(back == h));
  CHECK(cudaFreeArray(l));

  cudaMipmappedArray_t m;
  CHECK(cudaMallocMipmappedArray(&m, &desc, make_cudaExtent(64, 32, 0), 4));
  for (unsigned level = 0; level < 4; ++level) {
    cudaArray_t lv;
    CHECK(cudaGetMipmappedArrayLevel(&lv, m, level));
    char name[32];
    std::snprintf(name, sizeof name, "mip level %u", level);
    print_info(name, lv);
    size_t w = 64 >> level, hgt = 32 >> level;
    std::vector<unsigned int> v(w * hgt), r(w * hgt, 0);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<unsigned int>(level * 100000 + i);
    CHECK(cudaMemcpy2DToArray(lv, 0, 0, v.data(), w * 4, w * 4, hgt, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy2DFromArray(r.data(), w * 4, lv, 0, 0, w * 4, hgt, cudaMemcpyDeviceToHost));
    std::printf("mip level %u round trip: %s\n", level, okw(r == v));
  }
  REPORT(cudaGetMipmappedArrayLevel(nullptr, m, 0));
  cudaArray_t bad;
  REPORT(cudaGetMipmappedArrayLevel(&bad, m, 9));
  cudaGetLastError();
  CHECK(cudaFreeMipmappedArray(m));
}

// A 2D array of 12 MiB (two 8 MiB chunks each way) and a 3D one of 24 MiB (a chunk per slice).
void large() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  const size_t W = 2048, H = 1536;
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, W, H));
  std::vector<float> h(W * H), back(W * H, 0);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(i % 65521) * 0.5f;
  CHECK(cudaMemcpy2DToArray(a, 0, 0, h.data(), W * 4, W * 4, H, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy2DFromArray(back.data(), W * 4, a, 0, 0, W * 4, H, cudaMemcpyDeviceToHost));
  bool ok = back == h;
  CHECK(cudaFreeArray(a));
  const size_t X = 512, Y = 512, Z = 24;
  cudaArray_t b;
  CHECK(cudaMalloc3DArray(&b, &desc, make_cudaExtent(X, Y, Z)));
  std::vector<float> g(X * Y * Z), gb(X * Y * Z, 0);
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(i % 9973) - 17.f;
  cudaMemcpy3DParms p = {};
  p.srcPtr = make_cudaPitchedPtr(g.data(), X * 4, X, Y);
  p.dstArray = b;
  p.extent = make_cudaExtent(X, Y, Z);
  p.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&p));
  p = {};
  p.srcArray = b;
  p.dstPtr = make_cudaPitchedPtr(gb.data(), X * 4, X, Y);
  p.extent = make_cudaExtent(X, Y, Z);
  p.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3D(&p));
  std::printf("large copies: %s\n", okw(ok && gb == g));
  CHECK(cudaFreeArray(b));
}

// The 2D array copies count bytes: ranges that are not whole elements work too.
void byte_ranges() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  cudaArray_t u1, u2;
  CHECK(cudaMallocArray(&u1, &desc, 16, 4));
  CHECK(cudaMallocArray(&u2, &desc, 16, 4));
  std::vector<unsigned char> h(256), z(256, 0), r1(256), r2(256);
  for (size_t i = 0; i < h.size(); ++i) h[i] = pat(i, 5);
  CHECK(cudaMemcpy2DToArray(u1, 0, 0, h.data(), 64, 64, 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy2DToArray(u2, 0, 0, z.data(), 64, 64, 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy2DToArray(u2, 1, 3, h.data() + 7, 64, 13, 1, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DArrayToArray(u2, 6, 1, u1, 2, 0, 10, 2, cudaMemcpyDeviceToDevice));
  unsigned char* d;
  CHECK(cudaMalloc(&d, 256));
  CHECK(cudaMemset(d, 0, 256));
  REPORT(cudaMemcpy2DFromArray(d + 5, 64, u1, 3, 1, 9, 2, cudaMemcpyDeviceToDevice));
  REPORT(cudaMemcpy2DToArray(u1, 10, 2, d + 1, 64, 7, 2, cudaMemcpyDeviceToDevice));
  CHECK(cudaMemcpy2DFromArray(r1.data(), 64, u1, 0, 0, 64, 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy2DFromArray(r2.data(), 64, u2, 0, 0, 64, 4, cudaMemcpyDeviceToHost));
  std::vector<unsigned char> part(11, 0);
  CHECK(cudaMemcpy2DFromArray(part.data(), 11, u2, 5, 1, 11, 1, cudaMemcpyDeviceToHost));
  long sum = 0;
  for (size_t i = 0; i < 256; ++i) sum += static_cast<long>(i + 1) * (r1[i] + 3 * r2[i]);
  for (size_t i = 0; i < part.size(); ++i) sum += static_cast<long>(i) * part[i];
  std::printf("byte ranges checksum %ld\n", sum);
  CHECK(cudaFree(d));
  CHECK(cudaFreeArray(u1));
  CHECK(cudaFreeArray(u2));
}

void errors() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, 16, 16));
  std::vector<float> h(16 * 16, 1.f);
  REPORT(cudaMemcpy2DToArray(a, 8 * 4, 0, h.data(), 64, 9 * 4, 4, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DToArray(a, 0, 14, h.data(), 64, 64, 3, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DFromArray(h.data(), 64, a, 0, 0, 64, 17, cudaMemcpyDeviceToHost));
  REPORT(cudaMemcpy2DToArray(a, 0, 0, h.data(), 64, 6, 2, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DToArray(a, 2, 0, h.data(), 64, 8, 2, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DToArray(a, 0, 0, h.data(), 16, 64, 2, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DToArray(nullptr, 0, 0, h.data(), 64, 64, 2, cudaMemcpyHostToDevice));
  REPORT(cudaMemcpy2DFromArray(h.data(), 64, nullptr, 0, 0, 64, 2, cudaMemcpyDeviceToHost));
  REPORT(cudaMemcpy2DToArray(a, 0, 0, h.data(), 64, 0, 2, cudaMemcpyHostToDevice));
  cudaMemcpy3DParms p = {};
  p.srcPtr = make_cudaPitchedPtr(h.data(), 64, 16, 16);
  p.dstArray = a;
  p.extent = make_cudaExtent(16, 17, 1);
  p.kind = cudaMemcpyHostToDevice;
  REPORT(cudaMemcpy3D(&p));
  p.extent = make_cudaExtent(16, 16, 2);
  REPORT(cudaMemcpy3D(&p));
  p.extent = make_cudaExtent(16, 16, 1);
  p.srcArray = a;
  REPORT(cudaMemcpy3D(&p));
  REPORT(cudaMemcpy3D(nullptr));
  REPORT(cudaArrayGetInfo(nullptr, nullptr, nullptr, a));
  cudaChannelFormatDesc bad = cudaCreateChannelDesc(24, 0, 0, 0, cudaChannelFormatKindUnsigned);
  cudaArray_t b;
  REPORT(cudaMallocArray(&b, &bad, 4, 4));
  REPORT(cudaMallocArray(&b, &desc, 0, 4));
  REPORT(cudaFreeArray(nullptr));
  cudaGetLastError();
  CHECK(cudaFreeArray(a));
}

}  // namespace

int main() {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  two_d("uchar", cudaCreateChannelDesc<unsigned char>(), 1, s);
  two_d("ushort2", cudaCreateChannelDesc<ushort2>(), 4, s);
  two_d("float", cudaCreateChannelDesc<float>(), 4, s);
  two_d("float2", cudaCreateChannelDesc<float2>(), 8, s);
  two_d("int4", cudaCreateChannelDesc<int4>(), 16, s);
  one_d();
  three_d(s);
  layered_and_mipmapped();
  large();
  byte_ranges();
  errors();
  CHECK(cudaStreamDestroy(s));
  REPORT(cudaGetLastError());
  return verdict(true);
}
