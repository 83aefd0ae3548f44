// TLS 1.3 client streams and server contexts (tls.h).
#include "common/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/cpu_relax.h"

namespace gvirtus {
namespace {

// A client connection's read-ahead buffer: one receive takes up to this much of records.
constexpr size_t kReadAhead = 256 * 1024;

// The words to add to an error that shows the backend refused the client's certificate.
std::string client_cert_hint(const std::string& text) {
  for (const char* alert : {"certificate required", "unknown ca", "bad certificate",
                            "certificate unknown", "unsupported certificate"})
    if (text.find(alert) != std::string::npos)
      return " (the backend did not accept this client's certificate: mutual TLS needs "
             "GVIRTUS_TLS_CLIENT_CERT / GVIRTUS_TLS_CLIENT_KEY signed by a CA the backend "
             "trusts)";
  return {};
}

}  // namespace

std::string tls_files_stamp(const std::vector<std::string>& paths) {
  std::string out;
  for (const std::string& path : paths) {
    struct stat st{};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
      out += "-;";
      continue;
    }
    // ctime too: a copy that keeps the size and the modification time (cp -p) still changes it.
    out += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_sec) + "." +
           std::to_string(st.st_ctim.tv_nsec) + ";";
  }
  return out;
}

bool buffer_tls_writes(SSL* ssl, int bytes) {
  BIO* buf = BIO_new(BIO_f_buffer());
  BIO* sock = SSL_get_wbio(ssl);
  if (!buf || !sock || BIO_set_write_buffer_size(buf, bytes) != 1 || BIO_up_ref(sock) != 1) {
    BIO_free(buf);
    return false;
  }
  BIO_push(buf, sock);
  SSL_set0_wbio(ssl, buf);  // the SSL's own reference to sock goes; the chain's stays
  return true;
}

std::string tls_error_text(const std::string& fallback) {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out.empty() ? fallback : out;
}

namespace {

// The socket under a client's SSL object. OpenSSL's own socket BIO writes with write(): to a
// peer that closed, that raises SIGPIPE in the application, which kills it by default, and
// SSL_read writes too (an alert, when it meets the end of the stream). This one sends with
// MSG_NOSIGNAL, so no read or write of ours ever raises SIGPIPE, and the application's signal
// mask and pending signals are never touched.
struct NosigSocket {
  int fd;
  bool eof = false;  // a receive found the end of the stream (BIO_CTRL_EOF)
};
NosigSocket* nosig_of(BIO* b) { return static_cast<NosigSocket*>(BIO_get_data(b)); }

int nosig_write(BIO* b, const char* data, size_t n, size_t* written) {
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t r = ::send(nosig_of(b)->fd, data, n, MSG_NOSIGNAL);
    if (r >= 0) {
      *written = static_cast<size_t>(r);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return 0;
  }
}

int nosig_read(BIO* b, char* data, size_t n, size_t* got) {
  BIO_clear_retry_flags(b);
  NosigSocket* sock = nosig_of(b);
  for (;;) {
    ssize_t r = ::recv(sock->fd, data, n, 0);
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return 1;
    }
    if (r == 0) {
      sock->eof = true;
      errno = 0;  // the end of the stream, not an error (TlsStream::recv tells the two apart)
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return 0;
  }
}

long nosig_ctrl(BIO* b, int cmd, long num, void* ptr) {
  (void)num;
  NosigSocket* sock = nosig_of(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return sock && sock->eof ? 1 : 0;
    case BIO_C_GET_FD:
      if (!sock) return -1;
      if (ptr) *static_cast<int*>(ptr) = sock->fd;
      return sock->fd;
    default:
      return 0;
  }
}

int nosig_destroy(BIO* b) {
  delete nosig_of(b);
  BIO_set_data(b, nullptr);
  return 1;
}

const BIO_METHOD* nosig_socket_method() {
  static const BIO_METHOD* m = [] {
    BIO_METHOD* mm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                  "gvirtus socket (MSG_NOSIGNAL)");
    if (mm) {
      BIO_meth_set_write_ex(mm, nosig_write);
      BIO_meth_set_read_ex(mm, nosig_read);
      BIO_meth_set_ctrl(mm, nosig_ctrl);
      BIO_meth_set_destroy(mm, nosig_destroy);
    }
    return mm;
  }();
  return m;
}

// A BIO over fd (not owned: TlsStream closes it), or nullptr.
BIO* nosig_socket_bio(int fd) {
  const BIO_METHOD* m = nosig_socket_method();
  BIO* b = m ? BIO_new(m) : nullptr;
  if (!b) return nullptr;
  BIO_set_data(b, new NosigSocket{fd});
  BIO_set_init(b, 1);
  return b;
}

void set_io_timeout(int fd, int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

class TlsStream : public Stream {
 public:
  TlsStream(int fd, SSL* ssl, std::string peer) : fd_(fd), ssl_(ssl), peer_(std::move(peer)) {}
  ~TlsStream() override {
    if (fd_ >= 0) ::close(fd_);
    SSL_free(ssl_);
  }
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  Status send(const struct iovec* iov, int iovcnt) override {
    if (iovcnt < 0) return invalid("negative iovec count");
    size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
    std::lock_guard<std::mutex> g(ssl_mu_);
    // Small frames go out as one record (one write): a header and its payload together.
    if (total <= kCoalesce) {
      uint8_t buf[kCoalesce];
      size_t off = 0;
      for (int i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len) std::memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
      }
      Status s = write_all(buf, off);
      return s ? flush() : s;
    }
    for (int i = 0; i < iovcnt; ++i) {
      Status s = write_all(iov[i].iov_base, iov[i].iov_len);
      if (!s) return s;
    }
    return flush();
  }

  // After the handshake: records gather in a buffer of kWriteBuffer and leave in one send when
  // it fills or a send() ends (flush), instead of one send per 16 KiB record.
  Status buffer_writes() {
    if (!buffer_tls_writes(ssl_, kWriteBuffer))
      return failed("TLS: " + tls_error_text("cannot create the connection's write buffer"));
    return Status::ok();
  }

  Status recv(void* buf, size_t n) override {
    auto* p = static_cast<uint8_t*>(buf);
    size_t got = 0;
    std::lock_guard<std::mutex> g(ssl_mu_);
    if (spin_micros_ > 0 && n > 0 && SSL_has_pending(ssl_) != 1) spin_until_readable();
    while (got < n) {
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      size_t r = 0;
      if (SSL_read_ex(ssl_, p + got, n - got, &r) == 1) {
        got += r;
        continue;
      }
      int err = SSL_get_error(ssl_, 0);
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0) ||
          (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
                                       SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        ERR_clear_error();
        return disconnected(peer_ + " closed the connection" +
                            (got ? " in the middle of a message" : ""));
      }
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return Status(Code::kTimeout, "receive from " + peer_ + " timed out");
      return io_error("receive from", err);
    }
    // A read may have written (TLS's own messages): it goes out now, not with the next send.
    // The reply read stands either way; a broken connection shows at the next send.
    (void)flush();
    return Status::ok();
  }

  void set_receive_spin(int micros) override { spin_micros_ = micros > 0 ? micros : 0; }

  void shutdown() override {
    shut_.store(true);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  int fd() const override { return fd_; }
  int release_fd() override {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool buffered() const override {
    std::lock_guard<std::mutex> g(ssl_mu_);
    return SSL_has_pending(ssl_) == 1;  // decrypted or not yet (read-ahead)
  }
  // The client gathers small requests and sends them from a thread of the connection's own
  // (frontend/core/send_queue.h) while the connection's thread may be reading: ssl_mu_ makes
  // the two take turns on the SSL object, which OpenSSL requires. A reader blocked waiting for
  // its reply holds it; the send thread then has nothing to send, since the connection
  // flushes its queue before it reads (docs/frontend.md, "Gathered sends").
  bool costly_send() const override { return true; }
  std::string peer() const override { return peer_; }
  bool destroyable_after_fork() const override { return false; }  // SSL_free: see transport.h

 private:
  static constexpr size_t kCoalesce = 16 * 1024;
  static constexpr int kWriteBuffer = 256 * 1024 + 4096;  // 16 full records and their framing

  // What the write buffer holds goes out. REQUIRES: ssl_mu_.
  Status flush() {
    BIO* w = SSL_get_wbio(ssl_);
    if (BIO_wpending(w) == 0) return Status::ok();
    if (BIO_flush(w) == 1) return Status::ok();
    if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
    if (BIO_should_retry(w)) return Status(Code::kTimeout, "send to " + peer_ + " timed out");
    return io_error("send to", SSL_ERROR_SYSCALL);
  }

  Status write_all(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    size_t done = 0;
    while (done < n) {
      if (shut_.load()) return disconnected("connection to " + peer_ + " was shut down");
      size_t w = 0;
      if (SSL_write_ex(ssl_, p + done, n - done, &w) == 1) {
        done += w;
        continue;
      }
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return Status(Code::kTimeout, "send to " + peer_ + " timed out");
      return io_error("send to", err);
    }
    return Status::ok();
  }

  Status io_error(const char* what, int err) {
    int e = errno;
    std::string text = tls_error_text(err == SSL_ERROR_SYSCALL && e ? std::strerror(e)
                                                                   : "TLS error");
    text += client_cert_hint(text);
    if (err == SSL_ERROR_SYSCALL || shut_.load())
      return disconnected(std::string(what) + " " + peer_ + ": " + text);
    return disconnected(std::string(what) + " " + peer_ + ": TLS: " + text);
  }

  // set_receive_spin: before a receive that has nothing decrypted or buffered, looks at the
  // socket without blocking until bytes (or its end) arrive or the time is up; SSL_read then
  // finds them without sleeping.
  void spin_until_readable() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_micros_);
    for (;;) {
      char c;
      const ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
      if (shut_.load() || std::chrono::steady_clock::now() >= until) return;
      cpu_relax();
    }
  }

  int fd_;
  int spin_micros_ = 0;  // set_receive_spin
  SSL* ssl_;
  std::string peer_;
  std::atomic<bool> shut_{false};
  mutable std::mutex ssl_mu_;  // one SSL call at a time: a sending and a receiving thread
};

// Index of the SSL ex_data slot where connect_tls records that the server asked for a client
// certificate.
int cert_requested_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// Called when the server asks for a client certificate and none is configured.
int note_cert_request(SSL* ssl, X509**, EVP_PKEY**) {
  SSL_set_ex_data(ssl, cert_requested_index(), reinterpret_cast<void*>(1));
  return 0;  // go on without one: the server decides
}

bool is_ip_literal(const std::string& host) {
  in_addr a{};
  in6_addr a6{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

namespace {

// A reference to a context, let go at the end of the scope.
using ContextRef = std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)>;

// A new client context for opt: TLS 1.3 only, the CA certificates to verify the backend's
// against, and the client's certificate and key where given.
Status new_client_context(const TlsClientOptions& opt, SSL_CTX** out) {
  ContextRef ref(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX* ctx = ref.get();
  if (!ctx) return failed("TLS: " + tls_error_text("cannot create a context"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!opt.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, opt.ca_file.c_str(), nullptr) != 1)
      return invalid("TLS CA file " + opt.ca_file + ": " + tls_error_text("cannot load it"));
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return invalid("TLS: " + tls_error_text("cannot load the system's CA certificates"));
  }
  if (!opt.cert_file.empty()) {
    const std::string& key = opt.key_file.empty() ? opt.cert_file : opt.key_file;
    if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert_file.c_str()) != 1)
      return invalid("TLS client certificate " + opt.cert_file + ": " +
                     tls_error_text("cannot load it"));
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
      return invalid("TLS client key " + key + ": " +
                     tls_error_text("cannot load it, or it does not match the certificate"));
  }
  if (opt.cert_file.empty()) SSL_CTX_set_client_cert_cb(ctx, note_cert_request);
  *out = ref.release();
  return Status::ok();
}

// What a client context for opt was made from: the options, and the files it loaded as they
// are now (tls_files_stamp). Without a CA file, the system's CA file and directory as OpenSSL
// finds them (SSL_CERT_FILE / SSL_CERT_DIR, else its defaults); a certificate that appears in
// the directory later, which OpenSSL reads when it needs it, changes the directory's stamp too.
std::string client_context_stamp(const TlsClientOptions& opt) {
  const std::string key = opt.key_file.empty() ? opt.cert_file : opt.key_file;
  std::vector<std::string> files = {opt.cert_file, key};
  if (!opt.ca_file.empty()) {
    files.push_back(opt.ca_file);
  } else {
    // As OpenSSL reads them: not from the environment of a setuid program (secure_getenv), and
    // the directory variable a list of directories separated by ':'.
    const char* f = secure_getenv(X509_get_default_cert_file_env());
    const char* d = secure_getenv(X509_get_default_cert_dir_env());
    files.push_back(f ? f : X509_get_default_cert_file());
    std::string dirs = d ? d : X509_get_default_cert_dir();
    for (size_t from = 0;;) {
      const size_t colon = dirs.find(':', from);
      files.push_back(dirs.substr(from, colon == std::string::npos ? colon : colon - from));
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
  }
  return opt.ca_file + '\n' + opt.cert_file + '\n' + opt.key_file + '\n' +
         tls_files_stamp(files);
}

// The last client context made, and what from. A process's connections share it (an SSL_CTX
// is safe to share; each SSL takes a reference): loading the CA certificates for every
// connection cost 0.2 ms for one CA file and 15 ms for the system's bundle (2-core build
// machine), which each client thread's connection and each session paid.
struct ClientContextCache {
  std::mutex mu;
  std::string stamp;
  SSL_CTX* ctx = nullptr;
};

ClientContextCache& client_context_cache() {
  static ClientContextCache* c = [] {
    auto* made = new ClientContextCache;  // never destroyed: connections may outlive statics
    // A fork while another thread holds the lock would leave it held in the child for ever.
    ::pthread_atfork([] { client_context_cache().mu.lock(); },
                     [] { client_context_cache().mu.unlock(); },
                     [] { client_context_cache().mu.unlock(); });
    return made;
  }();
  return *c;
}

}  // namespace

Status client_context(const TlsClientOptions& opt, SSL_CTX** out) {
  const std::string stamp = client_context_stamp(opt);
  ClientContextCache& c = client_context_cache();
  {
    std::lock_guard<std::mutex> g(c.mu);
    if (c.ctx && c.stamp == stamp && SSL_CTX_up_ref(c.ctx) == 1) {
      *out = c.ctx;
      return Status::ok();
    }
  }
  // Made outside the lock (loading the system's CA certificates takes milliseconds); two
  // threads that both find none make one each, and the later one stays.
  SSL_CTX* made = nullptr;
  Status s = new_client_context(opt, &made);
  if (!s) return s;
  if (SSL_CTX_up_ref(made) != 1) {
    SSL_CTX_free(made);
    return failed("TLS: " + tls_error_text("cannot share a context"));
  }
  SSL_CTX* replaced = nullptr;
  {
    std::lock_guard<std::mutex> g(c.mu);
    replaced = c.ctx;
    c.ctx = made;
    c.stamp = stamp;
  }
  SSL_CTX_free(replaced);  // connections made with it keep their own references
  *out = made;
  return Status::ok();
}

Status connect_tls(const Endpoint& ep, const TlsClientOptions& opt, std::unique_ptr<Stream>* out) {
  Endpoint plain = ep;
  plain.tls = false;
  std::unique_ptr<Stream> tcp;
  Status s = connect_stream(plain, &tcp);
  if (!s) return s;
  const std::string where = ep.to_string();

  SSL_CTX* ctx = nullptr;
  s = client_context(opt, &ctx);
  if (!s) return s;
  const ContextRef ref(ctx, SSL_CTX_free);  // the SSL takes a reference of its own
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return failed("TLS: " + tls_error_text("cannot create a connection"));
  SSL_set_mode(ssl, SSL_MODE_AUTO_RETRY);
  // One receive takes whatever has arrived (a reply's record whole, and any behind it), not a
  // record's 5-byte header and then its body. buffered() asks SSL_has_pending accordingly.
  SSL_set_read_ahead(ssl, 1);
  // Up to kReadAhead of records per receive (a bulk reply's), not one 16 KiB record each.
  SSL_set_default_read_buffer_len(ssl, kReadAhead);
  if (is_ip_literal(ep.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, ep.host.c_str());
    SSL_set1_host(ssl, ep.host.c_str());
  }
  int fd = tcp->release_fd();
  auto stream = std::make_unique<TlsStream>(fd, ssl, where);  // owns fd and ssl from here
  BIO* bio = nosig_socket_bio(fd);
  if (!bio) return failed("TLS: " + tls_error_text("cannot create the connection's socket BIO"));
  SSL_set_bio(ssl, bio, bio);  // the SSL object owns the BIO
  set_io_timeout(fd, opt.handshake_timeout_ms);
  ERR_clear_error();
  int rc = SSL_connect(ssl);
  if (rc != 1) {
    int err = SSL_get_error(ssl, rc);
    int e = errno;
    long vr = SSL_get_verify_result(ssl);
    std::string why;
    if (vr != X509_V_OK) {
      why = std::string("the backend's certificate is not trusted: ") +
            X509_verify_cert_error_string(vr) +
            " (check GVIRTUS_TLS_CA / \"tls_ca\" and the host name in the endpoint)";
      ERR_clear_error();
    } else if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      why = "no answer within " + std::to_string(opt.handshake_timeout_ms) +
            " ms (is the backend listening with TLS there?)";
    } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ||
               ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      why = std::string("the backend closed the connection") + (e ? std::string(" (") + std::strerror(e) + ")" : "") +
            ": it may be a plain tcp:// endpoint, or it refused our certificate";
    } else {
      why = tls_error_text("TLS error");
      why += client_cert_hint(why);
    }
    return disconnected("TLS handshake with " + where + " failed: " + why);
  }
  // TLS 1.3: the server judges the client's certificate after the client's handshake is
  // done. Without one to give, say so now rather than at the first read.
  if (SSL_get_ex_data(ssl, cert_requested_index()))
    return disconnected("TLS handshake with " + where + " failed: the backend requires a client "
                        "certificate (mutual TLS): set GVIRTUS_TLS_CLIENT_CERT and "
                        "GVIRTUS_TLS_CLIENT_KEY (or \"tls_client_cert\" / \"tls_client_key\")");
  Status bs = static_cast<TlsStream*>(stream.get())->buffer_writes();
  if (!bs) return bs;
  set_io_timeout(fd, 0);
  *out = std::move(stream);
  return Status::ok();
}

Status TlsServerContext::create(const std::string& cert_file, const std::string& key_file,
                                const std::string& client_ca_file,
                                std::unique_ptr<TlsServerContext>* out) {
  std::unique_ptr<TlsServerContext> c(new TlsServerContext);
  c->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!c->ctx_) return failed("TLS: " + tls_error_text("cannot create a context"));
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_3_VERSION);
  // No session tickets: nothing is sent after the handshake that the relay did not ask for.
  SSL_CTX_set_num_tickets(c->ctx_, 0);
  SSL_CTX_set_mode(c->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // The relay reads whatever has arrived in one receive (it polls only after SSL_read asks for
  // more: tls_relay.cc), not each record's header and body apart.
  SSL_CTX_set_read_ahead(c->ctx_, 1);
  if (cert_file.empty()) return invalid("a tls:// listener needs \"tls_cert\" and \"tls_key\" in the config");
  const std::string& key = key_file.empty() ? cert_file : key_file;
  if (SSL_CTX_use_certificate_chain_file(c->ctx_, cert_file.c_str()) != 1)
    return invalid("TLS certificate " + cert_file + ": " + tls_error_text("cannot load it"));
  if (SSL_CTX_use_PrivateKey_file(c->ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c->ctx_) != 1)
    return invalid("TLS key " + key + ": " +
                   tls_error_text("cannot load it, or it does not match the certificate"));
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c->ctx_, client_ca_file.c_str(), nullptr) != 1)
      return invalid("TLS client CA file " + client_ca_file + ": " +
                     tls_error_text("cannot load it"));
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    c->verify_clients_ = true;
  }
  *out = std::move(c);
  return Status::ok();
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

namespace {

Status write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return failed("cannot write " + path + ": " + std::strerror(errno));
  if (key) ::fchmod(fileno(f), 0600);
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (std::fclose(f) != 0 || !ok) return failed("cannot write " + path);
  return Status::ok();
}

}  // namespace

Status make_test_certificate(const std::string& dir, const std::string& name,
                             const std::string& san, const std::string& issuer) {
  struct Owned {
    EVP_PKEY* key = nullptr;
    EVP_PKEY* issuer_key = nullptr;
    X509* cert = nullptr;
    X509* issuer_cert = nullptr;
    ~Owned() {
      EVP_PKEY_free(key);
      EVP_PKEY_free(issuer_key);
      X509_free(cert);
      X509_free(issuer_cert);
    }
  } o;
  if (!issuer.empty()) {
    const std::string cp = dir + "/" + issuer + ".pem", kp = dir + "/" + issuer + ".key";
    FILE* f = std::fopen(cp.c_str(), "r");
    if (f) {
      o.issuer_cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
      std::fclose(f);
    }
    f = std::fopen(kp.c_str(), "r");
    if (f) {
      o.issuer_key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
      std::fclose(f);
    }
    if (!o.issuer_cert || !o.issuer_key) return failed("cannot read the issuer " + cp + " / " + kp);
  }
  o.key = EVP_EC_gen("P-256");
  o.cert = X509_new();
  if (!o.key || !o.cert) return failed(tls_error_text("cannot make a key"));
  static long serial = 1;
  X509_set_version(o.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(o.cert), serial++ + static_cast<long>(::getpid()) * 1000);
  X509_gmtime_adj(X509_getm_notBefore(o.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(o.cert), 2 * 24 * 3600);
  X509_set_pubkey(o.cert, o.key);
  X509_NAME* subject = X509_get_subject_name(o.cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(o.cert, o.issuer_cert ? X509_get_subject_name(o.issuer_cert) : subject);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, o.issuer_cert ? o.issuer_cert : o.cert, o.cert, nullptr, nullptr, 0);
  const bool ca = issuer.empty();
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE"}};
  if (ca) exts.push_back({NID_key_usage, "critical,keyCertSign,cRLSign"});
  if (!san.empty()) exts.push_back({NID_subject_alt_name, san});
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    bool ok = e && X509_add_ext(o.cert, e, -1);
    X509_EXTENSION_free(e);
    if (!ok) return failed(tls_error_text("cannot add the extension " + value));
  }
  if (!X509_sign(o.cert, ca ? o.key : o.issuer_key, EVP_sha256()))
    return failed(tls_error_text("cannot sign the certificate"));
  Status s = write_pem(dir + "/" + name + ".pem", o.cert, nullptr);
  if (s) s = write_pem(dir + "/" + name + ".key", nullptr, o.key);
  return s;
}

}  // namespace gvirtus
