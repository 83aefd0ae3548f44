// libcudart's copies over shared host memory (docs/zero-copy.md) end to end in one process: the
// client core and copy engine talk over a real shm: stream pair to the backend's serve loop,
// whose handler table has fake-device versions of gvShmHostRegister / gvShmHostUnregister /
// gvMemcpyShared (they map the passed memfd as the worker does; a byte array stands for device
// memory). Checks the bytes that land, one request per page-locked copy, the wait flag of sync
// and async copies, the staged pipeline's pieces, 2D packing and error draining.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/shared_host_wire.h"
#include "cudart_calls.h"
#include "fake_backend.h"
#include "frontend/core/shared_host.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;
namespace sh = gvirtus::client::shared_host;

constexpr uint64_t kDevBase = 0x7d0000000000ull;

struct Copy {
  uint64_t region, offset, hpitch, dev, dpitch, width, rows, stream;
  uint32_t flags;
  uint16_t frame_flags;  // wire::kFlagNoReply or 0
};

struct Fake {
  std::mutex mu;
  std::vector<uint8_t> mem;  // the device
  std::map<uint64_t, std::pair<uint8_t*, size_t>> blocks;
  uint64_t next = 1;
  std::vector<Copy> copies;
  std::vector<uint64_t> unregistered;
  uint64_t fail_at_dev = UINT64_MAX;  // a copy whose device range reaches this offset fails
};
Fake* g_fake = nullptr;

void fake_register(be::CallContext& ctx) {
  uint64_t len = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  int fd = ctx.conn.take_passed_fd(1000);
  ASSERT_GE(fd, 0);
  struct stat st{};
  ASSERT_EQ(::fstat(fd, &st), 0);
  ASSERT_EQ(static_cast<uint64_t>(st.st_size), len);
  EXPECT_EQ(::fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(m, MAP_FAILED);
  std::lock_guard<std::mutex> g(g_fake->mu);
  uint64_t id = g_fake->next++;
  g_fake->blocks[id] = {static_cast<uint8_t*>(m), len};
  ctx.out.put<uint64_t>(id);
}

void fake_unregister(be::CallContext& ctx) {
  uint64_t id = ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_fake->mu);
  auto it = g_fake->blocks.find(id);
  if (it == g_fake->blocks.end()) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  ::munmap(it->second.first, it->second.second);
  g_fake->blocks.erase(it);
  g_fake->unregistered.push_back(id);
}

void fake_copy(be::CallContext& ctx) {
  Copy c;
  c.region = ctx.in.get<uint64_t>();
  c.offset = ctx.in.get<uint64_t>();
  c.hpitch = ctx.in.get<uint64_t>();
  c.dev = ctx.in.get<uint64_t>();
  c.dpitch = ctx.in.get<uint64_t>();
  c.width = ctx.in.get<uint64_t>();
  c.rows = ctx.in.get<uint64_t>();
  c.stream = ctx.in.get<uint64_t>();
  c.flags = ctx.in.get<uint32_t>();
  c.frame_flags = ctx.header.flags;
  ctx.in.expect_end();
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->copies.push_back(c);
  auto it = g_fake->blocks.find(c.region);
  if (it == g_fake->blocks.end()) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  const uint64_t hext = (c.rows - 1) * c.hpitch + c.width;
  const uint64_t dext = (c.rows - 1) * c.dpitch + c.width;
  const uint64_t doff = c.dev - kDevBase;
  if (c.offset + hext > it->second.second || doff + dext > g_fake->mem.size() ||
      doff + dext > g_fake->fail_at_dev) {
    ctx.status = cudaErrorInvalidValue;
    return;
  }
  uint8_t* host = it->second.first + c.offset;
  uint8_t* dev = g_fake->mem.data() + doff;
  for (uint64_t r = 0; r < c.rows; ++r) {
    if (c.flags & sh::kCopyToHost)
      std::memcpy(host + r * c.hpitch, dev + r * c.dpitch, c.width);
    else
      std::memcpy(dev + r * c.dpitch, host + r * c.hpitch, c.width);
  }
}

const be::Registry& registry() {
  static be::Registry* r = [] {
    auto* reg = new be::Registry;
    be::register_core_plugin(*reg);
    static const be::HandlerEntry entries[] = {
        {cr::kCall_gvShmHostRegister, "gvShmHostRegister", fake_register},
        {cr::kCall_gvShmHostUnregister, "gvShmHostUnregister", fake_unregister},
        {cr::kCall_gvMemcpyShared, "gvMemcpyShared", fake_copy},
    };
    reg->add_plugin("cudart", entries, sizeof entries / sizeof entries[0]);
    return reg;
  }();
  return *r;
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void* dptr(uint64_t off) { return reinterpret_cast<void*>(kDevBase + off); }

class SharedCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.mem.assign(48u << 20, 0);
    g_fake = &fake_;
    sh::forget_staging_for_testing();  // areas of an earlier test's session
    cr::track_device_allocation(kDevBase, fake_.mem.size());
    (void)cr::take_last_error();
  }
  void TearDown() override {
    cr::untrack_device_allocation(kDevBase);
    use_.reset();
    session_.reset();
    backend_.stop();
    g_fake = nullptr;
  }
  std::vector<Copy> copies() {
    std::lock_guard<std::mutex> g(fake_.mu);
    return fake_.copies;
  }
  void clear() {
    std::lock_guard<std::mutex> g(fake_.mu);
    fake_.copies.clear();
  }
  uint8_t* block(size_t n) {
    size_t mapped = 0;
    void* p = sh::allocate(n, &mapped);
    EXPECT_NE(p, nullptr);
    EXPECT_GE(mapped, n);
    return static_cast<uint8_t*>(p);
  }
  bool ping_ok() {
    client::Call c(client::kCallPing);
    return c.invoke() && c.status() == 0;
  }
  void free_block(void* p) {
    int32_t st = -1;
    EXPECT_TRUE(sh::release(p, &st));
    EXPECT_EQ(st, 0);
  }

  Fake fake_;
  be::Session server_session_{be::ClientInfo{}, be::SessionOptions{false}};
  FakeBackend backend_{[this](Stream& s, const wire::Hello&) {
    be::ConnState conn(server_session_, server_session_.next_connection_id());
    be::serve_connection(server_session_, conn, s, registry());
  }};
  bool shm_on_ = [this] {
    backend_.use_shm();
    return true;
  }();
  std::unique_ptr<client::Session> session_{
      new client::Session(test_session_options(backend_.connector()))};
  std::unique_ptr<SessionOverride> use_{new SessionOverride(session_.get())};
};

TEST_F(SharedCopy, PageLockedCopiesAreOneRequestEachWaitingOnlyWhenSynchronous) {
  ASSERT_TRUE(sh::available());
  const size_t n = (9u << 20) + 77;  // more than a chunk or a slot: still one request
  uint8_t* up = block(n);
  uint8_t* down = block(n);
  auto src = pattern(n, 1);
  std::memcpy(up, src.data(), n);
  ASSERT_EQ(cr::copy_1d(dptr(5), up, n, cudaMemcpyHostToDevice, cr::Target{}), cudaSuccess);
  EXPECT_EQ(std::memcmp(fake_.mem.data() + 5, src.data(), n), 0);
  const cr::Target async{0x0100000000000007ull, true};
  ASSERT_EQ(cr::copy_1d(down + 3, dptr(5), n - 3, cudaMemcpyDeviceToHost, async), cudaSuccess);
  ASSERT_TRUE(ping_ok());  // sent without a reply: done once a later call is answered
  EXPECT_EQ(std::memcmp(down + 3, src.data(), n - 3), 0);
  // Past the end of the known allocation: the worker may refuse it, so it waits for its answer.
  ASSERT_EQ(cr::copy_1d(down, dptr(fake_.mem.size() - 100), 200, cudaMemcpyDeviceToHost, async),
            cudaErrorInvalidValue);
  auto c = copies();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].flags, sh::kCopyWait);  // cudaMemcpy waits for the stream
  EXPECT_EQ(c[0].frame_flags, 0);
  EXPECT_EQ(c[0].offset, 0u);
  EXPECT_EQ(c[0].width, n);
  EXPECT_EQ(c[0].rows, 1u);
  EXPECT_EQ(c[0].stream, 0u);
  EXPECT_EQ(c[1].flags, sh::kCopyToHost);  // cudaMemcpyAsync only enqueues
  EXPECT_EQ(c[1].frame_flags, wire::kFlagNoReply);
  EXPECT_EQ(c[1].offset, 3u);
  EXPECT_EQ(c[1].stream, async.stream);
  EXPECT_NE(c[0].region, c[1].region);
  EXPECT_EQ(c[2].frame_flags, 0);
  free_block(up);
  free_block(down);
  EXPECT_EQ(fake_.unregistered.size(), 2u);
  // Freed memory is no longer shared: a copy from where it was would take another path.
  sh::Where w;
  EXPECT_FALSE(sh::locate(up, 1, &w));
}

TEST_F(SharedCopy, PageLocked2DKeepsBothPitches) {
  const size_t w = 1000, h = 300, hpitch = 1500, dpitch = 1024;
  uint8_t* host = block(hpitch * h);
  auto src = pattern(hpitch * h, 2);
  std::memcpy(host, src.data(), src.size());
  ASSERT_EQ(cr::copy(dptr(0), dpitch, host, hpitch, w, h, cudaMemcpyHostToDevice, cr::Target{},
                     true),
            cudaSuccess);
  for (size_t r = 0; r < h; ++r)
    ASSERT_EQ(std::memcmp(fake_.mem.data() + r * dpitch, src.data() + r * hpitch, w), 0) << r;
  auto c = copies();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].hpitch, hpitch);
  EXPECT_EQ(c[0].dpitch, dpitch);
  EXPECT_EQ(c[0].rows, h);
  free_block(host);
}

TEST_F(SharedCopy, PageableCopiesArePipelinedThroughTheStagingSlots) {
  const size_t n = (21u << 20) + 4321;  // 6 slot-sized pieces: every slot is reused
  auto src = pattern(n, 3);
  ASSERT_EQ(cr::copy_1d(dptr(11), src.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(fake_.mem.data() + 11, src.data(), n), 0);
  auto c = copies();
  ASSERT_EQ(c.size(), 6u);
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].flags, sh::kCopyWait) << i;  // each piece waits: its slot is reused
    EXPECT_EQ(c[i].region, c[0].region) << i;  // one staging area
    EXPECT_EQ(c[i].offset, (i % sh::kStagingSlots) * sh::kStagingSlotBytes) << i;
    EXPECT_EQ(c[i].dev, kDevBase + 11 + i * sh::kStagingSlotBytes) << i;
  }
  clear();
  std::vector<uint8_t> back(n + 2, 0);
  const cr::Target async{0x0100000000000009ull, true};
  ASSERT_EQ(cr::copy_1d(back.data() + 1, dptr(11), n, cudaMemcpyDeviceToHost, async),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(back.data() + 1, src.data(), n), 0);
  EXPECT_EQ(back[0], 0);
  EXPECT_EQ(back[n + 1], 0);
  c = copies();
  ASSERT_EQ(c.size(), 6u);
  for (const Copy& x : c) {
    EXPECT_EQ(x.flags, sh::kCopyToHost | sh::kCopyWait);
    EXPECT_EQ(x.stream, async.stream);
  }
}

TEST_F(SharedCopy, Pageable2DIsPackedIntoTheSlotsAndUnpacked) {
  const size_t w = 3000, h = 2000, hpitch = 3100, dpitch = 3072;  // ~6 MiB: two pieces
  auto src = pattern(hpitch * h, 4);
  ASSERT_EQ(cr::copy(dptr(0), dpitch, src.data(), hpitch, w, h, cudaMemcpyHostToDevice,
                     cr::Target{}, true),
            cudaSuccess);
  for (size_t r = 0; r < h; ++r)
    ASSERT_EQ(std::memcmp(fake_.mem.data() + r * dpitch, src.data() + r * hpitch, w), 0) << r;
  EXPECT_GE(copies().size(), 2u);
  std::vector<uint8_t> back(hpitch * h, 0xcc);
  ASSERT_EQ(cr::copy(back.data(), hpitch, dptr(0), dpitch, w, h, cudaMemcpyDeviceToHost,
                     cr::Target{}, true),
            cudaSuccess);
  for (size_t r = 0; r < h; ++r) {
    ASSERT_EQ(std::memcmp(back.data() + r * hpitch, src.data() + r * hpitch, w), 0) << r;
    ASSERT_EQ(back[r * hpitch + w], 0xcc) << r;  // the gap between rows is untouched
  }
}

TEST_F(SharedCopy, AFailedPieceStopsThePipelineAndTheSessionGoesOn) {
  const size_t n = 20u << 20;
  fake_.fail_at_dev = 9u << 20;  // the third piece fails
  auto src = pattern(n, 5);
  EXPECT_EQ(cr::copy_1d(dptr(0), src.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaErrorInvalidValue);
  EXPECT_EQ(cr::take_last_error(), cudaErrorInvalidValue);
  // Pieces already sent were answered; none was sent after the failure was seen.
  EXPECT_LE(copies().size(), 5u);
  clear();
  fake_.fail_at_dev = UINT64_MAX;
  std::vector<uint8_t> back(n);
  ASSERT_EQ(cr::copy_1d(dptr(0), src.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  ASSERT_EQ(cr::copy_1d(back.data(), dptr(0), n, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaSuccess);
  EXPECT_EQ(back, src);
}

}  // namespace
}  // namespace gvirtus::testing
