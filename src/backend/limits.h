// Per-client limits (docs/security.md, "Isolation and quotas"): who a client is, and which
// limits apply to it. The daemon counts sessions per identity; each worker counts its
// session's connections.
//
// A client's identity, in this order:
//   "cert:DN"        it came through a tls:// listener that verified its client certificate;
//                    DN is the certificate's subject as an RFC 2253 distinguished name
//                    ("cert:CN=alice,O=Example", what `openssl x509 -noout -subject -nameopt
//                    RFC2253` prints), cut to 256 characters in all, non-printable bytes as '?'. The
//                    full subject, not only its CN: two CAs the backend trusts may each name
//                    an "alice".
//   "token"          it proved the backend's token (token authentication)
//   "uid:N"          a Unix socket peer running as user N (SO_PEERCRED)
//   "host:ADDR"      anyone else: the peer's address (loopback, or --insecure listeners)
// The limits of a "cert:..." identity without an entry of its own are those of the entry
// "certificate" (every certificate holder), if there is one, else the default's.
#pragma once
#include <cstdint>
#include <string>

#include "common/isolation_config.h"

namespace gvirtus::backend {

// cert_subject: the verified client certificate's subject or ""; uid: the Unix peer's user id
// or -1; fd: the connection, for a TCP peer's address.
std::string client_identity(bool token_proof, const std::string& cert_subject, long uid, int fd);

// The limits of `identity`: its own entry's values, the default's where it sets none.
// -1: no limit.
ClientLimits limits_for(const IsolationConfig& cfg, const std::string& identity);

// The refusal texts, naming the limit and where it is configured.
std::string session_limit_text(const std::string& identity, int64_t limit);
std::string connection_limit_text(const std::string& identity, int64_t limit);

}  // namespace gvirtus::backend
