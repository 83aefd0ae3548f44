// The backend's end of a TLS connection: a process forked by the daemon per accepted tls://
// connection. It completes the TLS 1.3 handshake (verifying the client's certificate when the
// listener asks for one) and then copies bytes between the TLS connection and a Unix
// socketpair whose other end the daemon treats as a freshly accepted plaintext connection
// (handshake, token check, worker). A process of its own because a TLS connection's state
// cannot be passed to a worker with its descriptor. docs/security.md.
#pragma once
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace gvirtus::backend {

// Never returns: exits when either side closes or the handshake fails (logged).
[[noreturn]] void run_tls_relay(SSL_CTX* ctx, int net_fd, int plain_fd, int handshake_timeout_ms,
                                const std::string& peer);

}  // namespace gvirtus::backend
