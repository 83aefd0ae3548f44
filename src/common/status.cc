#include "common/status.h"

namespace gvirtus {

const char* code_name(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kFailed: return "failed";
    case Code::kDisconnected: return "disconnected";
    case Code::kProtocol: return "protocol error";
    case Code::kTimeout: return "timeout";
    case Code::kOverloaded: return "overloaded";
    case Code::kUnimplemented: return "unimplemented";
    case Code::kInvalid: return "invalid";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + msg_;
}

}  // namespace gvirtus
