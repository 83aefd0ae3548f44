// The client session: one per process in production (session.cc holds it), any number in tests.
//
// A Session owns every connection of the process. Each thread gets its own connection on first
// use; the first one made is the primary and lives until the process ends. Losing any connection
// (transport failure, protocol mismatch) loses the whole session: one line on stderr, then every
// call on every thread fails fast. One exception: a thread's new connection that the backend
// refuses as one too many (the session's connection limit, a busy worker) fails only that
// thread's calls, which try again once kRefusedRetry has passed (docs/security.md, "Connections
// per session"). Internal to libgvirtus-frontend (and the unit tests).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/transport.h"
#include "common/wire.h"
#include "frontend/core/client.h"
#include "frontend/core/send_queue.h"

namespace gvirtus::client {

class StreamConnection;

// Who this process is, as told to the backend in every Hello.
struct Identity {
  uint8_t token[16] = {};
  uint32_t pid = 0;
  std::string hostname;
  std::string program;
};
// Fills a fresh identity: random token (getrandom), pid, hostname, program path.
Status make_identity(Identity* out);

// Opens one transport connection. *where receives a printable name of the backend (for
// messages), set even on failure when known.
using Connector = std::function<Status(std::unique_ptr<Stream>* out, std::string* where)>;
// The production connector: resolve_client_endpoint() then connect_stream(), or connect_tls()
// for a tls:// endpoint with the CA and client certificate of `security`.
Connector endpoint_connector(const ClientSecurity& security = {});

struct SessionOptions {
  Connector connect;
  Identity identity;
  std::vector<std::string> plugins;
  int handshake_timeout_ms = 30000;  // connect + Hello + Welcome, per connection
  // Token authentication (docs/security.md): the shared secret, empty for none, and where it
  // came from (for messages). With a token the client also requires the backend's proof.
  std::string auth_key;
  std::string auth_source;
  bool print_loss = true;            // the one stderr line when the session is lost
};

class Session {
 public:
  explicit Session(SessionOptions opts);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The calling thread's connection, opened on first use. nullptr once the session is lost, or
  // when the backend refused this thread's connection as one too many (the session goes on:
  // lost() stays false; the thread tries again after kRefusedRetry).
  // auxiliary: a connection that open_connections() does not count and whose requests carry
  // no ticket
  // (see client.h, auxiliary_connection); only matters when the thread has none yet.
  Connection* connection(bool auxiliary = false);
  // The calling thread's connection if it is already open, else nullptr. Never connects.
  Connection* current_connection();

  bool lost() const { return lost_.load(std::memory_order_acquire); }
  std::string error() const;
  // Marks the session lost (first reason wins), prints one line, wakes every blocked thread.
  void mark_lost(const std::string& reason);

  // A frontend library's plugin; `frontend` is the path of that library's shared object ("" when
  // not known: then it is always announced). needed_plugins.h says which the Hello names.
  void add_plugin(const std::string& name, const std::string& frontend = "");
  // The plugins the Hello names (see add_plugin), worked out again when plugins were added.
  std::vector<std::string> announced_plugins();
  size_t open_connections() const { return open_.load(std::memory_order_acquire); }
  const Identity& identity() const { return opts_.identity; }
  std::string where() const;

  // Called when the calling thread exits (through a pthread key): closes its connection unless
  // it is the primary.
  void release(StreamConnection* c);

  // fork() support, called by the process-wide pthread_atfork handlers.
  void before_fork();
  void after_fork_parent();
  // In the child: without any connection yet the child starts a fresh session (new token);
  // with connections, the child's copy of the session is lost and the inherited sockets are
  // closed in the child only (the parent's session is untouched).
  void after_fork_child();

  uint64_t serial() const { return serial_; }
  // The next ticket: every request of an application thread gets one, in the order they are
  // sent across all connections (docs/protocol.md, "Tickets").
  uint64_t next_ticket() { return tickets_.fetch_add(1, std::memory_order_acq_rel) + 1; }
  // The ticket of a request that is not laned: next_ticket(), noted as the last global one.
  uint64_t next_global_ticket();
  // The ticket of a launch on `lane` (docs/protocol.md, "Lanes"), and what it waits for.
  // Returns false (the request must go as a global one, with *ticket noted so) when a
  // dependency lies too far back to be written.
  bool next_laned_ticket(uint64_t lane, uint64_t* ticket, wire::LaneDeps* deps);
  // The protocol minor version the backend gave in its last Welcome (0 before any).
  uint16_t server_minor() const { return server_minor_.load(std::memory_order_acquire); }

  // After a refused extra connection, the thread's calls fail without asking the backend again
  // for this long (no connection storm, no line per call in the backend's log).
  static constexpr int kRefusedRetryMs = 100;
  // What a socket connection receives at once when it reads a reply: the reply's header and
  // fields together, not apart (Stream::set_read_ahead; larger reads go straight through).
  static constexpr size_t kReplyReadAhead = 16u << 10;
  // How long a socket connection polls for a reply before it sleeps (Stream::set_receive_spin):
  // a call's round trip plus a short GPU operation (a small copy) fits. GVIRTUS_RECV_SPIN_US
  // replaces it, up to kMaxReplySpinMicros (0: sleep at once, for hosts whose CPUs are scarcer
  // than their latency). 0 by default where the process may run on one CPU only.
  static constexpr int kReplySpinMicros = 30;
  static constexpr int kMaxReplySpinMicros = 1000;
  static int reply_spin_micros();  // the variable's value, read once, else kReplySpinMicros
  // How many of this session's connections the backend refused as one too many.
  uint64_t refused_connections() const { return refused_.load(std::memory_order_acquire); }

 private:
  Status open(std::unique_ptr<StreamConnection>* out, bool primary);
  // Prints the loss line once (at the loss, or for a forked child at its first call).
  void announce();
  // A refused extra connection: the one stderr line (first time), and the thread's pause.
  void refused(const std::string& reason);

  SessionOptions opts_;
  const uint64_t serial_;
  std::atomic<bool> lost_{false};
  std::atomic<bool> announce_pending_{false};
  std::atomic<size_t> open_{0};  // conns_ that are not auxiliary, readable without the lock
  std::atomic<uint64_t> tickets_{0};  // the last ticket handed out
  std::atomic<uint64_t> last_global_{0};  // the largest ticket handed out as a global one
  // Per lane (hashed: two streams that share a slot are simply chained together, which only
  // orders more), the last laned ticket. A lane's tickets are taken under its slot's lock, so
  // each laned request waits for the one just before it on its lane. A cache line each, so
  // threads launching on their own streams do not share one.
  struct alignas(64) LaneSlot {
    std::mutex mu;
    uint64_t last = 0;  // REQUIRES: mu
  };
  static constexpr size_t kLaneSlots = 64;
  LaneSlot lanes_[kLaneSlots];
  std::atomic<uint16_t> server_minor_{0};
  std::atomic<uint64_t> refused_{0};
  mutable std::mutex mu_;        // guards everything below
  std::string error_;
  std::string where_;
  std::vector<std::string> frontends_;  // parallel to opts_.plugins: each one's object ("" unknown)
  std::vector<std::string> announced_;  // the Hello's plugins, worked out for this many plugins:
  size_t announced_for_ = static_cast<size_t>(-1);
  unsigned long long announced_loads_ = 0;  // objects_loaded() when it was worked out
  std::vector<std::unique_ptr<StreamConnection>> conns_;
  StreamConnection* primary_ = nullptr;
  bool ever_connected_ = false;
  std::mutex connect_mu_;  // one connection opens at a time (the primary must be first)
};

// A connection over a Stream. Used by one thread at a time (its owner); Session::mark_lost
// from another thread only shuts the stream down.
class StreamConnection final : public Connection {
 public:
  StreamConnection(Session* session, std::unique_ptr<Stream> stream, bool primary);
  ~StreamConnection() override;

  bool send_request(uint32_t call_id, uint16_t flags, const struct iovec* body, int cnt,
                    uint64_t* request_id) override;
  bool send_laned(uint32_t call_id, uint16_t flags, uint64_t lane, const struct iovec* body,
                  int cnt, uint64_t* request_id) override;
  bool send_lent(uint32_t call_id, const struct iovec* fields, int cnt, const void* data,
                 size_t n, uint64_t* request_id) override;
  bool recv_reply_header(uint64_t request_id, wire::FrameHeader* h) override;
  bool recv_payload(void* dst, size_t n) override;
  uint32_t unanswered() const override;
  uint64_t last_ticket() const override { return last_ticket_; }
  bool client_ids() const override { return !auxiliary_ && server_minor_ >= 3; }

  // Sends the Hello and reads the Welcome, waiting at most timeout_ms for it. With a token
  // (auth_key not empty) an AuthStart / Challenge exchange comes first: the backend must
  // prove it knows the token, and the Hello carries the client's proof.
  Status handshake(wire::Hello hello, int timeout_ms, wire::Welcome* out,
                   const std::string& auth_key = {}, const std::string& auth_source = {});
  bool primary() const { return primary_; }
  bool auxiliary() const { return auxiliary_; }
  void set_auxiliary() { auxiliary_ = true; }
  Stream* stream() { return stream_.get(); }
  // The worker's number for this connection (from the Welcome).
  uint64_t id() const { return id_; }
  void set_id(uint64_t id) { id_ = id; }
  // The backend's protocol minor version (from the Welcome).
  void set_server_minor(uint16_t minor) { server_minor_ = minor; }
  // From now on, small NoReply requests are gathered and sent by a thread of the connection's
  // own when the stream wants it (send_queue.h). Called once the handshake is done.
  void gather_sends();
  // In a fork()ed child: the send thread is not there; its queue is left alone (leaked).
  void abandon_after_fork();
  // The connection's send queue, or nullptr where it sends each request itself (tests).
  const SendQueue* send_queue() const { return queue_.get(); }

 private:
  bool fail(const std::string& reason);
  bool drain_payload();
  // Sends a request frame whose ticket take_ticket(&header) sets (and may flag laned).
  // lend_last: the body's last piece is lent memory (send_lent).
  Status send_through_queue(wire::FrameHeader h, const struct iovec* body, int cnt,
                            bool lend_last);
  template <class TakeTicket>
  bool send_with(uint32_t call_id, uint16_t flags, const struct iovec* body, int cnt,
                 uint64_t* request_id, TakeTicket take_ticket, bool lend_last = false);

  struct Awaiting {
    uint64_t request_id;
    uint32_t call_id;
    uint64_t noreply_before;  // NoReply requests sent before this one
  };
  Session* session_;
  std::unique_ptr<Stream> stream_;
  const bool primary_;
  bool auxiliary_ = false;  // not counted by open_connections(); set before it is published
  uint64_t id_ = 0;
  uint64_t next_request_id_ = 1;
  uint64_t last_ticket_ = 0;
  uint16_t server_minor_ = 0;
  uint64_t noreply_sent_ = 0;
  uint64_t noreply_answered_ = 0;
  std::vector<Awaiting> awaiting_;  // requests that want a reply, oldest first
  size_t awaiting_head_ = 0;
  uint32_t payload_left_ = 0;  // unread bytes of the current reply
  // Declared after stream_: destroyed (sending what it holds) before the stream closes.
  std::unique_ptr<SendQueue> queue_;
};

// The process-wide session (created on first use, never destroyed, so that CUDA calls from
// atexit handlers and static destructors still work).
Session& process_session();
// Tests: routes connection(), Call and friends to s instead of the process session (nullptr
// restores it). Returns the previous override.
Session* swap_session_for_testing(Session* s);
// The session calls go to: the test override if set, else the process session.
Session& active_session();

}  // namespace gvirtus::client
