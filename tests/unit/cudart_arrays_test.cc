// Arrays and 3D copies without a GPU: the planning helpers (copy_plan.h), the client's 3D copy
// engine against a fake worker whose arrays are byte boxes (what lands where, which requests),
// and the real worker handlers' checks of untrusted array chunks.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "backend/control.h"
#include "backend/cudart/support.h"
#include "backend/worker.h"
#include "cudart_calls.h"
#include "expect_fault.h"
#include "fake_backend.h"
#include "frontend/cudart/copy_plan.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::backend::cudart {
void handle_gvArrayH2DChunk(CallContext&);
void handle_gvArrayD2HChunk(CallContext&);
void handle_cudaMemcpy3D(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;
using End = cr::CopyEnd;

// ---- planning ----

End pointer(End::Kind k, uint64_t base, uint64_t pitch, uint64_t ysize, uint64_t x = 0,
            uint64_t y = 0, uint64_t z = 0) {
  End e;
  e.kind = k;
  e.base = base;
  e.pitch = pitch;
  e.ysize = ysize;
  e.x = x;
  e.y = y;
  e.z = z;
  return e;
}

TEST(CopyPlan3D, RowAddressesAndOverflow) {
  End e = pointer(End::Kind::kHost, 1000, 64, 10, 8, 2, 3);
  uint64_t a = 0;
  ASSERT_TRUE(cr::row_address(e, 0, 0, &a));
  EXPECT_EQ(a, 1000u + 3 * 640 + 2 * 64 + 8);
  ASSERT_TRUE(cr::row_address(e, 1, 4, &a));
  EXPECT_EQ(a, 1000u + 4 * 640 + 6 * 64 + 8);
  End big = pointer(End::Kind::kHost, 0, uint64_t{1} << 40, uint64_t{1} << 30);
  EXPECT_FALSE(cr::row_address(big, 1, 0, &a));  // slice pitch overflows
  End wrap = pointer(End::Kind::kHost, UINT64_MAX - 10, 64, 1);
  EXPECT_FALSE(cr::row_address(wrap, 0, 1, &a));
}

TEST(CopyPlan3D, ChecksPitchesAndSpans) {
  cr::Copy3D c;
  c.src = pointer(End::Kind::kHost, 0x1000, 64, 8);
  c.dst.kind = End::Kind::kArray;
  c.dst.base = 1;
  c.width = 64;
  c.height = 8;
  c.depth = 2;
  EXPECT_EQ(cr::check_copy(c), cr::CopyCheck::kOk);
  c.width = 65;  // wider than the host pitch
  EXPECT_EQ(cr::check_copy(c), cr::CopyCheck::kInvalidPitch);
  c.height = 1;
  c.depth = 1;  // one row: the pitch does not matter
  EXPECT_EQ(cr::check_copy(c), cr::CopyCheck::kOk);
  c.src.base = UINT64_MAX - 10;
  EXPECT_EQ(cr::check_copy(c), cr::CopyCheck::kInvalidValue);
  c.width = 0;
  EXPECT_EQ(cr::check_copy(c), cr::CopyCheck::kInvalidValue);
}

TEST(CopyPlan3D, SlicesMergeOnlyBetweenPointersWhoseSlicesFollow) {
  cr::Copy3D c;
  c.src = pointer(End::Kind::kHost, 0x1000, 64, 8);
  c.dst = pointer(End::Kind::kDevice, 0x9000, 128, 8);
  c.width = 60;
  c.height = 8;
  c.depth = 3;
  EXPECT_TRUE(cr::slices_merge(c));
  c.dst.ysize = 9;
  EXPECT_FALSE(cr::slices_merge(c));
  c.depth = 1;
  EXPECT_TRUE(cr::slices_merge(c));
  c.dst.kind = End::Kind::kArray;
  EXPECT_FALSE(cr::slices_merge(c));
}

TEST(CopyPlan3D, ArrayRowsAreNeverMerged) {
  cr::CopyShape s;
  s.width = 100;
  s.height = 50;
  s.dpitch = 100;
  s.hpitch = 100;
  EXPECT_EQ(cr::plan_copy(s, 1000).size(), 5u);  // contiguous: 5000 bytes as one long row
  EXPECT_EQ(cr::plan_copy(s, 1000)[0].width, 1000u);
  s.dev_is_array = true;
  auto pieces = cr::plan_copy(s, 1000);
  ASSERT_EQ(pieces.size(), 5u);  // 10 whole rows each
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_EQ(pieces[i].width, 100u);
    EXPECT_EQ(pieces[i].rows, 10u);
    EXPECT_EQ(pieces[i].dev_off / s.width, i * 10);  // row
    EXPECT_EQ(pieces[i].dev_off % s.width, 0u);      // column
  }
}

// ---- the client's engine against a fake worker ----

constexpr uint64_t kDevBase = 0x7e0000000000ull;
constexpr uint64_t kArrayA = (uint64_t{14} << 56) | 1;  // looks like a worker array id

struct FakeArray {
  uint64_t w = 0, h = 1, d = 1;  // bytes per row, rows, slices
  std::vector<uint8_t> bytes;
  uint8_t* at(uint64_t x, uint64_t y, uint64_t z) { return &bytes[(z * h + y) * w + x]; }
};

struct Fake {
  std::mutex mu;
  std::vector<uint8_t> mem = std::vector<uint8_t>(1 << 20, 0);  // device memory at kDevBase
  std::map<uint64_t, FakeArray> arrays;
  std::vector<uint32_t> calls;
  std::vector<uint64_t> d3d;  // payload of the last cudaMemcpy3D, as u64 words
};
Fake* g_fake = nullptr;

struct Piece {
  uint64_t array, x, y, z, width, rows, stream;
};
Piece read_piece(be::CallContext& ctx) {
  Piece p;
  for (uint64_t* f : {&p.array, &p.x, &p.y, &p.z, &p.width, &p.rows, &p.stream})
    *f = ctx.in.get<uint64_t>();
  return p;
}

// Array bytes of a piece's row r, or nullptr outside the array.
uint8_t* array_row(const Piece& p, uint64_t r) {
  auto it = g_fake->arrays.find(p.array);
  if (it == g_fake->arrays.end()) return nullptr;
  FakeArray& a = it->second;
  if (p.x + p.width > a.w || p.y + r >= a.h || p.z >= a.d) return nullptr;
  return a.at(p.x, p.y + r, p.z);
}

void fake_array_h2d(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->calls.push_back(ctx.header.call_id);
  Piece p = read_piece(ctx);
  const uint8_t* src = ctx.in.get_bytes(p.width * p.rows);
  ctx.in.expect_end();
  for (uint64_t r = 0; r < p.rows; ++r) {
    uint8_t* d = array_row(p, r);
    if (!d) {
      ctx.status = cudaErrorInvalidValue;
      return;
    }
    std::memcpy(d, src + r * p.width, p.width);
  }
}

void fake_array_d2h(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->calls.push_back(ctx.header.call_id);
  Piece p = read_piece(ctx);
  ctx.in.expect_end();
  uint8_t* buf = ctx.conn.d2h_buffer(p.width * p.rows);
  for (uint64_t r = 0; r < p.rows; ++r) {
    uint8_t* s = array_row(p, r);
    if (!s) {
      ctx.status = cudaErrorInvalidValue;
      return;
    }
    std::memcpy(buf + r * p.width, s, p.width);
  }
  ctx.bulk = buf;
  ctx.bulk_len = p.width * p.rows;
}

void fake_h2d(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->calls.push_back(ctx.header.call_id);
  uint64_t dev = ctx.in.get<uint64_t>(), pitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>(), rows = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  const uint8_t* src = ctx.in.get_bytes(width * rows);
  ctx.in.expect_end();
  for (uint64_t r = 0; r < rows; ++r)
    std::memcpy(&g_fake->mem[dev - kDevBase + r * pitch], src + r * width, width);
}

void fake_d2h(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->calls.push_back(ctx.header.call_id);
  uint64_t dev = ctx.in.get<uint64_t>(), pitch = ctx.in.get<uint64_t>();
  uint64_t width = ctx.in.get<uint64_t>(), rows = ctx.in.get<uint64_t>();
  ctx.in.get<uint64_t>();
  ctx.in.expect_end();
  uint8_t* buf = ctx.conn.d2h_buffer(width * rows);
  for (uint64_t r = 0; r < rows; ++r)
    std::memcpy(buf + r * width, &g_fake->mem[dev - kDevBase + r * pitch], width);
  ctx.bulk = buf;
  ctx.bulk_len = width * rows;
}

void fake_3d(be::CallContext& ctx) {
  std::lock_guard<std::mutex> g(g_fake->mu);
  g_fake->calls.push_back(ctx.header.call_id);
  g_fake->d3d.clear();
  while (ctx.in.remaining() >= 8) g_fake->d3d.push_back(ctx.in.get<uint64_t>());
  ctx.in.expect_end();
}

const be::Registry& fake_registry() {
  static be::Registry* r = [] {
    auto* reg = new be::Registry;
    be::register_core_plugin(*reg);
    static const be::HandlerEntry entries[] = {
        {cr::kCall_gvArrayH2DChunk, "gvArrayH2DChunk", fake_array_h2d},
        {cr::kCall_gvArrayD2HChunk, "gvArrayD2HChunk", fake_array_d2h},
        {cr::kCall_gvMemcpyH2DChunk, "gvMemcpyH2DChunk", fake_h2d},
        {cr::kCall_gvMemcpyD2HChunk, "gvMemcpyD2HChunk", fake_d2h},
        {cr::kCall_cudaMemcpy3D, "cudaMemcpy3D", fake_3d},
        {cr::kCall_cudaMemcpy3DAsync, "cudaMemcpy3DAsync", fake_3d},
    };
    reg->add_plugin("cudart", entries, sizeof entries / sizeof entries[0]);
    return reg;
  }();
  return *r;
}

class ArrayEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    g_fake = &fake_;
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
  std::vector<uint32_t> calls() {
    std::lock_guard<std::mutex> g(fake_.mu);
    return fake_.calls;
  }

  Fake fake_;
  be::Session server_session_{be::ClientInfo{}, be::SessionOptions{false}};
  FakeBackend backend_{[this](Stream& s, const wire::Hello&) {
    be::ConnState conn(server_session_, server_session_.next_connection_id());
    be::serve_connection(server_session_, conn, s, fake_registry());
  }};
  std::unique_ptr<client::Session> session_{
      new client::Session(test_session_options(backend_.connector()))};
  std::unique_ptr<SessionOverride> use_{new SessionOverride(session_.get())};
};

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_F(ArrayEngine, HostSubBoxToArrayAndBack) {
  FakeArray& a = fake_.arrays[kArrayA];
  a.w = 40;  // 10 elements of 4 bytes
  a.h = 6;
  a.d = 5;
  a.bytes.assign(a.w * a.h * a.d, 0);
  // Host box: pitch 50, 7 rows per slice, 4 slices; copy 12 bytes x 3 rows x 2 slices from
  // host (4, 1, 1) to array (8, 2, 3).
  auto host = pattern(50 * 7 * 4, 1);
  cr::Copy3D c;
  c.src = pointer(End::Kind::kHost, cr::to_wire(host.data()), 50, 7, 4, 1, 1);
  c.dst.kind = End::Kind::kArray;
  c.dst.base = kArrayA;
  c.dst.x = 8;
  c.dst.y = 2;
  c.dst.z = 3;
  c.width = 12;
  c.height = 3;
  c.depth = 2;
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  for (uint64_t z = 0; z < 2; ++z)
    for (uint64_t y = 0; y < 3; ++y)
      EXPECT_EQ(std::memcmp(a.at(8, 2 + y, 3 + z), &host[(1 + z) * 350 + (1 + y) * 50 + 4], 12), 0);
  EXPECT_EQ(calls(), (std::vector<uint32_t>{cr::kCall_gvArrayH2DChunk, cr::kCall_gvArrayH2DChunk}));

  // And back into another host layout.
  std::vector<uint8_t> back(30 * 4 * 3, 0);
  std::swap(c.src, c.dst);
  c.dst = pointer(End::Kind::kHost, cr::to_wire(back.data()), 30, 4, 2, 0, 1);
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  for (uint64_t z = 0; z < 2; ++z)
    for (uint64_t y = 0; y < 3; ++y)
      EXPECT_EQ(std::memcmp(&back[(1 + z) * 120 + y * 30 + 2], a.at(8, 2 + y, 3 + z), 12), 0);
  // A box reaching past the array fails on the worker.
  c.src.y = 5;
  EXPECT_EQ(cr::copy_3d(c, cr::Target{}), cudaErrorInvalidValue);
}

TEST_F(ArrayEngine, LargeArrayCopyGoesInWholeRowChunks) {
  FakeArray& a = fake_.arrays[kArrayA];
  a.w = 4096;
  a.h = 3000;  // 12 MiB: two chunks of 2048 rows and the rest
  a.bytes.assign(a.w * a.h, 0);
  auto host = pattern(a.bytes.size(), 2);
  cr::Copy3D c;
  c.src = pointer(End::Kind::kHost, cr::to_wire(host.data()), 4096, 3000);
  c.dst.kind = End::Kind::kArray;
  c.dst.base = kArrayA;
  c.width = 4096;
  c.height = 3000;
  c.depth = 1;
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  EXPECT_EQ(a.bytes, host);
  EXPECT_EQ(calls().size(), 2u);
  std::vector<uint8_t> back(host.size(), 0);
  std::swap(c.src, c.dst);
  c.dst = pointer(End::Kind::kHost, cr::to_wire(back.data()), 4096, 3000);
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  EXPECT_EQ(back, host);
}

TEST_F(ArrayEngine, HostToPitchedDeviceMergesFollowingSlices) {
  auto host = pattern(64 * 4 * 3, 3);
  cr::Copy3D c;
  c.src = pointer(End::Kind::kHost, cr::to_wire(host.data()), 64, 4);
  c.dst = pointer(End::Kind::kDevice, kDevBase, 128, 4, 16, 0, 0);
  c.width = 64;
  c.height = 4;
  c.depth = 3;
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  EXPECT_EQ(calls().size(), 1u);  // 12 rows in one chunk
  for (uint64_t r = 0; r < 12; ++r)
    EXPECT_EQ(std::memcmp(&fake_.mem[r * 128 + 16], &host[r * 64], 64), 0);
  // Slices that do not follow each other on the device side: one chunk per slice.
  fake_.calls.clear();
  c.dst.ysize = 5;
  ASSERT_EQ(cr::copy_3d(c, cr::Target{}), cudaSuccess);
  EXPECT_EQ(calls().size(), 3u);
  for (uint64_t z = 0; z < 3; ++z)
    for (uint64_t r = 0; r < 4; ++r)
      EXPECT_EQ(std::memcmp(&fake_.mem[(z * 5 + r) * 128 + 16], &host[(z * 4 + r) * 64], 64), 0);
}

TEST_F(ArrayEngine, DeviceSidesGoInOneRequestWithTheirStream) {
  cr::Copy3D c;
  c.src.kind = End::Kind::kArray;
  c.src.base = kArrayA;
  c.src.x = 8;
  c.dst = pointer(End::Kind::kDevice, kDevBase, 256, 10, 4, 5, 6);
  c.width = 32;
  c.height = 2;
  c.depth = 3;
  ASSERT_EQ(cr::copy_3d(c, cr::async_on(reinterpret_cast<cudaStream_t>(0x0200000000000007ull))),
            cudaSuccess);
  ASSERT_EQ(calls(), std::vector<uint32_t>{cr::kCall_cudaMemcpy3DAsync});
  // src: array id, ptr 0, pitch, xsize, ysize, x, y, z; dst the same; extent; stream.
  std::vector<uint64_t> want = {kArrayA, 0, 0, 0, 0, 8, 0, 0,
                                0, kDevBase, 256, 0, 10, 4, 5, 6,
                                32, 2, 3, 0x0200000000000007ull};
  EXPECT_EQ(fake_.d3d, want);
}

TEST_F(ArrayEngine, KindsAreCheckedAgainstKnownDevicePointers) {
  End src = pointer(End::Kind::kHost, kDevBase, 64, 1), dst;
  dst.kind = End::Kind::kArray;
  dst.base = kArrayA;
  EXPECT_EQ(cr::classify_ends(cudaMemcpyHostToDevice, &src, &dst), cudaErrorInvalidValue);
  End s2 = pointer(End::Kind::kHost, kDevBase, 64, 1), d2 = dst;
  ASSERT_EQ(cr::classify_ends(cudaMemcpyDefault, &s2, &d2), cudaSuccess);
  EXPECT_EQ(s2.kind, End::Kind::kDevice);
  EXPECT_EQ(d2.kind, End::Kind::kArray);
  End s3 = pointer(End::Kind::kHost, 0x1000, 64, 1), d3 = dst;
  EXPECT_EQ(cr::classify_ends(cudaMemcpyDeviceToHost, &s3, &d3),
            cudaErrorInvalidMemcpyDirection);  // the array would be the host side
  EXPECT_EQ(cr::classify_ends(static_cast<cudaMemcpyKind>(9), &s3, &d3),
            cudaErrorInvalidMemcpyDirection);
}

// ---- the real worker handlers: untrusted chunks ----

class ArrayHandlers : public ::testing::Test {
 protected:
  int32_t run(be::Handler h, const wire::Writer& w) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    return ctx.status;
  }
  static wire::Writer piece(uint64_t array, uint64_t x, uint64_t y, uint64_t z, uint64_t width,
                            uint64_t rows, uint64_t stream = 0) {
    wire::Writer w;
    for (uint64_t v : {array, x, y, z, width, rows, stream}) w.put<uint64_t>(v);
    return w;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(ArrayHandlers, ChunkShapesAndPayloadSizesAreChecked) {
  const std::pair<wire::Writer, const char*> cases[] = {
      {piece(0, 0, 0, 0, 0, 1), "array copy chunk of 1 rows of 0 bytes"},
      {piece(0, 0, 0, 0, 8, 0), "array copy chunk of 0 rows of 8 bytes"},
      {piece(0, 0, 0, 0, uint64_t{1} << 40, 1),
       "array copy chunk of 1 rows of 1099511627776 bytes"},
      {piece(0, 0, 0, 0, 1 << 20, 65),
       "array copy chunk of 68157440 bytes is over the frame limit"}};
  for (const auto& [w, reason] : cases)
    EXPECT_FAULT(run(be::cudart::handle_gvArrayD2HChunk, w), reason);
  auto short_one = piece(0, 0, 0, 0, 8, 2);
  short_one.put<uint64_t>(0);  // 8 of 16 bytes
  EXPECT_FAULT(run(be::cudart::handle_gvArrayH2DChunk, short_one),
               "host-to-array chunk announces 16 bytes but carries 8");
}

TEST_F(ArrayHandlers, ArrayIdsGoThroughTheHandleTable) {
  const uint64_t forged = (uint64_t{14} << 56) | 12345;
  EXPECT_FAULT(run(be::cudart::handle_gvArrayD2HChunk, piece(forged, 0, 0, 0, 4, 1)),
               "forged array handle 0xe00000000003039");
  int obj = 0;
  uint64_t id = session_.handles().add(be::HandleKind::kArray, &obj);
  void* out = nullptr;
  ASSERT_TRUE(session_.handles().remove(be::HandleKind::kArray, id, &out));
  EXPECT_EQ(run(be::cudart::handle_gvArrayD2HChunk, piece(id, 0, 0, 0, 4, 1)),
            cudaErrorInvalidResourceHandle);
  // A stream id of another kind is no array.
  uint64_t stream_like = session_.handles().add(be::HandleKind::kStream, &obj);
  EXPECT_FAULT(run(be::cudart::handle_gvArrayD2HChunk, piece(stream_like, 0, 0, 0, 4, 1)),
               "forged array handle 0x100000000000002");
}

TEST_F(ArrayHandlers, DeviceCopyPayloadMustBeExact) {
  wire::Writer w;
  for (int i = 0; i < 16 + 3; ++i) w.put<uint64_t>(0);
  w.put<uint8_t>(0);  // one byte too many
  EXPECT_FAULT(run(be::cudart::handle_cudaMemcpy3D, w),
               "1 unexpected bytes at the end of the payload");
}

}  // namespace
}  // namespace gvirtus::testing
