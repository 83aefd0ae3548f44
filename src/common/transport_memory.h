// A Stream over bytes in memory: reads come from a fixed input, sends are appended to an output
// buffer (up to a bound) or only counted. No descriptors, no threads: the fuzzing entry point
// and tests run the server's real loop over it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/transport.h"

namespace gvirtus {

class MemoryStream : public Stream {
 public:
  // The input must outlive the stream. Sent bytes are kept up to keep_limit; the rest are only
  // counted (sent_bytes()).
  MemoryStream(const uint8_t* in, size_t n, size_t keep_limit = 0)
      : in_(in), n_(n), keep_limit_(keep_limit) {}

  Status send(const struct iovec* iov, int iovcnt) override;
  // Hands out the input in order; past its end: kDisconnected, as a peer that closed.
  Status recv(void* buf, size_t n) override;
  void shutdown() override { shut_ = true; }
  std::string peer() const override { return "memory"; }

  const std::vector<uint8_t>& sent() const { return out_; }
  size_t sent_bytes() const { return sent_bytes_; }
  size_t consumed() const { return off_; }

 private:
  const uint8_t* in_;
  size_t n_;
  size_t off_ = 0;
  size_t keep_limit_;
  size_t sent_bytes_ = 0;
  std::vector<uint8_t> out_;
  bool shut_ = false;
};

}  // namespace gvirtus
