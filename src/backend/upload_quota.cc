// The session's pending upload bytes (upload_quota.h).
#include "backend/upload_quota.h"

#include <chrono>

namespace gvirtus::backend {

void UploadBudget::set_limit(int64_t limit) {
  std::lock_guard<std::mutex> g(mu_);
  limit_ = limit < 0 ? -1 : limit;
  cv_.notify_all();
}

int64_t UploadBudget::limit() const {
  std::lock_guard<std::mutex> g(mu_);
  return limit_;
}

bool UploadBudget::acquire(uint64_t n, const std::function<bool()>& may_pass,
                           const std::function<bool()>& gone) {
  std::unique_lock<std::mutex> g(mu_);
  auto fits = [&] {
    return limit_ < 0 ||
           (pending_ <= UINT64_MAX - n && pending_ + n <= static_cast<uint64_t>(limit_));
  };
  if (!fits() && !(may_pass && may_pass())) {
    ++waits_;
    auto last_gone_check = std::chrono::steady_clock::now();
    for (;;) {
      cv_.wait_for(g, std::chrono::milliseconds(1));
      if (fits()) break;
      // The predicates read other state (the session's turn, the socket): not under our lock.
      g.unlock();
      const bool pass = may_pass && may_pass();
      bool away = false;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_gone_check >= std::chrono::milliseconds(250)) {
        last_gone_check = now;
        away = gone && gone();
      }
      g.lock();
      if (away) return false;
      if (pass || fits()) break;
    }
  }
  pending_ = pending_ > UINT64_MAX - n ? UINT64_MAX : pending_ + n;
  if (pending_ > peak_) peak_ = pending_;
  return true;
}

void UploadBudget::release(uint64_t n) {
  std::lock_guard<std::mutex> g(mu_);
  pending_ -= n <= pending_ ? n : pending_;
  cv_.notify_all();
}

uint64_t UploadBudget::pending() const {
  std::lock_guard<std::mutex> g(mu_);
  return pending_;
}

uint64_t UploadBudget::peak() const {
  std::lock_guard<std::mutex> g(mu_);
  return peak_;
}

uint64_t UploadBudget::waits() const {
  std::lock_guard<std::mutex> g(mu_);
  return waits_;
}

UploadBudget& upload_budget() {
  static UploadBudget* b = new UploadBudget();  // never destroyed: threads may outlive main
  return *b;
}

bool UploadHold::take(uint64_t n, const std::function<bool()>& may_pass,
                      const std::function<bool()>& gone) {
  reset();
  if (n == 0) return true;
  if (!upload_budget().acquire(n, may_pass, gone)) return false;
  n_ = n;
  return true;
}

void UploadHold::reset() {
  if (n_ == 0) return;
  upload_budget().release(n_);
  n_ = 0;
}

}  // namespace gvirtus::backend
