// Texture and surface objects: fetches from arrays with point and linear filtering, normalized
// coordinates and wrap/clamp addressing, normalized-float reads of 8-bit data, a mipmapped
// array (per-level fetches), 1D linear and pitch2D memory; surface writes and reads from
// kernels; the resource / texture / view description queries; error cases.
#include <cstring>
#include <vector>

#include "check.h"

__global__ void fetch2d(cudaTextureObject_t t, float* out, int n, float x0, float y0, float dx, float dy) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = tex2D<float>(t, x0 + dx * i, y0 + dy * i);
}

__global__ void fetch_lod(cudaTextureObject_t t, float* out, float lod) {
  out[threadIdx.x] = tex2DLod<float>(t, 0.1f + 0.2f * threadIdx.x, 0.5f, lod);
}

__global__ void fetch_uchar4(cudaTextureObject_t t, float4* out, int w) {
  int x = threadIdx.x;
  out[x] = tex2D<float4>(t, x + 0.5f, 0.5f);
  (void)w;
}

__global__ void fetch1d(cudaTextureObject_t t, int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = tex1Dfetch<int>(t, n - 1 - i);
}

__global__ void surf_write(cudaSurfaceObject_t s, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x < w && y < h) surf2Dwrite(static_cast<float>(x * 100 + y), s, x * static_cast<int>(sizeof(float)), y);
}

__global__ void surf_scale(cudaSurfaceObject_t s, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x < w && y < h) {
    float v;
    surf2Dread(&v, s, x * static_cast<int>(sizeof(float)), y);
    surf2Dwrite(v * 2.f + 1.f, s, x * static_cast<int>(sizeof(float)), y);
  }
}

namespace {

void print_floats(const char* what, const float* v, int n) {
  std::printf("%s:", what);
  for (int i = 0; i < n; ++i) std::printf(" %.4f", v[i]);
  std::printf("\n");
}

cudaTextureDesc tex_desc(cudaTextureFilterMode f, cudaTextureAddressMode am, bool normalized,
                         cudaTextureReadMode read = cudaReadModeElementType) {
  cudaTextureDesc t;
  std::memset(&t, 0, sizeof t);
  t.addressMode[0] = t.addressMode[1] = t.addressMode[2] = am;
  t.filterMode = f;
  t.readMode = read;
  t.normalizedCoords = normalized ? 1 : 0;
  return t;
}

void from_array(float* dout) {
  const int W = 8, H = 4;
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, W, H));
  std::vector<float> h(W * H);
  for (int i = 0; i < W * H; ++i) h[i] = static_cast<float>((i * 7) % 23) - 3.f;
  CHECK(cudaMemcpy2DToArray(a, 0, 0, h.data(), W * 4, W * 4, H, cudaMemcpyHostToDevice));
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  float out[16];

  cudaTextureDesc td = tex_desc(cudaFilterModePoint, cudaAddressModeClamp, false);
  cudaTextureObject_t t;
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  fetch2d<<<1, 16>>>(t, dout, 16, 0.5f, 0.5f, 0.5f, 0.25f);
  CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("point", out, 16);
  cudaResourceDesc back;
  CHECK(cudaGetTextureObjectResourceDesc(&back, t));
  std::printf("resource desc: type %d, same array %d\n", static_cast<int>(back.resType),
              back.res.array.array == a);
  cudaTextureDesc tback;
  CHECK(cudaGetTextureObjectTextureDesc(&tback, t));
  std::printf("texture desc: filter %d, address %d, normalized %d\n", static_cast<int>(tback.filterMode),
              static_cast<int>(tback.addressMode[0]), tback.normalizedCoords);
  CHECK(cudaDestroyTextureObject(t));

  td = tex_desc(cudaFilterModeLinear, cudaAddressModeClamp, false);
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  fetch2d<<<1, 16>>>(t, dout, 16, 0.0f, 0.25f, 0.6f, 0.3f);
  CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("linear clamp", out, 16);
  CHECK(cudaDestroyTextureObject(t));

  td = tex_desc(cudaFilterModeLinear, cudaAddressModeWrap, true);
  cudaResourceViewDesc view;
  std::memset(&view, 0, sizeof view);
  view.format = cudaResViewFormatFloat1;
  view.width = W;
  view.height = H;
  CHECK(cudaCreateTextureObject(&t, &res, &td, &view));
  fetch2d<<<1, 16>>>(t, dout, 16, -0.3f, 0.1f, 0.17f, 0.11f);
  CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("linear wrap normalized", out, 16);
  cudaResourceViewDesc vback;
  CHECK(cudaGetTextureObjectResourceViewDesc(&vback, t));
  std::printf("view desc: format %d, %zu x %zu\n", static_cast<int>(vback.format), vback.width, vback.height);
  CHECK(cudaDestroyTextureObject(t));

  td = tex_desc(cudaFilterModePoint, cudaAddressModeBorder, true);
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  fetch2d<<<1, 16>>>(t, dout, 16, -0.25f, 0.3f, 0.1f, 0.0f);
  CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("point border normalized", out, 16);
  CHECK(cudaDestroyTextureObject(t));
  CHECK(cudaFreeArray(a));
}

void normalized_uchar4() {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<uchar4>();
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, 4, 1));
  unsigned char h[16];
  for (int i = 0; i < 16; ++i) h[i] = static_cast<unsigned char>(i * 17);
  CHECK(cudaMemcpy2DToArray(a, 0, 0, h, 16, 16, 1, cudaMemcpyHostToDevice));
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  cudaTextureDesc td = tex_desc(cudaFilterModePoint, cudaAddressModeClamp, false, cudaReadModeNormalizedFloat);
  cudaTextureObject_t t;
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  float4* d;
  CHECK(cudaMalloc(&d, 4 * sizeof(float4)));
  fetch_uchar4<<<1, 4>>>(t, d, 4);
  float4 out[4];
  CHECK(cudaMemcpy(out, d, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("uchar4 normalized", &out[0].x, 16);
  CHECK(cudaDestroyTextureObject(t));
  CHECK(cudaFree(d));
  CHECK(cudaFreeArray(a));
}

void mipmapped(float* dout) {
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  cudaMipmappedArray_t m;
  CHECK(cudaMallocMipmappedArray(&m, &desc, make_cudaExtent(16, 8, 0), 3));
  for (unsigned l = 0; l < 3; ++l) {
    cudaArray_t lv;
    CHECK(cudaGetMipmappedArrayLevel(&lv, m, l));
    size_t w = 16 >> l, h = 8 >> l;
    std::vector<float> v(w * h);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(l * 10) + static_cast<float>(i % w) / static_cast<float>(w);
    CHECK(cudaMemcpy2DToArray(lv, 0, 0, v.data(), w * 4, w * 4, h, cudaMemcpyHostToDevice));
  }
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeMipmappedArray;
  res.res.mipmap.mipmap = m;
  cudaTextureDesc td = tex_desc(cudaFilterModePoint, cudaAddressModeClamp, true);
  td.mipmapFilterMode = cudaFilterModePoint;
  td.maxMipmapLevelClamp = 2;
  cudaTextureObject_t t;
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  float out[5];
  for (float lod : {0.f, 1.f, 2.f}) {
    fetch_lod<<<1, 5>>>(t, dout, lod);
    CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
    char name[32];
    std::snprintf(name, sizeof name, "mip lod %.0f", lod);
    print_floats(name, out, 5);
  }
  cudaResourceDesc back;
  CHECK(cudaGetTextureObjectResourceDesc(&back, t));
  std::printf("mipmapped resource desc: type %d, same mipmap %d\n", static_cast<int>(back.resType),
              back.res.mipmap.mipmap == m);
  CHECK(cudaDestroyTextureObject(t));
  CHECK(cudaFreeMipmappedArray(m));
}

void linear_and_pitch(float* dout) {
  const int n = 100;
  int* lin;
  CHECK(cudaMalloc(&lin, n * sizeof(int)));
  std::vector<int> h(n);
  for (int i = 0; i < n; ++i) h[i] = i * i - 50;
  CHECK(cudaMemcpy(lin, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeLinear;
  res.res.linear.devPtr = lin;
  res.res.linear.desc = cudaCreateChannelDesc<int>();
  res.res.linear.sizeInBytes = n * sizeof(int);
  cudaTextureDesc td = tex_desc(cudaFilterModePoint, cudaAddressModeClamp, false);
  cudaTextureObject_t t;
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  int* dout_i;
  CHECK(cudaMalloc(&dout_i, n * sizeof(int)));
  fetch1d<<<1, 128>>>(t, dout_i, n);
  std::vector<int> back(n);
  CHECK(cudaMemcpy(back.data(), dout_i, n * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok = ok && back[i] == h[n - 1 - i];
  std::printf("linear texture: %s\n", ok ? "ok" : "WRONG");
  cudaResourceDesc rb;
  CHECK(cudaGetTextureObjectResourceDesc(&rb, t));
  std::printf("linear resource desc: type %d, same pointer %d, size %zu\n", static_cast<int>(rb.resType),
              rb.res.linear.devPtr == lin, rb.res.linear.sizeInBytes);
  CHECK(cudaDestroyTextureObject(t));
  CHECK(cudaFree(dout_i));
  CHECK(cudaFree(lin));

  const int W = 40, H = 10;
  float* p;
  size_t pitch;
  CHECK(cudaMallocPitch(&p, &pitch, W * sizeof(float), H));
  std::vector<float> img(W * H);
  for (int i = 0; i < W * H; ++i) img[i] = static_cast<float>(i % W) * 0.5f + static_cast<float>(i / W) * 3.f;
  CHECK(cudaMemcpy2D(p, pitch, img.data(), W * sizeof(float), W * sizeof(float), H, cudaMemcpyHostToDevice));
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypePitch2D;
  res.res.pitch2D.devPtr = p;
  res.res.pitch2D.desc = cudaCreateChannelDesc<float>();
  res.res.pitch2D.width = W;
  res.res.pitch2D.height = H;
  res.res.pitch2D.pitchInBytes = pitch;
  td = tex_desc(cudaFilterModeLinear, cudaAddressModeClamp, false);
  CHECK(cudaCreateTextureObject(&t, &res, &td, nullptr));
  float out[16];
  fetch2d<<<1, 16>>>(t, dout, 16, 1.0f, 0.5f, 2.3f, 0.6f);
  CHECK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
  print_floats("pitch2D linear", out, 16);
  CHECK(cudaDestroyTextureObject(t));
  CHECK(cudaFree(p));
}

void surfaces() {
  const int W = 37, H = 9;
  cudaChannelFormatDesc desc = cudaCreateChannelDesc<float>();
  cudaArray_t a;
  CHECK(cudaMallocArray(&a, &desc, W, H, cudaArraySurfaceLoadStore));
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  cudaSurfaceObject_t s;
  CHECK(cudaCreateSurfaceObject(&s, &res));
  surf_write<<<dim3(2, H), 32>>>(s, W, H);
  CHECK(cudaGetLastError());
  std::vector<float> back(W * H);
  CHECK(cudaMemcpy2DFromArray(back.data(), W * 4, a, 0, 0, W * 4, H, cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) ok = ok && back[y * W + x] == static_cast<float>(x * 100 + y);
  surf_scale<<<dim3(2, H), 32>>>(s, W, H);
  CHECK(cudaMemcpy2DFromArray(back.data(), W * 4, a, 0, 0, W * 4, H, cudaMemcpyDeviceToHost));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) ok = ok && back[y * W + x] == static_cast<float>(x * 100 + y) * 2.f + 1.f;
  std::printf("surface write/read: %s\n", ok ? "ok" : "WRONG");
  cudaResourceDesc rb;
  CHECK(cudaGetSurfaceObjectResourceDesc(&rb, s));
  std::printf("surface resource desc: type %d, same array %d\n", static_cast<int>(rb.resType),
              rb.res.array.array == a);
  CHECK(cudaDestroySurfaceObject(s));
  CHECK(cudaFreeArray(a));

  // A surface needs an array made with cudaArraySurfaceLoadStore.
  cudaArray_t plain;
  CHECK(cudaMallocArray(&plain, &desc, W, H));
  res.res.array.array = plain;
  REPORT(cudaCreateSurfaceObject(&s, &res));
  cudaGetLastError();
  CHECK(cudaFreeArray(plain));
}

void errors() {
  cudaResourceDesc res;
  std::memset(&res, 0, sizeof res);
  res.resType = cudaResourceTypeArray;
  res.res.array.array = nullptr;
  cudaTextureDesc td = tex_desc(cudaFilterModePoint, cudaAddressModeClamp, false);
  cudaTextureObject_t t = 0;
  REPORT(cudaCreateTextureObject(&t, &res, &td, nullptr));
  REPORT(cudaCreateTextureObject(nullptr, &res, &td, nullptr));
  REPORT(cudaCreateTextureObject(&t, nullptr, &td, nullptr));
  cudaSurfaceObject_t s = 0;
  REPORT(cudaCreateSurfaceObject(&s, nullptr));
  cudaGetLastError();
  size_t maxw = 0;
  cudaChannelFormatDesc d = cudaCreateChannelDesc<float4>();
  REPORT(cudaDeviceGetTexture1DLinearMaxWidth(&maxw, &d, 0));
  std::printf("1D linear max width > 0: %d\n", maxw > 0);
}

}  // namespace

int main() {
  float* dout;
  CHECK(cudaMalloc(&dout, 64 * sizeof(float)));
  from_array(dout);
  normalized_uchar4();
  mipmapped(dout);
  linear_and_pitch(dout);
  surfaces();
  errors();
  CHECK(cudaFree(dout));
  REPORT(cudaDeviceSynchronize());
  return verdict(true);
}
