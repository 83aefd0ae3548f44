// curandGenerate* (api/curand.api): a device generator's output pointer travels as a value and
// the GPU writes it; a host generator (recorded at curandCreateGeneratorHost) runs on the worker
// into a buffer there, and the bytes come back into the application's memory. Wire form in
// src/common/curand_host.h.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "common/curand_host.h"
#include "curand_calls.h"
#include "frontend/curand/glue.h"

namespace gvirtus::curand {
namespace {

// Sends one generation call; `params` writes the call's own parameters.
template <typename T, typename Params>
curandStatus_t generate(uint32_t call, curandGenerator_t g, T* output, size_t num,
                        Params params) {
  try {
    const bool host = is_host_generator(g);
    if (host && num > curand_host::kMaxOutputBytes / sizeof(T))
      return CURAND_STATUS_ALLOCATION_FAILED;  // the documented bound (curand_host.h)
    client::Call c(call);
    wire::Writer& a = c.args();
    a.put<uint64_t>(reinterpret_cast<uintptr_t>(g));
    a.put<uint8_t>(host ? 1 : 0);
    a.put<uint64_t>(host ? 0 : reinterpret_cast<uintptr_t>(output));
    a.put<uint64_t>(num);
    params(a);
    if (!c.invoke()) return lost();
    const curandStatus_t s = finish(c);
    if (s != CURAND_STATUS_SUCCESS || !host) return s;
    wire::Reader& r = c.result();
    const uint8_t* bytes = r.get_bytes(num * sizeof(T));
    r.expect_end();
    // NULL output: cuRAND's host generator would fault in the application; here the numbers are
    // dropped (the worker generated into its own buffer).
    if (output != nullptr && num != 0) std::memcpy(output, bytes, num * sizeof(T));
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

void none(wire::Writer&) {}

}  // namespace
}  // namespace gvirtus::curand

using namespace gvirtus;
using curand::generate;

#define GV_GEN_API extern "C" GV_API curandStatus_t

GV_GEN_API curandGenerate(curandGenerator_t generator, unsigned int* outputPtr, size_t num) {
  return generate(curand::kCall_curandGenerate, generator, outputPtr, num, curand::none);
}

GV_GEN_API curandGenerateLongLong(curandGenerator_t generator, unsigned long long* outputPtr,
                                  size_t num) {
  return generate(curand::kCall_curandGenerateLongLong, generator, outputPtr, num, curand::none);
}

GV_GEN_API curandGenerateUniform(curandGenerator_t generator, float* outputPtr, size_t num) {
  return generate(curand::kCall_curandGenerateUniform, generator, outputPtr, num, curand::none);
}

GV_GEN_API curandGenerateUniformDouble(curandGenerator_t generator, double* outputPtr,
                                       size_t num) {
  return generate(curand::kCall_curandGenerateUniformDouble, generator, outputPtr, num,
                  curand::none);
}

GV_GEN_API curandGenerateNormal(curandGenerator_t generator, float* outputPtr, size_t n,
                                float mean, float stddev) {
  return generate(curand::kCall_curandGenerateNormal, generator, outputPtr, n,
                  [&](wire::Writer& w) { w.put<float>(mean); w.put<float>(stddev); });
}

GV_GEN_API curandGenerateNormalDouble(curandGenerator_t generator, double* outputPtr, size_t n,
                                      double mean, double stddev) {
  return generate(curand::kCall_curandGenerateNormalDouble, generator, outputPtr, n,
                  [&](wire::Writer& w) { w.put<double>(mean); w.put<double>(stddev); });
}

GV_GEN_API curandGenerateLogNormal(curandGenerator_t generator, float* outputPtr, size_t n,
                                   float mean, float stddev) {
  return generate(curand::kCall_curandGenerateLogNormal, generator, outputPtr, n,
                  [&](wire::Writer& w) { w.put<float>(mean); w.put<float>(stddev); });
}

GV_GEN_API curandGenerateLogNormalDouble(curandGenerator_t generator, double* outputPtr,
                                         size_t n, double mean, double stddev) {
  return generate(curand::kCall_curandGenerateLogNormalDouble, generator, outputPtr, n,
                  [&](wire::Writer& w) { w.put<double>(mean); w.put<double>(stddev); });
}

GV_GEN_API curandGeneratePoisson(curandGenerator_t generator, unsigned int* outputPtr, size_t n,
                                 double lambda) {
  return generate(curand::kCall_curandGeneratePoisson, generator, outputPtr, n,
                  [&](wire::Writer& w) { w.put<double>(lambda); });
}

GV_GEN_API curandGeneratePoissonMethod(curandGenerator_t generator, unsigned int* outputPtr,
                                       size_t n, double lambda, curandMethod_t method) {
  return generate(curand::kCall_curandGeneratePoissonMethod, generator, outputPtr, n,
                  [&](wire::Writer& w) {
                    w.put<double>(lambda);
                    w.put<int32_t>(static_cast<int32_t>(method));
                  });
}
