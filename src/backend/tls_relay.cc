// The TLS relay process (tls_relay.h).
#include "backend/tls_relay.h"

#include <fcntl.h>
#include <grp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <openssl/bio.h>

#include "backend/handshake.h"
#include "backend/spawn.h"
#include "common/config.h"
#include "common/cpu_relax.h"
#include "common/fd_passing.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/wire.h"

namespace gvirtus::backend {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBuffer = 256 * 1024;

[[noreturn]] void leave(int code) {
  std::fflush(stderr);
  _exit(code);
}

void set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Waits for events on fd until the deadline; false when it passed.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// A GVirtuS client that did not start TLS: read what it sent (its Hello), answer with a plain
// Welcome refusal it can show, and wait a moment for it to close, so that the refusal is not
// lost to a reset.
[[noreturn]] void refuse_plaintext(int fd, const std::string& peer) {
  GV_INFO("refused " + peer + ": a plaintext GVirtuS client on a TLS listener");
  auto until = Clock::now() + std::chrono::milliseconds(300);
  uint8_t buf[4096];
  while (wait_for(fd, POLLIN, until)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;
  }
  wire::Welcome w;
  w.status = wire::kWelcomeUnauthorized;
  w.message = "this backend endpoint speaks TLS: connect with tls://HOST:PORT (and trust the "
              "backend's certificate: GVIRTUS_TLS_CA)";
  std::vector<uint8_t> f = welcome_frame(w);
  ssize_t n = ::send(fd, f.data(), f.size(), MSG_NOSIGNAL);
  (void)n;
  ::shutdown(fd, SHUT_WR);
  until = Clock::now() + std::chrono::seconds(1);
  while (wait_for(fd, POLLIN, until)) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
  }
  leave(0);
}

// The note goes out whole before anything else: a small write on a fresh socketpair.
bool send_note(int fd, const std::vector<uint8_t>& note, Clock::time_point deadline) {
  size_t off = 0;
  while (off < note.size()) {
    ssize_t n = ::send(fd, note.data() + off, note.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<uint8_t> encode_relay_note(const std::string& subject) {
  const std::string s = subject.substr(0, kMaxRelayNoteSubject);
  const uint32_t head[2] = {kRelayNoteMagic, static_cast<uint32_t>(s.size())};
  std::vector<uint8_t> out(kRelayNoteHeader + s.size());
  std::memcpy(out.data(), head, sizeof head);
  std::memcpy(out.data() + kRelayNoteHeader, s.data(), s.size());
  return out;
}

bool decode_relay_note_header(const uint8_t header[kRelayNoteHeader], uint32_t* length) {
  uint32_t head[2];
  std::memcpy(head, header, sizeof head);
  if (head[0] != kRelayNoteMagic || head[1] > kMaxRelayNoteSubject) return false;
  *length = head[1];
  return true;
}

std::string verified_subject(SSL* ssl) {
  if (!(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) return "";
  if (SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "";
  std::string out;
  // RFC 2253: "CN=alice,O=Example", most specific first, special characters escaped; what
  // `openssl x509 -noout -subject -nameopt RFC2253` prints.
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0 && data) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  // A verified certificate is an identity even with an empty subject (names only in its
  // subjectAltName): all such certificates share this one.
  return out.empty() ? "(empty subject)" : out;
}

namespace {

// A relay's signals: the default actions (SIGTERM ends it), SIGPIPE ignored, none blocked (the
// daemon blocks them all around its fork).
void relay_signals() {
  struct sigaction sa{};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGHUP}) sigaction(sig, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

void run_tls_relay(SSL_CTX* ctx, int net_fd, int plain_fd, int handshake_timeout_ms,
                   const std::string& peer, int spin_micros) {
  relay_signals();
  log::set_component("tls relay " + std::to_string(getpid()));

  set_nonblocking(net_fd);
  set_nonblocking(plain_fd);
  const auto deadline = Clock::now() + std::chrono::milliseconds(handshake_timeout_ms);

  // A plaintext GVirtuS client begins with the frame magic; a TLS client with a handshake
  // record (0x16).
  for (;;) {
    if (!wait_for(net_fd, POLLIN, deadline)) {
      GV_INFO("dropped " + peer + ": no TLS handshake within " +
              std::to_string(handshake_timeout_ms) + " ms");
      leave(0);
    }
    uint8_t head[4];
    ssize_t n = ::recv(net_fd, head, sizeof head, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      GV_DEBUG("dropped " + peer + ": closed before the TLS handshake");
      leave(0);
    }
    if (head[0] == 0x16) break;
    if (n < 4) {
      if (Clock::now() >= deadline) {
        GV_INFO("dropped " + peer + ": no complete first message within " +
                std::to_string(handshake_timeout_ms) + " ms");
        leave(0);
      }
      ::usleep(10000);  // the rest of a plaintext header is on its way (peeked data stays)
      continue;
    }
    uint32_t magic;
    std::memcpy(&magic, head, sizeof magic);
    if (magic == wire::kFrameMagic) refuse_plaintext(net_fd, peer);
    GV_INFO("dropped " + peer + ": not a TLS client");
    leave(0);
  }

  SSL* ssl = SSL_new(ctx);
  // Read ahead (the context's setting) into a buffer of up to kBuffer: one receive takes many
  // records. Set before the handshake, which allocates the buffer.
  if (ssl) SSL_set_default_read_buffer_len(ssl, kBuffer);
  if (!ssl || SSL_set_fd(ssl, net_fd) != 1) {
    GV_ERROR("TLS with " + peer + ": " + tls_error_text("cannot create a connection"));
    leave(1);
  }
  for (;;) {
    ERR_clear_error();
    int rc = SSL_accept(ssl);
    if (rc == 1) break;
    int err = SSL_get_error(ssl, rc);
    short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev) {
      if (wait_for(net_fd, ev, deadline)) continue;
      GV_INFO("dropped " + peer + ": TLS handshake not complete within " +
              std::to_string(handshake_timeout_ms) + " ms");
      leave(0);
    }
    std::string why = tls_error_text(err == SSL_ERROR_SYSCALL ? "the client closed the connection"
                                                              : "TLS error");
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) why += std::string(" (client certificate: ") + X509_verify_cert_error_string(vr) + ")";
    GV_INFO("refused " + peer + ": TLS handshake failed: " + why);
    // In TLS 1.3 the client finished its side before we judged its certificate and is now
    // sending: read for a moment, so that it reads our alert instead of a reset.
    ::shutdown(net_fd, SHUT_WR);
    auto until = Clock::now() + std::chrono::milliseconds(500);
    uint8_t sink[4096];
    while (wait_for(net_fd, POLLIN, until)) {
      ssize_t r = ::recv(net_fd, sink, sizeof sink, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    leave(0);
  }
  const std::string subject = verified_subject(ssl);
  GV_DEBUG("TLS with " + peer + " established (" + SSL_get_version(ssl) + ", " +
           (subject.empty() ? std::string("no client certificate")
                            : "client certificate " + subject) + ")");
  if (!send_note(plain_fd, encode_relay_note(subject), deadline)) {
    GV_WARN("dropped " + peer + ": the daemon did not take the relay note");
    leave(0);
  }

  // Records to the client gather in a buffer and leave in one send per batch (BIO_flush below),
  // instead of one send per 16 KiB record; and one receive takes up to kBuffer of records.
  if (!buffer_tls_writes(ssl, kBuffer + 64 * 1024)) {
    GV_ERROR("TLS with " + peer + ": " + tls_error_text("cannot create a write buffer"));
    leave(1);
  }

  std::vector<uint8_t> up(kBuffer), down(kBuffer);  // up: net -> plain; down: plain -> net
  size_t up_off = 0, up_len = 0, down_off = 0, down_len = 0;
  bool net_eof = false, plain_eof = false;
  // The client can no longer be written to (it closed or reset): what the worker sends is read
  // and dropped, so that the worker never blocks on us, while what the client sent before it
  // went still reaches the worker (its last requests, a goodbye).
  bool net_out_dead = false;
  // Whether a side may have bytes to read: false once a read found none or took less than it
  // could (what arrived is all there was, most likely), true again when poll() says so. A side
  // that has none is not asked again until then: a read that would find nothing is a system
  // call, and poll(), which waits anyway, tells.
  bool net_in = true, plain_in = true;
  for (;;) {
    short net_ev = 0, plain_ev = 0;
    bool progress = true;
    while (progress) {
      progress = false;
      net_ev = plain_ev = 0;
      if (!net_eof && up_len < up.size() && !net_in && SSL_has_pending(ssl) != 1) {
        net_ev |= POLLIN;
      } else if (!net_eof && up_len < up.size()) {
        // One record per SSL_read; the records already received (the read-ahead buffer holds
        // up to kBuffer of them) are all decrypted before the worker gets them in one send.
        size_t r = 0;
        bool got = false;
        int rc = 1;
        while (up_len < up.size()) {
          rc = SSL_read_ex(ssl, up.data() + up_len, up.size() - up_len, &r);
          if (rc != 1) break;
          up_len += r;
          got = true;
          if (SSL_has_pending(ssl) != 1) break;
        }
        if (got) {
          progress = true;
          // Nothing buffered is left; the socket may hold more if the last receive filled
          // the read-ahead buffer: poll() tells.
          net_in = false;
        }
        if (rc != 1) {
          int err = SSL_get_error(ssl, 0);
          if (err == SSL_ERROR_WANT_READ) {
            net_ev |= POLLIN;
            net_in = false;
          } else if (err == SSL_ERROR_WANT_WRITE) {
            net_ev |= POLLOUT;
          } else {
            if (err != SSL_ERROR_ZERO_RETURN)
              GV_DEBUG("TLS with " + peer + ": " + tls_error_text("connection closed"));
            ERR_clear_error();
            net_eof = true;  // what was read before it still goes to the worker
          }
        }
      }
      if (up_off < up_len) {
        ssize_t n = ::send(plain_fd, up.data() + up_off, up_len - up_off, MSG_NOSIGNAL);
        if (n > 0) {
          up_off += static_cast<size_t>(n);
          progress = true;
          if (up_off == up_len) up_off = up_len = 0;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          plain_ev |= POLLOUT;
        } else {
          leave(0);  // the worker's side is gone
        }
      }
      if (!plain_eof && down_off == down_len && !plain_in) {
        plain_ev |= POLLIN;
      } else if (!plain_eof && down_off == down_len) {
        down_off = down_len = 0;
        ssize_t n = ::recv(plain_fd, down.data(), down.size(), 0);
        if (n > 0) {
          down_len = net_out_dead ? 0 : static_cast<size_t>(n);
          progress = true;
          plain_in = static_cast<size_t>(n) == down.size();
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          plain_ev |= POLLIN;
          plain_in = errno == EINTR;
        } else {
          plain_eof = true;
        }
      }
      if (down_off < down_len) {
        size_t w = 0;
        if (SSL_write_ex(ssl, down.data() + down_off, down_len - down_off, &w) == 1) {
          down_off += w;
          progress = true;
        } else {
          int err = SSL_get_error(ssl, 0);
          if (err == SSL_ERROR_WANT_WRITE) {
            net_ev |= POLLOUT;
          } else if (err == SSL_ERROR_WANT_READ) {
            net_ev |= POLLIN;
          } else {
            // The client's side is gone for writing: drop what was for it, and go on
            // delivering what it sent until its end is read (as far as TCP still holds it: a
            // reset discards unread bytes). Its write side is closed, so that a client still
            // reading learns the connection ended instead of waiting for a reply.
            ERR_clear_error();
            ::shutdown(net_fd, SHUT_WR);
            net_out_dead = true;
            down_off = down_len = 0;
            progress = true;
          }
        }
      }
    }
    // The records written since the last flush go out together (one send for up to
    // kBuffer of them); what SSL_read itself wrote (an alert) too.
    // SSL_get_wbio: the buffer, or a buffer OpenSSL put in front of it for a handshake message.
    BIO* w = SSL_get_wbio(ssl);
    if (!net_out_dead && BIO_wpending(w) > 0 && BIO_flush(w) != 1) {
      if (BIO_should_retry(w)) {
        net_ev |= POLLOUT;
      } else {
        ERR_clear_error();  // the client's side is gone for writing, as above
        ::shutdown(net_fd, SHUT_WR);
        net_out_dead = true;
        down_off = down_len = 0;
        continue;
      }
    }
    if (net_eof && up_off == up_len) leave(0);  // the worker sees the client's close
    // Everything for the client is out of the buffer too (or the client is gone).
    if (plain_eof && down_off == down_len && (net_out_dead || BIO_wpending(w) == 0)) {
      SSL_shutdown(ssl);  // close_notify, best effort
      (void)BIO_flush(SSL_get_wbio(ssl));
      leave(0);
    }
    // A side we wait for nothing on is left out (fd -1): poll() reports a hangup or an error
    // of a socket whatever it is asked, and nothing here would clear it, so it would return at
    // once for ever (a spinning relay). That side's state is learnt when we next use it.
    if (net_ev == 0 && plain_ev == 0) leave(0);  // nothing left that could move
    pollfd p[2] = {{net_ev ? net_fd : -1, net_ev, 0}, {plain_ev ? plain_fd : -1, plain_ev, 0}};
    // Bytes just moved, and the other side's answer (a call's reply, the next request) usually
    // follows within microseconds: look without sleeping for a while ("receive_spin_us"), so
    // that it costs this process no wake-up. Idle, the relay sleeps.
    int r = 0;
    if (spin_micros > 0) {
      const auto until = Clock::now() + std::chrono::microseconds(spin_micros);
      do {
        r = ::poll(p, 2, 0);
        if (r != 0) break;
        cpu_relax();
      } while (Clock::now() < until);
    }
    if (r == 0) r = ::poll(p, 2, -1);
    if (r < 0 && errno != EINTR) leave(1);
    // Any event (data, hangup, error) is worth a read, which tells which.
    if (r < 0 || p[0].revents) net_in = true;
    if (r < 0 || p[1].revents) plain_in = true;
  }
}

namespace {

bool parse_fd(const char* text, int* out) {
  if (!text || !*text || std::strlen(text) > 8) return false;
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < 0 || v > (1 << 20) || fcntl(static_cast<int>(v), F_GETFD) < 0)
    return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

bool hand_to_spare_relay(int wait_fd, int net_fd, int plain_fd, const std::string& peer) {
  const std::string text = peer.substr(0, kMaxRelayPeer);
  if (text.empty()) {
    errno = EINVAL;
    return false;
  }
  iovec iov{const_cast<char*>(text.data()), text.size()};
  const int fds[2] = {net_fd, plain_fd};
  return send_with_fds(wait_fd, &iov, 1, fds, 2) == static_cast<ssize_t>(text.size());
}

void size_relay_pair(const int pair[2]) {
  for (int i = 0; i < 2; ++i) {
    int v = 4 << 20;
    setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(pair[i], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  }
}

namespace {

// A spare relay's wait for its connection (tls_relay.h). Returns only with both descriptors
// and the peer's text; exits when the daemon closes the socket or sends anything else.
void wait_for_handoff(int wait_fd, int* net_fd, int* plain_fd, std::string* peer) {
  char text[kMaxRelayPeer];
  std::vector<int> fds;
  int flags = 0;
  const ssize_t n = recv_with_fds(wait_fd, text, sizeof text, 0, &fds, &flags);
  if (n == 0 && fds.empty()) leave(0);  // the daemon is gone or stopping: nothing handed over
  if (n <= 0 || fds.size() != 2 || (flags & (MSG_TRUNC | MSG_CTRUNC))) {
    GV_ERROR(std::string("spare relay: a handoff that is not one (") +
             (n < 0 ? std::strerror(errno) : std::to_string(fds.size()) + " descriptors") + ")");
    leave(1);
  }
  ::close(wait_fd);
  *net_fd = fds[0];
  *plain_fd = fds[1];
  peer->assign(text, static_cast<size_t>(n));
}

}  // namespace

int tls_relay_main(int argc, char** argv) {
  log::set_component("tls relay " + std::to_string(getpid()));
  int net_fd = -1, plain_fd = -1, wait_fd = -1, timeout_ms = 10000;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::string cert, key, client_ca, peer = "a TLS client";
  bool dumpable = false;
  int spin_micros = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--tls-relay") continue;
    if (i + 1 >= argc) {
      GV_ERROR("relay mode: " + a + " needs a value");
      return 2;
    }
    const char* v = argv[++i];
    bool ok = true;
    if (a == "--net-fd") {
      ok = parse_fd(v, &net_fd);
    } else if (a == "--plain-fd") {
      ok = parse_fd(v, &plain_fd);
    } else if (a == "--wait-fd") {
      ok = parse_fd(v, &wait_fd);
    } else if (a == "--cert") {
      cert = v;
    } else if (a == "--key") {
      key = v;
    } else if (a == "--client-ca") {
      client_ca = v;
    } else if (a == "--peer") {
      peer = v;
    } else if (a == "--user") {
      // UID:GID to run as once the key is loaded ("worker_user"): the relay parses what the
      // network sends, and need not do that as root.
      char* end = nullptr;
      unsigned long u = std::strtoul(v, &end, 10);
      ok = end != v && *end == ':';
      unsigned long g = ok ? std::strtoul(end + 1, &end, 10) : 0;
      ok = ok && *end == '\0' && u > 0 && u < (1ul << 31) && g < (1ul << 31);
      uid = static_cast<uid_t>(u);
      gid = static_cast<gid_t>(g);
    } else if (a == "--handshake-timeout-ms") {
      uint64_t t = 0;
      ok = parse_u64(v, 3600 * 1000, &t) && t >= 1;
      timeout_ms = static_cast<int>(t);
    } else if (a == "--log-level") {
      log::Level l;
      ok = log::parse_level(v, &l);
      if (ok) log::set_level(l);
    } else if (a == "--dumpable") {
      ok = parse_switch(v, &dumpable);
    } else if (a == "--receive-spin-us") {
      uint64_t t = 0;
      ok = parse_u64(v, kMaxReceiveSpinMicros, &t);
      spin_micros = static_cast<int>(t);
    } else {
      ok = false;
    }
    if (!ok) {
      GV_ERROR("relay mode (started by the daemon, not by hand): bad argument " + a + " " + v);
      return 2;
    }
  }
  const bool spare = wait_fd >= 0;
  if ((spare ? (net_fd >= 0 || plain_fd >= 0) : (net_fd < 0 || plain_fd < 0)) || cert.empty()) {
    GV_ERROR("relay mode (started by the daemon, not by hand): --net-fd and --plain-fd, or "
             "--wait-fd, and --cert are needed");
    return 2;
  }
  for (int fd : {net_fd, plain_fd, wait_fd})
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  // What its failures before a connection came say (a spare has dropped no one yet).
  const std::string dropped = spare ? std::string("spare relay") : "dropped " + peer;
  if (spare) relay_signals();  // SIGTERM ends a waiting spare
  set_dumpable(dumpable);  // before the key is read
  std::unique_ptr<TlsServerContext> ctx;
  Status s = TlsServerContext::create(cert, key, client_ca, &ctx);
  if (!s) {
    GV_ERROR(dropped + ": " + s.message());
    return 1;
  }
  if (uid != static_cast<uid_t>(-1) &&
      (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    GV_ERROR(dropped + ": cannot become user " + std::to_string(uid) + " (\"worker_user\"): " +
             std::strerror(errno));
    return 1;
  }
  // A change of user resets the flag (to fs.suid_dumpable): set it again.
  if (uid != static_cast<uid_t>(-1)) set_dumpable(dumpable);
  if (spare) wait_for_handoff(wait_fd, &net_fd, &plain_fd, &peer);
  run_tls_relay(ctx->ctx(), net_fd, plain_fd, timeout_ms, peer, spin_micros);
}

}  // namespace gvirtus::backend
