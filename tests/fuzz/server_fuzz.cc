// libFuzzer target for the backend's message handling: frame headers, Hello decoding and
// checks, and the serve loop with its handler table, through serve_bytes().
//   cmake -DGVIRTUS_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ ...
//   ninja gvirtus_fuzz_server && bin/gvirtus_fuzz_server -dict=tests/fuzz/server.dict -max_total_time=60
#include <cstddef>
#include <cstdint>

#include "backend/worker.h"
#include "common/log.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gvirtus::log::set_level(gvirtus::log::Level::kOff);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gvirtus::backend::serve_bytes(data, size);
  return 0;
}
