// Per-client limits (docs/security.md, "Isolation and quotas"): who a client is, and which
// limits apply to it. The daemon counts sessions per identity; each worker counts its
// session's connections.
//
// A client's identity, in this order:
//   "token"          it proved the backend's token (token authentication)
//   "certificate"    it came through a tls:// listener that verified its client certificate
//                    (the certificate's subject does not reach the daemon yet: one identity
//                    for every verified certificate)
//   "uid:N"          a Unix socket peer running as user N (SO_PEERCRED)
//   "host:ADDR"      anyone else: the peer's address (loopback, or --insecure listeners)
#pragma once
#include <cstdint>
#include <string>

#include "common/isolation_config.h"

namespace gvirtus::backend {

// uid: the Unix peer's user id or -1; fd: the connection, for a TCP peer's address.
std::string client_identity(bool token_proof, bool cert_verified, long uid, int fd);

// The limits of `identity`: its own entry's values, the default's where it sets none.
// -1: no limit.
ClientLimits limits_for(const IsolationConfig& cfg, const std::string& identity);

// The refusal texts, naming the limit and where it is configured.
std::string session_limit_text(const std::string& identity, int64_t limit);
std::string connection_limit_text(const std::string& identity, int64_t limit);

}  // namespace gvirtus::backend
