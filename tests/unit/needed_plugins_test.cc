// Which library plugins the Hello names (frontend/core/needed_plugins.h): those whose soname a
// loaded object other than a frontend needs. This test binary links NVIDIA's libraries (and
// cuBLAS needs cuBLASLt); nothing here needs NVML.
#include "frontend/core/needed_plugins.h"

#include <cublas_api.h>
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
  EXPECT_TRUE(has(all, "libcublas.so.13"));  // this binary's DT_NEEDED
  EXPECT_TRUE(has(all, "libc.so.6"));
  EXPECT_FALSE(has(all, "libnvidia-ml.so.1"));
  // Every object left out but NVIDIA's cuBLAS: only what cuBLAS needs (cuBLASLt), not what only
  // this binary needs (cuRAND). Every object left out: nothing.
  const std::string cublas = client::object_path(reinterpret_cast<const void*>(&cublasGetVersion_v2));
  ASSERT_NE(cublas.find("libcublas.so"), std::string::npos) << cublas;
  std::vector<std::string> others;
  for (const std::string& o : client::loaded_objects())
    if (o != cublas) others.push_back(o);
  ASSERT_EQ(others.size() + 1, client::loaded_objects().size());  // cuBLAS is listed by that name
  const std::vector<std::string> only_cublas = client::needed_sonames(others);
  EXPECT_TRUE(has(only_cublas, "libcublasLt.so.13"));
  EXPECT_FALSE(has(only_cublas, "libcurand.so.10"));
  others.push_back(cublas);
  EXPECT_TRUE(client::needed_sonames(others).empty());
}

// A frontend names itself with a string literal of its own: that literal's object is the
// frontend library (here, this binary).
TEST(NeededPlugins, ALiteralsObjectIsItsLibrary) {
  EXPECT_EQ(client::object_path("cublas"), client::object_path(reinterpret_cast<const void*>(&has)));
  EXPECT_FALSE(client::object_path("cublas").empty());
}

// The Hello names the runtime and the driver always, a frontend whose soname something needs,
// a plugin whose frontend is unknown, and not a frontend nothing needs (`gvirtus run` preloads
// them all into every program).
TEST(NeededPlugins, TheHelloNamesWhatTheProgramNeeds) {
  client::Session s(test_session_options([](std::unique_ptr<Stream>*, std::string*) {
    return disconnected("not used");
  }));
  s.add_plugin("cuda", "/lib/gvirtus/libcuda.so.1");
  s.add_plugin("cublasLt", "/lib/gvirtus/libcublasLt.so.13");  // needed (this binary, cuBLAS)
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
