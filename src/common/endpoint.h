// Where a backend listens or a client connects: "tcp://host:port", "tls://host:port" (TCP with
// TLS 1.3, docs/security.md), "unix:/path" or "shm:/path" (shared memory set up over a Unix
// socket at the path, for a client on the backend's host: transport_shm.h).
#pragma once
#include <string>

#include "common/status.h"

namespace gvirtus {

struct Endpoint {
  enum class Type { kTcp, kUnix, kShm };
  Type type = Type::kTcp;
  std::string host;  // tcp: name or address ("[::1]" form accepted for IPv6)
  int port = 0;      // tcp
  std::string path;  // unix, shm: the socket's path
  bool tls = false;  // tcp: TLS 1.3 over it ("tls://host:port")
  std::string to_string() const;
};

// Parses "tcp://host:port", "tls://host:port", "unix:/path" (also "unix:///path"), "shm:/path"
// (also "shm:///path"). Anything
// else is kInvalid.
Status parse_endpoint(const std::string& text, Endpoint* out);
// True for a TCP endpoint whose host is a loopback address (127.0.0.0/8, ::1, "localhost")
// and for Unix sockets and shm: listeners that other hosts cannot reach.
bool is_local(const Endpoint& ep);

constexpr const char* kDefaultListen = "tcp://127.0.0.1:9999";

}  // namespace gvirtus
