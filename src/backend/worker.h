// The worker: one process per client session, one server thread per client connection.
//
// What handlers use (through CallContext):
//   ctx.session.handles()          the session's HandleTable (streams, events, ...)
//   ctx.session.client()           who the client is (pid, host, program), for messages
//   ctx.session.state<T>()         one T per session, for module state (see below)
//   ctx.conn.payload_pinned()      the request payload lies in page-locked memory
//   ctx.conn.take_staging()        keep the buffer holding the payload (async host-to-device)
//   ctx.conn.d2h_buffer(n)         a per-connection buffer for device-to-host data (ctx.bulk)
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "backend/dispatch.h"
#include "backend/turnstile.h"
#include "common/status.h"
#include "common/transport.h"
#include "common/wire.h"

namespace gvirtus::backend {

// Who is on the other end, from the Hello of the session's primary connection. The strings
// came from the client and have been made printable (see printable() in handshake.h).
struct ClientInfo {
  uint32_t pid = 0;
  std::string host;
  std::string program;
  uint64_t session_id = 0;
  static ClientInfo from_hello(const wire::Hello& hello, uint64_t session_id);
  std::string describe() const;  // "client pid 123 on host h (program p)"
};

// Host memory for bulk data: page-locked (cudaHostAlloc, portable) when CUDA can give it,
// otherwise ordinary memory. Move-only; frees with the allocator it came from.
class HostBuffer {
 public:
  HostBuffer() = default;
  // try_pinned false, or CUDA unusable in this process (checked once): plain memory.
  // Returns an empty buffer only if memory is exhausted.
  static HostBuffer allocate(size_t size, bool try_pinned);
  ~HostBuffer();
  HostBuffer(HostBuffer&& o) noexcept;
  HostBuffer& operator=(HostBuffer&& o) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool pinned() const { return pinned_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  void reset();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool pinned_ = false;
};

struct SessionOptions {
  // Staging and device-to-host buffers from cudaHostAlloc. Off for the fuzzing entry point,
  // which must not touch CUDA.
  bool pinned_buffers = true;
  // Requests are carried out in the order of their tickets (Session::wait_turn). Off for the
  // fuzzing entry point, whose single in-memory stream cannot supply a missing ticket.
  bool ordered = true;
};

class OutputCapture;  // output.h

// Worker-wide state of one client session. Thread-safe.
class Session {
 public:
  explicit Session(ClientInfo client, SessionOptions opt = {})
      : client_(std::move(client)), opt_(opt) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  HandleTable& handles() { return handles_; }
  // Where the worker's stdout goes (device printf); nullptr when not captured (tests, fuzzing).
  OutputCapture* output() const { return output_; }
  void set_output(OutputCapture* o) { output_ = o; }
  OutputCapture* error_output() const { return error_output_; }
  void set_error_output(OutputCapture* o) { error_output_ = o; }
  const ClientInfo& client() const { return client_; }
  const SessionOptions& options() const { return opt_; }
  // Numbers connections in order of arrival; the primary one gets 0.
  uint64_t next_connection_id() { return next_conn_.fetch_add(1); }

  // Session-wide order of requests (docs/protocol.md, "Tickets"). The client numbers every
  // request of its application threads 1, 2, 3... across all its connections, in the order it
  // sends them; each connection's server thread carries out a ticketed request only once every
  // smaller ticket has been released (release_turn: its handler returned, or it is about to
  // block on the GPU and enqueues nothing more). So a request one client thread sent without
  // waiting for a reply is on the GPU before anything another thread does after it, as natively.
  // wait_turn: kPassed if the ticket was already passed (a replay or a duplicate: the client is
  // broken or hostile); kClosed if `conn`'s client went away while it waited.
  using Turn = Turnstile::Turn;
  Turn wait_turn(uint64_t ticket, const ConnState& conn);
  // A laned request (docs/protocol.md, "Lanes": a launch on a non-blocking stream) waits only
  // for the previous request of its lane and the last global request before it (0: none).
  Turn wait_lane(uint64_t ticket, uint64_t lane_dep, uint64_t global_dep, const ConnState& conn);
  void release_turn(uint64_t ticket) { turns_.release(ticket); }
  // Whether every ticket below `ticket` has been released.
  bool turn_reached(uint64_t ticket) const { return turns_.reached(ticket); }

  // Requests that gave their place in the order up inside their handler to wait on the GPU
  // (a synchronisation, a synchronous copy): the driver flushes device printf output into the
  // worker's stdout during such a call, so until it has replied no other request's reply takes
  // the captured output (serve.cc). Otherwise a quick call of another thread could carry
  // the output away, and the waiting thread's call return before it is printed.
  void gpu_wait_began() { gpu_waiters_.fetch_add(1, std::memory_order_acq_rel); }
  void gpu_wait_ended() { gpu_waiters_.fetch_sub(1, std::memory_order_acq_rel); }
  int gpu_waiters() const { return gpu_waiters_.load(std::memory_order_acquire); }

  // Called when a connection of this session stops serving: runs the close hooks.
  void conn_closed(ConnState& c);

  // Runs hook(connection id) whenever a connection of this session closes, after it stopped
  // serving (for the primary: before the worker exits). Plugins use it to release what waits
  // on that connection's client (host callbacks). Hooks must not block.
  void on_conn_closed(std::function<void(uint64_t conn)> hook);

  // Per-session module state: the one T of this session, default-constructed on first use.
  // Creation is serialised; T itself must be thread-safe (give it its own mutex), since every
  // connection thread of the session reaches the same object. Lives as long as the session.
  template <class T>
  T& state() {
    std::lock_guard<std::mutex> g(state_mu_);
    std::shared_ptr<void>& slot = state_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>();
    return *static_cast<T*>(slot.get());
  }

 private:
  HandleTable handles_;
  ClientInfo client_;
  SessionOptions opt_;
  std::atomic<uint64_t> next_conn_{0};
  OutputCapture* output_ = nullptr;
  OutputCapture* error_output_ = nullptr;
  Turnstile turns_;
  std::atomic<int> gpu_waiters_{0};
  std::mutex hooks_mu_;
  std::vector<std::function<void(uint64_t)>> close_hooks_;  // REQUIRES: hooks_mu_
  std::mutex state_mu_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> state_;  // REQUIRES: state_mu_
};

// Payloads up to this size are read into an ordinary per-connection buffer; larger ones into
// the staging buffer (copy chunks) or, beyond it, a temporary one.
constexpr size_t kSmallPayload = 64u << 10;
constexpr size_t kStagingSize = wire::kCopyChunk + kSmallPayload;

// State of one connection, owned by its server thread (not thread-safe). A struct only because
// dispatch.h declares it so.
struct ConnState {
 public:
  ConnState(Session& session, uint64_t id) : session_(session), id_(id) {}
  ConnState(const ConnState&) = delete;
  ConnState& operator=(const ConnState&) = delete;

  uint64_t id() const { return id_; }  // 0: the primary connection

  // The current request's payload lies in the staging buffer, and that is page-locked: a
  // handler may cudaMemcpy straight from the pointer it reads from ctx.in.
  bool payload_pinned() const { return payload_pinned_; }
  // Hands over the staging buffer that holds the current payload, so the bytes outlive the
  // call (a host-to-device cudaMemcpyAsync that the stream has not passed yet). Pointers
  // read from ctx.in stay valid as long as the returned buffer lives. Empty if the payload
  // is not in the staging buffer (64 KiB or less, or bigger than kStagingSize): copy it then.
  // The next large payload gets a fresh staging buffer.
  HostBuffer take_staging();
  // Gives back a buffer take_staging() handed over, once its bytes are no longer needed: the
  // next large payload goes into it instead of a fresh one (copy_overlap.h). Dropped if the
  // connection has a staging buffer already.
  void return_staging(HostBuffer b);

  // A buffer of at least n bytes for data going back to the client (point ctx.bulk at it).
  // Page-locked when possible; kept and reused by later calls on this connection, so its
  // contents are only valid until the next call. nullptr if n is over wire::kMaxPayload.
  uint8_t* d2h_buffer(size_t n);
  bool d2h_pinned() const { return d2h_.pinned(); }

  // The first failure of a NoReply request of the runtime or the driver since the last reply
  // (0: none). A library plugin's (cuBLAS...) are kept apart, one per library, and travel with
  // the next reply to a call of that library (wire::kFlagLibraryDeferred).
  int32_t deferred_error() const { return deferred_; }

  // For handlers that block for long (waiting for host callbacks): true once the client has
  // closed its end of this connection (or it broke). Does not read; false when unknown.
  bool peer_closed() const;

  // A descriptor the client passed on this connection ahead of the current request (shm:
  // connections only, shm_take_fd), or -1. The caller owns it.
  int take_passed_fd(int timeout_ms);
  // For tests that run handlers without the serve loop: the connection's stream.
  void set_stream_for_test(Stream* s) { stream_ = s; }

 private:
  friend Status serve_connection(Session&, ConnState&, Stream&, const Registry&);
  // Where the next payload of n bytes goes (serve loop only).
  uint8_t* payload_buffer(size_t n);
  void end_request();
  // A NoReply request failed: keep the first failure per library (0: the runtime and driver).
  void defer(uint32_t library, int32_t status);
  // The deferred failure for a reply to a call of `library`, cleared (0: none).
  int32_t take_deferred(uint32_t library);

  Session& session_;
  uint64_t id_;
  Stream* stream_ = nullptr;  // set by serve_connection
  int32_t deferred_ = 0;
  // (library: its first call id, first failure) of NoReply library calls, oldest library first.
  std::vector<std::pair<uint32_t, int32_t>> library_deferred_;
  std::vector<uint8_t> small_;
  HostBuffer staging_;
  std::unique_ptr<uint8_t[]> large_;
  bool payload_in_staging_ = false;  // the current payload is in staging_ (not yet taken)
  bool payload_pinned_ = false;      // the current payload is in page-locked memory
  HostBuffer d2h_;
  // The reply writer of the current request, lent to its CallContext and taken back after the
  // reply, so that a reply's fields land in memory that is already there.
  wire::Writer reply_;
};

// Serves one connection after its handshake: reads request frames, runs their handlers, sends
// replies, until the connection ends. Returns
//   ok              the client closed the connection or said Goodbye;
//   kDisconnected   the connection broke (reset, closed in the middle of a frame);
//   kProtocol       the client broke the protocol (unknown call, bad frame or payload, forged
//                   handle, a handler that threw): the whole session must end;
//   anything else   an internal failure: the session must end too.
// The message names the call and the reason.
Status serve_connection(Session& session, ConnState& conn, Stream& stream, const Registry& reg);

// How long serve_connection looks for the next request without sleeping (Stream::
// set_receive_spin) on a socket connection: "receive_spin_us" (config.h). Set once, before the
// first connection is served.
void set_receive_spin_micros(int micros);

// The worker process. The daemon forks and execs a worker (spawn.h), which calls this; it
// never returns.
struct WorkerStart {
  int control_fd = -1;  // SOCK_SEQPACKET to the daemon; secondary connections arrive on it
  int conn_fd = -1;     // the primary connection, its Hello already read
  int conn_aux_fd = -1;  // its shared memory, for an shm: connection (Stream::aux_fd)
  std::string peer;     // the primary connection's peer, for logs
  wire::Hello hello;    // the primary connection's Hello
  uint64_t session_id = 0;
  std::string identity;          // the client's identity (limits.h), for messages
  int64_t max_connections = -1;  // connections of this session at once; -1: no limit
  bool clear_memory = false;     // zero device memory before the client gets it
  int receive_spin_us = 0;       // set_receive_spin_micros
  int64_t gpu_memory_limit = -1; // bytes of GPU memory the session may hold; -1: no limit
  int64_t upload_limit = -1;     // pending upload bytes (upload_quota.h); -1: no limit
  int stats_fd = -1;    // the session's counter block (stats.h), mapped and closed; -1: none
  // The module cache (cudart/module_cache.h); empty dir: none.
  std::string module_cache_dir;
  uint64_t module_cache_bytes = 0;
  bool module_cache_shared = false;
};

// How a worker ends; the daemon logs these.
enum WorkerExit : int {
  kWorkerExitClosed = 0,    // the client closed its primary connection (or went away)
  kWorkerExitInternal = 1,  // a failure on the backend's side
  kWorkerExitFault = 3,     // the client broke the protocol; the session was ended
};

[[noreturn]] void run_worker(WorkerStart start);

// Whether a worker loads the plugins its client's Hello names as the session starts (worker.cc,
// docs/backend.md): for clients of protocol 3.9 or later (they name only what their program
// needs); GVIRTUS_PRELOAD_PLUGINS=1 also for older ones, 0 for none.
bool preload_wanted(const wire::Hello& hello);

// Fuzzing and test entry point: runs `data` as the bytes a client sends on one connection (a
// Hello frame, then request frames) through the real handshake check and serve loop, against
// a handler table of the "core" plugin and the test plugin "fuzz" (no CUDA). Returns how the
// connection ended, as serve_connection does; a refused Hello gives kProtocol or
// kUnimplemented. If replies is given, the bytes the server sent are appended to it (bounded).
Status serve_bytes(const uint8_t* data, size_t size, std::vector<uint8_t>* replies = nullptr);

}  // namespace gvirtus::backend
