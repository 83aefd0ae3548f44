// The driver's texture and surface objects: cuTexObjectCreate, cuSurfObjectCreate and the
// resource-description queries. An array in a resource description is already the worker's id
// for it (what cuArrayCreate, or the runtime's cudaMallocArray, handed out), so the structs
// travel as their bytes and the worker translates. The objects are plain 64-bit values;
// destroying them and the texture / view description queries are generated. Wire:
// src/backend/cuda/textures.cc.
#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

template <class T>
void put_opt(wire::Writer& w, const T* v) {
  w.put<uint8_t>(v ? 1 : 0);
  if (v) w.put<T>(*v);
}

CUresult create(Call call, uint64_t* obj, const CUDA_RESOURCE_DESC* res,
                const CUDA_TEXTURE_DESC* tex, const CUDA_RESOURCE_VIEW_DESC* view) {
  // A NULL output pointer travels as absent: the driver answers for it.
  client::Call c(id(call));
  c.args().put<uint8_t>(obj ? 1 : 0);
  put_opt(c.args(), res);
  if (call == Call::kCall_cuTexObjectCreate) {
    put_opt(c.args(), tex);
    put_opt(c.args(), view);
  }
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  if (obj) *obj = c.result().get<uint64_t>();
  c.result().expect_end();
  return CUDA_SUCCESS;
}

CUresult resource_desc(Call call, CUDA_RESOURCE_DESC* out, uint64_t obj) {
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  client::Call c(id(call));
  c.args().put<uint64_t>(obj);
  return invoke_for(c, out);
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuTexObjectCreate(CUtexObject* pTexObject, const CUDA_RESOURCE_DESC* pResDesc,
                                     const CUDA_TEXTURE_DESC* pTexDesc,
                                     const CUDA_RESOURCE_VIEW_DESC* pResViewDesc) {
  return guarded("cuTexObjectCreate", [&] {
    uint64_t obj = 0;
    CUresult e = create(Call::kCall_cuTexObjectCreate, pTexObject ? &obj : nullptr, pResDesc,
                        pTexDesc, pResViewDesc);
    if (e == CUDA_SUCCESS) *pTexObject = obj;
    return e;
  });
}

GV_EXPORT CUresult cuSurfObjectCreate(CUsurfObject* pSurfObject,
                                      const CUDA_RESOURCE_DESC* pResDesc) {
  return guarded("cuSurfObjectCreate", [&] {
    uint64_t obj = 0;
    CUresult e = create(Call::kCall_cuSurfObjectCreate, pSurfObject ? &obj : nullptr, pResDesc,
                        nullptr, nullptr);
    if (e == CUDA_SUCCESS) *pSurfObject = obj;
    return e;
  });
}

GV_EXPORT CUresult cuTexObjectGetResourceDesc(CUDA_RESOURCE_DESC* pResDesc,
                                              CUtexObject texObject) {
  return guarded("cuTexObjectGetResourceDesc", [&] {
    return resource_desc(Call::kCall_cuTexObjectGetResourceDesc, pResDesc, texObject);
  });
}

GV_EXPORT CUresult cuSurfObjectGetResourceDesc(CUDA_RESOURCE_DESC* pResDesc,
                                               CUsurfObject surfObject) {
  return guarded("cuSurfObjectGetResourceDesc", [&] {
    return resource_desc(Call::kCall_cuSurfObjectGetResourceDesc, pResDesc, surfObject);
  });
}
