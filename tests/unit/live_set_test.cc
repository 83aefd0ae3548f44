// client::LiveSet: the library objects a process created and has not destroyed, which decide
// whether a call may go out without waiting for its status (async_if=).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/core/live_set.h"

namespace gvirtus::client {
namespace {

const void* id(uintptr_t v) { return reinterpret_cast<const void*>(v); }

TEST(LiveSet, CreatedUntilDestroyedNeverNull) {
  LiveSet s;
  EXPECT_FALSE(s.contains(id(0x0500000000000001)));
  s.add(id(0x0500000000000001));
  EXPECT_TRUE(s.contains(id(0x0500000000000001)));
  EXPECT_FALSE(s.contains(id(0x0500000000000002)));
  s.remove(id(0x0500000000000001));
  EXPECT_FALSE(s.contains(id(0x0500000000000001)));
  s.add(nullptr);
  EXPECT_FALSE(s.contains(nullptr));  // a NULL handle is refused at once natively: always asked
}

TEST(LiveSet, ForkedChildStartsEmpty) {
  LiveSet s;
  s.add(id(7));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(s.contains(id(7)) ? 1 : 0);  // the child's worker never issued it
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(s.contains(id(7)));  // the parent's is untouched
}

}  // namespace
}  // namespace gvirtus::client
