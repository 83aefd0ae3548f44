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
//   Or, a spare relay, started before its connection came: --wait-fd K instead of --net-fd,
//   --plain-fd and --peer. It loads the certificate and key, becomes --user, and then waits on
//   fd K (a SOCK_SEQPACKET socket) for the handoff: one message from the daemon whose bytes are
//   the peer's text (1 to kMaxRelayPeer bytes) and which carries two descriptors, N then M.
//   The daemon closing K instead ends it quietly. So a TLS connection does not wait for a fork,
//   an exec and the key's loading (a handshake took 4.5 ms without a spare, 1.4 ms with one, on
//   the 2-core build machine: docs/security.md); the daemon starts the next spare once no TLS
//   handshake is under way, and hands nothing to a spare started before the certificate, key or
//   client CA files changed (tls_files_stamp, common/tls.h).
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
constexpr size_t kMaxRelayPeer = 256;  // the peer's text in a spare relay's handoff

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

// The daemon's side of a spare relay's handoff (the contract above): false with errno when the
// message could not be sent (the spare is gone, say).
bool hand_to_spare_relay(int wait_fd, int net_fd, int plain_fd, const std::string& peer);

// Sizes both ends of a relay's plaintext socketpair for bulk copies (large buffers, as for
// Unix sockets): the daemon's, and gvirtus-bench-transport's --raw tls://.
void size_relay_pair(const int pair[2]);

// Relay mode: argv after "--tls-relay" (the contract above). Returns only on a bad command
// line (exit code 2) or when the certificate cannot be loaded (1).
int tls_relay_main(int argc, char** argv);

}  // namespace gvirtus::backend
