// The driver's __managed__ variables of a library (cuLibraryGetManaged), hand-written because the
// client mirrors the variable at its address (src/frontend/cuda/managed.cc): the address and
// size always come back, whatever the application asked for, and the range is noted as the
// session's managed memory (backend/cudart/managed.h), as gvManagedVarGet notes it.
//
// Wire: cuLibraryGetManaged   u64 library, string name (at most 4096 bytes)
//                             reply u64 address, u64 bytes
#include <cuda.h>

#include <cstdint>
#include <string>

#include "backend/cuda/support.h"
#include "backend/cudart/managed.h"
#include "backend/worker.h"

namespace gvirtus::backend::cuda {

void handle_cuLibraryGetManaged(CallContext& ctx) {
  const uint64_t lid = ctx.in.get<uint64_t>();
  const std::string name = ctx.in.get_string(4096);
  ctx.in.expect_end();
  CUlibrary lib;
  if (!library_in(ctx, lid, &lib)) return;
  auto fn = real<decltype(&::cuLibraryGetManaged)>(ctx, "cuLibraryGetManaged");
  if (!fn) return;
  CUdeviceptr addr = 0;
  size_t bytes = 0;
  ctx.status = fn(&addr, &bytes, lib, name.c_str());
  if (ctx.status != CUDA_SUCCESS) return;
  // The client mirrors it: the exchange around host callbacks may read and write it
  // (gvManagedPeek / gvManagedPoke reach only ranges noted so).
  cudart::note_managed_variable(ctx, addr, bytes);
  ctx.out.put<uint64_t>(addr);
  ctx.out.put<uint64_t>(bytes);
}

}  // namespace gvirtus::backend::cuda
