// What a call handler on the backend sees, and the table that maps call ids to handlers.
// Generated handlers (build/gen/cudart_server.cc) and hand-written ones (src/backend/cudart_*.cc)
// both have the signature `void h(CallContext&)`.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/handle_kind.h"
#include "common/wire.h"

namespace gvirtus::backend {

// Thrown by a handler when the client sent something no honest client sends (an id that was
// never issued, an impossible length). The worker logs it and ends this session only.
class SessionFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kinds of worker objects and the id layout: common/handle_kind.h (the client computes
// ids of its own for some creates, docs/protocol.md "Client-chosen handle ids").
using ::gvirtus::wire::HandleKind;
using ::gvirtus::wire::handle_kind_of;

// Maps opaque 64-bit ids handed to the client to real objects of this worker. Ids are never
// reused: an id that was issued and since released is a stale handle (the call returns the
// library's invalid-handle error); an id that was never issued is forged (SessionFault).
// Thread-safe.
class HandleTable {
 public:
  // Registers obj and returns its id. An object that is already live under this kind keeps its
  // id (CUDA hands out the same context, function or node more than once), so ids compare equal
  // whenever the objects do.
  uint64_t add(HandleKind kind, void* obj);
  enum class Found { kLive, kReleased, kNever };
  Found find(HandleKind kind, uint64_t id, void** obj) const;
  // Like find, but throws SessionFault for a forged id. Returns false for a released one.
  bool lookup(HandleKind kind, uint64_t id, void** obj) const;
  // Client-chosen ids (docs/protocol.md, "Client-chosen handle ids"): a create request may ask
  // that its object be named kind<<56 | 1<<55 | the request's ticket, so the client knows the id
  // without waiting for the reply. claim_client_id checks that the ticket can name one (not 0,
  // below 2^55, above every ticket claimed before, so no id is ever named twice) and returns the
  // id, which from then on counts as issued: a create that fails leaves it released, and later
  // uses get the library's invalid-handle error. A ticket that cannot name one throws
  // SessionFault.
  uint64_t claim_client_id(HandleKind kind, uint64_t ticket);
  // Makes a claimed id name the object its create made. Returns false, binding nothing, if the
  // id was not claimed for this kind or is live already, or if obj is already live under another
  // id of this kind (a library that handed out the same object twice).
  bool bind_client_id(HandleKind kind, uint64_t id, void* obj);
  // Removes a live id; returns false if it was not live.
  bool remove(HandleKind kind, uint64_t id, void** obj);
  // Removes the id obj is live under, if any: an object that dies with another (a module's
  // functions at its unload), so that a new object CUDA makes at the same address gets a new id
  // (ids are never reused, and the client keeps what it learnt per id).
  void forget(HandleKind kind, void* obj);
  // Every live object of a kind (for cleanup at session end).
  std::vector<void*> live(HandleKind kind) const;
  // Every live id, of every kind (the fuzzer's cleanup between inputs, tests/fuzz).
  std::vector<uint64_t> live_ids() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;  // REQUIRES: mu_ held
  uint64_t last_claim_ = 0;  // REQUIRES: mu_ held; the highest ticket claim_client_id took
  uint64_t claimed_ = 0;     // REQUIRES: mu_ held; the id last claimed and not yet bound
  std::unordered_map<uint64_t, std::pair<HandleKind, void*>> live_;
  std::unordered_map<void*, uint64_t> ids_[256];  // REQUIRES: mu_ held; obj -> id, per kind
};

class Session;     // worker-wide state (handle tables, modules); defined in worker.h
struct ConnState;  // per-connection state (staging buffers, deferred error); defined in worker.h

struct CallContext {
  Session& session;
  ConnState& conn;
  const wire::FrameHeader& header;
  wire::Reader in;    // the request payload, untrusted
  wire::Writer out;   // reply payload fields, written by the handler
  int32_t status = 0; // the call's result code, sent in the reply header
  // Optional bytes sent after `out` without copying them (device-to-host data). Must stay valid
  // until the handler's reply is sent (e.g. a ConnState staging buffer).
  const void* bulk = nullptr;
  size_t bulk_len = 0;
  // The request's ticket while it holds its place in the session-wide order (worker.h,
  // Session::wait_turn); 0 once released, or for an unordered request.
  uint64_t ticket = 0;
  // While its handler runs (serve.cc); a release_order then counts the request in
  // Session::gpu_waiters until it is done (gpu_waiting).
  bool in_handler = false;
  bool gpu_waiting = false;
};

using Handler = void (*)(CallContext&);

// Gives up the request's place in the session-wide order now (serve.cc): for handlers that
// are about to block on something later requests of other connections may be needed for.
void release_order(CallContext& ctx);

// HandlerEntry::flags
enum : uint32_t {
  // The call only waits for GPU work already enqueued (a synchronize) and enqueues none: it
  // gives up its place in the session-wide order before it runs, so that other client threads
  // go on meanwhile, as natively (annotation word `waits`).
  kEntryWaits = 1u << 0,
  // A launch, or (protocol 3.8) a stream synchronisation, that may come laned
  // (wire::kFlagLaned, annotation word `lane`): it then waits only for the previous request of
  // its stream and the last global request (docs/protocol.md, "Lanes"), so launches from
  // several threads on their own streams run at the same time.
  kEntryLane = 1u << 1,
};

struct HandlerEntry {
  uint32_t call_id;
  const char* name;
  Handler fn;
  uint32_t flags = 0;
};

struct PluginTable;    // plugins.h
struct LibraryPlugin;  // plugins.h
using PluginLoader = const PluginTable* (*)(const LibraryPlugin&, std::string* error);

// Call id -> handler, filled once at worker start by each compiled-in plugin's register
// function; library plugins (plugins.h) join on the first call in their id range.
class Registry {
 public:
  // Adds a plugin's handlers. Duplicate call ids are a programming error (aborts).
  void add_plugin(const std::string& name, const HandlerEntry* entries, size_t n);
  // A plugin that `loader` loads on the first find() of an id in its range (once per process;
  // thread-safe). Its name counts for has_plugin() before it is loaded.
  void add_library_plugin(const LibraryPlugin& p, PluginLoader loader);
  // Loads the library plugins named (a Hello's plugins: the libraries the client process has
  // loaded) now rather than on their first call, as natively the dynamic loader loads them
  // before the program runs. A failure is logged as a warning; calls then answer as for a
  // plugin that failed on its first call. Blocks until done; names of no library plugin are
  // ignored. Returns whether any name was a library plugin's.
  bool preload(const std::vector<std::string>& names) const;
  // nullptr for an unknown call id, and for one of a library plugin that could not be loaded
  // (then unavailable() says so).
  const HandlerEntry* find(uint32_t call_id) const;
  // For a call id of a library plugin that could not be loaded: true, with the status every
  // call of that library answers and why. *first is true the first time per plugin.
  bool unavailable(uint32_t call_id, int32_t* status, std::string* why, bool* first) const;
  bool has_plugin(const std::string& name) const;
  // The handler called `name` among the compiled-in plugins' and those of the library plugin
  // that call id `near` belongs to (loaded by then); nullptr if none.
  const HandlerEntry* find_named(const char* name, uint32_t near) const;
  // The library plugin a call id belongs to, as its first call id; 0 for the compiled-in ones
  // (control calls, the runtime, the driver).
  uint32_t library_of(uint32_t call_id) const;
  std::vector<std::string> plugins() const;
  // The call ids of the compiled-in plugins (not of library plugins), for the fuzzers.
  std::vector<uint32_t> call_ids() const;

 private:
  struct Lazy;
  const Lazy* lazy_for(uint32_t call_id) const;
  std::unordered_map<uint32_t, HandlerEntry> by_id_;
  std::vector<std::string> plugins_;
  std::vector<std::shared_ptr<Lazy>> lazy_;
};

// The process-wide registry with every compiled-in plugin registered.
const Registry& registry();

}  // namespace gvirtus::backend
