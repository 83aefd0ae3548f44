// The cuSOLVER plugin's handlers (generated from api/cusolver.api, plus src/backend/cusolver):
// requests an honest client never sends (forged ids, ids of another object kind, arrays larger
// than the bound or than the sizes say, matrix descriptors no cuSPARSE hands out) end the
// session before cuSOLVER is called; stale ids answer cuSOLVER's errors without reaching it;
// honest requests reach cuSOLVER, which answers as natively (here without a GPU: params and
// info objects are made, handles are not, so the handles below are ids of dummy objects that
// the requests never let reach cuSOLVER).
// DISABLE_CUSOLVER_DEPRECATED comes with the plugin's objects (src/backend/CMakeLists.txt).
#include <cusolverDn.h>
#include <cusolverRf.h>
#include <cusolverSp.h>
#include <cusparse.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/cusolver/support.h"
#include "backend/worker.h"
#include "common/cusolver_matdescr.h"
#include "common/wire.h"
#include "frontend/cusolver/glue.h"
#include "handler_test.h"

namespace gvirtus::backend::cusolver {
void handle_cusolverGetVersion(CallContext&);
void handle_cusolverDnCreateParams(CallContext&);
void handle_cusolverDnDestroyParams(CallContext&);
void handle_cusolverDnSetAdvOptions(CallContext&);
void handle_cusolverDnCreateSyevjInfo(CallContext&);
void handle_cusolverDnDestroySyevjInfo(CallContext&);
void handle_cusolverDnXsyevjSetTolerance(CallContext&);
void handle_cusolverDnSetStream(CallContext&);
void handle_cusolverDnDpotrf(CallContext&);
void handle_cusolverDnXpotrf(CallContext&);
void handle_cusolverSpDcsrlsvqrHost(CallContext&);
void handle_cusolverSpXcsrissymHost(CallContext&);
void handle_cusolverRfSetupHost(CallContext&);
}  // namespace gvirtus::backend::cusolver

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cs = gvirtus::backend::cusolver;

// bound buffer= of api/cusolver.api.
constexpr long long kBound = 33554432;
// A matrix descriptor as the client sends a general, zero-based one.
constexpr uint64_t kGeneralDescr = cusolver_wire::kMatDescrTag;

class CusolverHandlers : public HandlerTest {
 protected:
  // A real object made through a Create handler (params and info objects need no GPU).
  uint64_t create(be::Handler h) {
    wire::Writer w;
    w.put<uint8_t>(1);
    std::vector<uint8_t> out;
    EXPECT_EQ(run(h, w, &out), CUSOLVER_STATUS_SUCCESS);
    uint64_t id = 0;
    EXPECT_EQ(out.size(), sizeof id);
    if (out.size() == sizeof id) std::memcpy(&id, out.data(), sizeof id);
    return id;
  }
  static wire::Writer id_only(uint64_t id) {
    wire::Writer w;
    w.put<uint64_t>(id);
    return w;
  }
  static wire::Writer set_adv(uint64_t params) {
    wire::Writer w;
    w.put<uint64_t>(params);
    w.put<int32_t>(CUSOLVERDN_GETRF);
    w.put<int32_t>(CUSOLVER_ALG_0);
    return w;
  }
  static wire::Writer set_tolerance(uint64_t info) {
    wire::Writer w;
    w.put<uint64_t>(info);
    w.put<double>(1e-7);
    return w;
  }
  // cusolverSpDcsrlsvqrHost(handle, m, nnz, descr, csrVal[nnz], csrRowPtr[m+1], csrColInd[nnz],
  // b[m], tol, reorder, x[m], singularity): the arrays as sent (`sent_*` elements; -1: NULL).
  static wire::Writer lsvqr(uint64_t handle, int32_t m, int32_t nnz, uint64_t descr,
                            long long sent_nnz, long long sent_m) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<int32_t>(m);
    w.put<int32_t>(nnz);
    w.put<uint64_t>(descr);
    w.put<double>(1e-12);  // tol
    w.put<int32_t>(0);     // reorder
    w.put<uint8_t>(1);     // singularity: out
    auto array = [&w](long long n, size_t elem) {
      w.put<uint8_t>(n >= 0 ? 1 : 0);
      for (long long i = 0; i < n; ++i) {
        const uint64_t zero = 0;
        w.put_bytes(&zero, elem);
      }
    };
    array(sent_nnz, sizeof(double));                 // csrValA
    array(sent_m >= 0 ? sent_m + 1 : -1, sizeof(int));  // csrRowPtrA
    array(sent_nnz, sizeof(int));                    // csrColIndA
    array(sent_m, sizeof(double));                   // b
    w.put<uint8_t>(1);                               // x: out
    return w;
  }
  // The same with the row pointers and column indices given (values zero, b zero).
  static wire::Writer lsvqr_csr(uint64_t handle, int32_t m, uint64_t descr,
                                const std::vector<int32_t>& row_ptr,
                                const std::vector<int32_t>& col_ind) {
    const int32_t nnz = static_cast<int32_t>(col_ind.size());
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<int32_t>(m);
    w.put<int32_t>(nnz);
    w.put<uint64_t>(descr);
    w.put<double>(1e-12);
    w.put<int32_t>(0);
    w.put<uint8_t>(1);
    w.put<uint8_t>(1);
    for (int32_t i = 0; i < nnz; ++i) w.put<double>(0.0);  // csrValA
    w.put<uint8_t>(1);
    for (int32_t v : row_ptr) w.put<int32_t>(v);
    w.put<uint8_t>(1);
    for (int32_t v : col_ind) w.put<int32_t>(v);
    w.put<uint8_t>(1);
    for (int32_t i = 0; i < m; ++i) w.put<double>(0.0);  // b
    w.put<uint8_t>(1);
    return w;
  }
  // cusolverDnXpotrf(handle, params, LOWER, n 4, R_64F, A, lda 4, R_64F, bufferOnDevice,
  // 1024, workspaceInBytesOnHost, info, bufferOnHost: `sent` bytes, -1 NULL).
  static wire::Writer xpotrf(uint64_t handle, uint64_t params, uint64_t host_bytes,
                             long long sent) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<uint64_t>(params);
    w.put<int32_t>(CUBLAS_FILL_MODE_LOWER);
    w.put<int64_t>(4);
    w.put<int32_t>(CUDA_R_64F);
    w.put<uint64_t>(0x7000);  // A
    w.put<int64_t>(4);
    w.put<int32_t>(CUDA_R_64F);
    w.put<uint64_t>(0x8000);  // bufferOnDevice
    w.put<uint64_t>(1024);    // workspaceInBytesOnDevice
    w.put<uint64_t>(host_bytes);
    w.put<uint64_t>(0x9000);  // info
    w.put<uint8_t>(sent >= 0 ? 1 : 0);
    for (long long i = 0; i < sent; ++i) w.put<uint8_t>(0);
    return w;
  }
};

TEST_F(CusolverHandlers, VersionAsNatively) {
  int native = 0;
  ASSERT_EQ(cusolverGetVersion(&native), CUSOLVER_STATUS_SUCCESS);
  wire::Writer w;
  w.put<uint8_t>(1);
  std::vector<uint8_t> out;
  ASSERT_EQ(run(cs::handle_cusolverGetVersion, w, &out), CUSOLVER_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(int));
  int got = 0;
  std::memcpy(&got, out.data(), sizeof got);
  EXPECT_EQ(got, native);
}

TEST_F(CusolverHandlers, ParamsObjectsAreIdsAndStaleOnesAreRefused) {
  const uint64_t params = create(cs::handle_cusolverDnCreateParams);
  ASSERT_NE(params, 0u);
  EXPECT_EQ(be::handle_kind_of(params), be::HandleKind::kCusolverDnParams);
  EXPECT_EQ(run(cs::handle_cusolverDnSetAdvOptions, set_adv(params)), CUSOLVER_STATUS_SUCCESS);
  EXPECT_EQ(run(cs::handle_cusolverDnDestroyParams, id_only(params)), CUSOLVER_STATUS_SUCCESS);
  // destroyed: the id is stale, answered without reaching cuSOLVER
  EXPECT_EQ(run(cs::handle_cusolverDnSetAdvOptions, set_adv(params)),
            CUSOLVER_STATUS_INVALID_VALUE);
  EXPECT_EQ(run(cs::handle_cusolverDnDestroyParams, id_only(params)),
            CUSOLVER_STATUS_INVALID_VALUE);
  // never issued: forged
  EXPECT_FAULT(run(cs::handle_cusolverDnSetAdvOptions, set_adv((uint64_t{81} << 56) | 0x777)),
               "forged cuSOLVER object handle 0x5100000000000777");
}

TEST_F(CusolverHandlers, AnObjectOfAnotherKindEndsTheSession) {
  const uint64_t syevj = create(cs::handle_cusolverDnCreateSyevjInfo);
  const uint64_t params = create(cs::handle_cusolverDnCreateParams);
  ASSERT_NE(syevj, 0u);
  ASSERT_NE(params, 0u);
  EXPECT_EQ(run(cs::handle_cusolverDnXsyevjSetTolerance, set_tolerance(syevj)),
            CUSOLVER_STATUS_SUCCESS);
  // a syevjInfo_t given as params, params given as a syevjInfo_t, a handle given as either
  EXPECT_FAULT(run(cs::handle_cusolverDnSetAdvOptions, set_adv(syevj)),
               "forged cuSOLVER object handle 0x5200000000000001");
  EXPECT_FAULT(run(cs::handle_cusolverDnXsyevjSetTolerance, set_tolerance(params)),
               "forged cuSOLVER object handle 0x5100000000000002");
  EXPECT_FAULT(
      run(cs::handle_cusolverDnSetAdvOptions, set_adv(live(be::HandleKind::kCusolverDnHandle))),
      "forged cuSOLVER object handle 0x5000000000000003");
  EXPECT_FAULT(run(cs::handle_cusolverDnDestroySyevjInfo, id_only(params)),
               "forged cuSOLVER object handle 0x5100000000000002");
  // nothing was released by the refused requests
  EXPECT_EQ(run(cs::handle_cusolverDnDestroySyevjInfo, id_only(syevj)), CUSOLVER_STATUS_SUCCESS);
  EXPECT_EQ(run(cs::handle_cusolverDnDestroyParams, id_only(params)), CUSOLVER_STATUS_SUCCESS);
}

TEST_F(CusolverHandlers, HandlesAndStreamsAreChecked) {
  // cusolverDnSetStream(handle, stream)
  auto set_stream = [](uint64_t h, uint64_t s) {
    wire::Writer w;
    w.put<uint64_t>(h);
    w.put<uint64_t>(s);
    return w;
  };
  EXPECT_FAULT(run(cs::handle_cusolverDnSetStream, set_stream((uint64_t{80} << 56) | 0x55, 0)),
               "forged cuSOLVER object handle 0x5000000000000055");
  EXPECT_EQ(run(cs::handle_cusolverDnSetStream,
                set_stream(stale(be::HandleKind::kCusolverDnHandle), 0)),
            CUSOLVER_STATUS_NOT_INITIALIZED);
  // a cuSPARSE-solver handle is no dense handle
  EXPECT_FAULT(
      run(cs::handle_cusolverDnSetStream, set_stream(live(be::HandleKind::kCusolverSpHandle), 0)),
      "forged cuSOLVER object handle 0x5600000000000002");
  const uint64_t dn = live(be::HandleKind::kCusolverDnHandle);
  EXPECT_FAULT(run(cs::handle_cusolverDnSetStream, set_stream(dn, 0x0100000000000777ull)),
               "forged stream handle 0x100000000000777");
  EXPECT_EQ(run(cs::handle_cusolverDnSetStream, set_stream(dn, stale(be::HandleKind::kStream))),
            CUSOLVER_STATUS_INVALID_VALUE);
  // a typed solver with a stale handle: no reply payload, cuSOLVER never called
  wire::Writer potrf;
  potrf.put<uint64_t>(stale(be::HandleKind::kCusolverDnHandle));
  potrf.put<int32_t>(CUBLAS_FILL_MODE_LOWER);
  potrf.put<int32_t>(4);
  potrf.put<uint64_t>(0x7000);  // A
  potrf.put<int32_t>(4);
  potrf.put<uint64_t>(0x8000);  // Workspace
  potrf.put<int32_t>(64);
  potrf.put<uint64_t>(0x9000);  // devInfo
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cs::handle_cusolverDnDpotrf, potrf, &out), CUSOLVER_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
}

TEST_F(CusolverHandlers, HostWorkspaceIsBoundedAndSizedByItsArgument) {
  const uint64_t dn = live(be::HandleKind::kCusolverDnHandle);
  const uint64_t params = create(cs::handle_cusolverDnCreateParams);
  // over the bound: never sent by the client (it answers CUSOLVER_STATUS_INVALID_VALUE)
  EXPECT_FAULT(run(cs::handle_cusolverDnXpotrf, xpotrf(dn, params, kBound + 1, 0)),
               "cusolverDnXpotrf: bufferOnHost: buffer length 33554433 out of bounds");
  // a size_t that is negative as a count
  EXPECT_FAULT(run(cs::handle_cusolverDnXpotrf, xpotrf(dn, params, ~uint64_t{0}, 0)),
               "cusolverDnXpotrf: bufferOnHost: buffer length -1 out of bounds");
  // fewer or more bytes than workspaceInBytesOnHost says
  EXPECT_FAULT(run(cs::handle_cusolverDnXpotrf, xpotrf(dn, params, 64, 63)),
               "payload too short: wanted 64 bytes, 63 left");
  EXPECT_FAULT(run(cs::handle_cusolverDnXpotrf, xpotrf(dn, params, 64, 65)),
               "1 unexpected bytes at the end of the payload");
  // honest sizes, stale objects: answered before cuSOLVER, nothing comes back
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cs::handle_cusolverDnXpotrf,
                xpotrf(stale(be::HandleKind::kCusolverDnHandle), params, 64, 64), &out),
            CUSOLVER_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run(cs::handle_cusolverDnXpotrf,
                xpotrf(dn, stale(be::HandleKind::kCusolverDnParams), 64, 64), &out),
            CUSOLVER_STATUS_INVALID_VALUE);
  EXPECT_TRUE(out.empty());
  // a syevjInfo_t where the params object goes
  EXPECT_FAULT(run(cs::handle_cusolverDnXpotrf,
                   xpotrf(dn, create(cs::handle_cusolverDnCreateSyevjInfo), 64, 64)),
               "forged cuSOLVER object handle 0x5200000000000005");
  EXPECT_EQ(run(cs::handle_cusolverDnDestroyParams, id_only(params)), CUSOLVER_STATUS_SUCCESS);
}

TEST_F(CusolverHandlers, HostSparseArraysAreSizedFromTheArguments) {
  const uint64_t sp = live(be::HandleKind::kCusolverSpHandle);
  // nnz or m whose arrays exceed the bound, or negative: the session ends before allocating
  const int32_t big_nnz = static_cast<int32_t>(kBound / sizeof(double) + 1);
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 4, big_nnz, kGeneralDescr, 0, 4)),
               "cusolverSpDcsrlsvqrHost: csrValA: buffer length 4194305 out of bounds");
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 4, -1, kGeneralDescr, 0, 4)),
               "cusolverSpDcsrlsvqrHost: csrValA: buffer length -1 out of bounds");
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, -5, 4, kGeneralDescr, 4, 0)),
               "cusolverSpDcsrlsvqrHost: csrRowPtrA: buffer length -4 out of bounds");
  // m of INT_MAX: m+1 row pointers are counted without overflow, and over the bound
  EXPECT_FAULT(
      run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 2147483647, 4, kGeneralDescr, 4, 0)),
      "cusolverSpDcsrlsvqrHost: csrRowPtrA: buffer length 2147483648 out of bounds");
  // arrays shorter or longer than m and nnz say
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 4, 8, kGeneralDescr, 7, 4)),
               "72 unexpected bytes at the end of the payload");
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 4, 8, kGeneralDescr, 8, 5)),
               "76 unexpected bytes at the end of the payload");
  // honest sizes with a stale handle: answered without cuSOLVER
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cs::handle_cusolverSpDcsrlsvqrHost,
                lsvqr(stale(be::HandleKind::kCusolverSpHandle), 4, 8, kGeneralDescr, 8, 4), &out),
            CUSOLVER_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
  // a dense handle is no sparse one
  EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost,
                   lsvqr(live(be::HandleKind::kCusolverDnHandle), 4, 8, kGeneralDescr, 8, 4)),
               "forged cuSOLVER object handle 0x5000000000000003");
}

// A host routine walks the CSR structure on the worker's CPU: row pointers past nnz, falling
// row pointers or column indices past the matrix would have cuSOLVER read and write outside
// the worker's buffers. The session ends before cuSOLVER is called (the handle here is no real
// one: a call that reached cuSOLVER would not end the session).
TEST_F(CusolverHandlers, HostRoutinesGetOnlyCsrStructuresWithinTheirArrays) {
  const uint64_t sp = live(be::HandleKind::kCusolverSpHandle);
  auto h = cs::handle_cusolverSpDcsrlsvqrHost;
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, kGeneralDescr, {0, 2, 9, 9, 9}, {0, 1, 2, 3, 0, 1, 2, 3})),
               "row pointer 2 is 9, outside [0, 8]");
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, kGeneralDescr, {0, 4, 2, 6, 8}, {0, 1, 2, 3, 0, 1, 2, 3})),
               "row pointer 2 is below the one before it");
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, kGeneralDescr, {0, 2, 4, 6, 8}, {0, 1, 2, 3, 4, 1, 2, 3})),
               "column index 4 is 4, outside a matrix of 4 columns");
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, kGeneralDescr, {0, 2, 4, 6, 8}, {0, 1, 2, -1, 0, 1, 2, 3})),
               "column index 3 is -1");
  // one-based: 1 .. nnz + 1 and 1 .. 4 are inside, 0 is not
  const uint64_t one_based = kGeneralDescr | (uint64_t{1} << 24);
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, one_based, {0, 3, 5, 7, 9}, {1, 2, 3, 4, 1, 2, 3, 4})),
               "row pointer 0 is 0, outside [1, 9]");
  EXPECT_FAULT(run(h, lsvqr_csr(sp, 4, one_based, {1, 3, 5, 7, 9}, {1, 2, 3, 4, 0, 2, 3, 4})),
               "column index 4 is 0");
  // A well-formed matrix (both bases) reaches cuSOLVER, here with a NULL handle: its answer.
  EXPECT_EQ(run(h, lsvqr_csr(0, 4, kGeneralDescr, {0, 2, 4, 6, 8}, {0, 1, 2, 3, 0, 1, 2, 3})),
            CUSOLVER_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(run(h, lsvqr_csr(0, 4, one_based, {1, 3, 5, 7, 9}, {1, 2, 3, 4, 1, 2, 3, 4})),
            CUSOLVER_STATUS_NOT_INITIALIZED);
}

// cusolverSpXcsrissymHost takes four arrays: m row starts and m row ends, rows in any order,
// with gaps between them (cuSOLVER reads only inside the rows). Each row is checked on its own.
TEST_F(CusolverHandlers, TheFourArrayFormIsCheckedRowByRow) {
  auto issym = [](uint64_t handle, std::vector<int32_t> start, std::vector<int32_t> end,
                  std::vector<int32_t> cols) {
    const int32_t m = static_cast<int32_t>(end.size());
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<int32_t>(m);
    w.put<int32_t>(static_cast<int32_t>(cols.size()));
    w.put<uint64_t>(kGeneralDescr);
    w.put<uint8_t>(1);  // issym
    start.push_back(0);  // the client sends m + 1 starts (the last one is never read)
    for (const auto* a : {&start, &end, &cols}) {
      w.put<uint8_t>(1);
      for (int32_t v : *a) w.put<int32_t>(v);
    }
    return w;
  };
  auto h = cs::handle_cusolverSpXcsrissymHost;
  // rows stored back to front with a gap holding garbage: accepted, and cuSOLVER answers as
  // natively (a host routine: it runs without a handle or a GPU)
  cusparseMatDescr_t d = nullptr;
  ASSERT_EQ(cusparseCreateMatDescr(&d), CUSPARSE_STATUS_SUCCESS);
  const int start[2] = {4, 0}, end[2] = {6, 2}, cols[6] = {0, 1, 99, -7, 0, 1};
  int sym = -1;
  const cusolverStatus_t native = cusolverSpXcsrissymHost(nullptr, 2, 6, d, start, end, cols, &sym);
  cusparseDestroyMatDescr(d);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(h, issym(0, {4, 0}, {6, 2}, {0, 1, 99, -7, 0, 1}), &out), native);
  if (native == CUSOLVER_STATUS_SUCCESS) {
    ASSERT_EQ(out.size(), sizeof(int32_t));
    int32_t got = -1;
    std::memcpy(&got, out.data(), sizeof got);
    EXPECT_EQ(got, sym);
  }
  const uint64_t sp = live(be::HandleKind::kCusolverSpHandle);
  EXPECT_FAULT(run(h, issym(sp, {4, 0}, {3, 2}, {0, 1, 0, 0, 0, 1})),
               "end pointer 0 is 3, outside [4, 6]");
  EXPECT_FAULT(run(h, issym(sp, {4, 0}, {6, 2}, {0, 1, 0, 0, 5, 1})),
               "column index 4 is 5, outside a matrix of 2 columns");
}

TEST_F(CusolverHandlers, MatrixDescriptorsNoClientSendsEndTheSession) {
  const uint64_t sp = live(be::HandleKind::kCusolverSpHandle);
  // no tag, stray bits, a matrix type or index base out of range
  for (uint64_t bad : {uint64_t{5}, kGeneralDescr | (uint64_t{1} << 40), kGeneralDescr | 7u,
                       kGeneralDescr | (uint64_t{2} << 24)}) {
    EXPECT_FAULT(run(cs::handle_cusolverSpDcsrlsvqrHost, lsvqr(sp, 4, 8, bad, 8, 4)),
                 "a matrix descriptor no client sends")
        << bad;
  }
  // cusolverSpXcsrissymHost(handle, m, nnzA, descr, csrRowPtrA[m+1], csrEndPtrA[m],
  // csrColIndA[nnzA], issym): the same check, and arrays sized by m
  wire::Writer w;
  w.put<uint64_t>(sp);
  w.put<int32_t>(3);
  w.put<int32_t>(2);
  w.put<uint64_t>(kGeneralDescr | 9u);
  w.put<uint8_t>(1);  // issym
  for (int n : {4, 3, 2}) {
    w.put<uint8_t>(1);
    for (int i = 0; i < n; ++i) w.put<int32_t>(0);
  }
  EXPECT_FAULT(run(cs::handle_cusolverSpXcsrissymHost, w),
               "cusolverSp: a matrix descriptor no client sends (9223372036854775817)");
}

TEST_F(CusolverHandlers, DescriptorsAreRebuiltWithTheirFields) {
  cusolver_wire::MatDescrFields f;
  f.type = CUSPARSE_MATRIX_TYPE_TRIANGULAR;
  f.fill = CUSPARSE_FILL_MODE_UPPER;
  f.diag = CUSPARSE_DIAG_TYPE_UNIT;
  f.base = CUSPARSE_INDEX_BASE_ONE;
  uint64_t wire_value = 0;
  ASSERT_TRUE(cusolver_wire::encode_matdescr(f, &wire_value));
  wire::FrameHeader hdr;
  be::CallContext ctx{session_, conn_, hdr, wire::Reader(nullptr, 0), wire::Writer()};
  cusparseMatDescr_t d = nullptr;
  ASSERT_TRUE(cs::matdescr_in(ctx, wire_value, &d));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(cusparseGetMatType(d), CUSPARSE_MATRIX_TYPE_TRIANGULAR);
  EXPECT_EQ(cusparseGetMatFillMode(d), CUSPARSE_FILL_MODE_UPPER);
  EXPECT_EQ(cusparseGetMatDiagType(d), CUSPARSE_DIAG_TYPE_UNIT);
  EXPECT_EQ(cusparseGetMatIndexBase(d), CUSPARSE_INDEX_BASE_ONE);
  // NULL travels as 0 and reaches cuSOLVER as NULL
  ASSERT_TRUE(cs::matdescr_in(ctx, 0, &d));
  EXPECT_EQ(d, nullptr);
  // the client never encodes a field out of range
  f.type = 4;
  EXPECT_FALSE(cusolver_wire::encode_matdescr(f, &wire_value));
}

TEST_F(CusolverHandlers, TheClientSendsWhatCuSparseSaysAndTheWorkerRebuildsIt) {
  // src/frontend/cusolver/matdescr.cc reads a descriptor through cuSPARSE's getters (found in
  // this process with dlopen); matdescr_in rebuilds it on the worker
  cusparseMatDescr_t app = nullptr;
  ASSERT_EQ(cusparseCreateMatDescr(&app), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(cusparseSetMatType(app, CUSPARSE_MATRIX_TYPE_SYMMETRIC), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(cusparseSetMatFillMode(app, CUSPARSE_FILL_MODE_UPPER), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(cusparseSetMatDiagType(app, CUSPARSE_DIAG_TYPE_NON_UNIT), CUSPARSE_STATUS_SUCCESS);
  ASSERT_EQ(cusparseSetMatIndexBase(app, CUSPARSE_INDEX_BASE_ONE), CUSPARSE_STATUS_SUCCESS);
  uint64_t wire_value = 0;
  ASSERT_EQ(gvirtus::cusolver::matdescr_to_wire(app, &wire_value), CUSOLVER_STATUS_SUCCESS);
  wire::FrameHeader hdr;
  be::CallContext ctx{session_, conn_, hdr, wire::Reader(nullptr, 0), wire::Writer()};
  cusparseMatDescr_t worker = nullptr;
  ASSERT_TRUE(cs::matdescr_in(ctx, wire_value, &worker));
  ASSERT_NE(worker, nullptr);
  EXPECT_NE(worker, app);
  EXPECT_EQ(cusparseGetMatType(worker), CUSPARSE_MATRIX_TYPE_SYMMETRIC);
  EXPECT_EQ(cusparseGetMatFillMode(worker), CUSPARSE_FILL_MODE_UPPER);
  EXPECT_EQ(cusparseGetMatDiagType(worker), CUSPARSE_DIAG_TYPE_NON_UNIT);
  EXPECT_EQ(cusparseGetMatIndexBase(worker), CUSPARSE_INDEX_BASE_ONE);
  // a NULL descriptor travels as 0
  ASSERT_EQ(gvirtus::cusolver::matdescr_to_wire(nullptr, &wire_value), CUSOLVER_STATUS_SUCCESS);
  EXPECT_EQ(wire_value, 0u);
  cusparseDestroyMatDescr(app);
}

TEST_F(CusolverHandlers, RefactorisationArraysAreSizedFromTheArguments) {
  // cusolverRfSetupHost(n, nnzA, rowPtrA[n+1], colIndA[nnzA], valA[nnzA], nnzL, ..L.., nnzU,
  // ..U.., P[n], Q[n], handle): a negative nnzL ends the session before anything is allocated
  auto setup = [](int32_t n, int32_t nnz, int32_t nnz_l, uint64_t handle) {
    wire::Writer w;
    w.put<int32_t>(n);
    w.put<int32_t>(nnz);
    w.put<int32_t>(nnz_l);
    w.put<int32_t>(nnz);
    w.put<uint64_t>(handle);
    auto ints = [&w](int count) {
      w.put<uint8_t>(1);
      for (int i = 0; i < count; ++i) w.put<int32_t>(0);
    };
    auto doubles = [&w](int count) {
      w.put<uint8_t>(1);
      for (int i = 0; i < count; ++i) w.put<double>(0);
    };
    for (int m = 0; m < 3; ++m) {
      const int k = m == 1 ? (nnz_l > 0 ? nnz_l : 0) : nnz;
      ints(n + 1);
      ints(k);
      doubles(k);
    }
    ints(n);
    ints(n);
    return w;
  };
  const uint64_t rf = live(be::HandleKind::kCusolverRfHandle);
  EXPECT_FAULT(run(cs::handle_cusolverRfSetupHost, setup(3, 3, -1, rf)),
               "cusolverRfSetupHost: h_csrColIndL: buffer length -1 out of bounds");
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cs::handle_cusolverRfSetupHost,
                setup(3, 3, 3, stale(be::HandleKind::kCusolverRfHandle)), &out),
            CUSOLVER_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
}

// cusolverRfSetupHost walks A, L, U and indexes with P and Q on the worker's CPU: a permutation
// entry past n ends the session before cuSOLVER sees it, and so does a column past the matrix.
TEST_F(CusolverHandlers, RefactorisationInputsStayWithinTheirArrays) {
  auto setup = [](int32_t bad_p, int32_t bad_col) {
    const int32_t n = 2, nnz = 2;
    wire::Writer w;
    w.put<int32_t>(n);
    w.put<int32_t>(nnz);
    w.put<int32_t>(nnz);
    w.put<int32_t>(nnz);
    w.put<uint64_t>(0);  // a NULL handle
    for (int m = 0; m < 3; ++m) {
      w.put<uint8_t>(1);
      for (int32_t v : {0, 1, 2}) w.put<int32_t>(v);  // the diagonal
      w.put<uint8_t>(1);
      w.put<int32_t>(0);
      w.put<int32_t>(m == 2 ? bad_col : 1);
      w.put<uint8_t>(1);
      w.put<double>(1.0);
      w.put<double>(1.0);
    }
    w.put<uint8_t>(1);
    w.put<int32_t>(0);
    w.put<int32_t>(bad_p);
    w.put<uint8_t>(1);
    w.put<int32_t>(0);
    w.put<int32_t>(1);
    return w;
  };
  EXPECT_FAULT(run(cs::handle_cusolverRfSetupHost, setup(2, 1)),
               "permutation entry 1 is 2, outside [0, 2)");
  EXPECT_FAULT(run(cs::handle_cusolverRfSetupHost, setup(1, 7)),
               "column index 1 is 7, outside a matrix of 2 columns");
  // well formed: cuSOLVER's own answer for the NULL handle
  EXPECT_EQ(run(cs::handle_cusolverRfSetupHost, setup(1, 1)), CUSOLVER_STATUS_NOT_INITIALIZED);
}

}  // namespace
}  // namespace gvirtus::testing
