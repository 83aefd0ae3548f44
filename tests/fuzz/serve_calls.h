// Fuzzing the worker's whole handler table: the control calls, the runtime and driver plugins,
// and every library plugin this build has (cuBLAS, cuBLASLt, cuDNN, cuFFT, cuRAND, cuSPARSE,
// cuSOLVER, NVML), linked into the test program rather than dlopened. Shared by the libFuzzer
// target (tests/fuzz/handlers_fuzz.cc) and the bounded run on every build
// (tests/unit/handler_fuzz_test.cc). docs/fuzzing.md describes both.
//
// Input: records, each
//   u32 call id | u8 flags | u16 length | length bytes of request payload   (little-endian)
// A call id that no handler has picks one: ids()[call id % ids().size()], so that random bytes
// reach handlers while a corpus keeps naming the same call when the tables grow. Flag bit 0
// sends the request NoReply. Each input is one fresh session: the records become request frames
// on one connection, served by the real serve loop (serve_connection), so a malformed payload or
// a forged handle ends the session as it would a worker's, and the rest of the input is not run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/dispatch.h"
#include "common/status.h"

namespace gvirtus::fuzz {

constexpr size_t kMaxRecords = 64;    // per input: bounds what one session can build up
constexpr size_t kRecordHeader = 7;   // u32 call id, u8 flags, u16 length
constexpr uint8_t kRecordNoReply = 1;

// Before the records run, one handle is issued and released, so that (kind << 56) | 1 is a
// stale id of every kind: the records can name released handles as well as forged ones (any
// other id of a kind) and live ones (those their own create calls made: serials 2, 3, ...).
constexpr uint64_t stale_id(backend::HandleKind k) {
  return (uint64_t{static_cast<uint8_t>(k)} << 56) | 1;
}

// The registry: control, cudart and cuda compiled in, the library plugins through their real
// lazy-loading path with a loader that hands out the linked tables.
const backend::Registry& registry();
// Every call id of that registry, sorted.
const std::vector<uint32_t>& ids();
// The name of the handler of a call id ("" if none), and its library: "core", "cudart",
// "cuda", or a library plugin's name ("cublas", ...).
std::string call_name(uint32_t id);
std::string library_name(uint32_t id);
// Library plugins this backend was built with (library_plugins()) whose handler table is not
// linked into this program: the fuzzer would not reach them. Empty when all are.
std::vector<std::string> missing_plugins();

struct Outcome {
  Status status;          // how the connection ended, as serve_connection returns it
  size_t records = 0;     // records in the input (at most kMaxRecords)
  size_t destroyed = 0;   // live handles the cleanup destroyed
  std::vector<int32_t> statuses;  // the replies' statuses, in order (NoReply requests: none)
  // Live handles of a kind the cleanup cannot destroy (they would pile up across inputs).
  std::vector<uint64_t> left_live;
};

// Runs one input. Never throws; everything the session made is destroyed before it returns.
Outcome serve_calls(const uint8_t* data, size_t size);

// NVIDIA's libraries dereference many pointer arguments without a NULL check (cusolverDnCreate,
// cublasSgetrsBatched's info, ...): a program that passes NULL crashes natively, and a client
// that sends "NULL" for such an argument crashes its own worker the same way, which ends only
// its own session. Such a crash is not what the fuzzer looks for, but it stops the process. After
// this, a SIGSEGV at an address below 64 KiB whose faulting instruction is in one of NVIDIA's
// libraries (libcu*, libnvidia*) ends the process at once with kNativeNullCrash and a line on
// stderr naming the library; every other SIGSEGV goes to the handler installed before (ASan's:
// run with ASAN_OPTIONS=handle_segv=1 and install this afterwards) or kills the process.
constexpr int kNativeNullCrash = 86;
void filter_native_null_crashes();

// Whether CUDA sees a device on this machine. The fuzzers
// call every handler with random arguments, NVML's setters (clocks, power limits, ECC mode)
// and cudaDeviceReset included: on a machine with a GPU they would change its settings. They
// refuse to run there unless GVIRTUS_FUZZ_ON_GPU=1. Asked in a child process, so that this
// process's CUDA stays uninitialised.
bool gpu_present();

// Appends a record to *out.
void append_record(std::vector<uint8_t>* out, uint32_t call_id, const std::vector<uint8_t>& body,
                   uint8_t flags = 0);

}  // namespace gvirtus::fuzz
