// Test helper: a fake worker's staging buffers, for the unit tests of the client's staged copies
// (async_copy_test.cc, graph_host_test.cc). gvStagingAlloc / Free / Write / Read act on byte
// vectors; each test file's fake worker derives from FakeStaging (its other handlers use the
// same lock, buffers and call log) and points fake_staging() at itself for the test.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "backend/worker.h"
#include "common/wire.h"

namespace gvirtus::testing {

struct FakeStaging {
  std::mutex mu;
  std::map<uint64_t, std::vector<uint8_t>> staging;
  std::vector<uint64_t> freed;
  uint64_t next = 1;
  bool busy = false;  // the copies into staging buffers still run: a read that does not wait
                      // (mode 0) answers cudaErrorNotReady
  std::vector<std::pair<uint32_t, uint8_t>> calls;  // call id, and the handler's note: a read's
                                                    // mode, whether a write was NoReply

  void note(const backend::CallContext& ctx, uint8_t extra = 0) {
    calls.push_back({ctx.header.call_id, extra});
  }
  std::vector<uint8_t>& buffer(uint64_t id) {
    auto it = staging.find(id);
    if (it == staging.end()) throw backend::SessionFault("unknown staging");
    return it->second;
  }
};

inline FakeStaging*& fake_staging() {
  static FakeStaging* current = nullptr;
  return current;
}

inline void staging_alloc(backend::CallContext& ctx) {
  FakeStaging& w = *fake_staging();
  std::lock_guard<std::mutex> g(w.mu);
  w.note(ctx);
  uint64_t n = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  w.staging[w.next].assign(n, 0);
  ctx.out.put<uint64_t>(w.next++);
}

inline void staging_free(backend::CallContext& ctx) {
  FakeStaging& w = *fake_staging();
  std::lock_guard<std::mutex> g(w.mu);
  w.note(ctx);
  uint64_t id = ctx.in.get<uint64_t>();
  w.buffer(id);
  w.staging.erase(id);
  w.freed.push_back(id);
}

inline void staging_write(backend::CallContext& ctx) {
  FakeStaging& w = *fake_staging();
  std::lock_guard<std::mutex> g(w.mu);
  w.note(ctx, static_cast<uint8_t>(ctx.header.flags & wire::kFlagNoReply ? 1 : 0));
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t off = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.remaining();
  auto& b = w.buffer(id);
  std::memcpy(b.data() + off, ctx.in.get_bytes(n), n);
}

inline void staging_read(backend::CallContext& ctx) {
  FakeStaging& w = *fake_staging();
  std::lock_guard<std::mutex> g(w.mu);
  uint64_t id = ctx.in.get<uint64_t>();
  uint64_t off = ctx.in.get<uint64_t>();
  uint64_t n = ctx.in.get<uint64_t>();
  uint8_t mode = ctx.in.get<uint8_t>();
  w.note(ctx, mode);
  if (mode == 0 && w.busy) {
    ctx.status = cudaErrorNotReady;
    return;
  }
  ctx.out.put_bytes(w.buffer(id).data() + off, n);
}

}  // namespace gvirtus::testing
