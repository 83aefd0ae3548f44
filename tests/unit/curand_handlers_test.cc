// The cuRAND plugin's handlers (generated from api/curand.api and src/backend/curand): requests
// an honest client never sends end the session before cuRAND is called; honest ones reach
// cuRAND, which answers as natively (on this machine, without a GPU).
#include <curand.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "backend/curand/support.h"
#include "backend/worker.h"
#include "common/curand_host.h"
#include "common/wire.h"
#include "handler_test.h"

namespace gvirtus::backend::curand {
void handle_curandGetVersion(CallContext&);
void handle_curandSetPseudoRandomGeneratorSeed(CallContext&);
void handle_curandCreateGeneratorHost(CallContext&);
void handle_curandDestroyGenerator(CallContext&);
void handle_curandGenerate(CallContext&);
void handle_curandGenerateNormal(CallContext&);
void handle_curandGenerateUniformDouble(CallContext&);
void handle_curandCreatePoissonDistribution(CallContext&);
void handle_curandDestroyDistribution(CallContext&);
}  // namespace gvirtus::backend::curand

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::backend::curand;

class CurandHandlers : public HandlerTest {
 protected:
  // curandGenerate(generator, host flag, output, num).
  static wire::Writer generate(uint64_t id, uint8_t host, uint64_t output, uint64_t num) {
    wire::Writer w;
    w.put<uint64_t>(id);
    w.put<uint8_t>(host);
    w.put<uint64_t>(output);
    w.put<uint64_t>(num);
    return w;
  }
};

TEST_F(CurandHandlers, VersionIsTheBackends) {
  wire::Writer w;
  w.put<uint8_t>(1);
  std::vector<uint8_t> out;
  ASSERT_EQ(run(cr::handle_curandGetVersion, w, &out), CURAND_STATUS_SUCCESS);
  int native = 0;
  ASSERT_EQ(curandGetVersion(&native), CURAND_STATUS_SUCCESS);
  ASSERT_EQ(out.size(), sizeof(int));
  int v = 0;
  std::memcpy(&v, out.data(), sizeof v);
  EXPECT_EQ(v, native);
}

TEST_F(CurandHandlers, ForgedOrWrongKindGeneratorEndsTheSession) {
  wire::Writer seed;
  seed.put<uint64_t>(0x4000000000000123ull);  // kind kCurandGenerator, never issued
  seed.put<unsigned long long>(1);
  EXPECT_FAULT(run(cr::handle_curandSetPseudoRandomGeneratorSeed, seed),
               "forged cuRAND generator handle 0x4000000000000123");
  wire::Writer stream;  // a live stream id is no generator
  stream.put<uint64_t>(live(be::HandleKind::kStream));
  stream.put<unsigned long long>(1);
  EXPECT_FAULT(run(cr::handle_curandSetPseudoRandomGeneratorSeed, stream),
               "forged cuRAND generator handle 0x100000000000001");
  EXPECT_FAULT(run(cr::handle_curandGenerate, generate(0x4100000000000999ull, 1, 0, 4)),
               "forged cuRAND generator handle 0x4100000000000999");
  wire::Writer destroy;
  destroy.put<uint64_t>(live(be::HandleKind::kCublasHandle));
  EXPECT_FAULT(run(cr::handle_curandDestroyGenerator, destroy),
               "forged cuRAND generator handle 0x2000000000000002");
}

TEST_F(CurandHandlers, StaleGeneratorAnswersNotInitialized) {
  for (be::HandleKind kind : {be::HandleKind::kCurandGenerator,
                              be::HandleKind::kCurandHostGenerator}) {
    const uint64_t id = stale(kind);
    wire::Writer seed;
    seed.put<uint64_t>(id);
    seed.put<unsigned long long>(1);
    EXPECT_EQ(run(cr::handle_curandSetPseudoRandomGeneratorSeed, seed),
              CURAND_STATUS_NOT_INITIALIZED);
    const uint8_t host = kind == be::HandleKind::kCurandHostGenerator ? 1 : 0;
    std::vector<uint8_t> out;
    EXPECT_EQ(run(cr::handle_curandGenerate, generate(id, host, host ? 0 : 0x1000, 4), &out),
              CURAND_STATUS_NOT_INITIALIZED);
    EXPECT_TRUE(out.empty());
    wire::Writer destroy;
    destroy.put<uint64_t>(id);
    EXPECT_EQ(run(cr::handle_curandDestroyGenerator, destroy), CURAND_STATUS_NOT_INITIALIZED);
  }
}

TEST_F(CurandHandlers, HostFlagMustAgreeWithTheGeneratorsKind) {
  // A device generator's id with the host flag, and a host generator's id without it (its
  // "output" would be a pointer into the worker's memory).
  EXPECT_FAULT(
      run(cr::handle_curandGenerate, generate(live(be::HandleKind::kCurandGenerator), 1, 0, 4)),
      "curandGenerate*: host flag disagrees with the generator");
  EXPECT_FAULT(run(cr::handle_curandGenerate,
                   generate(live(be::HandleKind::kCurandHostGenerator), 0, 0x1000, 4)),
               "curandGenerate*: host flag disagrees with the generator");
  // A host request that names an output pointer anyway.
  EXPECT_FAULT(run(cr::handle_curandGenerate,
                   generate(live(be::HandleKind::kCurandHostGenerator), 1, 0x1000, 4)),
               "names an output pointer");
  EXPECT_FAULT(run(cr::handle_curandGenerate, generate(0, 2, 0, 4)),
               "curandGenerate*: bad host flag");
}

TEST_F(CurandHandlers, HostOutputIsBounded) {
  const uint64_t host = live(be::HandleKind::kCurandHostGenerator);
  const uint64_t words = curand_host::kMaxOutputBytes / sizeof(unsigned int);
  EXPECT_FAULT(run(cr::handle_curandGenerate, generate(host, 1, 0, words + 1)),
               "host output of " + std::to_string(words + 1) + " elements");
  EXPECT_FAULT(run(cr::handle_curandGenerate, generate(host, 1, 0, ~0ull)),
               "host output of 18446744073709551615 elements");
  wire::Writer dbl = generate(host, 1, 0, curand_host::kMaxOutputBytes / sizeof(double) + 1);
  EXPECT_FAULT(run(cr::handle_curandGenerateUniformDouble, dbl),
               "host output of " +
                   std::to_string(curand_host::kMaxOutputBytes / sizeof(double) + 1) + " elements");
}

TEST_F(CurandHandlers, ParametersMustBeComplete) {
  // curandGenerateNormal without its mean and stddev, and with a byte too many.
  EXPECT_FAULT(run(cr::handle_curandGenerateNormal, generate(0, 0, 0x1000, 4)),
               "payload too short: wanted 4 bytes, 0 left");
  wire::Writer extra = generate(0, 0, 0x1000, 4);
  extra.put<float>(0);
  extra.put<float>(1);
  extra.put<uint8_t>(0);
  EXPECT_FAULT(run(cr::handle_curandGenerateNormal, extra),
               "1 unexpected bytes at the end of the payload");
}

TEST_F(CurandHandlers, HonestRequestsReachCurand) {
  // A NULL generator: cuRAND itself answers, and nothing comes back.
  std::vector<uint8_t> out;
  EXPECT_NE(run(cr::handle_curandGenerate, generate(0, 0, 0x1000, 4), &out),
            CURAND_STATUS_SUCCESS);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(run(cr::handle_curandGenerate, generate(0, 1, 0, 4), &out), CURAND_STATUS_SUCCESS);
  EXPECT_TRUE(out.empty());
  wire::Writer destroy;
  destroy.put<uint64_t>(0);
  EXPECT_EQ(run(cr::handle_curandDestroyGenerator, destroy), CURAND_STATUS_NOT_INITIALIZED);
}

TEST_F(CurandHandlers, HostGeneratorsAreTheirOwnKind) {
  wire::Writer create;
  create.put<uint8_t>(1);
  create.put<int32_t>(CURAND_RNG_PSEUDO_XORWOW);
  std::vector<uint8_t> out;
  const int32_t s = run(cr::handle_curandCreateGeneratorHost, create, &out);
  if (s != CURAND_STATUS_SUCCESS) {  // cuRAND may want a GPU even for host generators
    EXPECT_TRUE(out.empty());
    return;
  }
  ASSERT_EQ(out.size(), sizeof(uint64_t));
  uint64_t id = 0;
  std::memcpy(&id, out.data(), sizeof id);
  EXPECT_EQ(be::handle_kind_of(id), be::HandleKind::kCurandHostGenerator);
  std::vector<uint8_t> numbers;
  ASSERT_EQ(run(cr::handle_curandGenerate, generate(id, 1, 0, 16), &numbers),
            CURAND_STATUS_SUCCESS);
  EXPECT_EQ(numbers.size(), 16 * sizeof(unsigned int));
  wire::Writer destroy;
  destroy.put<uint64_t>(id);
  EXPECT_EQ(run(cr::handle_curandDestroyGenerator, destroy), CURAND_STATUS_SUCCESS);
  EXPECT_EQ(run(cr::handle_curandDestroyGenerator, destroy), CURAND_STATUS_NOT_INITIALIZED);
}

TEST_F(CurandHandlers, OnlyDistributionsTheWorkerMadeReachCurand) {
  wire::Writer destroy;
  destroy.put<uint64_t>(0xdeadbeef000ull);  // a forged device pointer: cuRAND never sees it
  EXPECT_EQ(run(cr::handle_curandDestroyDistribution, destroy), CURAND_STATUS_NOT_INITIALIZED);
  wire::Writer bad;
  bad.put<double>(4.0);
  bad.put<uint8_t>(2);
  EXPECT_FAULT(run(cr::handle_curandCreatePoissonDistribution, bad),
               "curandCreatePoissonDistribution: bad presence flag");
}

}  // namespace
}  // namespace gvirtus::testing
