// The backend's end of a TLS connection: a process the daemon starts per accepted tls://
// connection. It completes the TLS 1.3 handshake (verifying the client's certificate when the
// listener asks for one), writes the relay note (below) and then copies bytes between the TLS
// connection and a Unix socketpair whose other end the daemon treats as a freshly accepted
// plaintext connection (handshake, token check, worker). A process of its own because a TLS
// connection's state cannot be passed to a worker with its descriptor. docs/security.md.
//
// The relay is a fresh process image, like a worker (spawn.h): the daemon forks and execs
// gvirtus-backend in relay mode, so a relay holds nothing of the daemon's memory (other
// sessions' tokens, the authentication token). It loads the certificate and key from their
// files itself. The contract between the daemon and a relay (both sides here):
//   argv:  EXE --tls-relay --net-fd N --plain-fd M --cert FILE --key FILE [--client-ca FILE]
//          [--handshake-timeout-ms MS] [--peer TEXT] [--log-level LEVEL] [--user UID:GID]
//          [--dumpable 0|1] [--receive-spin-us US]
//   --user: the "worker_user" to become once the key is loaded (the daemon runs as root then).
//   fd N:  the accepted TCP connection; fd M: the relay's end of the socketpair.
//
// The relay note: the first bytes on the plaintext side, before any byte of the client, so
// that the daemon learns who the TLS handshake proved the client to be:
//   u32 kRelayNoteMagic, u32 length (<= kMaxRelayNoteSubject), then `length` bytes: the
//   verified client certificate's subject as an RFC 2253 distinguished name
//   ("CN=alice,O=Example"), empty when the listener does not verify client certificates.
// Host byte order: both ends are processes of one host.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace gvirtus::backend {

constexpr uint32_t kRelayNoteMagic = 0x4e525647;  // "GVRN"
constexpr size_t kRelayNoteHeader = 8;
constexpr size_t kMaxRelayNoteSubject = 1024;

std::vector<uint8_t> encode_relay_note(const std::string& subject);
// The subject's length from a note's header; false if it is no note (bad magic, too long).
bool decode_relay_note_header(const uint8_t header[kRelayNoteHeader], uint32_t* length);

// The verified client certificate's subject (RFC 2253; "(empty subject)" for a certificate
// without one), or "" when there is none or the context does not verify client certificates.
std::string verified_subject(SSL* ssl);

// Never returns: exits when either side closes or the handshake fails (logged). After moving
// bytes it looks for more without sleeping for spin_micros ("receive_spin_us", config.h).
[[noreturn]] void run_tls_relay(SSL_CTX* ctx, int net_fd, int plain_fd, int handshake_timeout_ms,
                                const std::string& peer, int spin_micros);

// Relay mode: argv after "--tls-relay" (the contract above). Returns only on a bad command
// line (exit code 2) or when the certificate cannot be loaded (1).
int tls_relay_main(int argc, char** argv);

}  // namespace gvirtus::backend
