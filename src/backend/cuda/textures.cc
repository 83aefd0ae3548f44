// The driver's texture and surface objects, the hand-written part (api/cuda.api 4120-4127).
// Client side: src/frontend/cuda/textures.cc. As the runtime's (cudart/textures.cc): a resource
// description travels as the struct's bytes with its array or mipmapped array field holding the
// client's id, translated here (a stale id answers CUDA_ERROR_INVALID_HANDLE, a forged one ends
// the session); linear and pitch2D resources hold device addresses, passed on as they are.
// Texture and surface objects are plain 64-bit values.
//
// Wire: cuTexObjectCreate   u8 out wanted, then u8 present + CUDA_RESOURCE_DESC,
//                           u8 present + CUDA_TEXTURE_DESC, u8 present + CUDA_RESOURCE_VIEW_DESC
//                           reply u64 object
//       cuSurfObjectCreate  u8 out wanted, u8 present + CUDA_RESOURCE_DESC   reply u64 object
//       cu{Tex,Surf}ObjectGetResourceDesc  u64 object   reply CUDA_RESOURCE_DESC (ids)
#include <cuda.h>

#include <cstdint>
#include <string>

#include "backend/cuda/objects.h"
#include "backend/cuda/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cuda {

namespace {

// Ids -> objects in a description from the client.
bool resource_in(CallContext& ctx, CUDA_RESOURCE_DESC* d) {
  switch (d->resType) {
    case CU_RESOURCE_TYPE_ARRAY:
      return array_in(ctx, reinterpret_cast<uintptr_t>(d->res.array.hArray), &d->res.array.hArray);
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY:
      return mipmapped_in(ctx, reinterpret_cast<uintptr_t>(d->res.mipmap.hMipmappedArray),
                          &d->res.mipmap.hMipmappedArray);
    default:
      return true;  // linear / pitch2D: device addresses; anything else the driver refuses
  }
}

// Objects -> ids in a description the driver returned (a live object keeps its id).
void resource_out(CallContext& ctx, CUDA_RESOURCE_DESC d) {
  if (d.resType == CU_RESOURCE_TYPE_ARRAY)
    d.res.array.hArray =
        reinterpret_cast<CUarray>(static_cast<uintptr_t>(array_out(ctx, d.res.array.hArray)));
  else if (d.resType == CU_RESOURCE_TYPE_MIPMAPPED_ARRAY)
    d.res.mipmap.hMipmappedArray = reinterpret_cast<CUmipmappedArray>(
        static_cast<uintptr_t>(mipmapped_out(ctx, d.res.mipmap.hMipmappedArray)));
  ctx.out.put<CUDA_RESOURCE_DESC>(d);
}

template <typename F>
void get_resource_desc(CallContext& ctx, F* f) {
  uint64_t obj = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  if (!f) return;
  CUDA_RESOURCE_DESC d{};
  ctx.status = f(&d, obj);
  if (ctx.status == CUDA_SUCCESS) resource_out(ctx, d);
}

}  // namespace

void handle_cuTexObjectCreate(CallContext& ctx) {
  CUDA_RESOURCE_DESC res{};
  CUDA_TEXTURE_DESC tex{};
  CUDA_RESOURCE_VIEW_DESC view{};
  bool has_out = ctx.in.get_flag();
  bool has_res = ctx.in.get_opt(&res);
  bool has_tex = ctx.in.get_opt(&tex);
  bool has_view = ctx.in.get_opt(&view);
  ctx.in.expect_end();
  if (has_res && !resource_in(ctx, &res)) return;
  auto f = real<decltype(&::cuTexObjectCreate)>(ctx, "cuTexObjectCreate");
  if (!f) return;
  CUtexObject obj = 0;
  ctx.status = f(has_out ? &obj : nullptr, has_res ? &res : nullptr, has_tex ? &tex : nullptr,
                 has_view ? &view : nullptr);
  if (ctx.status == CUDA_SUCCESS && has_out) ctx.out.put<uint64_t>(obj);
}

void handle_cuSurfObjectCreate(CallContext& ctx) {
  CUDA_RESOURCE_DESC res{};
  bool has_out = ctx.in.get_flag();
  bool has_res = ctx.in.get_opt(&res);
  ctx.in.expect_end();
  if (has_res && !resource_in(ctx, &res)) return;
  auto f = real<decltype(&::cuSurfObjectCreate)>(ctx, "cuSurfObjectCreate");
  if (!f) return;
  CUsurfObject obj = 0;
  ctx.status = f(has_out ? &obj : nullptr, has_res ? &res : nullptr);
  if (ctx.status == CUDA_SUCCESS && has_out) ctx.out.put<uint64_t>(obj);
}

void handle_cuTexObjectGetResourceDesc(CallContext& ctx) {
  get_resource_desc(
      ctx, real<decltype(&::cuTexObjectGetResourceDesc)>(ctx, "cuTexObjectGetResourceDesc"));
}

void handle_cuSurfObjectGetResourceDesc(CallContext& ctx) {
  get_resource_desc(
      ctx, real<decltype(&::cuSurfObjectGetResourceDesc)>(ctx, "cuSurfObjectGetResourceDesc"));
}

}  // namespace gvirtus::backend::cuda
