// TLS 1.3 over TCP (OpenSSL 3): the client's stream and the server's context. The backend's
// side of a connection is terminated by a relay process (src/backend/tls_relay.cc), so the
// daemon and the workers keep speaking plain bytes over a socketpair. docs/security.md.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/status.h"
#include "common/transport.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace gvirtus {

// Client side of a tls:// endpoint.
struct TlsClientOptions {
  std::string ca_file;    // CA certificates the server's must chain to; empty: the system's
  std::string cert_file;  // client certificate (mutual TLS); empty: none
  std::string key_file;   // its private key (empty: in cert_file)
  int handshake_timeout_ms = 30000;
};

// Connects over TCP and completes a TLS 1.3 handshake, verifying the server's certificate
// against ca_file and its name (or IP address) against ep.host. Unlike a socket stream, the
// result must be sent on and received from by one thread at a time (an OpenSSL connection is
// not safe for concurrent use; the client uses each connection from its own thread only);
// shutdown() may come from any thread.
Status connect_tls(const Endpoint& ep, const TlsClientOptions& opt, std::unique_ptr<Stream>* out);

// The client context connect_tls uses for opt: made once and shared by the process's
// connections, made again when a file it loaded (the CA file, or the system's CA file and
// directory; the client certificate and key) changed since (tls_files_stamp). The caller owns
// the reference it gets (SSL_CTX_free).
Status client_context(const TlsClientOptions& opt, SSL_CTX** out);

// Server side: certificate, key and, for mutual TLS, the CA that client certificates must
// chain to (then a client without a valid certificate fails the handshake).
class TlsServerContext {
 public:
  static Status create(const std::string& cert_file, const std::string& key_file,
                       const std::string& client_ca_file, std::unique_ptr<TlsServerContext>* out);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  SSL_CTX* ctx() const { return ctx_; }
  bool verifies_clients() const { return verify_clients_; }

 private:
  TlsServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  bool verify_clients_ = false;
};

// Certificates for tests and benchmarks (never for production): writes DIR/NAME.pem and
// DIR/NAME.key (mode 0600), an EC P-256 key and a certificate valid for two days. With `issuer`
// empty: a self-signed CA named NAME. Otherwise a leaf certificate signed by DIR/ISSUER.pem and
// DIR/ISSUER.key, with subjectAltName `san` (e.g. "IP:127.0.0.1,DNS:localhost").
Status make_test_certificate(const std::string& dir, const std::string& name,
                             const std::string& san, const std::string& issuer);

// What the files at `paths` are now, as text: device, inode, size, modification and change
// times of each ("-" for an empty path or a missing file). Equal stamps: the same files,
// unchanged (a rotated certificate, even one copied with `cp -p`, changes it).
std::string tls_files_stamp(const std::vector<std::string>& paths);

// Puts a write buffer of `bytes` in front of ssl's socket (after the handshake, whose
// messages OpenSSL buffers itself): records gather there and leave in one send when it fills
// or at BIO_flush(SSL_get_wbio(ssl)), instead of one send per 16 KiB record. False, with
// nothing changed, when OpenSSL cannot (its error queue says why). The client's connections
// and the backend's TLS relay both write this way.
bool buffer_tls_writes(SSL* ssl, int bytes);

// OpenSSL's error queue in words (emptied), or `fallback` when it is empty.
std::string tls_error_text(const std::string& fallback);

}  // namespace gvirtus
