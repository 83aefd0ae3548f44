// libFuzzer target over the worker's whole handler table (serve_calls.h): every generated and
// hand-written handler of the runtime, the driver API and each library plugin.
//   cmake -S . -B build-fuzz -G Ninja -DGVIRTUS_FUZZ=ON -DCMAKE_C_COMPILER=clang \
//         -DCMAKE_CXX_COMPILER=clang++
//   ninja -C build-fuzz gvirtus_fuzz_handlers
//   build-fuzz/bin/gvirtus_fuzz_handlers -dict=tests/fuzz/handlers.dict \
//         NEW_CORPUS_DIR tests/fuzz/corpus/*
// docs/fuzzing.md says what counts as a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"
#include "fuzz/serve_calls.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gvirtus::log::set_level(gvirtus::log::Level::kOff);
  const char* on_gpu = std::getenv("GVIRTUS_FUZZ_ON_GPU");
  if (gvirtus::fuzz::gpu_present() && !(on_gpu && std::string(on_gpu) == "1")) {
    std::fprintf(stderr, "gvirtus_fuzz_handlers: this machine has an NVIDIA GPU, which random "
                         "calls would reconfigure (NVML setters, resets); set "
                         "GVIRTUS_FUZZ_ON_GPU=1 to run anyway\n");
    std::exit(2);
  }
  for (const auto& m : gvirtus::fuzz::missing_plugins())
    std::fprintf(stderr, "gvirtus_fuzz_handlers: plugin %s not linked: not fuzzed\n", m.c_str());
  std::fprintf(stderr, "gvirtus_fuzz_handlers: %zu handlers\n", gvirtus::fuzz::ids().size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gvirtus::fuzz::Outcome o = gvirtus::fuzz::serve_calls(data, size);
  // A handler that failed with anything but a malformed-request or forged-handle verdict (a
  // std::bad_alloc, a std::length_error, a logic error) is a bug: stop on it like on a crash.
  if (o.status.code() == gvirtus::Code::kFailed) {
    std::fprintf(stderr, "handler failure: %s\n", o.status.to_string().c_str());
    std::abort();
  }
  // So is a live object the cleanup cannot destroy: it would pile up in a real worker too.
  if (!o.left_live.empty()) {
    std::fprintf(stderr, "a handle of kind %u is left live with no destroyer\n",
                 static_cast<unsigned>(o.left_live[0] >> 56));
    std::abort();
  }
  return 0;
}
