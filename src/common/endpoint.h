// Where a backend listens or a client connects: "tcp://host:port" or "unix:/path".
#pragma once
#include <string>

#include "common/status.h"

namespace gvirtus {

struct Endpoint {
  enum class Type { kTcp, kUnix };
  Type type = Type::kTcp;
  std::string host;  // tcp: name or address ("[::1]" form accepted for IPv6)
  int port = 0;      // tcp
  std::string path;  // unix
  std::string to_string() const;
};

// Parses "tcp://host:port", "unix:/path" (also "unix:///path"). Anything else is kInvalid.
Status parse_endpoint(const std::string& text, Endpoint* out);

constexpr const char* kDefaultListen = "tcp://127.0.0.1:9999";

}  // namespace gvirtus
