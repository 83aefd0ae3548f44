// Hand-written cuSPARSE handlers: the matrix descriptor getters (they return the value, not a
// status) and the zero-pivot queries (`position` comes back also with
// CUSPARSE_STATUS_ZERO_PIVOT). Wire forms: src/frontend/cusparse/hand.cc.
#include <cstdint>
#include <string>

#include "backend/cusparse/support.h"
#include "backend/device_memory.h"
#include "backend/worker.h"
#include "common/log.h"
#include "common/scalar_homes.h"
#include "cusparse_handles.h"

namespace gvirtus::backend::cusparse {

bool device_pointers(cusparseHandle_t handle) {
  if (!handle) return false;  // cuSPARSE refuses the call itself
  cusparsePointerMode_t m = CUSPARSE_POINTER_MODE_HOST;
  return cusparseGetPointerMode(handle, &m) == CUSPARSE_STATUS_SUCCESS &&
         m == CUSPARSE_POINTER_MODE_DEVICE;
}

bool device_scalar(cusparseHandle_t handle, const char* param) {
  if (scalar_homes::cusparse_always_host(param)) return false;
  return device_pointers(handle);
}

namespace {

// u64 descriptor id; reply i32 value (id 0 reaches cuSPARSE as NULL, which answers -1). A stale
// id answers CUSPARSE_STATUS_INVALID_VALUE (the handle helper), a forged one ends the session.
template <typename Fn>
void mat_get(CallContext& ctx, Fn get) {
  const uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  cusparseMatDescr_t d = nullptr;
  if (!matdescr_in(ctx, id, &d)) return;
  const int32_t v = static_cast<int32_t>(get(d));
  ctx.status = static_cast<int32_t>(CUSPARSE_STATUS_SUCCESS);
  ctx.out.put<int32_t>(v);
}

// u64 handle, u64 info, u8 tag (0 NULL, 1 host, 2 device), u64 pointer when 2; reply i32
// position when the tag is 1 and cuSPARSE answered SUCCESS or ZERO_PIVOT. The tag must match
// the handle's real pointer mode.
template <typename Info>
void zero_pivot(CallContext& ctx, const char* what, bool (*info_in)(CallContext&, uint64_t, Info*),
                cusparseStatus_t (*fn)(cusparseHandle_t, Info, int*)) {
  const uint64_t handle_id = ctx.in.get<uint64_t>();
  const uint64_t info_id = ctx.in.get<uint64_t>();
  const uint8_t tag = ctx.in.get<uint8_t>();
  uint64_t device = 0;
  if (tag == 2) {
    device = ctx.in.get<uint64_t>();
  } else if (tag > 2) {
    throw SessionFault(std::string(what) + ": position tag " + std::to_string(tag));
  }
  ctx.in.expect_end();
  cusparseHandle_t handle = nullptr;
  if (!cusparse_in(ctx, handle_id, &handle)) return;
  Info info = nullptr;
  if (!info_in(ctx, info_id, &info)) return;
  // cuSPARSE writes `position` where the handle's pointer mode says, whatever the client sent:
  // a device address in host mode would be written as a worker host address.
  if (tag != 0 && (tag == 2) != device_pointers(handle))
    throw SessionFault(std::string(what) + ": a " + (tag == 2 ? "device" : "host") +
                       " position where the handle's pointer mode takes the other");
  // The mode may change before the call (an unordered request): GPU memory only, so that the
  // worst a change can make of it is a fault of this worker.
  // One that is no GPU memory (a host address, the API's undefined behaviour) is not passed on:
  // the call answers invalid value, as the generated handlers' scalars do.
  if (tag == 2 && device != 0 &&
      !device_memory(reinterpret_cast<const void*>(static_cast<uintptr_t>(device)))) {
    log::once(log::Level::kWarn, std::string(what) + ":position:host",
              std::string(what) + ": a device position that is no GPU memory of the worker (a "
              "host address?): CUSPARSE_STATUS_INVALID_VALUE");
    ctx.status = static_cast<int32_t>(CUSPARSE_STATUS_INVALID_VALUE);
    return;
  }
  int host = 0;
  int* position = tag == 0   ? nullptr
                  : tag == 1 ? &host
                             : reinterpret_cast<int*>(static_cast<uintptr_t>(device));
  const cusparseStatus_t s = fn(handle, info, position);
  ctx.status = static_cast<int32_t>(s);
  if (tag == 1 && (s == CUSPARSE_STATUS_SUCCESS || s == CUSPARSE_STATUS_ZERO_PIVOT))
    ctx.out.put<int32_t>(host);
}

}  // namespace

void handle_cusparseGetMatType(CallContext& ctx) { mat_get(ctx, cusparseGetMatType); }
void handle_cusparseGetMatFillMode(CallContext& ctx) { mat_get(ctx, cusparseGetMatFillMode); }
void handle_cusparseGetMatDiagType(CallContext& ctx) { mat_get(ctx, cusparseGetMatDiagType); }
void handle_cusparseGetMatIndexBase(CallContext& ctx) { mat_get(ctx, cusparseGetMatIndexBase); }

void handle_cusparseXbsrsv2_zeroPivot(CallContext& ctx) {
  zero_pivot<bsrsv2Info_t>(ctx, "cusparseXbsrsv2_zeroPivot", bsrsv2_in, cusparseXbsrsv2_zeroPivot);
}

void handle_cusparseXbsrsm2_zeroPivot(CallContext& ctx) {
  zero_pivot<bsrsm2Info_t>(ctx, "cusparseXbsrsm2_zeroPivot", bsrsm2_in, cusparseXbsrsm2_zeroPivot);
}

void handle_cusparseXcsric02_zeroPivot(CallContext& ctx) {
  zero_pivot<csric02Info_t>(ctx, "cusparseXcsric02_zeroPivot", csric02_in,
                            cusparseXcsric02_zeroPivot);
}

void handle_cusparseXcsrilu02_zeroPivot(CallContext& ctx) {
  zero_pivot<csrilu02Info_t>(ctx, "cusparseXcsrilu02_zeroPivot", csrilu02_in,
                             cusparseXcsrilu02_zeroPivot);
}

void handle_cusparseXbsrilu02_zeroPivot(CallContext& ctx) {
  zero_pivot<bsrilu02Info_t>(ctx, "cusparseXbsrilu02_zeroPivot", bsrilu02_in,
                             cusparseXbsrilu02_zeroPivot);
}

}  // namespace gvirtus::backend::cusparse
