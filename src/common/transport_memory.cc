#include "common/transport_memory.h"

#include <algorithm>
#include <cstring>

namespace gvirtus {

Status MemoryStream::send(const struct iovec* iov, int iovcnt) {
  if (shut_) return disconnected("memory stream was shut down");
  if (iovcnt < 0) return invalid("negative iovec count");
  for (int i = 0; i < iovcnt; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t keep = std::min(iov[i].iov_len, keep_limit_ - std::min(keep_limit_, out_.size()));
    out_.insert(out_.end(), p, p + keep);
    sent_bytes_ += iov[i].iov_len;
  }
  return Status::ok();
}

Status MemoryStream::recv(void* buf, size_t n) {
  if (shut_) return disconnected("memory stream was shut down");
  if (n > n_ - off_) {
    bool partial = off_ < n_;
    off_ = n_;
    return disconnected(partial ? "input ended in the middle of a message" : "end of input");
  }
  if (n) std::memcpy(buf, in_ + off_, n);
  off_ += n;
  return Status::ok();
}

}  // namespace gvirtus
