// The managed-memory code is linked into libcudart.so.13 and, statically, into libcuda.so.1, each
// copy with its own state; the mirrored allocations are the copy's that registered the process's
// host-memory table (frontend/core/host_memory_ops.h). The other copy's exchange points (its copy
// engine, its callback thread) must run the registered copy's, or a driver copy or memset on
// managed memory would miss the host's writes and leave the host's copy stale. Each case runs in
// a child process: the table can be registered once per process.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frontend/core/host_memory_ops.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::testing {
namespace {

namespace managed = gvirtus::cudart::managed;

int g_before = 0, g_after = 0, g_cb_before = 0, g_cb_after = 0, g_contains = 0;
int g_mirrored_byte = 0;  // stands for an address inside the other library's allocation

void other_before() { ++g_before; }
void other_after() { ++g_after; }
void other_cb_before() { ++g_cb_before; }
void other_cb_after() { ++g_cb_after; }
bool other_contains(const void* p) {
  ++g_contains;
  return p == &g_mirrored_byte;
}

client::HostMemoryOps table(void (*before)()) {
  client::HostMemoryOps ops;
  ops.before_device_work = before;
  ops.after_synchronisation = &other_after;
  ops.before_callback = &other_cb_before;
  ops.after_callback = &other_cb_after;
  ops.contains_managed = &other_contains;
  return ops;
}

TEST(ManagedShared, AnotherLibrarysAllocationsAreExchangedFromThisCopy) {
  EXPECT_EXIT(
      {
        client::set_host_memory_ops(table(&other_before));
        managed::before_device_work();
        managed::after_synchronisation();
        managed::before_callback();
        managed::after_callback();
        const bool inside = managed::contains(&g_mirrored_byte);
        const bool outside = managed::contains(&g_before);
        std::exit(g_before == 1 && g_after == 1 && g_cb_before == 1 && g_cb_after == 1 &&
                          inside && !outside
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ManagedShared, TheRegisteringCopyDoesNotCallItself) {
  EXPECT_EXIT(
      {
        client::set_host_memory_ops(table(&managed::before_device_work));
        managed::before_device_work();
        managed::after_synchronisation();
        managed::before_callback();
        managed::after_callback();
        const bool inside = managed::contains(&g_mirrored_byte);
        std::exit(g_after == 0 && g_cb_before == 0 && g_cb_after == 0 && g_contains == 0 &&
                          !inside
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace gvirtus::testing
