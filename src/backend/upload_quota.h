// Pending upload bytes of a session ("upload_bytes" in the config's "limits"; docs/security.md,
// "Pending upload bytes"): request payloads the worker has received from its client and not yet
// used up. Over the limit the worker stops reading the next large payload until earlier ones
// are used (backpressure: the client's sends block in the socket or the shared ring, as on a
// slow link), so no call fails and CUDA's semantics are untouched.
//
// What counts: a request payload larger than kSmallPayload (64 KiB: copy chunks, module
// images), from the moment its header is read until its handler has returned and its reply
// is sent. Smaller payloads go into each connection's own small buffer (bounded by the
// connection limit) and never wait, nor do unordered requests: a host callback's reply must
// never wait behind the copy whose stream waits for that callback.
//
// No deadlock with the session-wide order (worker.h, "Tickets"): a payload whose ticket is the
// next to run never waits, so the request everyone waits for always gets in. The pending bytes
// may therefore pass the limit by the payloads let in that way (one or two of at most 64 MiB).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace gvirtus::backend {

class UploadBudget {
 public:
  explicit UploadBudget(int64_t limit = -1) : limit_(limit) {}
  void set_limit(int64_t limit);
  int64_t limit() const;

  // Takes n bytes, waiting while they do not fit. Returns at once when there is no limit, or
  // when may_pass() says the payload must not wait (its ticket is next). Gives up (false,
  // nothing taken) when gone() says the client went away. Both are asked now and then while
  // waiting (every millisecond; gone() every 250 ms).
  bool acquire(uint64_t n, const std::function<bool()>& may_pass,
               const std::function<bool()>& gone);
  void release(uint64_t n);

  uint64_t pending() const;
  uint64_t peak() const;
  uint64_t waits() const;  // acquire() calls that had to wait

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t limit_;
  uint64_t pending_ = 0;
  uint64_t peak_ = 0;
  uint64_t waits_ = 0;
};

// The worker's budget (one session per worker).
UploadBudget& upload_budget();

// Holds n bytes of upload_budget() for a scope (serve_connection's request). Empty when n is
// not counted.
class UploadHold {
 public:
  UploadHold() = default;
  ~UploadHold() { reset(); }
  UploadHold(const UploadHold&) = delete;
  UploadHold& operator=(const UploadHold&) = delete;
  // Takes n bytes (see UploadBudget::acquire); false if the client went away meanwhile.
  bool take(uint64_t n, const std::function<bool()>& may_pass,
            const std::function<bool()>& gone);
  void reset();

 private:
  uint64_t n_ = 0;
};

}  // namespace gvirtus::backend
