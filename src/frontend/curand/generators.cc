// Hand-written cuRAND calls with client-side bookkeeping: host generators (recorded so that the
// generation calls bring their output back), generator destruction (either kind), and discrete
// distributions (device pointers, as values).
#include <cstdint>
#include <new>
#include <string>

#include "curand_calls.h"
#include "frontend/curand/glue.h"

namespace gvirtus::curand {
namespace {

// Runs a call whose reply, on success, is one u64 written to *out (when out is not NULL).
template <typename Args>
curandStatus_t u64_out_call(uint32_t call, uint64_t* out, Args args) {
  try {
    client::Call c(call);
    args(c.args());
    if (!c.invoke()) return lost();
    const curandStatus_t s = finish(c);
    if (s != CURAND_STATUS_SUCCESS || out == nullptr) return s;
    wire::Reader& r = c.result();
    *out = r.get<uint64_t>();
    r.expect_end();
    return s;
  } catch (const wire::DecodeError& e) {
    client::mark_session_lost(std::string(call_name(call)) + ": " + e.what());
    return lost();
  } catch (const std::bad_alloc&) {
    return CURAND_STATUS_ALLOCATION_FAILED;
  } catch (...) {
    return lost();
  }
}

}  // namespace
}  // namespace gvirtus::curand

using namespace gvirtus;

// curandCreateGeneratorHost(presence u8, rng_type i32) -> u64 id of kind kCurandHostGenerator.
extern "C" GV_API curandStatus_t curandCreateGeneratorHost(curandGenerator_t* generator,
                                                           curandRngType_t rng_type) {
  uint64_t id = 0;
  const curandStatus_t s = curand::u64_out_call(
      curand::kCall_curandCreateGeneratorHost, generator != nullptr ? &id : nullptr,
      [&](wire::Writer& w) {
        w.put<uint8_t>(generator != nullptr ? 1 : 0);
        w.put<int32_t>(static_cast<int32_t>(rng_type));
      });
  if (s == CURAND_STATUS_SUCCESS && generator != nullptr) {
    *generator = reinterpret_cast<curandGenerator_t>(static_cast<uintptr_t>(id));
    curand::note_host_generator(*generator, true);
  }
  return s;
}

// curandDestroyGenerator(id u64): either kind; the client forgets a host generator.
extern "C" GV_API curandStatus_t curandDestroyGenerator(curandGenerator_t generator) {
  const curandStatus_t s =
      curand::u64_out_call(curand::kCall_curandDestroyGenerator, nullptr, [&](wire::Writer& w) {
        w.put<uint64_t>(reinterpret_cast<uintptr_t>(generator));
      });
  if (s == CURAND_STATUS_SUCCESS) curand::note_host_generator(generator, false);
  return s;
}

// curandCreatePoissonDistribution(lambda f64, presence u8) -> u64 device pointer.
extern "C" GV_API curandStatus_t curandCreatePoissonDistribution(
    double lambda, curandDiscreteDistribution_t* discrete_distribution) {
  uint64_t value = 0;
  const curandStatus_t s = curand::u64_out_call(
      curand::kCall_curandCreatePoissonDistribution,
      discrete_distribution != nullptr ? &value : nullptr, [&](wire::Writer& w) {
        w.put<double>(lambda);
        w.put<uint8_t>(discrete_distribution != nullptr ? 1 : 0);
      });
  if (s == CURAND_STATUS_SUCCESS && discrete_distribution != nullptr)
    *discrete_distribution =
        reinterpret_cast<curandDiscreteDistribution_t>(static_cast<uintptr_t>(value));
  return s;
}

// curandDestroyDistribution(device pointer u64).
extern "C" GV_API curandStatus_t curandDestroyDistribution(
    curandDiscreteDistribution_t discrete_distribution) {
  return curand::u64_out_call(
      curand::kCall_curandDestroyDistribution, nullptr, [&](wire::Writer& w) {
        w.put<uint64_t>(reinterpret_cast<uintptr_t>(discrete_distribution));
      });
}
