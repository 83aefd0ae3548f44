// The non-blocking streams of this process, for laned launches (lanes.h).
#include "frontend/core/lanes.h"

#include <atomic>

#include "common/wire.h"
#include "frontend/core/answers.h"
#include "frontend/core/client.h"

namespace gvirtus::client {

namespace {

// An open-addressed set of stream ids that a launch can look up without a lock (one probe in
// the usual case). Removal leaves a tombstone that a later insertion reuses. When the table is
// full a new stream is simply not recorded: its launches stay global, which is always correct.
constexpr size_t kSlots = 4096;  // a power of two
constexpr uint64_t kEmpty = 0;
constexpr uint64_t kGone = ~uint64_t{0};

std::atomic<uint64_t>* table() {
  static auto* t = new std::atomic<uint64_t>[kSlots]();
  return t;
}

size_t home(uint64_t id) { return static_cast<size_t>((id * 0x9e3779b97f4a7c15ull) >> 52); }

// The special stream handles (the legacy and per-thread default streams: 0, 1, 2) are never
// recorded; a create never returns them.
bool ordinary(uint64_t id) { return id > 2 && id != kGone; }

}  // namespace

static_assert((kSlots & (kSlots - 1)) == 0 && kSlots == size_t{1} << 12,
              "home() yields 12 bits");

void note_lane_stream(uint64_t stream, unsigned flags) {
  if (!ordinary(stream)) return;
  // A handle is recorded at most once: a create that reuses the id of a destroyed stream
  // (whose destroy removed it) records it afresh, with its own flags.
  forget_lane_stream(stream);
  if (!(flags & 1u)) return;  // cudaStreamNonBlocking == CU_STREAM_NON_BLOCKING == 1
  std::atomic<uint64_t>* t = table();
  for (size_t i = 0, at = home(stream); i < kSlots; ++i, at = (at + 1) & (kSlots - 1)) {
    uint64_t v = t[at].load(std::memory_order_acquire);
    while (v == kEmpty || v == kGone) {
      if (t[at].compare_exchange_weak(v, stream, std::memory_order_acq_rel)) return;
    }
  }
}

void forget_lane_stream(uint64_t stream) {
  if (!ordinary(stream)) return;
  std::atomic<uint64_t>* t = table();
  for (size_t i = 0, at = home(stream); i < kSlots; ++i, at = (at + 1) & (kSlots - 1)) {
    uint64_t v = t[at].load(std::memory_order_acquire);
    if (v == kEmpty) return;
    if (v == stream) t[at].compare_exchange_strong(v, kGone, std::memory_order_acq_rel);
  }
}

uint64_t launch_lane(uint64_t stream) {
  if (!ordinary(stream) || capture_may_be_active()) return 0;
  const std::atomic<uint64_t>* t = table();
  for (size_t i = 0, at = home(stream); i < kSlots; ++i, at = (at + 1) & (kSlots - 1)) {
    const uint64_t v = t[at].load(std::memory_order_acquire);
    if (v == stream) return stream;
    if (v == kEmpty) return 0;
  }
  return 0;
}

uint64_t sync_lane(uint64_t stream) {
  if (server_minor() < wire::kLanedSyncMinor) return 0;
  return launch_lane(stream);
}

}  // namespace gvirtus::client
