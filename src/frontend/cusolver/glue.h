// Helpers shared by the generated cuSOLVER stubs (build/gen/cusolver_client.cc). Contract between
// the generator (api/cusolver.api) and this library.
#pragma once
#include <cusolverDn.h>
#include <cusolverRf.h>
#include <cusolverSp.h>
#include <library_types.h>

#include <cstddef>
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::cusolver {

// The session is gone: CUSOLVER_STATUS_NOT_INITIALIZED, what cuSOLVER answers when the CUDA
// runtime beneath it cannot be used.
cusolverStatus_t lost();

// Completes a call that got a reply: its status. A deferred failure of an earlier request sent
// without reply is the runtime's to report: posted to the core.
cusolverStatus_t finish(const client::Call& c);

// Bytes of one value of data type t (Xsyevdx's vl/vu are host values of dataTypeW); 0 for a
// type cuSOLVER takes for no such value, which the stub answers CUSOLVER_STATUS_INVALID_VALUE.
size_t type_bytes(cudaDataType t);

// The `matdescr` ref: a cuSPARSE matrix descriptor as its wire form
// (common/cusolver_matdescr.h), read through cuSPARSE's getters (the libcusparse.so.12 of this
// process: ours under GVirtuS, NVIDIA's otherwise). NULL travels as 0.
// CUSOLVER_STATUS_NOT_INITIALIZED when cuSPARSE cannot be found, INVALID_VALUE for a field
// out of range.
cusolverStatus_t matdescr_to_wire(const cusparseMatDescr_t descr, uint64_t* wire);

}  // namespace gvirtus::cusolver
