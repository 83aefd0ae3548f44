// Hand-written cuRAND handlers: host generators (their own handle kind, so the generation calls
// know where the output goes), destruction of either kind, and discrete distributions (device
// pointers the worker remembers, so that only what cuRAND made here is handed back to it).
#include <mutex>
#include <unordered_set>

#include "backend/curand/support.h"
#include "backend/worker.h"
#include "curand_handles.h"

namespace gvirtus::backend::curand {
namespace {

// Distributions created in this session and not yet destroyed (Session::state).
struct Distributions {
  std::mutex mu;
  std::unordered_set<uint64_t> live;  // REQUIRES: mu
};

}  // namespace

// curandCreateGeneratorHost(presence u8, rng_type i32); reply u64 id (kCurandHostGenerator).
void handle_curandCreateGeneratorHost(CallContext& ctx) {
  const uint8_t present = ctx.in.get<uint8_t>();
  const int32_t type = ctx.in.get<int32_t>();
  ctx.in.expect_end();
  if (present > 1) throw SessionFault("curandCreateGeneratorHost: bad presence flag");
  curandGenerator_t g = nullptr;
  const curandStatus_t s =
      curandCreateGeneratorHost(present ? &g : nullptr, static_cast<curandRngType_t>(type));
  ctx.status = static_cast<int32_t>(s);
  if (s == CURAND_STATUS_SUCCESS && present)
    ctx.out.put<uint64_t>(handle_out(ctx, HandleKind::kCurandHostGenerator, g));
}

// curandDestroyGenerator(id u64): an id of either generator kind.
void handle_curandDestroyGenerator(CallContext& ctx) {
  const uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  const HandleKind kind = handle_kind_of(id) == HandleKind::kCurandHostGenerator
                              ? HandleKind::kCurandHostGenerator
                              : HandleKind::kCurandGenerator;
  curandGenerator_t g = nullptr;
  if (!handle_release_as(ctx, kind, id, &g, static_cast<int32_t>(CURAND_STATUS_NOT_INITIALIZED)))
    return;
  ctx.status = static_cast<int32_t>(curandDestroyGenerator(g));
}

// curandCreatePoissonDistribution(lambda f64, presence u8); reply u64, the device pointer.
void handle_curandCreatePoissonDistribution(CallContext& ctx) {
  const double lambda = ctx.in.get<double>();
  const uint8_t present = ctx.in.get<uint8_t>();
  ctx.in.expect_end();
  if (present > 1) throw SessionFault("curandCreatePoissonDistribution: bad presence flag");
  curandDiscreteDistribution_t d = nullptr;
  const curandStatus_t s = curandCreatePoissonDistribution(lambda, present ? &d : nullptr);
  ctx.status = static_cast<int32_t>(s);
  if (s != CURAND_STATUS_SUCCESS || !present) return;
  const auto value = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(d));
  {
    Distributions& all = ctx.session.state<Distributions>();
    std::lock_guard<std::mutex> lock(all.mu);
    all.live.insert(value);
  }
  ctx.out.put<uint64_t>(value);
}

// curandDestroyDistribution(device pointer u64): one this worker created, else
// CURAND_STATUS_NOT_INITIALIZED without calling cuRAND.
void handle_curandDestroyDistribution(CallContext& ctx) {
  const uint64_t value = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  {
    Distributions& all = ctx.session.state<Distributions>();
    std::lock_guard<std::mutex> lock(all.mu);
    if (all.live.erase(value) == 0) {
      ctx.status = static_cast<int32_t>(CURAND_STATUS_NOT_INITIALIZED);
      return;
    }
  }
  ctx.status = static_cast<int32_t>(curandDestroyDistribution(
      reinterpret_cast<curandDiscreteDistribution_t>(static_cast<uintptr_t>(value))));
}

}  // namespace gvirtus::backend::curand
