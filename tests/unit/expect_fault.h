// EXPECT_FAULT(stmt, "text"): stmt must end the session, and for the reason under test.
//
// A hostile-input test that only checks "it threw" still passes when its own check is removed
// and a later check happens to throw. So the test names the reason: the exception's what() must
// contain `text`, a part of the message that only the check under test produces.
//
// Both exceptions that end a session count (serve_connection ends the session on either):
// backend::SessionFault (a handler's own check) and wire::DecodeError (the Reader's bounds: a
// short payload, bytes left over, a string over its bound). Anything else, or no exception, fails.
// On a mismatch the failure prints the actual type and message, so writing a new test is: put
// EXPECT_FAULT(stmt, "?"), run it, and copy the distinguishing part of the printed message.
// Extra context streams in as with EXPECT_*: EXPECT_FAULT(run(h, w), "over its bound") << n;
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <string_view>

#include "backend/dispatch.h"
#include "common/wire.h"

namespace gvirtus::testing {

template <typename F>
::testing::AssertionResult ends_session_with(F&& stmt, std::string_view text) {
  std::string kind, what;
  try {
    stmt();
    return ::testing::AssertionFailure() << "no exception (expected a session fault containing \""
                                         << text << "\")";
  } catch (const backend::SessionFault& e) {
    kind = "SessionFault";
    what = e.what();
  } catch (const wire::DecodeError& e) {
    kind = "DecodeError";
    what = e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw an exception that does not end the session: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw a non-std exception";
  }
  if (text.empty() || what.find(text) == std::string::npos)
    return ::testing::AssertionFailure() << kind << " \"" << what << "\" does not contain \""
                                         << text << "\"";
  return ::testing::AssertionSuccess();
}

}  // namespace gvirtus::testing

#define EXPECT_FAULT(stmt, text) \
  EXPECT_TRUE(::gvirtus::testing::ends_session_with([&] { (void)(stmt); }, text))
#define ASSERT_FAULT(stmt, text) \
  ASSERT_TRUE(::gvirtus::testing::ends_session_with([&] { (void)(stmt); }, text))
