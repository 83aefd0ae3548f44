// Double-buffered staging for synchronous host-to-device copies; see copy_overlap.h.
#include "backend/cudart/copy_overlap.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend/dispatch.h"

namespace gvirtus::backend::cudart {

namespace {

// One connection's buffer in flight: the bytes of the chunk before, and the events recorded
// behind the last two chunks' copies (used in turn).
struct InFlight {
  HostBuffer buf;
  cudaEvent_t ev[2] = {nullptr, nullptr};
  int device = -1;  // the events' device
  int next = 0;     // the event the next chunk records
};

struct OverlapState {
  std::mutex mu;
  bool hooked = false;
  std::unordered_map<uint64_t, std::shared_ptr<InFlight>> conns;  // by connection id
  // The worker exits with the session: no CUDA calls then (the process's end frees it all).
  ~OverlapState() {
    for (auto& [id, f] : conns) f->ev[0] = f->ev[1] = nullptr;
  }
};

void drop_events(InFlight& f) {
  for (cudaEvent_t& e : f.ev) {
    if (!e) continue;
    cudaEventSynchronize(e);
    cudaEventDestroy(e);
    e = nullptr;
  }
  f.device = -1;
}

std::shared_ptr<InFlight> in_flight(CallContext& ctx) {
  OverlapState& st = ctx.session.state<OverlapState>();
  std::lock_guard<std::mutex> g(st.mu);
  if (!st.hooked) {
    st.hooked = true;
    // A closed connection's buffer goes once its last copy is over (one chunk's DMA at most).
    ctx.session.on_conn_closed([&st](uint64_t conn) {
      std::shared_ptr<InFlight> f;
      {
        std::lock_guard<std::mutex> l(st.mu);
        auto it = st.conns.find(conn);
        if (it == st.conns.end()) return;
        f = std::move(it->second);
        st.conns.erase(it);
      }
      drop_events(*f);
    });
  }
  auto& slot = st.conns[ctx.conn.id()];
  if (!slot) slot = std::make_shared<InFlight>();
  return slot;
}

}  // namespace

bool overlap_chunk(CallContext& ctx, cudaStream_t legacy, cudaError_t* status) {
  // GVIRTUS_COPY_OVERLAP=0 in the backend's environment: every chunk waits, as before.
  static const bool off = [] {
    const char* v = std::getenv("GVIRTUS_COPY_OVERLAP");
    return v != nullptr && std::strcmp(v, "0") == 0;
  }();
  if (off || !ctx.conn.payload_pinned()) return false;
  std::shared_ptr<InFlight> f = in_flight(ctx);
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return false;
  if (f->device != dev) {  // made on first use, again if the current device changed
    drop_events(*f);
    for (cudaEvent_t& e : f->ev)
      if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) {
        drop_events(*f);
        return false;
      }
    f->device = dev;
  }
  const int k = f->next;
  HostBuffer cur = ctx.conn.take_staging();
  if (!cur) return false;
  cudaError_t e = cudaEventRecord(f->ev[k], legacy);
  if (e == cudaSuccess && f->buf) {
    // The buffer of the chunk before takes the next payload once its DMA is over (it has
    // usually been over for a while: this chunk's bytes took longer to arrive).
    release_order(ctx);
    e = cudaEventSynchronize(f->ev[1 - k]);
  }
  if (e != cudaSuccess) {
    // Keep nothing in flight: the stream decides the answer, as without the overlap.
    release_order(ctx);
    *status = cudaStreamSynchronize(legacy);
    if (*status == cudaSuccess) *status = e;
    ctx.conn.return_staging(std::move(cur));
    return true;
  }
  ctx.conn.return_staging(std::move(f->buf));
  f->buf = std::move(cur);
  f->next = 1 - k;
  *status = cudaSuccess;
  return true;
}

}  // namespace gvirtus::backend::cudart
