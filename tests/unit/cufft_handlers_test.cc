// The cuFFT plugin's handlers (all generated from api/cufft.api): requests an honest client never
// sends (a rank whose arrays exceed the bound, arrays shorter or longer than rank, forged
// streams) end the session before cuFFT is called; honest ones reach cuFFT, which answers as
// natively (here without a GPU). Plans (cufftHandle, an int) travel as plain values: cuFFT
// itself answers CUFFT_INVALID_PLAN for a number it does not know.
#include <cufft.h>
#include <cufftXt.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/cufft/support.h"
#include "backend/worker.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::cufft {
void handle_cufftGetVersion(CallContext&);
void handle_cufftDestroy(CallContext&);
void handle_cufftPlanMany(CallContext&);
void handle_cufftXtMakePlanMany(CallContext&);
void handle_cufftSetStream(CallContext&);
void handle_cufftExecC2C(CallContext&);
}  // namespace gvirtus::backend::cufft

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cf = gvirtus::backend::cufft;

// A plan number no cuFFT of this process handed out.
constexpr cufftHandle kUnknownPlan = 4242;

class CufftHandlers : public HandlerTest {
 protected:
  // cufftPlanMany(plan, rank, n, inembed, 1, 0, onembed, 1, 0, C2C, batch 1): `sent` ints for n
  // (none when `sent` < 0: n NULL), inembed and onembed NULL.
  static wire::Writer plan_many(int32_t rank, int sent) {
    wire::Writer w;
    w.put<uint8_t>(1);  // plan: out
    w.put<int32_t>(rank);
    w.put<int32_t>(1);  // istride
    w.put<int32_t>(0);  // idist
    w.put<int32_t>(1);  // ostride
    w.put<int32_t>(0);  // odist
    w.put<int32_t>(CUFFT_C2C);
    w.put<int32_t>(1);  // batch
    w.put<uint8_t>(sent >= 0 ? 1 : 0);
    for (int i = 0; i < sent; ++i) w.put<int32_t>(8);
    w.put<uint8_t>(0);  // inembed
    w.put<uint8_t>(0);  // onembed
    return w;
  }
  // cufftXtMakePlanMany(plan, rank, n[sent], inembed[in_sent], ... C32F, batch 1, workSize).
  static wire::Writer xt_make_plan(int32_t rank, int sent, int in_sent) {
    wire::Writer w;
    w.put<int32_t>(kUnknownPlan);
    w.put<int32_t>(rank);
    w.put<int64_t>(1);  // istride
    w.put<int64_t>(0);  // idist
    w.put<int32_t>(CUDA_C_32F);
    w.put<int64_t>(1);  // ostride
    w.put<int64_t>(0);  // odist
    w.put<int32_t>(CUDA_C_32F);
    w.put<int64_t>(1);  // batch
    w.put<int32_t>(CUDA_C_32F);
    w.put<uint8_t>(1);
    for (int i = 0; i < sent; ++i) w.put<int64_t>(8);
    w.put<uint8_t>(in_sent >= 0 ? 1 : 0);
    for (int i = 0; i < in_sent; ++i) w.put<int64_t>(8);
    w.put<uint8_t>(0);  // onembed
    w.put<uint8_t>(1);  // workSize
    return w;
  }
};

TEST_F(CufftHandlers, VersionAsNatively) {
  int native = 0;
  ASSERT_EQ(cufftGetVersion(&native), CUFFT_SUCCESS);
  wire::Writer w;
  w.put<uint8_t>(1);
  std::vector<uint8_t> out;
  ASSERT_EQ(run(cf::handle_cufftGetVersion, w, &out), CUFFT_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(int));
  int got = 0;
  std::memcpy(&got, out.data(), sizeof got);
  EXPECT_EQ(got, native);
}

TEST_F(CufftHandlers, UnknownPlanIsCuFFTsToAnswer) {
  // a plan number is a plain value: no handle table, cuFFT answers as natively
  wire::Writer d;
  d.put<int32_t>(kUnknownPlan);
  EXPECT_EQ(run(cf::handle_cufftDestroy, d), cufftDestroy(kUnknownPlan));
  wire::Writer x;
  x.put<int32_t>(kUnknownPlan);
  x.put<uint64_t>(0);  // idata
  x.put<uint64_t>(0);  // odata
  x.put<int32_t>(CUFFT_FORWARD);
  EXPECT_EQ(run(cf::handle_cufftExecC2C, x),
            cufftExecC2C(kUnknownPlan, nullptr, nullptr, CUFFT_FORWARD));
}

TEST_F(CufftHandlers, RankOverTheBoundEndsTheSession) {
  // 1 MiB of ints is 262144: a rank beyond it is never sent by the client (it answers
  // CUFFT_INVALID_VALUE itself), nor a negative one with an array
  EXPECT_FAULT(run(cf::handle_cufftPlanMany, plan_many(262145, 0)),
               "cufftPlanMany: n: buffer length 262145 out of bounds");
  EXPECT_FAULT(run(cf::handle_cufftPlanMany, plan_many(-1, 0)),
               "cufftPlanMany: n: buffer length -1 out of bounds");
  EXPECT_FAULT(run(cf::handle_cufftXtMakePlanMany, xt_make_plan(131073, 0, -1)),
               "cufftXtMakePlanMany: n: buffer length 131073 out of bounds");
}

TEST_F(CufftHandlers, ArrayLengthThatDisagreesWithRankEndsTheSession) {
  // the server sizes each array from rank, never from the client: too short does not decode,
  // too long leaves bytes over
  EXPECT_FAULT(run(cf::handle_cufftPlanMany, plan_many(3, 2)),
               "payload too short: wanted 12 bytes, 10 left");
  EXPECT_FAULT(run(cf::handle_cufftPlanMany, plan_many(1, 3)), "presence flag is neither 0 nor 1");
  EXPECT_FAULT(run(cf::handle_cufftXtMakePlanMany, xt_make_plan(2, 2, 1)),
               "payload too short: wanted 16 bytes, 10 left");
  EXPECT_FAULT(run(cf::handle_cufftXtMakePlanMany, xt_make_plan(1, 1, 2)),
               "presence flag is neither 0 nor 1");
}

TEST_F(CufftHandlers, HonestRankReachesCuFFT) {
  // rank 4 is valid on the wire; cuFFT refuses it as natively
  int n[4] = {8, 8, 8, 8};
  cufftHandle p = 0;
  std::vector<uint8_t> out;
  const int32_t s = run(cf::handle_cufftPlanMany, plan_many(4, 4), &out);
  EXPECT_EQ(s, cufftPlanMany(&p, 4, n, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 1));
  EXPECT_NE(s, CUFFT_SUCCESS);
  EXPECT_TRUE(out.empty());
  // NULL n reaches cuFFT as NULL
  EXPECT_EQ(run(cf::handle_cufftPlanMany, plan_many(1, -1)),
            cufftPlanMany(&p, 1, nullptr, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2C, 1));
}

TEST_F(CufftHandlers, StreamsAreCheckedHandles) {
  // cufftSetStream(plan, stream): a forged stream ends the session, a stale one answers
  // CUFFT_INVALID_VALUE (the annotation's invalid status for streams), before cuFFT sees it
  wire::Writer forged;
  forged.put<int32_t>(kUnknownPlan);
  forged.put<uint64_t>(0x0100000000000777ull);  // kind kStream, never issued
  EXPECT_FAULT(run(cf::handle_cufftSetStream, forged), "forged stream handle 0x100000000000777");
  int dummy = 0;
  wire::Writer other;  // a live id of another kind is no stream
  other.put<int32_t>(kUnknownPlan);
  other.put<uint64_t>(session_.handles().add(be::HandleKind::kCublasHandle, &dummy));
  EXPECT_FAULT(run(cf::handle_cufftSetStream, other), "forged stream handle 0x2000000000000001");
  uint64_t stream = session_.handles().add(be::HandleKind::kStream, &dummy);
  void* p = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kStream, stream, &p));
  wire::Writer stale;
  stale.put<int32_t>(kUnknownPlan);
  stale.put<uint64_t>(stream);
  EXPECT_EQ(run(cf::handle_cufftSetStream, stale), CUFFT_INVALID_VALUE);
  // the default stream (id 0) reaches cuFFT, which judges the plan number
  wire::Writer dflt;
  dflt.put<int32_t>(kUnknownPlan);
  dflt.put<uint64_t>(0);
  EXPECT_EQ(run(cf::handle_cufftSetStream, dflt), cufftSetStream(kUnknownPlan, nullptr));
}

}  // namespace
}  // namespace gvirtus::testing
