// The shared-memory transport (shm:/path), for a client on the backend's host. A Unix socket at
// the path sets up the connection: the backend creates a sealed memfd holding two
// single-producer/single-consumer byte rings (client->backend, backend->client) and passes it
// with SCM_RIGHTS; every byte of every frame then goes through the rings. The socket stays open
// as the liveness signal (EOF/HUP when the peer dies) and as a doorbell for a reader that waits
// in poll() (the daemon's loop). Layout and wake-up rules: docs/protocol.md, "Shared memory".
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/transport.h"

namespace gvirtus {

namespace shm {
constexpr uint64_t kMagic = 0x314d485355495647ull;  // "GVIUSHM1" little-endian
constexpr uint32_t kVersion = 2;  // 2: each ring word on its own cache line
constexpr size_t kHeaderBytes = 4096;
// Bytes of each ring: a power of two. Chosen by the backend; a client takes it from the header.
constexpr uint64_t kRingBytes = 8u << 20;
// How long a waiting side spins before it sleeps, and how often a sleeper looks at the socket
// for a dead peer.
constexpr int kSpinMicros = 30;
constexpr int kSleepCheckMs = 100;
}  // namespace shm

// Internal to the transports (transport_socket.cc).
Status connect_shm(const Endpoint& ep, std::unique_ptr<Stream>* out);
Status listen_shm(const Endpoint& ep, std::unique_ptr<Listener> sock, std::unique_ptr<Listener>* out);
Status shm_stream_from_fds(int sock_fd, int mem_fd, std::string peer, std::unique_ptr<Stream>* out);
Status connect_unix_socket(const std::string& path, int* fd);

// Descriptor passing on an shm: stream, whose socket carries nothing but doorbells otherwise
// (docs/protocol.md, "Shared host memory"). shm_send_fd sends a duplicate of fd (the caller
// keeps it), queued ahead of whatever is sent next; kUnimplemented for other streams.
// shm_take_fd returns the oldest descriptor the peer passed and nobody took yet, waiting up to
// timeout_ms for one (the caller owns it), or -1 (none came, or not an shm: stream). At most
// 16 wait to be taken; more are closed on arrival.
Status shm_send_fd(Stream& s, int fd);
int shm_take_fd(Stream& s, int timeout_ms);

// For tests: a connected pair in this process (the backend side first), through a socketpair
// and a fresh memfd, and the shared mapping of a stream (nullptr for other streams), so a test
// can play a client that scribbles on it.
Status shm_stream_pair(std::unique_ptr<Stream>* backend, std::unique_ptr<Stream>* client,
                       uint64_t ring_bytes = shm::kRingBytes);
void* shm_mapping(Stream& s, size_t* bytes);

}  // namespace gvirtus
