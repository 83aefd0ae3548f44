// __device__ / __constant__ variables from the host: cudaGetSymbolAddress, cudaGetSymbolSize,
// cudaMemcpyToSymbol / cudaMemcpyFromSymbol and their async and per-thread forms. A symbol is the
// address of the variable's host shadow; its device address comes from the worker once
// (resolve_variable), then the copy engine moves the bytes like any device copy.
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"
#include "frontend/cudart/transfer.h"

using namespace gvirtus::cudart;

namespace {

// Where `count` bytes at `offset` of the symbol live on the device.
cudaError_t symbol_range(const void* symbol, size_t count, size_t offset, void** at) {
  uint64_t address = 0;
  size_t size = 0;
  cudaError_t e = resolve_variable(symbol, &address, &size);
  if (e != cudaSuccess) return e;
  if (offset > size || count > size - offset) return fail(cudaErrorInvalidValue);
  *at = reinterpret_cast<void*>(static_cast<uintptr_t>(address + offset));
  return cudaSuccess;
}

cudaError_t to_symbol(const void* symbol, const void* src, size_t count, size_t offset,
                      cudaMemcpyKind kind, const Target& t) {
  if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToDevice &&
      kind != cudaMemcpyDefault)
    return argument_error(cudaErrorInvalidMemcpyDirection);
  void* dst = nullptr;
  cudaError_t e = symbol_range(symbol, count, offset, &dst);
  if (e != cudaSuccess) return e;
  return copy_1d(dst, src, count, kind, t);
}

cudaError_t from_symbol(void* dst, const void* symbol, size_t count, size_t offset,
                        cudaMemcpyKind kind, const Target& t) {
  if (kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice &&
      kind != cudaMemcpyDefault)
    return argument_error(cudaErrorInvalidMemcpyDirection);
  void* src = nullptr;
  cudaError_t e = symbol_range(symbol, count, offset, &src);
  if (e != cudaSuccess) return e;
  return copy_1d(dst, src, count, kind, t);
}

}  // namespace

GV_EXPORT cudaError_t cudaGetSymbolAddress(void** devPtr, const void* symbol) {
  return guarded("cudaGetSymbolAddress", [&] {
    if (!devPtr) return argument_error(cudaErrorInvalidValue);
    uint64_t address = 0;
    size_t size = 0;
    cudaError_t e = resolve_variable(symbol, &address, &size);
    if (e == cudaSuccess) *devPtr = reinterpret_cast<void*>(static_cast<uintptr_t>(address));
    return e;
  });
}

GV_EXPORT cudaError_t cudaGetSymbolSize(size_t* size, const void* symbol) {
  return guarded("cudaGetSymbolSize", [&] {
    if (!size) return argument_error(cudaErrorInvalidValue);
    uint64_t address = 0;
    return resolve_variable(symbol, &address, size);
  });
}

GV_EXPORT cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count,
                                         size_t offset, cudaMemcpyKind kind) {
  return guarded("cudaMemcpyToSymbol",
                 [&] { return to_symbol(symbol, src, count, offset, kind, sync_legacy()); });
}

GV_EXPORT cudaError_t cudaMemcpyToSymbol_ptds(const void* symbol, const void* src, size_t count,
                                              size_t offset, cudaMemcpyKind kind) {
  return guarded("cudaMemcpyToSymbol_ptds",
                 [&] { return to_symbol(symbol, src, count, offset, kind, sync_per_thread()); });
}

GV_EXPORT cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count,
                                           size_t offset, cudaMemcpyKind kind) {
  return guarded("cudaMemcpyFromSymbol",
                 [&] { return from_symbol(dst, symbol, count, offset, kind, sync_legacy()); });
}

GV_EXPORT cudaError_t cudaMemcpyFromSymbol_ptds(void* dst, const void* symbol, size_t count,
                                                size_t offset, cudaMemcpyKind kind) {
  return guarded("cudaMemcpyFromSymbol_ptds", [&] {
    return from_symbol(dst, symbol, count, offset, kind, sync_per_thread());
  });
}

GV_EXPORT cudaError_t cudaMemcpyToSymbolAsync(const void* symbol, const void* src, size_t count,
                                              size_t offset, cudaMemcpyKind kind,
                                              cudaStream_t stream) {
  return guarded("cudaMemcpyToSymbolAsync",
                 [&] { return to_symbol(symbol, src, count, offset, kind, async_on(stream)); });
}

GV_EXPORT cudaError_t cudaMemcpyToSymbolAsync_ptsz(const void* symbol, const void* src,
                                                   size_t count, size_t offset,
                                                   cudaMemcpyKind kind, cudaStream_t stream) {
  return guarded("cudaMemcpyToSymbolAsync_ptsz", [&] {
    return to_symbol(symbol, src, count, offset, kind, async_per_thread(stream));
  });
}

GV_EXPORT cudaError_t cudaMemcpyFromSymbolAsync(void* dst, const void* symbol, size_t count,
                                                size_t offset, cudaMemcpyKind kind,
                                                cudaStream_t stream) {
  return guarded("cudaMemcpyFromSymbolAsync",
                 [&] { return from_symbol(dst, symbol, count, offset, kind, async_on(stream)); });
}

GV_EXPORT cudaError_t cudaMemcpyFromSymbolAsync_ptsz(void* dst, const void* symbol, size_t count,
                                                     size_t offset, cudaMemcpyKind kind,
                                                     cudaStream_t stream) {
  return guarded("cudaMemcpyFromSymbolAsync_ptsz", [&] {
    return from_symbol(dst, symbol, count, offset, kind, async_per_thread(stream));
  });
}
