// Hand-written cudart handlers: texture and surface objects, cudaPointerGetAttributes. The
// client side is src/frontend/cudart/textures.cc and host_memory.cc; payloads in docs/arrays.md.
//
// A resource description travels as the struct's bytes, with the array or mipmapped array
// field holding the client's id; it is translated here through the handle table (a stale id
// answers cudaErrorInvalidResourceHandle, a forged one ends the session). Linear and pitch2D
// resources hold device pointers, passed on as raw values. Texture and surface objects are
// plain 64-bit values that kernels receive as parameters, so they travel as they are.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

namespace {

// The array handles of a description from the client: ids -> objects.
bool resource_in(CallContext& ctx, cudaResourceDesc* d) {
  switch (d->resType) {
    case cudaResourceTypeArray: {
      uint64_t id = reinterpret_cast<uintptr_t>(d->res.array.array);
      return array_in(ctx, id, &d->res.array.array);
    }
    case cudaResourceTypeMipmappedArray: {
      uint64_t id = reinterpret_cast<uintptr_t>(d->res.mipmap.mipmap);
      return mipmapped_in(ctx, id, &d->res.mipmap.mipmap);
    }
    default:
      return true;  // linear / pitch2D: device pointers; anything else the runtime refuses
  }
}

// And back, for a description the runtime returned: objects -> ids (a live object keeps its id).
void resource_out(CallContext& ctx, cudaResourceDesc d) {
  if (d.resType == cudaResourceTypeArray)
    d.res.array.array = reinterpret_cast<cudaArray_t>(
        static_cast<uintptr_t>(array_out(ctx, d.res.array.array)));
  else if (d.resType == cudaResourceTypeMipmappedArray)
    d.res.mipmap.mipmap = reinterpret_cast<cudaMipmappedArray_t>(
        static_cast<uintptr_t>(mipmapped_out(ctx, d.res.mipmap.mipmap)));
  ctx.out.put<cudaResourceDesc>(d);
}

}  // namespace

void handle_cudaCreateTextureObject(CallContext& ctx) {
  cudaResourceDesc res{};
  cudaTextureDesc tex{};
  cudaResourceViewDesc view{};
  bool has_out = ctx.in.get_flag();
  bool has_res = ctx.in.get_opt(&res);
  bool has_tex = ctx.in.get_opt(&tex);
  bool has_view = ctx.in.get_opt(&view);
  ctx.in.expect_end();
  if (has_res && !resource_in(ctx, &res)) return;
  cudaTextureObject_t obj = 0;
  ctx.status = cudaCreateTextureObject(has_out ? &obj : nullptr, has_res ? &res : nullptr,
                                       has_tex ? &tex : nullptr, has_view ? &view : nullptr);
  if (ctx.status == cudaSuccess && has_out) ctx.out.put<uint64_t>(obj);
}

void handle_cudaGetTextureObjectResourceDesc(CallContext& ctx) {
  uint64_t obj = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaResourceDesc d{};
  ctx.status = cudaGetTextureObjectResourceDesc(&d, obj);
  if (ctx.status == cudaSuccess) resource_out(ctx, d);
}

void handle_cudaCreateSurfaceObject(CallContext& ctx) {
  cudaResourceDesc res{};
  bool has_out = ctx.in.get_flag();
  bool has_res = ctx.in.get_opt(&res);
  ctx.in.expect_end();
  if (has_res && !resource_in(ctx, &res)) return;
  cudaSurfaceObject_t obj = 0;
  ctx.status = cudaCreateSurfaceObject(has_out ? &obj : nullptr, has_res ? &res : nullptr);
  if (ctx.status == cudaSuccess && has_out) ctx.out.put<uint64_t>(obj);
}

void handle_cudaGetSurfaceObjectResourceDesc(CallContext& ctx) {
  uint64_t obj = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cudaResourceDesc d{};
  ctx.status = cudaGetSurfaceObjectResourceDesc(&d, obj);
  if (ctx.status == cudaSuccess) resource_out(ctx, d);
}

// The client answers for its own page-locked host memory; anything else comes here. Host
// memory the runtime knows in this process is the worker's own (staging buffers), which means
// nothing to the client: it is answered as the runtime answers for memory it does not know,
// found by asking about an address that is certainly unregistered (this stack frame).
void handle_cudaPointerGetAttributes(CallContext& ctx) {
  uint64_t ptr = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  const void* p = reinterpret_cast<const void*>(static_cast<uintptr_t>(ptr));
  cudaPointerAttributes a{};
  ctx.status = cudaPointerGetAttributes(&a, p);
  if (ctx.status != cudaSuccess) return;
  if (a.type == cudaMemoryTypeHost || a.type == cudaMemoryTypeManaged) {
    int local = 0;
    cudaPointerAttributes u{};
    ctx.status = cudaPointerGetAttributes(&u, &local);
    if (ctx.status != cudaSuccess) return;
    if (u.hostPointer == &local) u.hostPointer = const_cast<void*>(p);
    if (u.devicePointer == &local) u.devicePointer = const_cast<void*>(p);
    a = u;
  }
  ctx.out.put<cudaPointerAttributes>(a);
}

}  // namespace gvirtus::backend::cudart
