// The hand-written backend handlers (src/backend/cudart_*.cc): every request an honest client
// never sends ends the session (SessionFault / DecodeError) before any CUDA call; and the real
// handlers agree with the client code on every payload (driven through the real serve loop:
// without a GPU the CUDA calls fail, but the session must survive).
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "cudart_calls.h"
#include "expect_fault.h"
#include "fatbin_builder.h"
#include "fake_backend.h"
#include "frontend/cudart/glue.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/modules.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::backend::cudart {
void handle_gvMemcpyH2DChunk(CallContext&);
void handle_gvMemcpyD2HChunk(CallContext&);
void handle_gvModuleLoad(CallContext&);
void handle_gvKernelGet(CallContext&);
void handle_gvGlobalGet(CallContext&);
void handle_gvManagedVarGet(CallContext&);
void handle___cudaLaunchKernel(CallContext&);
void handle_cudaLaunchKernelExC(CallContext&);
void handle___cudaGetKernel(CallContext&);
void handle_cudaFuncGetAttributes(CallContext&);
void handle_gvLaunchLimits(CallContext&);
void handle_cudaMalloc(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace cr = gvirtus::cudart;

class Handlers : public ::testing::Test {
 protected:
  // Runs handler h on payload w; returns the status (throws what the handler throws).
  int32_t run(be::Handler h, const wire::Writer& w, std::vector<uint8_t>* out = nullptr) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    if (out) out->assign(ctx.out.data(), ctx.out.data() + ctx.out.size());
    return ctx.status;
  }
  static wire::Writer chunk(uint64_t dev, uint64_t pitch, uint64_t width, uint64_t rows,
                            uint64_t stream = 0) {
    wire::Writer w;
    for (uint64_t v : {dev, pitch, width, rows, stream}) w.put<uint64_t>(v);
    return w;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(Handlers, HostToDeviceChunkMustCarryWhatItAnnounces) {
  auto w = chunk(0x10, 8, 8, 1);
  w.put<uint64_t>(0);  // 8 bytes announced and carried: fine (the CUDA call may fail)
  EXPECT_NO_THROW(run(be::cudart::handle_gvMemcpyH2DChunk, w));
  auto short_one = chunk(0x10, 8, 8, 1);
  short_one.put<uint32_t>(0);
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyH2DChunk, short_one),
               "host-to-device chunk announces 8 bytes but carries 4");
  auto long_one = chunk(0x10, 8, 8, 1);
  long_one.put<uint64_t>(0);
  long_one.put<uint8_t>(0);
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyH2DChunk, long_one),
               "host-to-device chunk announces 8 bytes but carries 9");
}

TEST_F(Handlers, ChunkShapesAreChecked) {
  const std::pair<wire::Writer, const char*> cases[] = {
      {chunk(0x10, 8, 0, 1), "copy chunk of 1 rows of 0 bytes"},  // empty
      {chunk(0x10, 8, 8, 0), "copy chunk of 0 rows of 8 bytes"},
      {chunk(0x10, 4, 8, 2), "copy chunk with pitch 4 below its width 8"},
      {chunk(0x10, uint64_t{1} << 62, 8, 16),
       "copy chunk whose rows wrap around the address space"},
      {chunk(0x10, 1 << 20, 1 << 20, 65), "copy chunk of 68157440 bytes is over the frame limit"},
      {chunk(0x10, 8, uint64_t{1} << 40, 1), "copy chunk of 1 rows of 1099511627776 bytes"}};
  for (const auto& [w, reason] : cases)
    EXPECT_FAULT(run(be::cudart::handle_gvMemcpyD2HChunk, w), reason);
  auto trailing = chunk(0x10, 8, 8, 1);
  trailing.put<uint8_t>(1);
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyD2HChunk, trailing),
               "1 unexpected bytes at the end of the payload");
}

TEST_F(Handlers, ForgedStreamEndsTheSession) {
  auto w = chunk(0x10, 8, 8, 1, 0x0100000000000099ull);
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyD2HChunk, w),
               "forged stream handle 0x100000000000099");
}

wire::Writer launch_payload(uint64_t kernel, uint32_t n, size_t carried) {
  wire::Writer w;
  w.put<uint64_t>(kernel);
  w.put(dim3(1));
  w.put(dim3(1));
  w.put<uint64_t>(0);
  w.put<uint64_t>(0);
  w.put<uint32_t>(n);
  for (size_t i = 0; i < carried; ++i) w.put<uint8_t>(0);
  return w;
}

TEST_F(Handlers, LaunchNeedsAnIssuedKernelAndExactArguments) {
  EXPECT_FAULT(
      run(be::cudart::handle___cudaLaunchKernel, launch_payload(0x0400000000000001ull, 0, 0)),
      "forged kernel handle 0x400000000000001");
  // A stream id is not a kernel id.
  EXPECT_FAULT(
      run(be::cudart::handle___cudaLaunchKernel, launch_payload(0x0100000000000001ull, 0, 0)),
      "forged kernel handle 0x100000000000001");
  EXPECT_FAULT(
      run(be::cudart::handle___cudaLaunchKernel, launch_payload(0x0400000000000001ull, 8, 4)),
      "launch announces 8 argument bytes but carries 4");
  EXPECT_FAULT(run(be::cudart::handle_cudaFuncGetAttributes,
                   [] {
                     wire::Writer w;
                     w.put<uint64_t>(0x0400000000000005ull);
                     return w;
                   }()),
               "forged kernel handle 0x400000000000005");
}

// gvLaunchLimits (the client's launch check): a kernel id that was never issued, or an id of
// another kind, ends the session; so does a request longer than its one id.
TEST_F(Handlers, LaunchLimitsNeedAnIssuedKernel) {
  auto one = [](uint64_t id, bool extra = false) {
    wire::Writer w;
    w.put<uint64_t>(id);
    if (extra) w.put<uint8_t>(0);
    return w;
  };
  EXPECT_FAULT(run(be::cudart::handle_gvLaunchLimits, one(0x0400000000000005ull)),
               "forged kernel handle 0x400000000000005");
  EXPECT_FAULT(run(be::cudart::handle_gvLaunchLimits, one(0x0100000000000001ull)),
               "forged kernel handle 0x100000000000001");
  EXPECT_FAULT(run(be::cudart::handle_gvLaunchLimits, one(0x0400000000000005ull, true)),
               "1 unexpected bytes at the end of the payload");
  EXPECT_FAULT(run(be::cudart::handle_gvLaunchLimits, wire::Writer()),
               "payload too short: wanted 8 bytes, 0 left");
}

TEST_F(Handlers, ExtendedLaunchAttributesAreChecked) {
  auto payload = [](uint32_t nattrs, cudaLaunchAttributeID id) {
    wire::Writer w;
    w.put<uint64_t>(0x0400000000000001ull);
    w.put(dim3(1));
    w.put(dim3(1));
    w.put<uint64_t>(0);
    w.put<uint64_t>(0);
    w.put<uint32_t>(nattrs);
    cudaLaunchAttribute a{};
    a.id = id;
    for (uint32_t i = 0; i < nattrs && i < 2; ++i) w.put(a);
    w.put<uint32_t>(0);
    return w;
  };
  // An attribute that holds a graph node could name anything in this process: refused.
  EXPECT_FAULT(run(be::cudart::handle_cudaLaunchKernelExC,
                   payload(1, cudaLaunchAttributeDeviceUpdatableKernelNode)),
               "launch attribute 13 cannot travel as bytes");
  EXPECT_FAULT(
      run(be::cudart::handle_cudaLaunchKernelExC, payload(100000, cudaLaunchAttributePriority)),
      "launch with 100000 attributes");
  // Plain attributes and those holding an event (translated by the worker) pass the checks:
  // what ends this session is the kernel id, never issued.
  for (auto id : {cudaLaunchAttributePriority, cudaLaunchAttributeProgrammaticEvent,
                  cudaLaunchAttributeLaunchCompletionEvent}) {
    EXPECT_FAULT(run(be::cudart::handle_cudaLaunchKernelExC, payload(1, id)),
                 "forged kernel handle 0x400000000000001")
        << id;
  }
}

TEST_F(Handlers, GetKernelIsNeverSent) {
  wire::Writer w;
  w.put<uint64_t>(0x1234);
  EXPECT_FAULT(run(be::cudart::handle___cudaGetKernel, w),
               "__cudaGetKernel is resolved on the client; the call is never sent");
}

wire::Writer module_op(uint8_t op, std::initializer_list<uint64_t> fields, size_t bytes = 0) {
  wire::Writer w;
  w.put<uint8_t>(op);
  for (uint64_t f : fields) w.put<uint64_t>(f);
  for (size_t i = 0; i < bytes; ++i) w.put<uint8_t>(static_cast<uint8_t>(i));
  return w;
}

TEST_F(Handlers, ModuleUploadRules) {
  auto h = be::cudart::handle_gvModuleLoad;
  EXPECT_FAULT(run(h, module_op(9, {})), "unknown module operation 9");
  EXPECT_FAULT(run(h, module_op(cr::kModuleWhole, {10}, 9)), "module of 10 bytes carries 9");
  EXPECT_FAULT(run(h, module_op(cr::kModuleWhole, {0})), "module of 0 bytes carries 0");
  EXPECT_FAULT(run(h, module_op(cr::kModuleBegin, {0})), "module upload of 0 bytes");
  EXPECT_FAULT(run(h, module_op(cr::kModuleBegin, {3ull << 30})),
               "module upload of 3221225472 bytes");
  EXPECT_FAULT(run(h, module_op(cr::kModuleAppend, {1, 0, 4}, 4)),
               "module chunk for an unknown upload");
  EXPECT_FAULT(run(h, module_op(cr::kModuleEnd, {1})), "end of an unknown module upload");

  std::vector<uint8_t> out;
  ASSERT_EQ(run(h, module_op(cr::kModuleBegin, {100}), &out), 0);
  ASSERT_EQ(out.size(), 8u);
  uint64_t id;
  std::memcpy(&id, out.data(), 8);
  EXPECT_EQ(run(h, module_op(cr::kModuleAppend, {id, 0, 60}, 60)), 0);
  EXPECT_FAULT(
      run(h, module_op(cr::kModuleAppend, {id, 0, 10}, 10)),
      "module chunk at 0 of 10 bytes does not continue an upload at 60 of 100");  // not next
  EXPECT_FAULT(
      run(h, module_op(cr::kModuleAppend, {id, 60, 41}, 41)),
      "module chunk at 60 of 41 bytes does not continue an upload at 60 of 100");  // past end
  EXPECT_FAULT(run(h, module_op(cr::kModuleAppend, {id, 60, 8}, 7)),
               "module chunk of 8 bytes carries 7");  // short
  EXPECT_FAULT(run(h, module_op(cr::kModuleEnd, {id})),
               "module upload ended after 60 of 100 bytes");  // incomplete
}

// The runtime reads a module by its own headers: a fatbin claiming more than was uploaded, or
// PTX without its NUL, would have it read past the worker's buffer.
TEST_F(Handlers, AModuleMustBeWholeInTheBytesUploaded) {
  auto h = be::cudart::handle_gvModuleLoad;
  const std::vector<uint8_t> fatbin = fatbin_header(32, 4096);  // 16 of 4096 bytes sent
  wire::Writer w;
  w.put<uint8_t>(cr::kModuleWhole);
  w.put<uint64_t>(fatbin.size());
  w.put_bytes(fatbin.data(), fatbin.size());
  EXPECT_FAULT(run(h, w), "a module image whose headers reach past its 32 bytes");
  const char text[] = {'.', 'v', 'e', 'r'};  // no NUL
  wire::Writer t;
  t.put<uint8_t>(cr::kModuleWhole);
  t.put<uint64_t>(sizeof text);
  t.put_bytes(text, sizeof text);
  EXPECT_FAULT(run(h, t), "or text without its NUL");
}

TEST_F(Handlers, ModuleUploadsAreBounded) {
  auto h = be::cudart::handle_gvModuleLoad;
  int refused = 0;
  for (int i = 0; i < 12; ++i)
    if (run(h, module_op(cr::kModuleBegin, {64})) == cudaErrorMemoryAllocation) ++refused;
  EXPECT_GT(refused, 0);
  // Together they may not hold more than 2 GiB.
  be::Session other{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState oc{other, 0};
  wire::FrameHeader hdr;
  auto begin = [&](uint64_t n) {
    auto w = module_op(cr::kModuleBegin, {n});
    be::CallContext ctx{other, oc, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    return ctx.status;
  };
  EXPECT_EQ(begin(1ull << 30), 0);
  EXPECT_EQ(begin(1ull << 30), 0);
  EXPECT_EQ(begin(1), cudaErrorMemoryAllocation);
}

class LookupByName : public Handlers, public ::testing::WithParamInterface<be::Handler> {};

TEST_P(LookupByName, ChecksItsInputs) {
  be::Handler h = GetParam();
  wire::Writer forged;
  forged.put<uint64_t>(0x0300000000000042ull);
  forged.put_string("k");
  EXPECT_FAULT(run(h, forged), "forged library handle 0x300000000000042");
  wire::Writer nul;
  nul.put<uint64_t>(0x0300000000000042ull);
  nul.put_string(std::string("a\0b", 3));
  EXPECT_FAULT(run(h, nul), "name with a NUL byte");
  wire::Writer longname;
  longname.put<uint64_t>(0x0300000000000042ull);
  longname.put_string(std::string((64u << 10) + 1, 'x'));
  EXPECT_FAULT(run(h, longname), "string of 65537 bytes is over its bound of 65536");
}

// Kernels, device variables and __managed__ variables are looked up by name in an uploaded
// library.
INSTANTIATE_TEST_SUITE_P(KernelsAndVariables, LookupByName,
                         ::testing::Values(be::cudart::handle_gvKernelGet,
                                           be::cudart::handle_gvGlobalGet,
                                           be::cudart::handle_gvManagedVarGet));

TEST_F(Handlers, MallocPayloadIsExact) {
  wire::Writer w;
  w.put<uint64_t>(16);
  w.put<uint8_t>(0);
  EXPECT_FAULT(run(be::cudart::handle_cudaMalloc, w),
               "1 unexpected bytes at the end of the payload");
}

// ---- the client code against the real handlers, through the real serve loop ----

class RealHandlers : public ::testing::Test {
 protected:
  void TearDown() override {
    use_.reset();
    session_.reset();
    backend_.stop();
  }
  bool ping_ok() {
    client::Call c(client::kCallPing);
    return c.invoke() && c.status() == 0;
  }
  be::Session server_session_{be::ClientInfo{}, be::SessionOptions{false}};
  FakeBackend backend_{[this](Stream& s, const wire::Hello&) {
    be::ConnState conn(server_session_, server_session_.next_connection_id());
    be::serve_connection(server_session_, conn, s, be::registry());
  }};
  std::unique_ptr<client::Session> session_{
      new client::Session(test_session_options(backend_.connector()))};
  std::unique_ptr<SessionOverride> use_{new SessionOverride(session_.get())};
};

void* bogus_device() { return reinterpret_cast<void*>(uintptr_t{0x10}); }

TEST_F(RealHandlers, CopiesAgreeOnTheWire) {
  // No GPU here (or a bogus address on a GPU host): every copy fails in CUDA, none breaks the
  // protocol.
  const size_t n = 2 * size_t{wire::kCopyChunk} + 5;
  std::vector<uint8_t> host(n, 1);
  EXPECT_NE(cr::copy_1d(bogus_device(), host.data(), n, cudaMemcpyHostToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_NE(cr::copy_1d(host.data(), bogus_device(), n, cudaMemcpyDeviceToHost, cr::Target{}),
            cudaSuccess);
  EXPECT_NE(cr::copy(bogus_device(), 4096, host.data(), 3000, 2000, 3000, cudaMemcpyHostToDevice,
                     cr::Target{2, true}, true),
            cudaSuccess);
  EXPECT_NE(cr::copy(host.data(), 3000, bogus_device(), 4096, 2000, 3000, cudaMemcpyDeviceToHost,
                     cr::Target{}, true),
            cudaSuccess);
  EXPECT_NE(cr::copy_1d(bogus_device(), bogus_device(), 8, cudaMemcpyDeviceToDevice, cr::Target{}),
            cudaSuccess);
  EXPECT_NE(
      cr::copy_1d(bogus_device(), bogus_device(), 8, cudaMemcpyDeviceToDevice, cr::Target{0, true}),
      cudaSuccess);
  EXPECT_NE(cr::copy(bogus_device(), 16, bogus_device(), 16, 8, 2, cudaMemcpyDeviceToDevice,
                     cr::Target{}, true),
            cudaSuccess);
  EXPECT_NE(cr::copy(bogus_device(), 16, bogus_device(), 16, 8, 2, cudaMemcpyDeviceToDevice,
                     cr::Target{1, true}, true),
            cudaSuccess);
  EXPECT_FALSE(session_->lost()) << session_->error();
  EXPECT_TRUE(ping_ok());
}

TEST_F(RealHandlers, StickyCheckAgreesOnTheWire) {
  cr::set_last_error(cudaErrorInvalidValue);  // forces the round trip
  cudaError_t e = cr::last_error(true);
  // No driver here: the worker's runtime is stuck in its initialisation error, as natively.
  EXPECT_TRUE(e == cudaErrorInvalidValue || e == cudaErrorInsufficientDriver ||
              e == cudaErrorNoDevice)
      << e;
  EXPECT_FALSE(session_->lost()) << session_->error();
}

std::vector<uint64_t> junk_fatbin(uint64_t payload) {
  std::vector<uint64_t> w((16 + payload + 7) / 8, 0x0123456789abcdefull);
  auto* b = reinterpret_cast<uint8_t*>(w.data());
  uint32_t magic = cr::kFatbinMagic;
  uint16_t version = 1, hs = 16;
  std::memcpy(b, &magic, 4);
  std::memcpy(b + 4, &version, 2);
  std::memcpy(b + 6, &hs, 2);
  std::memcpy(b + 8, &payload, 8);
  return w;
}

struct Wrap {
  int32_t magic, version;
  const void* data;
  const void* unused;
};

void stub_small() {}
void stub_large() {}

TEST_F(RealHandlers, ModuleUploadsAgreeOnTheWire) {
  for (uint64_t size : {uint64_t{4096}, uint64_t{40} << 20}) {  // one frame; chunked
    auto image = junk_fatbin(size);
    Wrap w{static_cast<int32_t>(cr::kFatbinWrapperMagic), 1, image.data(), nullptr};
    cr::Module* m = cr::register_module(&w);
    const void* stub = size == 4096 ? reinterpret_cast<const void*>(&stub_small)
                                    : reinterpret_cast<const void*>(&stub_large);
    cr::register_kernel(m, stub, "kernel");
    EXPECT_NE(cr::resolve(cr::find_kernel(stub)), cudaSuccess);  // not a loadable image
    EXPECT_FALSE(session_->lost()) << session_->error();
    cr::unregister_module(m);
  }
  EXPECT_TRUE(ping_ok());
}

}  // namespace
}  // namespace gvirtus::testing
