// Which library plugins the Hello names (frontend/core/needed_plugins.h): those whose soname a
// loaded object other than a frontend needs. This test binary links NVIDIA's cuBLAS, and cuBLAS
// needs cuBLASLt; nothing here needs NVML.
#include "frontend/core/needed_plugins.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fake_backend.h"
#include "frontend/core/session.h"

namespace gvirtus::testing {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(NeededPlugins, TheLoadedObjectsNeedsAreFound) {
  const std::vector<std::string> all = client::needed_sonames({});
  EXPECT_TRUE(has(all, "libcublas.so.13"));   // this binary's DT_NEEDED
  EXPECT_TRUE(has(all, "libcublasLt.so.13"));  // libcublas.so.13's
  EXPECT_TRUE(has(all, "libc.so.6"));
  EXPECT_FALSE(has(all, "libnvidia-ml.so.1"));
  // Leaving an object out leaves out what only it needs: this binary is the only one that
  // needs libcurand.so.10.
  const std::string self = client::object_path(reinterpret_cast<const void*>(&has));
  ASSERT_FALSE(self.empty());
  EXPECT_FALSE(has(client::needed_sonames({self}), "libcurand.so.10"));
}

// The Hello names the runtime and the driver always, a frontend whose soname something needs,
// a plugin whose frontend is unknown, and not a frontend nothing needs (`gvirtus run` preloads
// them all into every program).
TEST(NeededPlugins, TheHelloNamesWhatTheProgramNeeds) {
  client::Session s(test_session_options([](std::unique_ptr<Stream>*, std::string*) {
    return disconnected("not used");
  }));
  s.add_plugin("cuda", "/lib/gvirtus/libcuda.so.1");
  s.add_plugin("cublasLt", "/lib/gvirtus/libcublasLt.so.13");  // NVIDIA's cuBLAS needs it
  s.add_plugin("nvml", "/lib/gvirtus/libnvidia-ml.so.1");       // nothing needs it
  s.add_plugin("cufft");                                          // frontend unknown
  const std::vector<std::string> named = s.announced_plugins();
  EXPECT_TRUE(has(named, "cudart"));  // test_session_options' own, frontend unknown
  EXPECT_TRUE(has(named, "cuda"));
  EXPECT_TRUE(has(named, "cublasLt"));
  EXPECT_TRUE(has(named, "cufft"));
  EXPECT_FALSE(has(named, "nvml"));
}

}  // namespace
}  // namespace gvirtus::testing
