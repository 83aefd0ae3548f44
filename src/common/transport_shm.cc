// The shm: transport: a Stream over two shared byte rings (transport_shm.h, docs/protocol.md).
//
// Trust: the backend side shares the rings with a client it does not trust. It keeps its own
// ring positions privately and only ever reads the peer's position, once per look, bounded by
// the ring size; offsets into the ring are masked, so no value the client writes can move an
// access outside the mapping. The memfd is the backend's and sealed against resizing, so a
// client cannot truncate it under the backend (SIGBUS). A client that writes nonsense ends its
// own session (a protocol error here, or a frame the layers above reject).
#include "common/transport_shm.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>

#include "common/cpu_relax.h"
#include "common/fd_passing.h"
#include "common/log.h"

namespace gvirtus {
namespace {

// Header offsets (docs/protocol.md). Each word of a ring sits on a cache line of its own: a
// position is written on every message, a wait word only when a side goes to sleep or wakes, so
// the look at the other side's wait word after each message finds its line unchanged.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 8;
constexpr size_t kOffRingBytes = 16;
// Ring 0 carries client -> backend, ring 1 backend -> client.
constexpr size_t kOffRing[2] = {256, 512};
constexpr size_t kProdHead = 0;     // u64, written by the producer: bytes written so far
constexpr size_t kProdWait = 64;    // u32, 0 awake; asleep: the bytes of room it waits for
constexpr size_t kConsTail = 128;   // u64, written by the consumer: bytes consumed so far
constexpr size_t kConsWait = 192;   // u32, 0 awake, 1 asleep on the futex, 2 asleep in poll()
static_assert(kOffRing[1] + kConsWait + 64 <= shm::kHeaderBytes, "the header holds both rings");
constexpr uint32_t kWaitFutex = 1;
constexpr uint32_t kWaitPoll = 2;
constexpr uint64_t kSetupMagic = shm::kMagic;
constexpr int kSetupTimeoutMs = 10000;
// Descriptors a peer passed (send_fd) and nobody took yet: more are closed on arrival, so a
// client cannot make the backend hold descriptors without end.
constexpr size_t kMaxPendingFds = 16;
// The byte that carries a passed descriptor on the socket (doorbells are 1).
constexpr char kFdByte = 'F';

void futex_wait(uint32_t* addr, uint32_t val, int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, nullptr, 0);
}
void futex_wake(uint32_t* addr) { syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

bool valid_ring_bytes(uint64_t r) { return r >= 4096 && r <= (1ull << 32) && (r & (r - 1)) == 0; }

class ShmStream : public Stream {
 public:
  ShmStream(int sock, int memfd, void* map, size_t map_bytes, uint64_t ring_bytes, bool backend,
            std::string peer)
      : sock_(sock), memfd_(memfd), map_(static_cast<uint8_t*>(map)), map_bytes_(map_bytes),
        ring_(ring_bytes), peer_(std::move(peer)) {
    const int tx = backend ? 1 : 0;
    const int rx = 1 - tx;
    tx_ctl_ = map_ + kOffRing[tx];
    rx_ctl_ = map_ + kOffRing[rx];
    tx_data_ = map_ + shm::kHeaderBytes + static_cast<size_t>(tx) * ring_;
    rx_data_ = map_ + shm::kHeaderBytes + static_cast<size_t>(rx) * ring_;
    // Our own positions, read once: for a fresh connection they are 0; for one handed over by
    // the daemon they are where it stopped. Whatever a client wrote there, every access is
    // masked into the ring, so a lie garbles only its own session's bytes. The peer's positions
    // are not taken from the header unchecked: they start as "no room, no data", so the first
    // send and the first receive look at them through refresh_*, which refuses impossible ones
    // (a client may have scribbled on the header before this stream was made).
    head_ = load64(tx_ctl_ + kProdHead);
    tail_ = load64(rx_ctl_ + kConsTail);
    peer_tail_ = head_ - ring_;
    peer_head_ = tail_;
  }
  ~ShmStream() override {
    for (int f : fds_) ::close(f);
    // Never write to the shared header here: after fork() the parent still uses it.
    if (map_) ::munmap(map_, map_bytes_);
    if (sock_ >= 0) ::close(sock_);
    if (memfd_ >= 0) ::close(memfd_);
  }
  ShmStream(const ShmStream&) = delete;
  ShmStream& operator=(const ShmStream&) = delete;

  Status send(const struct iovec* iov, int iovcnt) override {
    if (iovcnt < 0) return invalid("negative iovec count");
    int i = 0;
    size_t off = 0;
    for (;;) {
      while (i < iovcnt && off == iov[i].iov_len) {  // empty pieces: nothing to wait for
        ++i;
        off = 0;
      }
      if (i == iovcnt) break;
      if (shut_.load(std::memory_order_relaxed))
        return disconnected("connection to " + peer_ + " was shut down");
      // The peer's position as last seen; looked at afresh only when that leaves too little
      // room (its cache line then stays with the peer, and a send costs no miss on it).
      if (ring_ - (head_ - peer_tail_) < iov_left(iov + i, iovcnt - i, off) &&
          !refresh_peer_tail())
        return corrupt();
      uint64_t free = ring_ - (head_ - peer_tail_);
      if (free == 0) {
        Status s = wait_space();
        if (!s) return s;
        continue;
      }
      // Fill what fits from as many pieces as fit, then publish once.
      while (i < iovcnt && free > 0) {
        size_t left = iov[i].iov_len - off;
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, free));
        copy_in(static_cast<const uint8_t*>(iov[i].iov_base) + off, n);
        free -= n;
        off += n;
        if (off == iov[i].iov_len) {
          ++i;
          off = 0;
        }
      }
      publish();
    }
    return Status::ok();
  }

  Status recv(void* buf, size_t n) override {
    auto* p = static_cast<uint8_t*>(buf);
    size_t got = 0;
    while (got < n) {
      // What the peer's position as last seen still promises, else a fresh look.
      uint64_t avail = peer_head_ - tail_;
      if (avail < n - got) {
        if (!refresh_peer_head()) return corrupt();
        avail = peer_head_ - tail_;
      }
      if (avail == 0) {
        if (shut_.load(std::memory_order_relaxed))
          return disconnected("connection to " + peer_ + " was shut down");
        Status s = wait_data(got);
        if (!s) return s;
        continue;
      }
      size_t k = static_cast<size_t>(std::min<uint64_t>(avail, n - got));
      copy_out(p + got, k);
      got += k;
      consume();
    }
    return Status::ok();
  }

  ssize_t recv_nowait(void* buf, size_t n) override {
    drain_doorbells();
    for (int pass = 0; pass < 2; ++pass) {
      if (!refresh_peer_head()) {
        errno = EPROTO;
        return -1;
      }
      uint64_t avail = peer_head_ - tail_;
      if (avail > 0) {
        if (pass) store32(rx_ctl_ + kConsWait, 0);
        size_t k = static_cast<size_t>(std::min<uint64_t>(avail, n));
        copy_out(static_cast<uint8_t*>(buf), k);
        consume();
        return static_cast<ssize_t>(k);
      }
      if (pass == 0) arm_doorbell();
    }
    if (peer_eof_) return 0;
    errno = EAGAIN;
    return -1;
  }

  bool send_nowait(const void* buf, size_t n) override {
    if (ring_ - (head_ - peer_tail_) < n && !refresh_peer_tail()) return false;
    if (ring_ - (head_ - peer_tail_) < n) return false;
    copy_in(static_cast<const uint8_t*>(buf), n);
    publish();
    return true;
  }

  void shut_write() override { ::shutdown(sock_, SHUT_WR); }

  // The descriptor travels on the socket, attached to one byte; the socket is otherwise only
  // read for doorbells, which the reader's recvmsg() sorts out. It is queued in the socket
  // before anything sent after this call is in the ring, so a request that follows finds it.
  Status send_fd(int fd) {
    if (sock_ < 0) return disconnected("connection to " + peer_ + " has no socket");
    char byte = kFdByte;
    struct iovec iov = {&byte, 1};
    for (;;) {
      ssize_t n = send_with_fds(sock_, &iov, 1, &fd, 1);
      if (n == 1) return Status::ok();
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // The socket is full of doorbells the peer has not read yet: wait a little for room.
        pollfd p{sock_, POLLOUT, 0};
        if (::poll(&p, 1, kSetupTimeoutMs) > 0) continue;
      }
      return disconnected("passing a descriptor to " + peer_ + ": " + std::strerror(errno));
    }
  }

  int take_fd(int timeout_ms) {
    drain_doorbells();
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (fds_.empty() && !peer_eof_ && sock_ >= 0) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      end - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) break;
      pollfd p{sock_, POLLIN, 0};
      int r = ::poll(&p, 1, left);
      if (r < 0 && errno != EINTR) break;
      drain_doorbells();
    }
    if (fds_.empty()) return -1;
    int f = fds_.front();
    fds_.pop_front();
    return f;
  }

  void shutdown() override {
    shut_.store(true);
    // Wake our own sleepers (they sleep on these words), then tell the peer.
    store32(rx_ctl_ + kConsWait, 0);
    store32(tx_ctl_ + kProdWait, 0);
    futex_wake(reinterpret_cast<uint32_t*>(rx_ctl_ + kConsWait));
    futex_wake(reinterpret_cast<uint32_t*>(tx_ctl_ + kProdWait));
    if (sock_ >= 0) ::shutdown(sock_, SHUT_RDWR);
  }

  // Readable without waiting? If not, asks the peer for a doorbell byte on fd(), so that a
  // poll() for POLLIN that follows sees the next data.
  bool buffered() const override {
    if (load64(rx_ctl_ + kProdHead) != tail_) return true;
    arm_doorbell();
    return load64(rx_ctl_ + kProdHead) != tail_;
  }

  int fd() const override { return sock_; }
  int aux_fd() const override { return memfd_; }
  int release_fd() override {
    int fd = sock_;
    sock_ = -1;
    return fd;
  }
  std::string peer() const override { return peer_; }
  void* mapping(size_t* bytes) const {
    *bytes = map_bytes_;
    return map_;
  }

 private:
  static uint64_t load64(const uint8_t* p) {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
  }
  static uint32_t load32(const uint8_t* p) {
    return __atomic_load_n(reinterpret_cast<const uint32_t*>(p), __ATOMIC_SEQ_CST);
  }
  static void store32(uint8_t* p, uint32_t v) {
    __atomic_store_n(reinterpret_cast<uint32_t*>(p), v, __ATOMIC_SEQ_CST);
  }

  // Fresh looks at the peer's positions. False if the peer wrote an impossible one (ahead of
  // ours, or more than a ring behind): the cached value is left as it was.
  bool refresh_peer_tail() {
    const uint64_t t = load64(tx_ctl_ + kConsTail);
    if (head_ - t > ring_) return false;
    peer_tail_ = t;
    return true;
  }
  bool refresh_peer_head() {
    const uint64_t h = load64(rx_ctl_ + kProdHead);
    if (h - tail_ > ring_) return false;
    peer_head_ = h;
    return true;
  }
  static uint64_t iov_left(const struct iovec* iov, int n, size_t off) {
    uint64_t left = 0;
    for (int k = 0; k < n; ++k) left += iov[k].iov_len;
    return left - off;
  }

  Status corrupt() {
    return protocol_error("the shared-memory ring of " + peer_ +
                          " holds impossible positions (the peer wrote over it)");
  }

  void copy_in(const uint8_t* src, size_t n) {
    size_t pos = static_cast<size_t>(head_ & (ring_ - 1));
    size_t first = std::min<size_t>(n, static_cast<size_t>(ring_) - pos);
    std::memcpy(tx_data_ + pos, src, first);
    std::memcpy(tx_data_, src + first, n - first);
    head_ += n;
  }
  void copy_out(uint8_t* dst, size_t n) {
    size_t pos = static_cast<size_t>(tail_ & (ring_ - 1));
    size_t first = std::min<size_t>(n, static_cast<size_t>(ring_) - pos);
    std::memcpy(dst, rx_data_ + pos, first);
    std::memcpy(dst + first, rx_data_, n - first);
    tail_ += n;
  }

  // Makes head_ visible, then wakes the consumer if it sleeps. The fence orders our head store
  // before our look at its wait word; it orders its wait store before its look at the head.
  void publish() {
    __atomic_store_n(reinterpret_cast<uint64_t*>(tx_ctl_ + kProdHead), head_, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t* w = tx_ctl_ + kConsWait;
    if (load32(w) == 0) return;
    uint32_t was = __atomic_exchange_n(reinterpret_cast<uint32_t*>(w), 0u, __ATOMIC_SEQ_CST);
    if (was == kWaitFutex) {
      futex_wake(reinterpret_cast<uint32_t*>(w));
    } else if (was == kWaitPoll && sock_ >= 0) {
      const char bell = 1;
      // EAGAIN: the socket is full of doorbells already; the reader will wake anyway.
      ssize_t r = ::send(sock_, &bell, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)r;
    }
  }
  // Makes tail_ visible, then wakes a producer that sleeps for room once there is as much as
  // it waits for: its wait word holds that many bytes (wait_space: room_to_wake(); an empty ring
  // always has it). So a producer faster than us, which keeps the ring full, sleeps while we
  // work through a good part of it and then writes that much in one go, instead of being woken
  // (a system call here) and spinning there for every message.
  void consume() {
    __atomic_store_n(reinterpret_cast<uint64_t*>(rx_ctl_ + kConsTail), tail_, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t* w = rx_ctl_ + kProdWait;
    const uint32_t want = load32(w);
    if (want == 0) return;
    // A fresh look: the producer sleeps, so its head stays put. A lie (of the head or of the
    // room wanted) only delays or hastens the liar's own wake.
    const uint64_t fill = load64(rx_ctl_ + kProdHead) - tail_;
    if (fill <= ring_ && ring_ - fill < std::min<uint64_t>(want, ring_)) return;
    if (__atomic_exchange_n(reinterpret_cast<uint32_t*>(w), 0u, __ATOMIC_SEQ_CST) != 0)
      futex_wake(reinterpret_cast<uint32_t*>(w));
  }
  // How much room a producer that found the ring full waits for: half the ring, at most 64 KiB
  // (some 500 launch requests).
  uint64_t room_to_wake() const { return std::min<uint64_t>(ring_ / 2, 64u << 10); }

  void arm_doorbell() const {
    store32(rx_ctl_ + kConsWait, kWaitPoll);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  }

  // Reads what the socket holds: doorbell bytes (dropped) and passed descriptors (queued, up
  // to kMaxPendingFds; the rest closed). At most 64 reads a call, so a peer that keeps writing
  // cannot hold the caller here (the daemon's poll loop calls it); what is left stays readable.
  void drain_doorbells() {
    if (sock_ < 0) return;
    char buf[512];
    std::vector<int> got;
    for (int reads = 0; reads < 64; ++reads) {
      ssize_t r = recv_with_fds(sock_, buf, sizeof buf, MSG_DONTWAIT, &got);
      if (r > 0) {
        for (int x : got) {
          if (fds_.size() < kMaxPendingFds)
            fds_.push_back(x);
          else
            ::close(x);
        }
        continue;
      }
      if (r == 0) peer_eof_ = true;
      return;
    }
  }

  // The peer's socket has hung up (it closed, died or shut us out).
  bool peer_gone() {
    if (peer_eof_) return true;
    if (sock_ < 0) return false;
    pollfd p{sock_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      peer_eof_ = true;
      return true;
    }
    return false;
  }

  // Spins briefly, then sleeps on `word` (our wait word in the shared header, holding `value`
  // while we sleep) until `ready` says go on, the stream is shut down or the peer hangs up.
  // Never burns CPU while idle.
  // `before_sleep` runs each time, after our wait word is stored and `ready` still says no, just
  // before the futex sleep.
  template <typename Ready, typename BeforeSleep>
  Status wait_on(uint8_t* word, Ready ready, const char* what, uint32_t value,
                 BeforeSleep before_sleep) {
    auto spin_end = std::chrono::steady_clock::now() + std::chrono::microseconds(shm::kSpinMicros);
    for (int k = 0;; ++k) {
      if (ready()) return Status::ok();
      cpu_relax();
      // Yielding now and then lets the peer run where the CPUs are oversubscribed.
      if ((k & 63) == 63) {
        if (std::chrono::steady_clock::now() >= spin_end) break;
        sched_yield();
      }
    }
    for (;;) {
      store32(word, value);
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      if (ready()) {
        store32(word, 0);
        return Status::ok();
      }
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      before_sleep();
      futex_wait(reinterpret_cast<uint32_t*>(word), value, shm::kSleepCheckMs);
      if (ready()) {
        store32(word, 0);
        return Status::ok();
      }
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      if (peer_gone()) {
        store32(word, 0);
        if (ready()) return Status::ok();
        return disconnected(peer_ + " closed the connection" + what);
      }
    }
  }

  Status wait_data(size_t got) {
    return wait_on(
        rx_ctl_ + kConsWait, [this] { return load64(rx_ctl_ + kProdHead) != tail_; },
        got ? " in the middle of a message" : "", kWaitFutex, [] {});
  }
  // Waits for room_to_wake() bytes of room, keeping that number in the wait word for the
  // consumer (consume()); but for any room at all while the peer is itself asleep waiting to send
  // to us (its wait word on our rx ring is set): two sides that both send, each reading only
  // after, must not sleep on each other's hysteresis. The two looks are a store-fence-load pair
  // on each side, so at least one side sees the other's: the one that sees it either goes on (it
  // is the producer that has room) or wakes the other (before_sleep: nudge_rx_producer).
  Status wait_space() {
    const uint64_t want = room_to_wake();
    return wait_on(
        tx_ctl_ + kProdWait,
        [this, want] {
          if (!refresh_peer_tail()) return true;  // the caller finds the lie
          const uint64_t room = ring_ - (head_ - peer_tail_);
          return room >= want || (room > 0 && load32(rx_ctl_ + kProdWait) != 0);
        },
        " (it stopped reading)", static_cast<uint32_t>(want), [this] { nudge_rx_producer(); });
  }
  // About to sleep for room: a peer asleep waiting for room on our rx ring is woken if it has
  // some, since we will not read on until we have sent.
  void nudge_rx_producer() {
    uint8_t* w = rx_ctl_ + kProdWait;
    if (load32(w) == 0) return;
    // Our tail as published (tail_ belongs to a thread that may be receiving meanwhile).
    const uint64_t fill = load64(rx_ctl_ + kProdHead) - load64(rx_ctl_ + kConsTail);
    if (fill >= ring_) return;  // no room (or a lie): waking it would not help
    if (__atomic_exchange_n(reinterpret_cast<uint32_t*>(w), 0u, __ATOMIC_SEQ_CST) != 0)
      futex_wake(reinterpret_cast<uint32_t*>(w));
  }
  int sock_;
  int memfd_;
  uint8_t* map_;
  size_t map_bytes_;
  uint64_t ring_;
  std::string peer_;
  uint8_t* tx_ctl_;
  uint8_t* rx_ctl_;
  uint8_t* tx_data_;
  uint8_t* rx_data_;
  uint64_t head_ = 0;  // our producer position on the tx ring (private copy)
  uint64_t tail_ = 0;  // our consumer position on the rx ring (private copy)
  // The peer's positions as we last looked at them (it only moves them forward): how much room
  // the tx ring has at least, how much the rx ring holds at least.
  uint64_t peer_tail_ = 0;
  uint64_t peer_head_ = 0;
  std::atomic<bool> peer_eof_{false};  // also set by a receiving thread while another sends
  std::atomic<bool> shut_{false};
  std::deque<int> fds_;  // passed descriptors not taken yet (take_fd)
};

// The backend's side of a new connection: a sealed memfd of the backend's size, initialised.
Status make_region(uint64_t ring_bytes, int* memfd, void** map, size_t* bytes) {
  const size_t total = shm::kHeaderBytes + 2 * static_cast<size_t>(ring_bytes);
  int fd = ::memfd_create("gvirtus-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return failed(std::string("memfd_create: ") + std::strerror(errno));
  if (::ftruncate(fd, static_cast<off_t>(total)) != 0 ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int err = errno;
    ::close(fd);
    return failed(std::string("shared memory for a connection: ") + std::strerror(err));
  }
  void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    int err = errno;
    ::close(fd);
    return failed(std::string("mmap: ") + std::strerror(err));
  }
  // A forked worker must not inherit other clients' rings: it maps its own from the memfd.
  ::madvise(m, total, MADV_DONTFORK);
  auto* h = static_cast<uint8_t*>(m);
  std::memcpy(h + kOffMagic, &shm::kMagic, 8);
  std::memcpy(h + kOffVersion, &shm::kVersion, 4);
  std::memcpy(h + kOffRingBytes, &ring_bytes, 8);
  // The daemon waits for the Hello in poll(): the client rings the doorbell from the start.
  __atomic_store_n(reinterpret_cast<uint32_t*>(h + kOffRing[0] + kConsWait), kWaitPoll,
                   __ATOMIC_SEQ_CST);
  *memfd = fd;
  *map = m;
  *bytes = total;
  return Status::ok();
}

Status send_setup(int sock, int memfd) {
  uint8_t msg[16] = {};
  std::memcpy(msg, &kSetupMagic, 8);
  std::memcpy(msg + 8, &shm::kVersion, 4);
  struct iovec iov = {msg, sizeof msg};
  ssize_t n = send_with_fds(sock, &iov, 1, &memfd, 1);
  if (n != static_cast<ssize_t>(sizeof msg))
    return disconnected(std::string("sending the shared memory: ") + std::strerror(errno));
  return Status::ok();
}

// Maps a region received from the backend (client) or the daemon (worker) and checks its size.
// The worker takes the ring size from the memfd's size, which the backend set and sealed, never
// from the header a client can write.
Status map_region(int memfd, bool backend, void** map, size_t* bytes, uint64_t* ring) {
  struct stat st{};
  if (::fstat(memfd, &st) != 0) return failed(std::string("fstat: ") + std::strerror(errno));
  if (st.st_size < static_cast<off_t>(shm::kHeaderBytes) + 2 * 4096)
    return protocol_error("the shared memory is too small");
  uint64_t r = (static_cast<uint64_t>(st.st_size) - shm::kHeaderBytes) / 2;
  if (!valid_ring_bytes(r) || shm::kHeaderBytes + 2 * r != static_cast<uint64_t>(st.st_size))
    return protocol_error("the shared memory has an unexpected size");
  if (backend) {
    int seals = ::fcntl(memfd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
      return protocol_error("the shared memory is not sealed against resizing");
  }
  void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                   memfd, 0);
  if (m == MAP_FAILED) return failed(std::string("mmap: ") + std::strerror(errno));
  if (!backend) {
    uint64_t magic, hr;
    uint32_t ver;
    std::memcpy(&magic, static_cast<uint8_t*>(m) + kOffMagic, 8);
    std::memcpy(&ver, static_cast<uint8_t*>(m) + kOffVersion, 4);
    std::memcpy(&hr, static_cast<uint8_t*>(m) + kOffRingBytes, 8);
    if (magic != shm::kMagic || hr != r) {
      ::munmap(m, static_cast<size_t>(st.st_size));
      return protocol_error("the shared memory's header is not a GVirtuS shm header");
    }
    if (ver != shm::kVersion) {
      ::munmap(m, static_cast<size_t>(st.st_size));
      return protocol_error("the backend's shared memory is laid out as shm version " +
                            std::to_string(ver) + ", this client knows version " +
                            std::to_string(shm::kVersion) +
                            ": use a client and a gvirtus-backend of the same GVirtuS release");
    }
  } else {
    ::madvise(m, static_cast<size_t>(st.st_size), MADV_DONTFORK);
  }
  *map = m;
  *bytes = static_cast<size_t>(st.st_size);
  *ring = r;
  return Status::ok();
}

Status recv_setup(int sock, int* memfd) {
  pollfd p{sock, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, kSetupTimeoutMs);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Status(Code::kTimeout, "no shared memory from the backend in time");
  uint8_t msg[16];
  std::vector<int> got;
  const ssize_t n = recv_with_fds(sock, msg, sizeof msg, MSG_WAITALL, &got);
  int fd = -1;
  for (int x : got) {
    if (fd < 0)
      fd = x;
    else
      ::close(x);
  }
  uint64_t magic = 0;
  if (n == static_cast<ssize_t>(sizeof msg)) std::memcpy(&magic, msg, 8);
  if (n != static_cast<ssize_t>(sizeof msg) || fd < 0 || magic != kSetupMagic) {
    if (fd >= 0) ::close(fd);
    if (n == 0) return disconnected("the backend closed the connection during the shm setup");
    return protocol_error("the backend did not set up shared memory (is it listening on shm:?)");
  }
  *memfd = fd;
  return Status::ok();
}

class ShmListener : public Listener {
 public:
  ShmListener(Endpoint ep, std::unique_ptr<Listener> sock) : ep_(std::move(ep)), sock_(std::move(sock)) {}
  Status accept(std::unique_ptr<Stream>* out) override {
    for (;;) {
      Status s = try_accept(out);
      if (s.code() != Code::kTimeout) return s;
      pollfd p{fd(), POLLIN, 0};
      ::poll(&p, 1, -1);
    }
  }
  Status try_accept(std::unique_ptr<Stream>* out) override {
    std::unique_ptr<Stream> s;
    Status st = sock_->try_accept(&s);
    if (!st) return st;
    std::string peer = s->peer();
    if (peer.compare(0, 5, "unix ") == 0) peer = "shm " + peer.substr(5);
    int memfd = -1;
    void* map = nullptr;
    size_t bytes = 0;
    st = make_region(shm::kRingBytes, &memfd, &map, &bytes);
    if (st) st = send_setup(s->fd(), memfd);
    if (!st) {
      if (map) ::munmap(map, bytes);
      if (memfd >= 0) ::close(memfd);
      // Only this connection is lost: the caller's loop goes on.
      GV_WARN("dropped " + peer + ": " + st.message());
      return Status(Code::kTimeout, "dropped " + peer);
    }
    int sock = s->release_fd();
    *out = std::make_unique<ShmStream>(sock, memfd, map, bytes, shm::kRingBytes, true, peer);
    return Status::ok();
  }
  int fd() const override { return sock_->fd(); }
  std::string describe() const override { return ep_.to_string(); }

 private:
  Endpoint ep_;
  std::unique_ptr<Listener> sock_;
};

}  // namespace

Status connect_shm(const Endpoint& ep, std::unique_ptr<Stream>* out) {
  int sock = -1;
  Status s = connect_unix_socket(ep.path, &sock);
  if (!s) return disconnected("cannot connect to " + ep.to_string() + ": " + s.message());
  int memfd = -1;
  s = recv_setup(sock, &memfd);
  void* map = nullptr;
  size_t bytes = 0;
  uint64_t ring = 0;
  if (s) s = map_region(memfd, false, &map, &bytes, &ring);
  if (!s) {
    if (memfd >= 0) ::close(memfd);
    ::close(sock);
    return Status(s.code(), ep.to_string() + ": " + s.message());
  }
  *out = std::make_unique<ShmStream>(sock, memfd, map, bytes, ring, false, ep.to_string());
  return Status::ok();
}

Status listen_shm(const Endpoint& ep, std::unique_ptr<Listener> sock,
                  std::unique_ptr<Listener>* out) {
  *out = std::make_unique<ShmListener>(ep, std::move(sock));
  return Status::ok();
}

Status shm_stream_from_fds(int sock_fd, int mem_fd, std::string peer,
                           std::unique_ptr<Stream>* out) {
  void* map = nullptr;
  size_t bytes = 0;
  uint64_t ring = 0;
  Status s = map_region(mem_fd, true, &map, &bytes, &ring);
  if (!s) {
    ::close(sock_fd);
    ::close(mem_fd);
    return s;
  }
  *out = std::make_unique<ShmStream>(sock_fd, mem_fd, map, bytes, ring, true, std::move(peer));
  return Status::ok();
}

Status shm_stream_pair(std::unique_ptr<Stream>* backend, std::unique_ptr<Stream>* client,
                       uint64_t ring_bytes) {
  if (!valid_ring_bytes(ring_bytes)) return invalid("ring size must be a power of two >= 4096");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return failed(std::string("socketpair: ") + std::strerror(errno));
  int memfd = -1;
  void* map = nullptr;
  size_t bytes = 0;
  Status s = make_region(ring_bytes, &memfd, &map, &bytes);
  if (s) s = send_setup(sv[0], memfd);
  int cfd = -1;
  if (s) s = recv_setup(sv[1], &cfd);
  void* cmap = nullptr;
  size_t cbytes = 0;
  uint64_t cring = 0;
  if (s) s = map_region(cfd, false, &cmap, &cbytes, &cring);
  if (!s) {
    if (map) ::munmap(map, bytes);
    if (memfd >= 0) ::close(memfd);
    if (cfd >= 0) ::close(cfd);
    ::close(sv[0]);
    ::close(sv[1]);
    return s;
  }
  *backend = std::make_unique<ShmStream>(sv[0], memfd, map, bytes, ring_bytes, true, "shm pair");
  *client = std::make_unique<ShmStream>(sv[1], cfd, cmap, cbytes, cring, false, "shm pair");
  return Status::ok();
}

Status shm_send_fd(Stream& s, int fd) {
  auto* p = dynamic_cast<ShmStream*>(&s);
  if (!p) return Status(Code::kUnimplemented, "this connection cannot pass descriptors");
  return p->send_fd(fd);
}

int shm_take_fd(Stream& s, int timeout_ms) {
  auto* p = dynamic_cast<ShmStream*>(&s);
  return p ? p->take_fd(timeout_ms) : -1;
}

void* shm_mapping(Stream& s, size_t* bytes) {
  auto* p = dynamic_cast<ShmStream*>(&s);
  if (!p) return nullptr;
  return p->mapping(bytes);
}

}  // namespace gvirtus
