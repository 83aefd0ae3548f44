// The handshake, shared by the daemon (which reads and checks the Hello and refuses) and the
// worker (which accepts): Hello checks, Welcome frames, and passing a connection from the
// daemon to a worker.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/dispatch.h"
#include "common/status.h"
#include "common/transport.h"
#include "common/wire.h"

namespace gvirtus::backend {

// Client-supplied text made safe to log: bytes outside printable ASCII become '?', and the
// result is cut at max_len.
std::string printable(const std::string& s, size_t max_len = 256);

// Decodes and checks a Hello payload against the plugins `reg` serves. On success fills
// *hello and returns true. Otherwise fills *refusal (status and a message for the user:
// version mismatch naming both versions, unknown plugin naming it, malformed) and returns false.
bool check_hello(const uint8_t* payload, size_t n, const Registry& reg, wire::Hello* hello,
                 wire::Welcome* refusal);

// A complete Welcome frame (header and payload), ready to send.
std::vector<uint8_t> welcome_frame(const wire::Welcome& w);
Status send_welcome(Stream& s, const wire::Welcome& w);

// Daemon -> worker over the control socket (SOCK_SEQPACKET): one message per secondary
// connection, carrying its descriptor (SCM_RIGHTS) and, for an shm: connection, its shared
// memory as a second one (aux_fd), its peer text and its Hello payload.
// Never blocks (kOverloaded if the worker's queue is full).
Status send_connection(int control_fd, int conn_fd, const std::string& peer,
                       const std::vector<uint8_t>& hello_payload, int aux_fd = -1);
// Blocks for the next message; kDisconnected when the daemon closed its end. *aux_fd is -1
// when the message carried one descriptor.
Status recv_connection(int control_fd, int* conn_fd, std::string* peer,
                       std::vector<uint8_t>* hello_payload, int* aux_fd = nullptr);

}  // namespace gvirtus::backend
