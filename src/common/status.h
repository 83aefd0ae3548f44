// Errors as values. A Status is Ok or carries a kind and a message.
#pragma once
#include <string>
#include <utility>

namespace gvirtus {

enum class Code {
  kOk = 0,
  kFailed,        // the operation failed for a reason given in the message
  kDisconnected,  // the peer went away (EOF, reset, refused)
  kProtocol,      // the peer sent something that breaks the wire protocol
  kTimeout,       // a deadline passed
  kOverloaded,    // a resource limit was hit
  kUnimplemented, // the peer does not know the call or the plugin
  kInvalid,       // bad argument or configuration from the local caller
};

const char* code_name(Code c);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}
  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string msg_;
};

inline Status failed(std::string m) { return Status(Code::kFailed, std::move(m)); }
inline Status disconnected(std::string m) { return Status(Code::kDisconnected, std::move(m)); }
inline Status protocol_error(std::string m) { return Status(Code::kProtocol, std::move(m)); }
inline Status invalid(std::string m) { return Status(Code::kInvalid, std::move(m)); }

}  // namespace gvirtus
