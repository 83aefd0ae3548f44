// The transport seam: everything above it talks to a Stream, never to a socket.
// TCP and Unix domain sockets live in transport_socket.cc; tests add an in-process pair and a
// fault-injecting wrapper; shared memory (shm:) lives in transport_shm.cc. RDMA comes later.
#pragma once
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/status.h"
#include "common/wire.h"

namespace gvirtus {

// One connected, reliable, ordered byte stream. Not thread-safe: one sender and one receiver
// at a time (they may be different threads).
class Stream {
 public:
  virtual ~Stream() = default;
  // Sends all bytes of all iovecs, or fails. Never returns a partial send as success.
  virtual Status send(const struct iovec* iov, int iovcnt) = 0;
  // Receives exactly n bytes into buf, or fails (kDisconnected on orderly EOF).
  virtual Status recv(void* buf, size_t n) = 0;
  // Wakes a blocked recv/send in another thread; later calls fail with kDisconnected.
  virtual void shutdown() = 0;
  // The OS descriptor, or -1 for streams without one. Lets the daemon hand a connection to a
  // worker process (SCM_RIGHTS). Ownership stays with the Stream unless release_fd() is called.
  virtual int fd() const { return -1; }
  virtual int release_fd() { return -1; }
  // Bytes already received and decrypted but not yet read (TLS): poll() on fd() would not
  // see them, so a caller that waits for readability checks this first.
  virtual bool buffered() const { return false; }
  // From now on, recv() reads ahead: one system call fetches whatever has arrived, up to
  // `bytes`, and later recv()s are served from it first (the worker's serve loop: a frame's
  // header and payload, and frames sent back to back, cost one receive instead of two per
  // frame). Reads of `bytes` or more still go straight into the caller's buffer. Never for a
  // stream whose descriptor is handed on later (release_fd would leave the bytes behind).
  // A no-op where the stream has no use for it.
  virtual void set_read_ahead(size_t bytes) { (void)bytes; }
  // From now on, a recv() that finds nothing there yet polls without blocking for up to
  // `micros` microseconds before it sleeps in the kernel: a reply that comes within that time
  // costs no wake-up (about 5 us on a loaded host). For a client waiting on its own call, whose
  // thread has nothing else to do; 0 (the default) sleeps at once. A no-op where the stream
  // waits its own way (shm: spins, then sleeps on a futex).
  virtual void set_receive_spin(int micros) { (void)micros; }
  // Whether each send() is a system call that costs far more than copying a small frame, and
  // the stream may be written by one thread while another reads it: the client then gathers
  // small frames that need no reply and sends them from a thread of its own (TCP, Unix and
  // TLS sockets; frontend/core/send_queue.h).
  virtual bool costly_send() const { return false; }
  // A second descriptor that travels with fd() when the connection is handed to another
  // process (the shared memory of an shm: stream), or -1. Owned by the Stream.
  virtual int aux_fd() const { return -1; }
  // Never waits: receives what is there, up to n bytes. >0: bytes read; 0: orderly EOF; -1 with
  // errno (EAGAIN: nothing yet; poll fd() for POLLIN, which this call has armed). For the
  // daemon's poll loop, which reads each handshake a piece at a time.
  virtual ssize_t recv_nowait(void* buf, size_t n);
  // Never waits: sends all n bytes if they fit at once, else nothing (false). For refusals
  // and goodbyes to a client that may not be reading; shut_write then ends our direction.
  virtual bool send_nowait(const void* buf, size_t n);
  virtual void shut_write();
  virtual std::string peer() const = 0;
  // Whether a forked child may destroy its copy of this stream (after taking its descriptor
  // back with release_fd). False where another thread of the parent may have been inside the
  // object at the fork, leaving the child's copy half updated (an SSL object): the child then
  // leaks it instead.
  virtual bool destroyable_after_fork() const { return true; }
};

class Listener {
 public:
  virtual ~Listener() = default;
  // Waits for a connection.
  virtual Status accept(std::unique_ptr<Stream>* out) = 0;
  // Never waits: kTimeout when no connection is pending. For poll loops (the daemon), where a
  // connection that vanished between poll() and accept() must not block everyone else.
  virtual Status try_accept(std::unique_ptr<Stream>* out) { return accept(out); }
  virtual int fd() const = 0;  // pollable for readability
  virtual std::string describe() const = 0;
};

// Connects to an endpoint. TCP streams get TCP_NODELAY, large buffers and keepalive. A tls://
// endpoint is connected with the system's CA certificates and no client certificate; use
// connect_tls (tls.h) for more.
Status connect_stream(const Endpoint& ep, std::unique_ptr<Stream>* out);

// Listens on an endpoint. A stale Unix socket file is replaced; a live one is an error.
Status listen_on(const Endpoint& ep, std::unique_ptr<Listener>* out);
// Wraps an already connected socket descriptor (e.g. received from the daemon). Takes ownership.
std::unique_ptr<Stream> stream_from_fd(int fd, std::string peer);
// The same for a connection that may carry a second descriptor (Stream::aux_fd): an shm:
// connection (transport_shm.h) when aux_fd >= 0, else a socket. Takes ownership of both.
Status stream_from_fds(int fd, int aux_fd, std::string peer, std::unique_ptr<Stream>* out);
// A connected pair of streams in this process (socketpair), for tests and the embedded backend.
Status stream_pair(std::unique_ptr<Stream>* a, std::unique_ptr<Stream>* b);

// Calls f(v, cnt + 1) with v holding `first` and then the cnt iovecs of `rest` (a frame's
// header before its body, queued frames before a request): on the stack for a few.
template <class F>
auto with_leading_iovec(struct iovec first, const struct iovec* rest, int cnt, F&& f) {
  constexpr int kInline = 9;
  struct iovec small[kInline];
  std::vector<struct iovec> big;
  struct iovec* v = small;
  if (cnt + 1 > kInline) {
    big.resize(static_cast<size_t>(cnt) + 1);
    v = big.data();
  }
  v[0] = first;
  for (int i = 0; i < cnt; ++i) v[i + 1] = rest[i];
  return f(v, cnt + 1);
}

// Framing helpers on top of a Stream. send_frame fills in h.length from the body.
Status send_frame(Stream& s, wire::FrameHeader h, const struct iovec* body, int body_cnt);
Status recv_header(Stream& s, uint32_t max_payload, wire::FrameHeader* h);

}  // namespace gvirtus
