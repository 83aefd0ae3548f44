// Call hooks (client::set_call_hooks): every installed set runs around each call, so that the
// emulations of libcudart.so.13 and of libcuda.so.1 (each links its own copy) both see the
// calls (and the work around host callbacks of both); installing a set again does not run it
// twice. The hooks' own calls run no hooks.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "fake_backend.h"
#include "frontend/core/client.h"
#include "frontend/core/session.h"

namespace gvirtus::testing {
namespace {

constexpr uint32_t kWork = 5200;
std::atomic<int> g_a_before{0}, g_a_after{0}, g_b_before{0}, g_b_after{0};
std::atomic<int32_t> g_b_status{-1};
std::atomic<int> g_a_cb_before{0}, g_b_cb_after{0};

// Hook sets cannot be removed, and this process may run other tests after this one: the
// hooks act only while the test runs.
std::atomic<bool> g_active{false};
void a_before(uint32_t id) {
  if (id == kWork && g_active) ++g_a_before;
}
void a_after(uint32_t id, int32_t) {
  if (id != kWork || !g_active) return;
  ++g_a_after;
  client::Call inner(kWork);  // a hook's own call: no hook runs for it
  inner.invoke();
}
void b_before(uint32_t id) {
  if (id == kWork && g_active) ++g_b_before;
}
void b_after(uint32_t id, int32_t status) {
  if (id != kWork || !g_active) return;
  ++g_b_after;
  g_b_status = status;
}
void a_cb_before() {
  if (g_active) ++g_a_cb_before;
}
void b_cb_after() {
  if (g_active) ++g_b_cb_after;
}

TEST(CallHooks, EverySetRunsOnceAroundEachCall) {
  for (auto* c : {&g_a_before, &g_a_after, &g_b_before, &g_b_after, &g_a_cb_before, &g_b_cb_after})
    *c = 0;
  FakeBackend be([&](Stream& s, const wire::Hello&) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      if (!(f.flags & wire::kFlagNoReply) && !send_reply(s, f, 7, 0)) return;
    }
  });
  client::Session session(test_session_options(be.connector()));
  SessionOverride use(&session);
  client::CallHooks a;
  a.before = &a_before;
  a.after = &a_after;
  a.before_callback = &a_cb_before;
  client::CallHooks b;
  b.before = &b_before;
  b.after = &b_after;
  b.after_callback = &b_cb_after;
  g_active = true;
  client::set_call_hooks(a);
  client::set_call_hooks(b);
  client::set_call_hooks(a);  // again: still one set
  client::Call c(kWork);
  ASSERT_TRUE(c.invoke());
  EXPECT_EQ(g_a_before.load(), 1);
  EXPECT_EQ(g_a_after.load(), 1);
  EXPECT_EQ(g_b_before.load(), 1);
  EXPECT_EQ(g_b_after.load(), 1);
  EXPECT_EQ(g_b_status.load(), 7);
  // Around a host callback: each set's work, whichever library's thread runs the callback.
  client::run_callback_hooks(false);
  EXPECT_EQ(g_a_cb_before.load(), 1);
  EXPECT_EQ(g_b_cb_after.load(), 0);
  client::run_callback_hooks(true);
  EXPECT_EQ(g_a_cb_before.load(), 1);
  EXPECT_EQ(g_b_cb_after.load(), 1);
  g_active = false;
}

}  // namespace
}  // namespace gvirtus::testing
