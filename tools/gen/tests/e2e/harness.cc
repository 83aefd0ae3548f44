// End-to-end check of generated code for the fake library (tools/gen/tests/fake.py): the
// generated client stubs talk, through an in-process Call::invoke, to the generated server
// handlers, which call "real" functions (impl_*: the server object's references to fake* are
// renamed by objcopy). Prints one line per failed check and exits non-zero if any failed.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fake.h"
#include "fake_calls.h"
#include "fake_glue.h"
#include "fake_support.h"

using gvirtus::backend::CallContext;
using gvirtus::backend::HandlerEntry;
using gvirtus::backend::Registry;
using gvirtus::backend::SessionFault;

namespace {

int g_failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::printf("FAILED line %d: %s\n", __LINE__, #cond);                \
      ++g_failures;                                                        \
    }                                                                      \
  } while (0)

// What the fake transport saw.
int g_invokes = 0;
bool g_fault = false;        // the handler threw SessionFault
bool g_decode_error = false; // the handler threw DecodeError
bool g_truncate_reply = false;
fakeStatus_t g_last_error = fakeOk;
std::vector<std::string> g_unsupported;
std::string g_lost_reason;
Registry g_registry;

// Handle table of the fake server: ids 0x0100..., live or released.
std::map<uint64_t, fakeStream_t> g_live;
std::map<uint64_t, bool> g_issued;
uint64_t g_next = 0x0100000000000001ull;

}  // namespace

// ---- the parts of the client core and the registry this test stands in for ----
namespace gvirtus::client {
void unsupported(const char* name) { g_unsupported.push_back(name); }
void mark_session_lost(const std::string& reason) { g_lost_reason = reason; }
bool Call::invoke() {
  ++g_invokes;
  const HandlerEntry* e = g_registry.find(call_id_);
  if (e == nullptr) return false;
  static char session_storage[16], conn_storage[16];
  wire::FrameHeader h{};
  h.call_id = call_id_;
  CallContext ctx{*reinterpret_cast<backend::Session*>(session_storage),
                  *reinterpret_cast<backend::ConnState*>(conn_storage), h,
                  wire::Reader(args_.data(), args_.size()), wire::Writer(), 0, nullptr, 0};
  try {
    e->fn(ctx);
  } catch (const SessionFault&) {
    g_fault = true;
    return false;
  } catch (const wire::DecodeError&) {
    g_decode_error = true;
    return false;
  }
  header_.status = ctx.status;
  payload_ = ctx.out.buffer();
  if (g_truncate_reply && !payload_.empty()) payload_.pop_back();
  reader_ = wire::Reader(payload_.data(), payload_.size());
  return true;
}
}  // namespace gvirtus::client

namespace gvirtus::backend {
void Registry::add_plugin(const std::string& name, const HandlerEntry* entries, size_t n) {
  plugins_.push_back(name);
  for (size_t i = 0; i < n; ++i) by_id_[entries[i].call_id] = entries[i];
}
const HandlerEntry* Registry::find(uint32_t call_id) const {
  auto it = by_id_.find(call_id);
  return it == by_id_.end() ? nullptr : &it->second;
}
}  // namespace gvirtus::backend

namespace gvirtus::fake {
constexpr fakeStatus_t kLost = static_cast<fakeStatus_t>(999);
fakeStatus_t lost() { return kLost; }
fakeStatus_t finish(const client::Call& c) {
  auto s = static_cast<fakeStatus_t>(c.status());
  if (s != fakeOk) g_last_error = s;
  return s;
}
void set_last_error(fakeStatus_t e) { g_last_error = e; }
}  // namespace gvirtus::fake

namespace gvirtus::backend::fake {
bool stream_in(CallContext& ctx, uint64_t id, fakeStream_t* out) {
  if (id == 0) { *out = nullptr; return true; }
  if (g_live.count(id)) { *out = g_live[id]; return true; }
  if (g_issued.count(id)) { ctx.status = fakeErrHandle; return false; }
  throw SessionFault("forged stream id");
}
uint64_t stream_out(CallContext&, fakeStream_t s) {
  uint64_t id = g_next++;
  g_live[id] = s;
  g_issued[id] = true;
  return id;
}
bool stream_release(CallContext& ctx, uint64_t id, fakeStream_t* out) {
  if (!stream_in(ctx, id, out)) return false;
  g_live.erase(id);
  return true;
}
// hand-written and internal handlers of the fake library
void handle_fakeHandWritten(CallContext& ctx) { ctx.status = fakeOk; }
void handle_gvFakeInternal(CallContext& ctx) { ctx.status = fakeOk; }
}  // namespace gvirtus::backend::fake

// hand-written / local client functions the generated file references
extern "C" fakeStatus_t fakeHandWritten(void*, size_t) { return fakeOk; }
extern "C" fakeStatus_t fakeLocalOne(int* x) { *x = 1; return fakeOk; }
extern "C" const char* fakeGetString(fakeStatus_t) { return "s"; }
// declared only in other.h or nowhere: the test spells them as the stubs do
extern "C" fakeStatus_t fakeGLThing(unsigned);
extern "C" unsigned char fakeInitModule(void**);
extern "C" void** fakeRegister(void*);
extern "C" fakeStatus_t fakeNoPrototype();
extern "C" fakeStatus_t fakeStreamSync_ptsz(fakeStream_t);

// ---- the "real" library on the server (the server object calls these) ----
struct fakeStream_st { unsigned flags; int syncs; };
namespace {
struct {
  int device; enum fakeStatus mode; float scale; fakeDim dims; unsigned long long big;
  const void* fill_ptr; int fill_value; size_t fill_count; int ptsz_syncs;
  const int* count_ptr;
} seen;
fakeStream_st g_streams[4];
int g_nstreams = 0;
}  // namespace

extern "C" {
fakeStatus_t impl_fakeGetCount(int* count) {
  seen.count_ptr = count;
  if (!count) return fakeErrInvalid;
  *count = 3;
  return fakeOk;
}
fakeStatus_t impl_fakeGetProps(struct fakeProps* p, int device) {
  if (device > 5) return fakeErrInvalid;
  p->major = 9; p->minor = device; std::snprintf(p->name, sizeof p->name, "dev%d", device);
  p->clock = 1.25;
  return fakeOk;
}
fakeStatus_t impl_fakeSetValue(int device, enum fakeStatus mode, float scale, fakeDim dims,
                               unsigned long long big) {
  seen.device = device; seen.mode = mode; seen.scale = scale; seen.dims = dims; seen.big = big;
  return fakeOk;
}
fakeStatus_t impl_fakeGetName(char* name, int len, int device) {
  if (!name || len < 14) return fakeErrInvalid;
  std::snprintf(name, len, "fake-device-%d", device);
  return fakeOk;
}
fakeStatus_t impl_fakeFindByName(int* device, const char* name) {
  if (!name || std::strncmp(name, "dev", 3) != 0) return fakeErrInvalid;
  *device = name[3] - '0';
  return fakeOk;
}
fakeStatus_t impl_fakeChoose(int* device, const struct fakeProps* props) {
  if (!props) return fakeErrInvalid;
  *device = props->major + static_cast<int>(props->clock);
  return fakeOk;
}
fakeStatus_t impl_fakeSum(long long* sum, const int* values, int n) {
  long long s = 0;
  for (int i = 0; i < n; ++i) s += values[i];
  *sum = s;
  return fakeOk;
}
fakeStatus_t impl_fakeFill(void* devPtr, int value, size_t count) {
  seen.fill_ptr = devPtr; seen.fill_value = value; seen.fill_count = count;
  return fakeOk;
}
fakeStatus_t impl_fakeAlloc(void** devPtr, size_t size) {
  *devPtr = reinterpret_cast<void*>(0xdead0000ull + size);
  return fakeOk;
}
// io[bytes]: adds `add` to each byte; add 0 changes the bytes and fails (nothing comes back).
fakeStatus_t impl_fakeScratch(void* host, size_t bytes, int add) {
  if (!host) return fakeErrInvalid;
  auto* b = static_cast<unsigned char*>(host);
  for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<unsigned char>(b[i] + (add ? add : 99));
  return add ? fakeOk : fakeErrInvalid;
}
fakeStatus_t impl_fakeStreamCreate(fakeStream_t* stream, unsigned int flags) {
  if (g_nstreams == 4) return fakeErrNoMem;
  g_streams[g_nstreams] = {flags, 0};
  *stream = &g_streams[g_nstreams++];
  return fakeOk;
}
fakeStatus_t impl_fakeStreamDestroy(fakeStream_t stream) {
  return stream ? fakeOk : fakeErrInvalid;
}
fakeStatus_t impl_fakeStreamGetFlags(fakeStream_t stream, unsigned int* flags) {
  *flags = stream ? stream->flags : 0xffffffffu;
  return fakeOk;
}
fakeStatus_t impl_fakeStreamSync(fakeStream_t stream) {
  if (stream) stream->syncs++;
  return fakeOk;
}
fakeStatus_t impl_fakeStreamSync_ptsz(fakeStream_t) {
  seen.ptsz_syncs++;
  return fakeOk;
}
}

namespace {

// Sends a hand-made request straight to a handler (what a hostile client could send).
bool raw_call(uint32_t id, const std::vector<uint8_t>& bytes, gvirtus::client::Call* c) {
  (void)id;
  c->args().put_bytes(bytes.data(), bytes.size());
  return c->invoke();
}

template <typename T>
void append(std::vector<uint8_t>& v, T x) {
  const auto* p = reinterpret_cast<const uint8_t*>(&x);
  v.insert(v.end(), p, p + sizeof x);
}

}  // namespace

int main() {
  gvirtus::backend::fake::register_plugin(g_registry);
  CHECK(std::strcmp(gvirtus::fake::call_name(gvirtus::fake::kCall_fakeGetCount),
                    "fakeGetCount") == 0);
  CHECK(gvirtus::fake::call_name(4242) == nullptr);
  CHECK(gvirtus::fake::kCall_gvFakeInternal == 1900);

  // out: one value; NULL travels as NULL and the real function's own error comes back
  int n = 0;
  CHECK(fakeGetCount(&n) == fakeOk && n == 3);
  CHECK(fakeGetCount(nullptr) == fakeErrInvalid && seen.count_ptr == nullptr);
  CHECK(g_last_error == fakeErrInvalid);

  // out: a struct; failures write nothing back
  fakeProps p{};
  CHECK(fakeGetProps(&p, 2) == fakeOk && p.major == 9 && p.minor == 2 &&
        std::strcmp(p.name, "dev2") == 0 && p.clock == 1.25);
  fakeProps untouched{};
  untouched.major = -7;
  CHECK(fakeGetProps(&untouched, 9) == fakeErrInvalid && untouched.major == -7);

  // scalars of every kind, as raw bytes
  CHECK(fakeSetValue(-4, fakeErrHandle, 1.5f, fakeDim{1, 2, 3}, 1ull << 40) == fakeOk);
  CHECK(seen.device == -4 && seen.mode == fakeErrHandle && seen.scale == 1.5f &&
        seen.dims.x == 1 && seen.dims.y == 2 && seen.dims.z == 3 && seen.big == (1ull << 40));

  // out[len]
  char name[32];
  std::memset(name, 'x', sizeof name);
  CHECK(fakeGetName(name, 20, 7) == fakeOk && std::strcmp(name, "fake-device-7") == 0);
  CHECK(name[25] == 'x');  // nothing written past len
  int before = g_invokes;
  CHECK(fakeGetName(name, -1, 0) == fakeErrInvalid && g_invokes == before);    // client refuses
  CHECK(fakeGetName(name, 5000, 0) == fakeErrInvalid && g_invokes == before);  // over the bound
  CHECK(g_last_error == fakeErrInvalid);
  CHECK(fakeGetName(nullptr, 5000, 0) == fakeErrInvalid && g_invokes == before + 1);

  // instr
  int dev = -1;
  CHECK(fakeFindByName(&dev, "dev5") == fakeOk && dev == 5);
  CHECK(fakeFindByName(&dev, nullptr) == fakeErrInvalid);
  std::string long_name(65, 'a');
  before = g_invokes;
  CHECK(fakeFindByName(&dev, long_name.c_str()) == fakeErrInvalid && g_invokes == before);
  std::string max_name = "dev3" + std::string(60, 'z');
  CHECK(fakeFindByName(&dev, max_name.c_str()) == fakeOk && dev == 3);

  // in: one struct; in[n]: a buffer
  fakeProps want{};
  want.major = 40;
  want.clock = 2.0;
  CHECK(fakeChoose(&dev, &want) == fakeOk && dev == 42);
  CHECK(fakeChoose(&dev, nullptr) == fakeErrInvalid);
  int values[5] = {1, 2, 3, 4, 100};
  long long sum = 0;
  CHECK(fakeSum(&sum, values, 4) == fakeOk && sum == 10);
  CHECK(fakeSum(&sum, values, 0) == fakeOk && sum == 0);

  // dptr: a raw value, never dereferenced
  CHECK(fakeFill(reinterpret_cast<void*>(0x7000), 5, 10) == fakeOk);
  CHECK(seen.fill_ptr == reinterpret_cast<void*>(0x7000) && seen.fill_value == 5 &&
        seen.fill_count == 10);
  void* dp = nullptr;
  CHECK(fakeAlloc(&dp, 64) == fakeOk && dp == reinterpret_cast<void*>(0xdead0040ull));

  // io[n]: sent, changed by the server, written back; not written back on failure
  unsigned char scratch[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(fakeScratch(scratch, 8, 10) == fakeOk && scratch[0] == 11 && scratch[7] == 18);
  CHECK(fakeScratch(scratch, 8, 0) == fakeErrInvalid && scratch[0] == 11 && scratch[7] == 18);
  CHECK(fakeScratch(scratch, 0, 1) == fakeOk && scratch[0] == 11);
  CHECK(fakeScratch(nullptr, 8, 1) == fakeErrInvalid);
  {
    const int before = g_invokes;
    CHECK(fakeScratch(scratch, 5000, 1) == fakeErrInvalid && g_invokes == before);  // over the bound
  }

  // handles: created, translated, released, then stale
  fakeStream_t s = nullptr;
  CHECK(fakeStreamCreate(&s, 7) == fakeOk);
  CHECK(reinterpret_cast<uint64_t>(s) == 0x0100000000000001ull);  // the id, not the pointer
  unsigned flags = 0;
  CHECK(fakeStreamGetFlags(s, &flags) == fakeOk && flags == 7);
  CHECK(fakeStreamGetFlags(nullptr, &flags) == fakeOk && flags == 0xffffffffu);
  CHECK(fakeStreamSync(s) == fakeOk && g_streams[0].syncs == 1);
  CHECK(fakeStreamDestroy(s) == fakeOk);
  CHECK(fakeStreamSync(s) == fakeErrHandle);
  CHECK(fakeStreamDestroy(s) == fakeErrHandle);
  CHECK(!g_fault);
  CHECK(fakeStreamSync(reinterpret_cast<fakeStream_t>(0x0100000000000099ull)) ==
        gvirtus::fake::kLost);
  CHECK(g_fault);
  g_fault = false;

  // alias of a per-thread variant calls the variant on the server
  CHECK(fakeStreamSync_ptsz(nullptr) == fakeOk && seen.ptsz_syncs == 1);

  // unsupported stubs: logged once per call site, failure value per return type
  g_last_error = fakeOk;
  CHECK(fakeOpaqueUse(nullptr) == fakeErrUnsupported && g_last_error == fakeErrUnsupported);
  CHECK(fakeAddCallback(nullptr, nullptr) == fakeErrUnsupported);
  fakeProps made = fakeMakeProps(3);
  CHECK(made.major == 0 && made.clock == 0.0);
  fakeVoidFn(1);
  CHECK(fakeGLThing(1) == fakeErrUnsupported);
  CHECK(fakeInitModule(nullptr) == 0);
  CHECK(fakeRegister(nullptr) == nullptr);
  CHECK(fakeNoPrototype() == fakeErrUnsupported);
  CHECK(g_unsupported.size() == 8 && g_unsupported[0] == "fakeOpaqueUse" &&
        g_unsupported[7] == "fakeNoPrototype");

  // a reply that does not decode is treated as a lost session, never an exception
  g_truncate_reply = true;
  CHECK(fakeGetCount(&n) == gvirtus::fake::kLost);
  CHECK(g_lost_reason.rfind("fakeGetCount: ", 0) == 0);
  g_truncate_reply = false;

  // hostile requests end the session (SessionFault) or fail to decode (DecodeError)
  {
    std::vector<uint8_t> b;  // fakeGetName: len = 100000 (over the bound), device, present
    append<int>(b, 100000);
    append<int>(b, 0);
    append<uint8_t>(b, 1);
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeGetName);
    CHECK(!raw_call(0, b, &c) && g_fault);
    g_fault = false;
  }
  {
    std::vector<uint8_t> b;  // negative length
    append<int>(b, -5);
    append<int>(b, 0);
    append<uint8_t>(b, 1);
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeGetName);
    CHECK(!raw_call(0, b, &c) && g_fault);
    g_fault = false;
  }
  {
    std::vector<uint8_t> b;  // fakeSum: n = 3 but only one int of data
    append<uint8_t>(b, 1);   // sum present
    append<int>(b, 3);       // n
    append<uint8_t>(b, 1);   // values present
    append<int>(b, 1);
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeSum);
    CHECK(!raw_call(0, b, &c) && g_decode_error);
    g_decode_error = false;
  }
  {
    std::vector<uint8_t> b;  // presence flag 2
    append<uint8_t>(b, 2);
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeGetCount);
    CHECK(!raw_call(0, b, &c) && g_decode_error);
    g_decode_error = false;
  }
  {
    std::vector<uint8_t> b;  // trailing byte
    append<uint8_t>(b, 1);
    append<uint8_t>(b, 0);
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeGetCount);
    CHECK(!raw_call(0, b, &c) && g_decode_error);
    g_decode_error = false;
  }
  {
    std::vector<uint8_t> b;  // string over its bound
    append<uint8_t>(b, 1);
    append<uint8_t>(b, 1);
    append<uint32_t>(b, 65);
    b.insert(b.end(), 65, 'a');
    gvirtus::client::Call c(gvirtus::fake::kCall_fakeFindByName);
    CHECK(!raw_call(0, b, &c) && g_decode_error);
    g_decode_error = false;
  }

  std::printf("%s: %d failed checks\n", g_failures ? "FAIL" : "OK", g_failures);
  return g_failures ? 1 : 0;
}
