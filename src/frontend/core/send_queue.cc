// send_queue.h: a connection's small NoReply frames, gathered and sent by a thread of its own.
#include "frontend/core/send_queue.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/cpu_relax.h"
#include "common/log.h"
#include "frontend/core/lent_ranges.h"

namespace gvirtus::client {

namespace {

bool gathering_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("GVIRTUS_GATHER_SENDS");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

}  // namespace

SendQueue::SendQueue(Stream* stream, std::function<void(const std::string&)> lost)
    : stream_(stream), lost_(std::move(lost)) {}

SendQueue::~SendQueue() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
    sleeping_ = false;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();  // it sends what is queued first
}

bool SendQueue::wanted(const Stream& s) { return s.costly_send() && gathering_enabled(); }

bool SendQueue::start_locked() {
  if (!started_) {
    started_ = true;
    // The thread takes no signal: the application's handlers run on its own threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
      GV_WARN(std::string("cannot start a send thread (") + e.what() +
              "); this connection sends each request itself");
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  return thread_.joinable();
}

bool SendQueue::post(const uint8_t* header, size_t header_len, const struct iovec* body,
                     int cnt) {
  size_t len = header_len;
  for (int i = 0; i < cnt; ++i) len += body[i].iov_len;
  if (len > kMaxFrame) return false;
  bool wake;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (failed_ || queue_.size() + len > kMaxQueued) return false;
    if (!start_locked()) return false;
    wake = append_locked(header, header_len, body, cnt);
  }
  posted(wake);
  return true;
}

bool SendQueue::append_locked(const uint8_t* header, size_t header_len, const struct iovec* body,
                              int cnt) {
  queue_.insert(queue_.end(), header, header + header_len);
  for (int i = 0; i < cnt; ++i) {
    const auto* p = static_cast<const uint8_t*>(body[i].iov_base);
    queue_.insert(queue_.end(), p, p + body[i].iov_len);
  }
  queued_.store(queue_.size(), std::memory_order_release);
  const bool wake = sleeping_;
  sleeping_ = false;  // one wake per sleep
  return wake;
}

void SendQueue::posted(bool wake) {
  posted_.fetch_add(1, std::memory_order_relaxed);
  if (wake) cv_.notify_one();
}

bool SendQueue::lend(const uint8_t* header, size_t header_len, const struct iovec* fields,
                     int cnt, const void* data, size_t n) {
  const uint64_t token = lent::add(data, n);
  bool wake;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (failed_ || !start_locked()) {
      lent::release(token);
      return false;
    }
    wake = append_locked(header, header_len, fields, cnt);
    lent_.push_back({queue_.size(), data, n, token});  // the thread looks only under mu_
  }
  posted(wake);
  return true;
}

Status SendQueue::send_gathered(const std::vector<uint8_t>& q, const std::vector<Lent>& l,
                                const struct iovec* tail, int tail_cnt) {
  std::vector<struct iovec> v;
  v.reserve(2 * l.size() + 1 + static_cast<size_t>(tail_cnt));
  size_t from = 0;
  for (const Lent& s : l) {
    if (s.at > from) v.push_back({const_cast<uint8_t*>(q.data()) + from, s.at - from});
    if (s.n) v.push_back({const_cast<void*>(s.data), s.n});
    from = s.at;
  }
  if (q.size() > from) v.push_back({const_cast<uint8_t*>(q.data()) + from, q.size() - from});
  for (int i = 0; i < tail_cnt; ++i) v.push_back(tail[i]);
  Status st = v.empty() ? Status::ok() : stream_->send(v.data(), static_cast<int>(v.size()));
  for (const Lent& s : l) lent::release(s.token);
  return st;
}

Status SendQueue::send_now(const struct iovec* iov, int cnt) {
  std::lock_guard<std::mutex> s(send_mu_);
  std::vector<uint8_t> ahead;
  std::vector<Lent> spans;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!queue_.empty()) {  // an empty queue keeps its buffer (and so its capacity)
      ahead.swap(queue_);
      spans.swap(lent_);
      queued_.store(0, std::memory_order_relaxed);
    }
  }
  if (ahead.empty()) return cnt > 0 ? stream_->send(iov, cnt) : Status::ok();
  Status st = spans.empty()
                  ? with_leading_iovec({ahead.data(), ahead.size()}, iov, cnt,
                                       [&](const struct iovec* v, int n) {
                                         return stream_->send(v, n);
                                       })
                  : send_gathered(ahead, spans, iov, cnt);
  // The buffer goes back to the queue (empty) so that its capacity is reused.
  ahead.clear();
  std::lock_guard<std::mutex> g(mu_);
  if (queue_.empty() && queue_.capacity() < ahead.capacity()) queue_.swap(ahead);
  return st;
}

// send_now with nothing after the queue: an empty queue sends nothing (no iovec, no call).
Status SendQueue::flush() { return send_now(nullptr, 0); }

bool SendQueue::wait_for_work() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinUs);
  for (unsigned n = 1; queued_.load(std::memory_order_acquire) == 0; ++n) {
    cpu_relax();
    if (n % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
  }
  std::unique_lock<std::mutex> l(mu_);
  while (queue_.empty() && !stop_) {
    sleeping_ = true;
    cv_.wait(l);
  }
  sleeping_ = false;
  return !queue_.empty();
}

void SendQueue::run() {
  std::vector<uint8_t> batch;
  std::vector<Lent> spans;
  while (wait_for_work()) {
    Status st;
    {
      std::lock_guard<std::mutex> s(send_mu_);
      {
        std::lock_guard<std::mutex> g(mu_);
        batch.swap(queue_);
        spans.swap(lent_);
        queued_.store(0, std::memory_order_relaxed);
      }
      if (batch.empty()) continue;  // send_now took it meanwhile
      if (spans.empty()) {
        struct iovec v = {batch.data(), batch.size()};
        st = stream_->send(&v, 1);
      } else {
        st = send_gathered(batch, spans, nullptr, 0);
      }
    }
    batch.clear();
    spans.clear();
    if (!st.is_ok()) {
      std::vector<Lent> dropped;
      {
        std::lock_guard<std::mutex> g(mu_);
        failed_ = true;
        queue_.clear();
        dropped.swap(lent_);
        queued_.store(0, std::memory_order_relaxed);
      }
      for (const Lent& d : dropped) lent::release(d.token);
      lost_("send: " + st.message());
    }
  }
}

}  // namespace gvirtus::client
