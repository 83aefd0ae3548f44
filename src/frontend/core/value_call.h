// A library call without arguments whose reply is one u64 (cudnnGetVersion,
// cublasLtGetCudartVersion, ...: functions that return a size_t, not a status).
#pragma once
#include <cstdint>
#include <string>

#include "frontend/core/client.h"

namespace gvirtus::client {

// The reply's value, or 0 when the session is lost or the call fails (the libraries never answer
// 0 for a version). `what` names the call in the message of a reply that does not decode.
inline uint64_t u64_call(uint32_t call_id, int32_t ok, const char* what) {
  try {
    Call c(call_id);
    if (!c.invoke() || c.status() != ok) return 0;
    wire::Reader& r = c.result();
    const uint64_t v = r.get<uint64_t>();
    r.expect_end();
    return v;
  } catch (const wire::DecodeError& e) {
    mark_session_lost(std::string(what) + ": " + e.what());
    return 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace gvirtus::client
