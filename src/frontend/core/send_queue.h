// Gathered sends (docs/frontend.md, "Gathered sends"): a connection's small NoReply frames are
// copied into a queue and sent by a thread of the connection's own, as many to one system call
// as have queued meanwhile, instead of one send each from the application's thread. A request
// that waits for a reply goes from the application's thread with whatever is queued before it,
// in one send. Every frame is sent in the order it was handed over, and none waits for the
// application's next call: the thread sends as soon as it wakes.
//
// Only for socket connections (TCP, Unix, TLS): a send there is a system call (and over TLS
// an encryption) that costs far more than the copy. Not for shm: (its send is a copy already).
// A TLS stream lets the send thread and the reading thread take turns on its SSL object.
#pragma once
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "common/transport.h"

namespace gvirtus::client {

class SendQueue {
 public:
  // A frame larger than this (header included) is never queued: copying it would cost more
  // than the send it saves.
  static constexpr size_t kMaxFrame = 16 * 1024;
  // Queued bytes beyond which a new frame is sent by its caller (after the queue): the thread
  // cannot keep up (a slow link). Kept small: memory stays bounded, and a queue of many
  // hundreds of launches would hold tickets back that the worker's other threads wait for
  // (its out-of-order window, backend/turnstile.h).
  static constexpr size_t kMaxQueued = 64 * 1024;
  // How long the thread looks for more frames before it sleeps, in microseconds: an
  // application issuing launches a few microseconds apart then never pays for waking it.
  static constexpr int kSpinUs = 30;

  // lost(reason) is called (from the queue's thread, no lock held) when a send fails.
  SendQueue(Stream* stream, std::function<void(const std::string&)> lost);
  // Sends what is still queued, then stops the thread.
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Whether queued sends are wanted for this stream: it says a send is costly, and
  // GVIRTUS_GATHER_SENDS is not 0.
  static bool wanted(const Stream& s);

  // Queues a frame: its encoded header and its body, copied. Returns false with nothing
  // queued (the caller then uses send_now) when the frame is too large, the queue is full,
  // an earlier send failed, or the thread cannot be started.
  bool post(const uint8_t* header, size_t header_len, const struct iovec* body, int cnt);
  // Queues a frame whose body ends with `n` bytes at `data` that are lent, not copied: the
  // application's page-locked memory of an async host-to-device copy. The header and `fields`
  // are copied; the lent bytes are sent from `data` in their turn, and the span stays in
  // lent_ranges.h until then, so that freeing that memory waits for it. No size limit: the
  // point is that the caller does not wait for the send. False with nothing queued when an
  // earlier send failed or the thread cannot be started.
  bool lend(const uint8_t* header, size_t header_len, const struct iovec* fields, int cnt,
            const void* data, size_t n);
  // Sends everything queued and then iov, from the calling thread, in one send.
  Status send_now(const struct iovec* iov, int cnt);
  // Sends what is queued (nothing when the queue is empty) and waits for a send the thread
  // has under way: afterwards the thread has nothing to send until the next post. The
  // connection calls it before it reads a reply, so that a thread blocked reading never
  // leaves frames of its own unsent behind it (over TLS, the reader holds the SSL lock).
  Status flush();
  // Frames queued so far (tests). A forked child never touches its copy of a queue: the
  // connection leaks it (StreamConnection::abandon_after_fork).
  uint64_t frames_posted() const { return posted_.load(std::memory_order_relaxed); }

 private:
  // Lent bytes, sent after the queue's first `at` bytes (and before the rest).
  struct Lent {
    size_t at;
    const void* data;
    size_t n;
    uint64_t token;  // lent_ranges.h
  };
  // Starts the thread on first use. REQUIRES: mu_. False if it cannot run.
  bool start_locked();
  // Copies a frame's header and body to the end of the queue and publishes its new length;
  // whether the thread sleeps and must be woken. REQUIRES: mu_.
  bool append_locked(const uint8_t* header, size_t header_len, const struct iovec* body,
                     int cnt);
  // After a frame was appended (outside mu_): counts it and wakes the thread if asked.
  void posted(bool wake);
  // Sends queue bytes `q` with the lent spans `l` between them, then `tail`, in one send; the
  // spans are released (sent or not).
  Status send_gathered(const std::vector<uint8_t>& q, const std::vector<Lent>& l,
                       const struct iovec* tail, int tail_cnt);
  void run();
  // Waits until something is queued or stop_ is set; false to end the thread.
  bool wait_for_work();

  Stream* const stream_;
  const std::function<void(const std::string&)> lost_;
  std::mutex send_mu_;  // held across every send on the stream, and taken before mu_
  std::mutex mu_;       // guards everything below
  std::condition_variable cv_;
  std::vector<uint8_t> queue_;
  std::vector<Lent> lent_;  // in the order they go, each after its place in queue_
  bool sleeping_ = false;  // the thread waits on cv_ and has not been woken
  bool stop_ = false;
  bool failed_ = false;  // a send failed: the session is lost, nothing more is queued
  bool started_ = false;
  std::thread thread_;
  std::atomic<size_t> queued_{0};  // queue_.size(), for the thread's spin without the lock
  std::atomic<uint64_t> posted_{0};
};

}  // namespace gvirtus::client
