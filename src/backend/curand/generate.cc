// curandGenerate* handlers (wire form in src/common/curand_host.h). The generator's handle kind
// decides where the output goes, not the client: a device generator writes the device pointer
// the client sent; a host generator writes a buffer of this worker, whose bytes are the reply.
// A request whose host flag disagrees with the generator's kind, or that asks a host generator
// for more than kMaxOutputBytes, is one no honest client sends: it ends the session.
#include <cstdint>
#include <string>
#include <vector>

#include "backend/curand/support.h"
#include "common/curand_host.h"
#include "curand_handles.h"

namespace gvirtus::backend::curand {
namespace {

struct Request {
  uint64_t id;
  bool host;
  uint64_t output;
  uint64_t num;
};

Request read_request(CallContext& ctx) {
  Request r{};
  r.id = ctx.in.get<uint64_t>();
  const uint8_t host = ctx.in.get<uint8_t>();
  if (host > 1) throw SessionFault("curandGenerate*: bad host flag");
  r.host = host == 1;
  r.output = ctx.in.get<uint64_t>();
  r.num = ctx.in.get<uint64_t>();
  return r;
}

// After the call's own parameters were read: checks, translates and runs fn(g, T* out, num).
template <typename T, typename Fn>
void generate(CallContext& ctx, const Request& r, Fn fn) {
  ctx.in.expect_end();
  if (r.id != 0 &&
      (handle_kind_of(r.id) == HandleKind::kCurandHostGenerator) != r.host)
    throw SessionFault("curandGenerate*: host flag disagrees with the generator");
  // Two checks, two messages: a test of one must not pass on the other.
  if (r.host && r.output != 0)
    throw SessionFault("curandGenerate*: a host generator's request names an output pointer");
  if (r.host && r.num > curand_host::kMaxOutputBytes / sizeof(T))
    throw SessionFault("curandGenerate*: host output of " + std::to_string(r.num) +
                       " elements is over the bound");
  curandGenerator_t g = nullptr;
  if (!generator_in(ctx, r.id, &g)) return;
  if (!r.host) {
    ctx.status = static_cast<int32_t>(
        fn(g, reinterpret_cast<T*>(static_cast<uintptr_t>(r.output)), static_cast<size_t>(r.num)));
    return;
  }
  std::vector<T> buf(static_cast<size_t>(r.num));
  const curandStatus_t s = fn(g, buf.data(), buf.size());
  ctx.status = static_cast<int32_t>(s);
  if (s == CURAND_STATUS_SUCCESS) ctx.out.put_bytes(buf.data(), buf.size() * sizeof(T));
}

}  // namespace

void handle_curandGenerate(CallContext& ctx) {
  const Request r = read_request(ctx);
  generate<unsigned int>(ctx, r, [](curandGenerator_t g, unsigned int* o, size_t n) {
    return curandGenerate(g, o, n);
  });
}

void handle_curandGenerateLongLong(CallContext& ctx) {
  const Request r = read_request(ctx);
  generate<unsigned long long>(ctx, r,
                               [](curandGenerator_t g, unsigned long long* o, size_t n) {
                                 return curandGenerateLongLong(g, o, n);
                               });
}

void handle_curandGenerateUniform(CallContext& ctx) {
  const Request r = read_request(ctx);
  generate<float>(ctx, r, [](curandGenerator_t g, float* o, size_t n) {
    return curandGenerateUniform(g, o, n);
  });
}

void handle_curandGenerateUniformDouble(CallContext& ctx) {
  const Request r = read_request(ctx);
  generate<double>(ctx, r, [](curandGenerator_t g, double* o, size_t n) {
    return curandGenerateUniformDouble(g, o, n);
  });
}

void handle_curandGenerateNormal(CallContext& ctx) {
  const Request r = read_request(ctx);
  const float mean = ctx.in.get<float>();
  const float stddev = ctx.in.get<float>();
  generate<float>(ctx, r, [&](curandGenerator_t g, float* o, size_t n) {
    return curandGenerateNormal(g, o, n, mean, stddev);
  });
}

void handle_curandGenerateNormalDouble(CallContext& ctx) {
  const Request r = read_request(ctx);
  const double mean = ctx.in.get<double>();
  const double stddev = ctx.in.get<double>();
  generate<double>(ctx, r, [&](curandGenerator_t g, double* o, size_t n) {
    return curandGenerateNormalDouble(g, o, n, mean, stddev);
  });
}

void handle_curandGenerateLogNormal(CallContext& ctx) {
  const Request r = read_request(ctx);
  const float mean = ctx.in.get<float>();
  const float stddev = ctx.in.get<float>();
  generate<float>(ctx, r, [&](curandGenerator_t g, float* o, size_t n) {
    return curandGenerateLogNormal(g, o, n, mean, stddev);
  });
}

void handle_curandGenerateLogNormalDouble(CallContext& ctx) {
  const Request r = read_request(ctx);
  const double mean = ctx.in.get<double>();
  const double stddev = ctx.in.get<double>();
  generate<double>(ctx, r, [&](curandGenerator_t g, double* o, size_t n) {
    return curandGenerateLogNormalDouble(g, o, n, mean, stddev);
  });
}

void handle_curandGeneratePoisson(CallContext& ctx) {
  const Request r = read_request(ctx);
  const double lambda = ctx.in.get<double>();
  generate<unsigned int>(ctx, r, [&](curandGenerator_t g, unsigned int* o, size_t n) {
    return curandGeneratePoisson(g, o, n, lambda);
  });
}

void handle_curandGeneratePoissonMethod(CallContext& ctx) {
  const Request r = read_request(ctx);
  const double lambda = ctx.in.get<double>();
  const int32_t method = ctx.in.get<int32_t>();
  generate<unsigned int>(ctx, r, [&](curandGenerator_t g, unsigned int* o, size_t n) {
    return curandGeneratePoissonMethod(g, o, n, lambda, static_cast<curandMethod_t>(method));
  });
}

}  // namespace gvirtus::backend::curand
