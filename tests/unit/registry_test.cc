#include <gtest/gtest.h>

#include "backend/control.h"
#include "backend/dispatch.h"

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
