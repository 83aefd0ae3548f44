// The client core shared by every frontend library (libcudart.so.13 now; libcuda, libcublas...
// later). It lives in libgvirtus-frontend.so so that all of them in one process share one
// session with the backend, and so one worker and one address space.
//
// Each application thread gets its own connection (opened on its first call) and so its own
// server thread; all connections of a process join one session through a random token.
// The first connection is the primary one: the backend ends the session when it closes.
#pragma once
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/wire.h"

#define GV_API __attribute__((visibility("default")))

namespace gvirtus::client {

class Connection;

// The calling thread's connection, connected on first use. nullptr once the session is lost
// (the reason was printed once on stderr; session_error() returns it).
GV_API Connection* connection();
GV_API bool session_lost();
GV_API std::string session_error();
// The protocol minor version of the backend (its Welcome; 0 before the first connection): a
// feature of a later minor is used only when the backend has it.
GV_API uint16_t server_minor();
// The calling thread's connection if it is already open, else nullptr; never connects.
GV_API Connection* current_connection();
// The calling thread's connection, opened as an *auxiliary* one if the thread has none yet. An
// auxiliary connection is not counted by open_connections() and its requests carry no ticket:
// they are never ordered with the application's (the host-callback thread, which only waits
// for callbacks). A thread that already has a connection gets that one.
GV_API Connection* auxiliary_connection();
// Names a backend plugin this process needs (e.g. "cudart"), announced in every Hello. Each
// frontend library calls it when it loads, before its first call; a plugin added after the
// first connection is announced on later connections only.
GV_API void add_plugin(const char* name);
// Marks the session lost (e.g. a reply that does not decode): prints the one line, and every
// later call on every thread fails.
GV_API void mark_session_lost(const std::string& reason);

// How many connections the session has open now (threads that have made calls and are still
// alive, plus the primary; auxiliary connections are not counted). Requests of all counted
// connections are carried out in the order they were sent (tickets), NoReply ones included.
GV_API size_t open_connections();

// Control call ids (plugin "core").
constexpr uint32_t kCallPing = 1;

class GV_API Connection {
 public:
  virtual ~Connection() = default;
  // Sends one request frame. flags may hold wire::kFlagNoReply. Returns false if the session is
  // lost. *request_id receives the frame's id.
  virtual bool send_request(uint32_t call_id, uint16_t flags, const struct iovec* body, int cnt,
                            uint64_t* request_id) = 0;
  // As send_request, for a launch on lane `lane` (a non-blocking stream's id, lanes.h): sent
  // laned (docs/protocol.md, "Lanes") when the backend speaks protocol 3.6 or later and the
  // connection carries tickets, else as any request.
  virtual bool send_laned(uint32_t call_id, uint16_t flags, uint64_t lane,
                          const struct iovec* body, int cnt, uint64_t* request_id) = 0;
  // As send_request with kFlagNoReply, for a frame whose body is `fields` then `n` bytes at
  // `data` that are lent, not copied: page-locked memory of an async host-to-device copy
  // (send_queue.h, SendQueue::lend). Where the connection gathers its sends the call returns
  // before those bytes are sent, and freeing that memory waits for them (lent_ranges.h);
  // elsewhere they are sent now. At most 7 fields.
  virtual bool send_lent(uint32_t call_id, const struct iovec* fields, int cnt, const void* data,
                         size_t n, uint64_t* request_id) = 0;
  // Reads the header of the reply to request_id (replies come in request order). Checks it;
  // any mismatch loses the session. aux (deferred error) is reported through *h.
  virtual bool recv_reply_header(uint64_t request_id, wire::FrameHeader* h) = 0;
  // Reads n bytes of the current reply's payload into dst.
  virtual bool recv_payload(void* dst, size_t n) = 0;
  // NoReply requests sent since the last reply was read.
  virtual uint32_t unanswered() const = 0;
  // The ticket of the last request sent (0: none, or an auxiliary connection's, which carry
  // none).
  virtual uint64_t last_ticket() const = 0;
  // Whether a create may name its object by a client-chosen id here: the requests carry tickets
  // and the backend speaks protocol 3.3 or later (docs/protocol.md, "Client-chosen handle ids").
  virtual bool client_ids() const = 0;
};

// One synchronous call on the calling thread's connection:
//   Call c(kId); c.args().put(x); if (!c.invoke()) return lost_error; read c.result().
class GV_API Call {
 public:
  explicit Call(uint32_t call_id) : call_id_(call_id) {}
  wire::Writer& args() { return args_; }
  // Bytes sent after args() without copying; p must stay valid until invoke()/send_async().
  void attach(const void* p, size_t n) {
    bulk_ = p;
    bulk_len_ = n;
    lent_ = false;
  }
  // As attach, for send_async only: the bytes may be sent after send_async returned, from p
  // (Connection::send_lent); p must stay valid until then, which freeing it through the
  // runtime or driver waits for.
  void lend(const void* p, size_t n) {
    bulk_ = p;
    bulk_len_ = n;
    lent_ = true;
  }
  // Sends and waits for the reply; reads the whole reply payload. false: session lost.
  bool invoke();
  // Sends and waits; the reply payload is `fixed` bytes of fields (readable with result())
  // followed by up to `n` bulk bytes read straight into dst. false: session lost.
  bool invoke_into(size_t fixed, void* dst, size_t n);
  // Sends with kFlagNoReply; a failure comes back as a deferred error on a later reply.
  // *ticket, if given, receives the request's ticket (0 if it carries none).
  bool send_async(uint64_t* ticket = nullptr);
  uint32_t call_id() const { return call_id_; }
  // A launch on a non-blocking stream: its lane (launch_lane(), lanes.h; 0: none).
  void set_lane(uint64_t lane) { lane_ = lane; }
  // Header flags sent beside the ones invoke/send_async set (kFlagPageableSource).
  void add_flags(uint16_t flags) { flags_ |= flags; }
  const wire::Writer& args() const { return args_; }
  int32_t status() const { return header_.status; }
  // The first failure of an earlier NoReply request of the runtime or driver on this thread's
  // connection, or 0.
  int32_t deferred() const {
    return (header_.flags & wire::kFlagLibraryDeferred) ? 0 : header_.aux;
  }
  // The first failure of an earlier NoReply call of this call's own library (a plugin such as
  // cuBLAS: `enqueue` calls are sent without waiting), or 0. Its generated stubs answer it as
  // their status when the call itself succeeded: CUDA reports asynchronous errors the same way.
  int32_t library_deferred() const {
    return (header_.flags & wire::kFlagLibraryDeferred) ? header_.aux : 0;
  }
  wire::Reader& result() { return reader_; }
  // After invoke_into(): how many bulk bytes arrived in dst.
  size_t bulk_received() const { return bulk_received_; }

 private:
  bool send(uint16_t flags);
  uint32_t call_id_;
  wire::Writer args_;
  const void* bulk_ = nullptr;
  size_t bulk_len_ = 0;
  bool lent_ = false;
  uint16_t flags_ = 0;
  uint64_t lane_ = 0;
  uint64_t request_id_ = 0;
  wire::FrameHeader header_{};
  std::vector<uint8_t> payload_;
  wire::Reader reader_{nullptr, 0};
  size_t bulk_received_ = 0;
};

// Hooks around every Call of this process, for emulations that must act at call boundaries
// (libcudart's managed memory: push host writes before device work, pull device writes after a
// synchronisation). `before` runs before a request is sent, `after` once its reply was read
// (invoke) — not after send_async. Neither runs for the calls the hooks make themselves.
// Each installed set runs (libcudart.so.13 and libcuda.so.1 each install their copy's, up to
// four sets; installing the same set again changes nothing); null members are skipped.
// `before_callback` / `after_callback` run around each host callback on the process's one
// callback thread (docs/callbacks.md), whichever library started it: each library copy's
// graph-host deliveries and managed-memory exchange.
struct CallHooks {
  void (*before)(uint32_t call_id) = nullptr;
  void (*after)(uint32_t call_id, int32_t status) = nullptr;
  void (*before_callback)() = nullptr;
  void (*after_callback)() = nullptr;
};
GV_API void set_call_hooks(const CallHooks& hooks);
// Runs every installed set's before_callback (after = false) or after_callback (true).
GV_API void run_callback_hooks(bool after);

// A deferred failure (a reply's aux: an earlier NoReply request of this thread failed) that
// reached a library other than the one that sent the request: libcuda.so.1 posts what its
// replies carry, libcudart.so.13 takes it into the thread's last error (a <<<>>> launch error
// that arrives with cuCtxSynchronize's reply is still cudaGetLastError's answer). Per thread;
// the first one posted is kept until taken.
GV_API void post_deferred_error(int32_t e);
GV_API int32_t take_deferred_error();

// Whether a library plugin's `enqueue` calls may be sent without waiting for their status
// (GVIRTUS_ASYNC_LIBRARY_CALLS=1, read once). Off by default: NVIDIA's libraries check their
// arguments when called (cublasSgemm with m = -1 answers CUBLAS_STATUS_INVALID_VALUE at once),
// and sent without waiting such a failure could only come back with a later call.
GV_API bool async_library_calls();

// A library plugin's answer to a reply (each library's finish()): the call's own status, or,
// when the call succeeded, the first failure of an earlier `enqueue` call of that library that
// was sent without waiting (as CUDA reports asynchronous errors at a later call). A deferred
// runtime failure goes to post_deferred_error. Every library's success status is 0.
template <class LibStatus>
LibStatus library_result(const Call& c) {
  post_deferred_error(c.deferred());
  int32_t s = c.status();
  if (s == 0) s = c.library_deferred();
  return static_cast<LibStatus>(s);
}

// Client-chosen handle ids for creates (annotation word `client_id`, docs/protocol.md): a create
// whose request bytes (the call id and its arguments as sent with presence flag 1) succeeded
// before in this process is sure to succeed again, short of the worker running out of host
// memory, so it may go out without waiting, naming its object by its own ticket.
// create_known: those bytes succeeded before. create_succeeded: remembers them (after a
// successful reply; at most a few thousand distinct argument lists per process are kept).
GV_API bool create_known(const Call& c);
GV_API void create_succeeded(const Call& c);
// The calling thread's connection can send a create with a client-chosen id (opens it).
GV_API bool client_ids();

// Requests this process sent that waited for a reply (round trips), on every thread, since it
// started: what the tests of which calls wait read (one relaxed atomic increment per request).
// GVIRTUS_CALL_STATS=1 prints them per call id at exit.
GV_API uint64_t round_trips();

// Logs "NAME is not supported by GVirtuS yet" once per name (used by generated stubs).
GV_API void unsupported(const char* name);

}  // namespace gvirtus::client
