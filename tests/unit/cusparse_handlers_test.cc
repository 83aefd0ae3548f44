// The cuSPARSE plugin's handlers (generated from api/cusparse.api, and src/backend/cusparse):
// requests an honest client never sends (forged ids, ids of another kind, scalars over 64 bytes,
// attribute buffers over the bound or shorter than their size, bad position tags) end the
// session before cuSPARSE is called; stale ids answer CUSPARSE_STATUS_INVALID_VALUE; honest
// requests reach cuSPARSE, which answers as natively (here without a GPU).
#include <cusparse.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/cusparse/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cusparse {
void handle_cusparseCreate(CallContext&);
void handle_cusparseGetProperty(CallContext&);
void handle_cusparseSetStream(CallContext&);
void handle_cusparseCreateMatDescr(CallContext&);
void handle_cusparseDestroyMatDescr(CallContext&);
void handle_cusparseSetMatType(CallContext&);
void handle_cusparseGetMatType(CallContext&);
void handle_cusparseCreateDnVec(CallContext&);
void handle_cusparseDestroyDnVec(CallContext&);
void handle_cusparseDestroySpMat(CallContext&);
void handle_cusparseSpMatGetSize(CallContext&);
void handle_cusparseSpMatGetAttribute(CallContext&);
void handle_cusparseSpMatSetAttribute(CallContext&);
void handle_cusparseSpMV(CallContext&);
void handle_cusparseSpGEMM_compute(CallContext&);
void handle_cusparseXbsrsv2_zeroPivot(CallContext&);
void handle_cusparseCreateBsrsv2Info(CallContext&);
void handle_cusparseDestroyBsrsv2Info(CallContext&);
void handle_cusparseSpSV_createDescr(CallContext&);
void handle_cusparseSpSV_destroyDescr(CallContext&);
}  // namespace gvirtus::backend::cusparse

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace sp = gvirtus::backend::cusparse;

// An id of `kind` that no table ever issued.
uint64_t forged(be::HandleKind kind) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 56) | 0x777;
}

class CusparseHandlers : public HandlerTest {
 protected:
  static wire::Writer one_id(uint64_t id) {
    wire::Writer w;
    w.put<uint64_t>(id);
    return w;
  }
  // A pointer-mode scalar: tag 1 (host) with `bytes` bytes (the count as sent, `sent` bytes
  // follow), or tag 0 (NULL) when bytes < 0.
  static void host_scalar(wire::Writer& w, int bytes, int sent) {
    if (bytes < 0) {
      w.put<uint8_t>(0);
      return;
    }
    w.put<uint8_t>(1);
    w.put<uint8_t>(static_cast<uint8_t>(bytes));
    for (int i = 0; i < sent; ++i) w.put<uint8_t>(0);
  }
  // cusparseSpMV(handle, op, alpha, matA, vecX, beta, vecY, R_32F, default alg, NULL buffer).
  static wire::Writer spmv(uint64_t handle, uint8_t alpha_tag, int alpha_bytes, uint64_t mat,
                           uint64_t x, uint64_t y) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<int32_t>(CUSPARSE_OPERATION_NON_TRANSPOSE);
    if (alpha_tag == 1) {
      host_scalar(w, alpha_bytes, alpha_bytes);
    } else {
      w.put<uint8_t>(alpha_tag);
      if (alpha_tag == 2) w.put<uint64_t>(0x1000);
    }
    w.put<uint64_t>(mat);
    w.put<uint64_t>(x);
    host_scalar(w, 4, 4);  // beta
    w.put<uint64_t>(y);
    w.put<int32_t>(CUDA_R_32F);
    w.put<int32_t>(CUSPARSE_SPMV_ALG_DEFAULT);
    w.put<uint64_t>(0);  // externalBuffer
    return w;
  }
  // cusparseSpMatGet/SetAttribute(desc, FILL_MODE, data[sent bytes], dataSize).
  static wire::Writer attribute(uint64_t desc, uint64_t data_size, int sent) {
    wire::Writer w;
    w.put<uint64_t>(desc);
    w.put<int32_t>(CUSPARSE_SPMAT_FILL_MODE);
    w.put<uint64_t>(data_size);
    w.put<uint8_t>(1);
    for (int i = 0; i < sent; ++i) w.put<uint8_t>(0);
    return w;
  }
  // cusparseXbsrsv2_zeroPivot(handle, info, position with `tag`).
  static wire::Writer zero_pivot(uint64_t handle, uint64_t info, uint8_t tag) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<uint64_t>(info);
    w.put<uint8_t>(tag);
    if (tag == 2) w.put<uint64_t>(0x2000);
    return w;
  }
};

TEST_F(CusparseHandlers, HandleCreationAnswersAsNatively) {
  // no GPU here: cuSPARSE refuses to create a handle, through the handler as natively
  cusparseHandle_t h = nullptr;
  const cusparseStatus_t native = cusparseCreate(&h);
  if (native == CUSPARSE_STATUS_SUCCESS) cusparseDestroy(h);
  wire::Writer w;
  w.put<uint8_t>(1);
  std::vector<uint8_t> out;
  const int32_t s = run(sp::handle_cusparseCreate, w, &out);
  EXPECT_EQ(s, native);
  if (s != CUSPARSE_STATUS_SUCCESS) {
    EXPECT_TRUE(out.empty());
  }
  int major = -1;
  ASSERT_EQ(cusparseGetProperty(MAJOR_VERSION, &major), CUSPARSE_STATUS_SUCCESS);
  wire::Writer p;
  p.put<int32_t>(MAJOR_VERSION);
  p.put<uint8_t>(1);
  ASSERT_EQ(run(sp::handle_cusparseGetProperty, p, &out), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(int));
  int got = 0;
  std::memcpy(&got, out.data(), sizeof got);
  EXPECT_EQ(got, major);
}

TEST_F(CusparseHandlers, MatDescrRoundTripThenStale) {
  wire::Writer c;
  c.put<uint8_t>(1);
  std::vector<uint8_t> out;
  ASSERT_EQ(run(sp::handle_cusparseCreateMatDescr, c, &out), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t id = 0;
  std::memcpy(&id, out.data(), sizeof id);
  EXPECT_EQ(be::handle_kind_of(id), be::HandleKind::kCusparseMatDescr);
  wire::Writer set = one_id(id);
  set.put<int32_t>(CUSPARSE_MATRIX_TYPE_TRIANGULAR);
  EXPECT_EQ(run(sp::handle_cusparseSetMatType, set), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(run(sp::handle_cusparseGetMatType, one_id(id), &out), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(int32_t));
  int32_t type = -1;
  std::memcpy(&type, out.data(), sizeof type);
  EXPECT_EQ(type, CUSPARSE_MATRIX_TYPE_TRIANGULAR);
  EXPECT_EQ(run(sp::handle_cusparseDestroyMatDescr, one_id(id)), CUSPARSE_STATUS_SUCCESS);
  // destroyed: stale, answered without reaching cuSPARSE
  EXPECT_EQ(run(sp::handle_cusparseSetMatType, set), CUSPARSE_STATUS_INVALID_VALUE);
  EXPECT_EQ(run(sp::handle_cusparseGetMatType, one_id(id), &out), CUSPARSE_STATUS_INVALID_VALUE);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run(sp::handle_cusparseDestroyMatDescr, one_id(id)), CUSPARSE_STATUS_INVALID_VALUE);
  // id 0 is NULL, cuSPARSE's to judge: its getter answers -1 for NULL
  ASSERT_EQ(run(sp::handle_cusparseGetMatType, one_id(0), &out), CUSPARSE_STATUS_SUCCESS);
  std::memcpy(&type, out.data(), sizeof type);
  EXPECT_EQ(type, static_cast<int32_t>(cusparseGetMatType(nullptr)));
}

TEST_F(CusparseHandlers, ForgedOrForeignIdsEndTheSession) {
  EXPECT_FAULT(
      run(sp::handle_cusparseGetMatType, one_id(forged(be::HandleKind::kCusparseMatDescr))),
      "forged cuSPARSE object handle 0x4300000000000777");
  // a live id of another kind is no matrix descriptor, nor a sparse matrix
  const uint64_t spmat = live(be::HandleKind::kCusparseSpMatDescr);
  EXPECT_FAULT(run(sp::handle_cusparseGetMatType, one_id(spmat)),
               "forged cuSPARSE object handle 0x4600000000000001");
  const uint64_t dnvec = live(be::HandleKind::kCusparseDnVecDescr);
  EXPECT_FAULT(run(sp::handle_cusparseDestroySpMat, one_id(dnvec)),
               "forged cuSPARSE object handle 0x4500000000000002");
  wire::Writer size = one_id(dnvec);
  size.put<uint8_t>(1);
  size.put<uint8_t>(1);
  size.put<uint8_t>(1);
  EXPECT_FAULT(run(sp::handle_cusparseSpMatGetSize, size),
               "forged cuSPARSE object handle 0x4500000000000002");
  EXPECT_FAULT(run(sp::handle_cusparseDestroyDnVec, one_id(spmat)),
               "forged cuSPARSE object handle 0x4600000000000001");
  // a cuBLAS handle is no cuSPARSE handle
  EXPECT_FAULT(
      run(sp::handle_cusparseSpMV, spmv(live(be::HandleKind::kCublasHandle), 1, 4, 0, 0, 0)),
      "forged cuSPARSE object handle 0x2000000000000003");
  EXPECT_FAULT(
      run(sp::handle_cusparseSpMV, spmv(forged(be::HandleKind::kCusparseHandle), 1, 4, 0, 0, 0)),
      "forged cuSPARSE object handle 0x4200000000000777");
}

TEST_F(CusparseHandlers, StaleDescriptorsAnswerInvalidValue) {
  EXPECT_EQ(
      run(sp::handle_cusparseDestroySpMat, one_id(stale(be::HandleKind::kCusparseSpMatDescr))),
      CUSPARSE_STATUS_INVALID_VALUE);
  EXPECT_EQ(
      run(sp::handle_cusparseSpMV, spmv(0, 1, 4, stale(be::HandleKind::kCusparseSpMatDescr), 0, 0)),
      CUSPARSE_STATUS_INVALID_VALUE);
  EXPECT_EQ(
      run(sp::handle_cusparseSpMV, spmv(stale(be::HandleKind::kCusparseHandle), 1, 4, 0, 0, 0)),
      CUSPARSE_STATUS_INVALID_VALUE);
}

TEST_F(CusparseHandlers, DescriptorsCreatedWithoutAGpuAreIds) {
  // cuSPARSE creates vector descriptors without a GPU: the handler hands back an id of the
  // dense-vector kind, destroyed once
  wire::Writer c;
  c.put<uint8_t>(1);
  c.put<int64_t>(4);
  c.put<uint64_t>(0x4000);  // values: a device pointer, never dereferenced here
  c.put<int32_t>(CUDA_R_32F);
  std::vector<uint8_t> out;
  cusparseDnVecDescr_t native = nullptr;
  const cusparseStatus_t ns =
      cusparseCreateDnVec(&native, 4, reinterpret_cast<void*>(0x4000), CUDA_R_32F);
  if (ns == CUSPARSE_STATUS_SUCCESS) cusparseDestroyDnVec(native);
  ASSERT_EQ(run(sp::handle_cusparseCreateDnVec, c, &out), ns);
  if (ns != CUSPARSE_STATUS_SUCCESS) GTEST_SKIP() << "cuSPARSE creates no descriptor here";
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t id = 0;
  std::memcpy(&id, out.data(), sizeof id);
  EXPECT_EQ(be::handle_kind_of(id), be::HandleKind::kCusparseDnVecDescr);
  EXPECT_EQ(run(sp::handle_cusparseDestroyDnVec, one_id(id)), CUSPARSE_STATUS_SUCCESS);
  EXPECT_EQ(run(sp::handle_cusparseDestroyDnVec, one_id(id)), CUSPARSE_STATUS_INVALID_VALUE);
}

// Descriptor creates with a client-chosen id (presence flag 2, docs/protocol.md): the id the
// ticket names is the descriptor's; a replayed ticket or an id of another kind ends the session.
TEST_F(CusparseHandlers, ClientChosenIdsNameDescriptors) {
  auto dnvec = [](uint8_t flag) {
    wire::Writer c;
    c.put<uint8_t>(flag);
    c.put<int64_t>(4);
    c.put<uint64_t>(0x4000);
    c.put<int32_t>(CUDA_R_32F);
    return c;
  };
  std::vector<uint8_t> out;
  const int32_t s = run(sp::handle_cusparseCreateDnVec, dnvec(2), &out, 70);
  if (s != CUSPARSE_STATUS_SUCCESS) GTEST_SKIP() << "cuSPARSE creates no descriptor here";
  EXPECT_TRUE(out.empty()) << "the client named it: no id comes back";
  const uint64_t id = wire::client_id(be::HandleKind::kCusparseDnVecDescr, 70);
  EXPECT_EQ(run(sp::handle_cusparseDestroyDnVec, one_id(id)), CUSPARSE_STATUS_SUCCESS);
  EXPECT_EQ(run(sp::handle_cusparseDestroyDnVec, one_id(id)), CUSPARSE_STATUS_INVALID_VALUE);
  wire::Writer info;
  info.put<uint8_t>(2);
  ASSERT_EQ(run(sp::handle_cusparseSpSV_createDescr, info, &out, 71), CUSPARSE_STATUS_SUCCESS);
  EXPECT_EQ(run(sp::handle_cusparseSpSV_destroyDescr,
                one_id(wire::client_id(be::HandleKind::kCusparseSpSVDescr, 71))),
            CUSPARSE_STATUS_SUCCESS);
  EXPECT_FAULT(run(sp::handle_cusparseCreateDnVec, dnvec(2), &out, 70),
               "client-chosen cuSPARSE object id 0x4580000000000046 named twice (ticket 70, last "
               "claimed 71)");
  EXPECT_FAULT(run(sp::handle_cusparseCreateDnVec, dnvec(2), &out, 0),
               "a client-chosen cuSPARSE object id for ticket 0");
  EXPECT_FAULT(run(sp::handle_cusparseDestroyDnVec,
                   one_id(wire::client_id(be::HandleKind::kCusparseDnVecDescr, 72))),
               "forged cuSPARSE object handle 0x4580000000000048");
}

TEST_F(CusparseHandlers, ScalarsOverSixtyFourBytesEndTheSession) {
  // a host scalar of 0 or over 64 bytes, or a tag other than 0, 1, 2: never sent by the client
  EXPECT_FAULT(run(sp::handle_cusparseSpMV, spmv(0, 1, 65, 0, 0, 0)),
               "cusparseSpMV: alpha: a scalar of 65 bytes");
  EXPECT_FAULT(run(sp::handle_cusparseSpMV, spmv(0, 1, 0, 0, 0, 0)),
               "cusparseSpMV: alpha: a scalar of 0 bytes");
  EXPECT_FAULT(run(sp::handle_cusparseSpMV, spmv(0, 3, 0, 0, 0, 0)), "scalar tag is not 0, 1 or 2");
  // SpGEMM's in/out sizes travel as host scalars too
  wire::Writer w;
  w.put<uint64_t>(0);  // handle
  w.put<int32_t>(CUSPARSE_OPERATION_NON_TRANSPOSE);
  w.put<int32_t>(CUSPARSE_OPERATION_NON_TRANSPOSE);
  host_scalar(w, 4, 4);  // alpha
  w.put<uint64_t>(0);    // matA
  w.put<uint64_t>(0);    // matB
  host_scalar(w, 4, 4);  // beta
  w.put<uint64_t>(0);    // matC
  w.put<int32_t>(CUDA_R_32F);
  w.put<int32_t>(CUSPARSE_SPGEMM_DEFAULT);
  w.put<uint64_t>(0);      // spgemmDescr
  host_scalar(w, 200, 0);  // bufferSize2: 200 bytes claimed
  w.put<uint64_t>(0);      // externalBuffer2
  EXPECT_FAULT(run(sp::handle_cusparseSpGEMM_compute, w),
               "cusparseSpGEMM_compute: bufferSize2: a scalar of 200 bytes");
}

TEST_F(CusparseHandlers, HonestScalarsReachCuSPARSE) {
  // NULL handle (id 0) with host and device scalars: cuSPARSE answers as natively
  const float one = 1.0f;
  const cusparseStatus_t native =
      cusparseSpMV(nullptr, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, nullptr, nullptr, &one, nullptr,
                   CUDA_R_32F, CUSPARSE_SPMV_ALG_DEFAULT, nullptr);
  EXPECT_EQ(run(sp::handle_cusparseSpMV, spmv(0, 1, 4, 0, 0, 0)), native);
  EXPECT_EQ(run(sp::handle_cusparseSpMV, spmv(0, 0, 0, 0, 0, 0)), native);
  // A device alpha where cuSPARSE would read host memory (a NULL handle is in host mode): the
  // worker would read a client-chosen address of its own.
  EXPECT_FAULT(run(sp::handle_cusparseSpMV, spmv(0, 2, 0, 0, 0, 0)),
               "cusparseSpMV: alpha: a device pointer where the library's pointer mode takes "
               "the other");
}

TEST_F(CusparseHandlers, AttributeBuffersAreBoundedAndExact) {
  const uint64_t desc = live(be::HandleKind::kCusparseSpMatDescr);
  // over the 1 MiB bound: the server never allocates it
  EXPECT_FAULT(run(sp::handle_cusparseSpMatGetAttribute, attribute(desc, (1u << 20) + 1, 0)),
               "cusparseSpMatGetAttribute: data: buffer length 1048577 out of bounds");
  EXPECT_FAULT(run(sp::handle_cusparseSpMatSetAttribute, attribute(desc, ~uint64_t{0}, 0)),
               "cusparseSpMatSetAttribute: data: buffer length -1 out of bounds");
  // the bytes sent disagree with dataSize: too few do not decode, too many are left over
  EXPECT_FAULT(run(sp::handle_cusparseSpMatSetAttribute, attribute(desc, 4, 2)),
               "payload too short: wanted 4 bytes, 2 left");
  EXPECT_FAULT(run(sp::handle_cusparseSpMatSetAttribute, attribute(desc, 4, 6)),
               "2 unexpected bytes at the end of the payload");
  // a stale descriptor with an honest buffer
  EXPECT_EQ(run(sp::handle_cusparseSpMatSetAttribute,
                attribute(stale(be::HandleKind::kCusparseSpMatDescr), 4, 4)),
            CUSPARSE_STATUS_INVALID_VALUE);
}

TEST_F(CusparseHandlers, StreamsAreCheckedHandles) {
  wire::Writer forged_stream = one_id(0);
  forged_stream.put<uint64_t>(forged(be::HandleKind::kStream));
  EXPECT_FAULT(run(sp::handle_cusparseSetStream, forged_stream),
               "forged stream handle 0x100000000000777");
  wire::Writer foreign = one_id(0);
  foreign.put<uint64_t>(live(be::HandleKind::kCusparseSpSVDescr));
  EXPECT_FAULT(run(sp::handle_cusparseSetStream, foreign),
               "forged stream handle 0x4800000000000001");
  wire::Writer stale_stream = one_id(0);
  stale_stream.put<uint64_t>(stale(be::HandleKind::kStream));
  EXPECT_EQ(run(sp::handle_cusparseSetStream, stale_stream), CUSPARSE_STATUS_INVALID_VALUE);
  // NULL handle, default stream: cuSPARSE's answer
  wire::Writer null_handle = one_id(0);
  null_handle.put<uint64_t>(0);
  EXPECT_EQ(run(sp::handle_cusparseSetStream, null_handle), cusparseSetStream(nullptr, nullptr));
}

TEST_F(CusparseHandlers, ZeroPivotChecksTagAndIds) {
  EXPECT_FAULT(run(sp::handle_cusparseXbsrsv2_zeroPivot, zero_pivot(0, 0, 3)),
               "cusparseXbsrsv2_zeroPivot: position tag 3");
  EXPECT_FAULT(run(sp::handle_cusparseXbsrsv2_zeroPivot,
                   zero_pivot(forged(be::HandleKind::kCusparseHandle), 0, 1)),
               "forged cuSPARSE object handle 0x4200000000000777");
  // an info of another legacy kind is no bsrsv2 info
  EXPECT_FAULT(run(sp::handle_cusparseXbsrsv2_zeroPivot,
                   zero_pivot(0, live(be::HandleKind::kCusparseBsrsm2Info), 1)),
               "forged cuSPARSE object handle 0x4c00000000000001");
  EXPECT_EQ(run(sp::handle_cusparseXbsrsv2_zeroPivot,
                zero_pivot(0, stale(be::HandleKind::kCusparseBsrsv2Info), 1)),
            CUSPARSE_STATUS_INVALID_VALUE);
  // NULL handle and info: cuSPARSE's answer; no position comes back unless it reports one
  int pos = 5;
  const cusparseStatus_t native = cusparseXbsrsv2_zeroPivot(nullptr, nullptr, &pos);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(sp::handle_cusparseXbsrsv2_zeroPivot, zero_pivot(0, 0, 1), &out), native);
  const bool reported = native == CUSPARSE_STATUS_SUCCESS || native == CUSPARSE_STATUS_ZERO_PIVOT;
  EXPECT_EQ(out.size(), reported ? sizeof(int32_t) : 0u);
  EXPECT_EQ(run(sp::handle_cusparseXbsrsv2_zeroPivot, zero_pivot(0, 0, 0)),
            cusparseXbsrsv2_zeroPivot(nullptr, nullptr, nullptr));
  // A device position on a handle in host mode (NULL: host): cuSPARSE would write the pivot
  // at that address of the worker's own memory.
  EXPECT_FAULT(run(sp::handle_cusparseXbsrsv2_zeroPivot, zero_pivot(0, 0, 2)),
               "cusparseXbsrsv2_zeroPivot: a device position where the handle's pointer mode "
               "takes the other");
}

TEST_F(CusparseHandlers, LegacyInfosAreIdsOfTheirKind) {
  wire::Writer c;
  c.put<uint8_t>(1);
  std::vector<uint8_t> out;
  // (without a GPU cuSPARSE creates the info but answers CUSPARSE_STATUS_INVALID_VALUE when it
  // is destroyed: the handler answers the same, and the id is gone either way)
  bsrsv2Info_t native = nullptr;
  const cusparseStatus_t ns = cusparseCreateBsrsv2Info(&native);
  cusparseStatus_t native_destroy = CUSPARSE_STATUS_SUCCESS;
  if (ns == CUSPARSE_STATUS_SUCCESS) native_destroy = cusparseDestroyBsrsv2Info(native);
  ASSERT_EQ(run(sp::handle_cusparseCreateBsrsv2Info, c, &out), ns);
  if (ns != CUSPARSE_STATUS_SUCCESS) GTEST_SKIP() << "cuSPARSE creates no info here";
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t id = 0;
  std::memcpy(&id, out.data(), sizeof id);
  EXPECT_EQ(be::handle_kind_of(id), be::HandleKind::kCusparseBsrsv2Info);
  EXPECT_EQ(run(sp::handle_cusparseDestroyBsrsv2Info, one_id(id)), native_destroy);
  EXPECT_EQ(run(sp::handle_cusparseDestroyBsrsv2Info, one_id(id)), CUSPARSE_STATUS_INVALID_VALUE);
}

}  // namespace
}  // namespace gvirtus::testing
