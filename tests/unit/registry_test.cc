#include <gtest/gtest.h>

#include "backend/control.h"
#include "backend/dispatch.h"
#include "backend/plugins.h"
#include "backend/worker.h"
#include "test_env.h"

namespace gvirtus::backend {
namespace {

void h1(CallContext&) {}
void h2(CallContext&) {}

TEST(Registry, FindsHandlersAndPlugins) {
  Registry r;
  const HandlerEntry a[] = {{10, "A", &h1}, {11, "B", &h2}};
  const HandlerEntry b[] = {{12, "C", &h1}};
  r.add_plugin("p", a, 2);
  r.add_plugin("p", b, 1);  // a second batch of the same plugin
  r.add_plugin("q", nullptr, 0);
  ASSERT_NE(r.find(11), nullptr);
  EXPECT_STREQ(r.find(11)->name, "B");
  EXPECT_EQ(r.find(11)->fn, &h2);
  EXPECT_NE(r.find(12), nullptr);
  EXPECT_EQ(r.find(13), nullptr);
  EXPECT_TRUE(r.has_plugin("p"));
  EXPECT_TRUE(r.has_plugin("q"));
  EXPECT_FALSE(r.has_plugin("cudart"));
  EXPECT_EQ(r.plugins(), (std::vector<std::string>{"p", "q"}));
}

// A library plugin loaded on first use, through a loader that counts its calls.
int g_loads = 0;
const HandlerEntry kLibEntries[] = {{9001, "libA", &h1}, {9002, "libB", &h2}};
const PluginTable kLibTable = {"lib", kLibEntries, 2};
const PluginTable* good_loader(const LibraryPlugin&, std::string*) {
  ++g_loads;
  return &kLibTable;
}
const PluginTable* failing_loader(const LibraryPlugin&, std::string* error) {
  ++g_loads;
  *error = "cannot load libfake.so.1";
  return nullptr;
}
const char* const kSonames[] = {"libfake.so.1", nullptr};
const LibraryPlugin kLib = {"lib", 9000, 9099, 77, kSonames};

TEST(Registry, LibraryPluginLoadsOnceOnItsFirstCall) {
  g_loads = 0;
  Registry r;
  r.add_library_plugin(kLib, &good_loader);
  EXPECT_TRUE(r.has_plugin("lib"));  // known before it is loaded (the Hello names it)
  EXPECT_EQ(g_loads, 0);
  EXPECT_EQ(r.find(8999), nullptr);  // outside its range: not loaded for that
  EXPECT_EQ(g_loads, 0);
  ASSERT_NE(r.find(9002), nullptr);
  EXPECT_EQ(r.find(9002)->fn, &h2);
  EXPECT_NE(r.find(9001), nullptr);
  EXPECT_EQ(r.find(9050), nullptr);  // in range, not in the plugin's table: an unknown call
  int32_t status = 0;
  std::string why;
  bool first = false;
  EXPECT_FALSE(r.unavailable(9050, &status, &why, &first));
  EXPECT_EQ(g_loads, 1);
}

TEST(Registry, UnavailableLibraryAnswersItsStatusAndSaysWhyOnce) {
  g_loads = 0;
  Registry r;
  r.add_library_plugin(kLib, &failing_loader);
  EXPECT_EQ(r.find(9001), nullptr);
  int32_t status = 0;
  std::string why;
  bool first = false;
  ASSERT_TRUE(r.unavailable(9001, &status, &why, &first));
  EXPECT_EQ(status, 77);
  EXPECT_EQ(why, "cannot load libfake.so.1");
  EXPECT_TRUE(first);
  ASSERT_TRUE(r.unavailable(9002, &status, &why, &first));
  EXPECT_FALSE(first);
  EXPECT_FALSE(r.unavailable(12, &status, &why, &first));  // not a library plugin's id
  EXPECT_EQ(g_loads, 1);  // tried once, not on every call
}

// A worker loads the plugins a Hello names ahead when the client names only what its program
// needs (3.9 and later); GVIRTUS_PRELOAD_PLUGINS=1 for older clients too, 0 for none.
TEST(Registry, PluginsAreLoadedAheadForClientsThatNameOnlyWhatTheyNeed) {
  wire::Hello now, older;
  older.minor = 8;
  {
    testenv::EnvGuard unset("GVIRTUS_PRELOAD_PLUGINS", nullptr);
    EXPECT_TRUE(preload_wanted(now));
    EXPECT_FALSE(preload_wanted(older));
  }
  {
    testenv::EnvGuard on("GVIRTUS_PRELOAD_PLUGINS", "1");
    EXPECT_TRUE(preload_wanted(older));
  }
  {
    testenv::EnvGuard off("GVIRTUS_PRELOAD_PLUGINS", "0");
    EXPECT_FALSE(preload_wanted(now));
  }
}

// The plugins a Hello names are loaded ahead of their first call, once; others are not. Whether
// a library was named decides whether the worker makes NVML ready too.
TEST(Registry, PreloadLoadsTheNamedLibraryPluginsOnce) {
  g_loads = 0;
  Registry r;
  r.add_library_plugin(kLib, &good_loader);
  EXPECT_FALSE(r.preload({"cudart", "other"}));
  EXPECT_EQ(g_loads, 0);
  EXPECT_TRUE(r.preload({"cudart", "lib"}));
  EXPECT_EQ(g_loads, 1);
  ASSERT_NE(r.find(9001), nullptr);
  EXPECT_TRUE(r.preload({"lib"}));
  EXPECT_EQ(g_loads, 1);

  // A plugin that fails ahead answers its calls as one that failed on its first call.
  g_loads = 0;
  Registry f;
  f.add_library_plugin(kLib, &failing_loader);
  f.preload({"lib"});
  EXPECT_EQ(g_loads, 1);
  EXPECT_EQ(f.find(9001), nullptr);
  int32_t status = 0;
  std::string why;
  bool first = false;
  ASSERT_TRUE(f.unavailable(9001, &status, &why, &first));
  EXPECT_EQ(status, 77);
  EXPECT_TRUE(first);
  EXPECT_EQ(g_loads, 1);
}

TEST(RegistryDeathTest, DuplicateCallIdAborts) {
  Registry r;
  const HandlerEntry a[] = {{10, "A", &h1}};
  const HandlerEntry b[] = {{10, "Other", &h2}};
  r.add_plugin("p", a, 1);
  EXPECT_DEATH(r.add_plugin("q", b, 1), "already taken by A");
}

TEST(Registry, ProcessRegistryServesCoreAndCudart) {
  const Registry& r = registry();
  EXPECT_TRUE(r.has_plugin("core"));
  EXPECT_TRUE(r.has_plugin("cudart"));
  const HandlerEntry* ping = r.find(kCallPing);
  ASSERT_NE(ping, nullptr);
  EXPECT_STREQ(ping->name, "Ping");
  EXPECT_EQ(&registry(), &r);
}

}  // namespace
}  // namespace gvirtus::backend
