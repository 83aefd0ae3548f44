// The cuBLAS plugin's handlers (generated from api/cublas.api and src/backend/cublas): requests
// an honest client never sends end the session before cuBLAS is called; honest ones reach
// cuBLAS, which answers as natively (on this machine, without a GPU: not initialized).
#include <cublas_api.h>
#include <gtest/gtest.h>

#include <cstring>

#include "backend/cublas/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cublas {
void handle_cublasGetVersion_v2(CallContext&);
void handle_cublasSaxpy_v2(CallContext&);
void handle_cublasSdot_v2(CallContext&);
void handle_cublasSetPointerMode_v2(CallContext&);
void handle_cublasDestroy_v2(CallContext&);
void handle_cublasGetCudartVersion(CallContext&);
void handle_cublasGemmEx(CallContext&);
void handle_cublasSrotg_v2(CallContext&);
void handle_cublasSrotmg_v2(CallContext&);
void handle_cublasDnrm2_v2(CallContext&);
void handle_cublasSgetrsBatched(CallContext&);
void handle_cublasSetStream_v2(CallContext&);
}  // namespace gvirtus::backend::cublas

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cb = gvirtus::backend::cublas;

class CublasHandlers : public HandlerTest {
 protected:
  // cublasSaxpy_v2(handle, n, alpha, x, incx, y, incy) with alpha sent as `tag` (0 NULL, 1 host
  // bytes, 2 device pointer) and `bytes` bytes.
  static wire::Writer saxpy(uint64_t handle, uint8_t tag, uint8_t bytes) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<int32_t>(-1);
    w.put<uint8_t>(tag);
    if (tag == 1) {
      w.put<uint8_t>(bytes);
      for (uint8_t i = 0; i < bytes; ++i) w.put<uint8_t>(0);
    } else if (tag == 2) {
      w.put<uint64_t>(0x1000);
    }
    w.put<uint64_t>(0);
    w.put<int32_t>(1);
    w.put<uint64_t>(0);
    w.put<int32_t>(1);
    return w;
  }
  // The id of a cuBLAS handle that was issued and released.
  uint64_t stale_handle() {
    static int dummy = 0;
    uint64_t id = session_.handles().add(be::HandleKind::kCublasHandle, &dummy);
    void* p = nullptr;
    EXPECT_TRUE(session_.handles().remove(be::HandleKind::kCublasHandle, id, &p));
    return id;
  }
};

TEST_F(CublasHandlers, ForgedHandleEndsTheSession) {
  wire::Writer w;
  w.put<uint64_t>(0x2000000000000123ull);  // kind kCublasHandle, never issued
  w.put<uint8_t>(1);
  EXPECT_FAULT(run(cb::handle_cublasGetVersion_v2, w),
               "forged cuBLAS object handle 0x2000000000000123");
  wire::Writer other;  // a live id of another kind is no cuBLAS handle
  uint64_t stream = session_.handles().add(be::HandleKind::kStream, &other);
  other.put<uint64_t>(stream);
  other.put<int32_t>(CUBLAS_POINTER_MODE_HOST);
  EXPECT_FAULT(run(cb::handle_cublasSetPointerMode_v2, other),
               "forged cuBLAS object handle 0x100000000000001");
}

TEST_F(CublasHandlers, StaleHandleAnswersNotInitialized) {
  int dummy = 0;
  uint64_t id = session_.handles().add(be::HandleKind::kCublasHandle, &dummy);
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kCublasHandle, id, &p));
  wire::Writer w;
  w.put<uint64_t>(id);
  w.put<uint8_t>(1);
  EXPECT_EQ(run(cb::handle_cublasGetVersion_v2, w), CUBLAS_STATUS_NOT_INITIALIZED);
}

TEST_F(CublasHandlers, ScalarsAreBounded) {
  EXPECT_FAULT(run(cb::handle_cublasSaxpy_v2, saxpy(0, 1, 65)),
               "cublasSaxpy_v2: alpha: a scalar of 65 bytes");
  EXPECT_FAULT(run(cb::handle_cublasSaxpy_v2, saxpy(0, 1, 0)),
               "cublasSaxpy_v2: alpha: a scalar of 0 bytes");
  EXPECT_FAULT(run(cb::handle_cublasSaxpy_v2, saxpy(0, 3, 0)), "scalar tag is not 0, 1 or 2");
  // A scalar that claims more bytes than the request holds.
  wire::Writer shortw;
  shortw.put<uint64_t>(0);
  shortw.put<int32_t>(-1);
  shortw.put<uint8_t>(1);
  shortw.put<uint8_t>(8);
  EXPECT_FAULT(run(cb::handle_cublasSaxpy_v2, shortw), "payload too short: wanted 8 bytes, 0 left");
}

TEST_F(CublasHandlers, HonestRequestsReachCublas) {
  // A NULL handle: cuBLAS itself answers, for a NULL or a host scalar (a NULL handle has no
  // device pointer mode, so an honest client sends its scalars as host values).
  for (uint8_t tag : {0, 1})
    EXPECT_EQ(run(cb::handle_cublasSaxpy_v2, saxpy(0, tag, 4)), CUBLAS_STATUS_NOT_INITIALIZED);
  // A result in host memory is written back only on success: nothing here.
  wire::Writer dot;
  dot.put<uint64_t>(0);
  dot.put<int32_t>(4);
  dot.put<uint64_t>(0);
  dot.put<int32_t>(1);
  dot.put<uint64_t>(0);
  dot.put<int32_t>(1);
  dot.put<uint8_t>(1);
  dot.put<uint8_t>(4);
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cb::handle_cublasSdot_v2, dot, &out), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
}

// Where a scalar lives is the handle's real pointer mode, never the client's tag: a "device
// pointer" where cuBLAS reads host memory would be read (or, for a result, written) as a worker
// host address. Without a GPU no handle can be made; a NULL handle is in no device mode.
TEST_F(CublasHandlers, AScalarAgainstThePointerModeEndsTheSession) {
  EXPECT_FAULT(run(cb::handle_cublasSaxpy_v2, saxpy(0, 2, 0)),
               "cublasSaxpy_v2: alpha: a device pointer where the library's pointer mode takes "
               "the other");
  wire::Writer dot;  // the result of cublasSdot_v2 as a device pointer
  dot.put<uint64_t>(0);
  dot.put<int32_t>(4);
  dot.put<uint64_t>(0);
  dot.put<int32_t>(1);
  dot.put<uint64_t>(0);
  dot.put<int32_t>(1);
  dot.put<uint8_t>(2);
  dot.put<uint64_t>(0x7f0000001000ull);
  EXPECT_FAULT(run(cb::handle_cublasSdot_v2, dot), "cublasSdot_v2: result: a device pointer");
}

TEST_F(CublasHandlers, CudartVersionIsTheBackendsAndTakesNoArguments) {
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cb::handle_cublasGetCudartVersion, wire::Writer(), &out), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t v = 0;
  std::memcpy(&v, out.data(), sizeof v);
  EXPECT_EQ(v, static_cast<uint64_t>(cublasGetCudartVersion()));
  wire::Writer extra;
  extra.put<uint8_t>(0);
  EXPECT_FAULT(run(cb::handle_cublasGetCudartVersion, extra),
               "1 unexpected bytes at the end of the payload");
}

TEST_F(CublasHandlers, UntypedScalarsAreBoundedToo) {
  // cublasGemmEx with a host alpha of 65 bytes: no client sends more than 64 (a complex double
  // is 16).
  wire::Writer w;
  w.put<uint64_t>(0);
  w.put<int32_t>(CUBLAS_OP_N);
  w.put<int32_t>(CUBLAS_OP_N);
  for (int i = 0; i < 3; ++i) w.put<int32_t>(1);
  w.put<uint8_t>(1);
  w.put<uint8_t>(65);
  for (int i = 0; i < 65; ++i) w.put<uint8_t>(0);
  EXPECT_FAULT(run(cb::handle_cublasGemmEx, w), "cublasGemmEx: alpha: a scalar of 65 bytes");
}

TEST_F(CublasHandlers, InOutScalarsAndResults) {
  // cublasSrotg_v2(handle, a, b, c, s): a, b in and out, c, s out; NULL where the application
  // passed NULL. Nothing comes back unless cuBLAS succeeds.
  auto rotg = [](uint64_t handle, uint8_t tag_a) {
    wire::Writer w;
    w.put<uint64_t>(handle);
    w.put<uint8_t>(tag_a);
    if (tag_a == 1) {
      w.put<uint8_t>(4);
      w.put<float>(3.0f);
    }
    w.put<uint8_t>(1);  // b
    w.put<uint8_t>(4);
    w.put<float>(4.0f);
    w.put<uint8_t>(1);  // c: a result, only its size travels
    w.put<uint8_t>(4);
    w.put<uint8_t>(0);  // s: NULL
    return w;
  };
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cb::handle_cublasSrotg_v2, rotg(0, 1), &out), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run(cb::handle_cublasSrotg_v2, rotg(0, 0)), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_FAULT(run(cb::handle_cublasSrotg_v2, rotg(0, 7)), "scalar tag is not 0, 1 or 2");
  EXPECT_EQ(run(cb::handle_cublasSrotg_v2, rotg(stale_handle(), 1)),
            CUBLAS_STATUS_NOT_INITIALIZED);
  // cublasSrotmg_v2: param is a result of 5 floats (20 bytes); a size over the bound is forged.
  auto rotmg = [](uint8_t param_bytes) {
    wire::Writer w;
    w.put<uint64_t>(0);
    for (int i = 0; i < 4; ++i) {  // d1 d2 x1 (in and out), y1 (in)
      w.put<uint8_t>(1);
      w.put<uint8_t>(4);
      w.put<float>(1.0f);
    }
    w.put<uint8_t>(1);
    w.put<uint8_t>(param_bytes);
    return w;
  };
  EXPECT_EQ(run(cb::handle_cublasSrotmg_v2, rotmg(20), &out), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
  EXPECT_FAULT(run(cb::handle_cublasSrotmg_v2, rotmg(200)),
               "cublasSrotmg_v2: param: a scalar of 200 bytes");
  // cublasDnrm2_v2 with a NULL result: cuBLAS answers.
  wire::Writer nrm2;
  nrm2.put<uint64_t>(0);
  nrm2.put<int32_t>(4);
  nrm2.put<uint64_t>(0);
  nrm2.put<int32_t>(1);
  nrm2.put<uint8_t>(0);
  EXPECT_EQ(run(cb::handle_cublasDnrm2_v2, nrm2), CUBLAS_STATUS_NOT_INITIALIZED);
}

TEST_F(CublasHandlers, BatchedLapackHostInfo) {
  // cublasSgetrsBatched: info is one host int, written back only on success.
  auto getrs = [](uint8_t info_flag) {
    wire::Writer w;
    w.put<uint64_t>(0);
    w.put<int32_t>(CUBLAS_OP_N);
    w.put<int32_t>(2);
    w.put<int32_t>(1);
    w.put<uint64_t>(0x1000);  // Aarray
    w.put<int32_t>(2);
    w.put<uint64_t>(0x2000);  // devIpiv
    w.put<uint64_t>(0x3000);  // Barray
    w.put<int32_t>(2);
    w.put<uint8_t>(info_flag);
    w.put<int32_t>(1);
    return w;
  };
  std::vector<uint8_t> out;
  EXPECT_EQ(run(cb::handle_cublasSgetrsBatched, getrs(1), &out), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_TRUE(out.empty());
  // (A NULL info reaches cuBLAS as NULL, as natively: cuBLAS writes *info before anything else
  // and crashes, here the client's worker; not exercised.)
  EXPECT_FAULT(run(cb::handle_cublasSgetrsBatched, getrs(2)), "presence flag is neither 0 nor 1");
}

TEST_F(CublasHandlers, StreamsAreCheckedHandles) {
  // cublasSetStream_v2(handle, stream): a forged stream ends the session, a stale one answers
  // CUBLAS_STATUS_INVALID_VALUE (the annotation's invalid status for streams).
  int dummy = 0;
  uint64_t handle = session_.handles().add(be::HandleKind::kCublasHandle, &dummy);
  wire::Writer forged;
  forged.put<uint64_t>(handle);
  forged.put<uint64_t>(0x0100000000000777ull);  // kind kStream, never issued
  EXPECT_FAULT(run(cb::handle_cublasSetStream_v2, forged),
               "forged stream handle 0x100000000000777");
  uint64_t stream = session_.handles().add(be::HandleKind::kStream, &dummy);
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kStream, stream, &p));
  wire::Writer stale;
  stale.put<uint64_t>(handle);
  stale.put<uint64_t>(stream);
  EXPECT_EQ(run(cb::handle_cublasSetStream_v2, stale), CUBLAS_STATUS_INVALID_VALUE);
}

}  // namespace
}  // namespace gvirtus::testing
