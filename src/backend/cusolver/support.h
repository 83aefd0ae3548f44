// Helpers for the cuSOLVER plugin's handlers on the backend (build/gen/cusolver_server.cc, all
// generated from api/cusolver.api). The handle helpers (dn_in, params_in, sp_in, stream_in, ...)
// are generated into cusolver_handles.h; matdescr_in (matdescr.cc) rebuilds the cuSPARSE matrix
// descriptor a cusolverSp call takes.
#pragma once
#include <cusolverDn.h>
#include <cusolverRf.h>
#include <cusolverSp.h>
#include <cusolverSp_LOWLEVEL_PREVIEW.h>
#include <cusparse.h>

#include <cstdint>

#include "backend/dispatch.h"
#include "backend/plugins.h"
#include "common/cusolver_matdescr.h"

namespace gvirtus::backend::cusolver {

void register_plugin(Registry& r);
const PluginTable& plugin_table();

// The `matdescr` ref: a cusparseMatDescr_t sent as its four fields (common/cusolver_matdescr.h).
// 0 is NULL. Otherwise *out is a descriptor of this thread with those fields, valid until the
// thread's next call that takes one (a handler uses it only during its call); a value no
// honest client sends (a field out of its enum's range) throws SessionFault. Returns false with
// ctx.status = CUSOLVER_STATUS_ALLOC_FAILED when cuSPARSE cannot create a descriptor.
bool matdescr_in(CallContext& ctx, uint64_t wire, cusparseMatDescr_t* out);

}  // namespace gvirtus::backend::cusolver
