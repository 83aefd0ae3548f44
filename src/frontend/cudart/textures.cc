// Texture and surface objects: cudaCreateTextureObject, cudaCreateSurfaceObject and the
// resource-description queries. An array in a resource description is already the worker's id
// for it (that is what cudaMallocArray handed out), so the structs travel as their bytes and the
// worker translates. The objects themselves are plain 64-bit values. Destroying them and the
// texture / view description queries are generated forwarders. Wire: docs/arrays.md.
#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

template <class T>
void put_opt(wire::Writer& w, const T* v) {
  w.put<uint8_t>(v ? 1 : 0);
  if (v) w.put<T>(*v);
}

cudaError_t create(Call call, uint64_t* obj, const cudaResourceDesc* res,
                   const cudaTextureDesc* tex, const cudaResourceViewDesc* view) {
  // A NULL output pointer travels as absent: the runtime looks at the resource first.
  client::Call c(id(call));
  c.args().put<uint8_t>(obj ? 1 : 0);
  put_opt(c.args(), res);
  if (call == Call::kCall_cudaCreateTextureObject) {
    put_opt(c.args(), tex);
    put_opt(c.args(), view);
  }
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  if (obj) *obj = c.result().get<uint64_t>();
  c.result().expect_end();
  return cudaSuccess;
}

cudaError_t resource_desc(Call call, cudaResourceDesc* out, uint64_t obj) {
  if (!out) return argument_error(cudaErrorInvalidValue);
  client::Call c(id(call));
  c.args().put<uint64_t>(obj);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  cudaResourceDesc d = c.result().get<cudaResourceDesc>();
  c.result().expect_end();
  *out = d;
  return cudaSuccess;
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus;
using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaCreateTextureObject(cudaTextureObject_t* pTexObject,
                                              const cudaResourceDesc* pResDesc,
                                              const cudaTextureDesc* pTexDesc,
                                              const cudaResourceViewDesc* pResViewDesc) {
  return guarded("cudaCreateTextureObject", [&] {
    uint64_t obj = 0;
    cudaError_t e = create(Call::kCall_cudaCreateTextureObject, pTexObject ? &obj : nullptr,
                           pResDesc, pTexDesc, pResViewDesc);
    if (e == cudaSuccess) *pTexObject = obj;
    return e;
  });
}

GV_EXPORT cudaError_t cudaCreateSurfaceObject(cudaSurfaceObject_t* pSurfObject,
                                              const cudaResourceDesc* pResDesc) {
  return guarded("cudaCreateSurfaceObject", [&] {
    uint64_t obj = 0;
    cudaError_t e = create(Call::kCall_cudaCreateSurfaceObject, pSurfObject ? &obj : nullptr,
                           pResDesc, nullptr, nullptr);
    if (e == cudaSuccess) *pSurfObject = obj;
    return e;
  });
}

GV_EXPORT cudaError_t cudaGetTextureObjectResourceDesc(cudaResourceDesc* pResDesc,
                                                       cudaTextureObject_t texObject) {
  return guarded("cudaGetTextureObjectResourceDesc", [&] {
    return resource_desc(Call::kCall_cudaGetTextureObjectResourceDesc, pResDesc, texObject);
  });
}

GV_EXPORT cudaError_t cudaGetSurfaceObjectResourceDesc(cudaResourceDesc* pResDesc,
                                                       cudaSurfaceObject_t surfObject) {
  return guarded("cudaGetSurfaceObjectResourceDesc", [&] {
    return resource_desc(Call::kCall_cudaGetSurfaceObjectResourceDesc, pResDesc, surfObject);
  });
}
