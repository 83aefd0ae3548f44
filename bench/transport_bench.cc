// gvirtus-bench-transport: what the connection itself costs, without a GPU: setting up a
// session (connect, TLS and token handshakes where configured, the worker's fork, the first
// Ping), a Ping's round trip, a new thread's first call (its own connection, then a Ping:
// thread_first_call_ms), and requests sent without waiting (noreply_calls_per_s). The backend and the security settings come from the
// environment as for any client (GVIRTUS_ENDPOINT, GVIRTUS_TOKEN_FILE, GVIRTUS_TLS_CA, ...).
// bench/run.sh runs it over tcp://, unix:, shm: and tls://.
//   gvirtus-bench-transport [SECONDS_PER_METRIC]
//   gvirtus-bench-transport --raw ENDPOINT [SECONDS_PER_METRIC]
//   gvirtus-bench-transport --make-test-cert DIR
// --raw measures the transport alone, with no backend: it listens on ENDPOINT, a forked child
// connects and echoes, and it prints raw_ping_us (a 16-byte frame there and back) and
// raw_stream_256MiB_GBps (256 MiB one way in frames of wire::kMaxPayload, then a 1-byte ack).
// With a tls:// ENDPOINT this process is the TLS client, and the echoing child sits behind a
// real TLS relay (gvirtus-backend --tls-relay, next to this program), as a worker does.
// Output lines: "metric value unit", as gvirtus-bench. --make-test-cert writes DIR/ca.pem and
// DIR/server.pem + DIR/server.key (a certificate for 127.0.0.1 and localhost signed by that CA,
// valid two days), so bench/run.sh can measure TLS where the openssl command is missing.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "backend/tls_relay.h"
#include "cli/launch.h"
#include "common/auth.h"
#include "common/config.h"
#include "common/tls.h"
#include "common/transport.h"
#include "frontend/core/session.h"

namespace {

using namespace gvirtus;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gvirtus-bench-transport: %s\n", what.c_str());
  std::exit(1);
}

bool ping(client::Session& s) {
  client::Connection* c = s.connection();
  if (!c) return false;
  uint64_t id = 0;
  if (!c->send_request(client::kCallPing, 0, nullptr, 0, &id)) return false;
  wire::FrameHeader h;
  return c->recv_reply_header(id, &h) && h.status == 0;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The child of --raw: echoes frames; a frame of kind kGoodbye is the end of a stream, answered
// with one byte.
[[noreturn]] void raw_echo_on(Stream& s) {
  std::vector<uint8_t> buf(wire::kMaxPayload);
  for (;;) {
    wire::FrameHeader h;
    if (!recv_header(s, wire::kMaxPayload, &h)) _exit(0);
    if (h.length && !s.recv(buf.data(), h.length)) _exit(3);
    if (h.kind == static_cast<uint16_t>(wire::Kind::kGoodbye)) {
      uint8_t ack = 1;
      struct iovec iov = {&ack, 1};
      if (!s.send(&iov, 1)) _exit(4);
      continue;
    }
    struct iovec body = {buf.data(), h.length};
    if (!send_frame(s, h, &body, 1)) _exit(5);
  }
}
[[noreturn]] void raw_echo(const Endpoint& ep) {
  std::unique_ptr<Stream> s;
  if (!connect_stream(ep, &s)) _exit(2);
  raw_echo_on(*s);
}

// The measurements of --raw over a connected stream `s` whose peer runs raw_echo_on.
void raw_measure(Stream& s, double budget) {
  uint8_t small[16] = {};
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
  struct iovec body = {small, sizeof small};
  auto round = [&] {
    wire::FrameHeader r;
    if (!send_frame(s, h, &body, 1) || !recv_header(s, 64, &r) || !s.recv(small, r.length))
      die("raw ping failed");
  };
  for (int i = 0; i < 1000; ++i) round();
  long n = 0;
  auto t0 = Clock::now();
  do {
    for (int i = 0; i < 1000; ++i) round();
    n += 1000;
  } while (seconds_since(t0) < budget);
  std::printf("raw_ping_us %.4g us\n", 1e6 * seconds_since(t0) / static_cast<double>(n));
  std::vector<uint8_t> big(wire::kMaxPayload, 0x5a);
  struct iovec bb = {big.data(), big.size()};
  h.kind = static_cast<uint16_t>(wire::Kind::kGoodbye);
  double best = 0;
  t0 = Clock::now();
  do {
    auto t1 = Clock::now();
    for (int i = 0; i < 4; ++i)
      if (!send_frame(s, h, &bb, 1)) die("raw stream failed");
    uint8_t ack;
    for (int i = 0; i < 4; ++i)
      if (!s.recv(&ack, 1)) die("raw stream ack failed");
    best = std::max(best, 4.0 * static_cast<double>(big.size()) / seconds_since(t1) / 1e9);
  } while (seconds_since(t0) < budget);
  std::printf("raw_stream_256MiB_GBps %.4g GB/s\n", best);
}

// tls://: the backend's side is a real TLS relay (gvirtus-backend --tls-relay, from this
// program's directory, with a test certificate made in a temporary directory) in front of
// the echoing child, as a worker's connection is; this process is the TLS client. So the
// figures are the client's TLS stream and the relay's hop together, what a tls:// session's
// bytes pass through besides the worker. As in the other --raw modes nothing polls before it
// sleeps (a backend's relays do, "receive_spin_us"): raw_ping_us pays the relay's wake-ups.
[[noreturn]] void relay_echo(Listener& l, const std::string& dir) {
  std::unique_ptr<Stream> net;
  if (!l.accept(&net)) _exit(2);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) _exit(3);
  backend::size_relay_pair(pair);  // as the daemon sizes a relay's socketpair
  const int net_fd = net->release_fd();
  const pid_t relay = fork();
  if (relay == 0) {
    std::string bin;
    if (!cli::self_exe_dir(&bin)) _exit(4);
    const std::string exe = bin + "/gvirtus-backend";
    for (int fd : {net_fd, pair[1]}) fcntl(fd, F_SETFD, 0);  // kept across the exec
    const std::string nfd = std::to_string(net_fd), pfd = std::to_string(pair[1]);
    const std::string cert = dir + "/server.pem", key = dir + "/server.key";
    execl(exe.c_str(), exe.c_str(), "--tls-relay", "--net-fd", nfd.c_str(), "--plain-fd",
          pfd.c_str(), "--cert", cert.c_str(), "--key", key.c_str(), "--peer", "raw",
          static_cast<char*>(nullptr));
    std::fprintf(stderr, "gvirtus-bench-transport: cannot run %s: %s\n", exe.c_str(),
                 std::strerror(errno));
    _exit(5);
  }
  ::close(net_fd);
  ::close(pair[1]);
  if (relay < 0) _exit(6);
  std::unique_ptr<Stream> plain = stream_from_fd(pair[0], "relay");
  // The relay note first (tls_relay.h): the client's verified subject, none here.
  uint8_t note[backend::kRelayNoteHeader];
  uint32_t subject = 0;
  if (!plain->recv(note, sizeof note) || !backend::decode_relay_note_header(note, &subject))
    _exit(7);
  std::vector<uint8_t> skip(subject);
  if (subject && !plain->recv(skip.data(), subject)) _exit(8);
  raw_echo_on(*plain);
}

// A CA and a certificate for 127.0.0.1 and localhost signed by it, in dir (--make-test-cert).
Status make_test_certs(const std::string& dir) {
  Status st = make_test_certificate(dir, "ca", "", "");
  return st ? make_test_certificate(dir, "server", "IP:127.0.0.1,DNS:localhost", "ca") : st;
}

// The TLS client's connection to a relay_echo child listening on ep (as tcp://), with
// certificates made for it in a temporary directory (removed once the relay has them, or on a
// failure).
std::unique_ptr<Stream> connect_to_relay_echo(const Endpoint& ep, pid_t* pid) {
  char dir_template[] = "/tmp/gvirtus-bench-tls-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (!dir) die("mkdtemp failed");
  auto remove_dir = [&] {
    for (const char* f : {"ca.pem", "ca.key", "server.pem", "server.key"})
      ::unlink((std::string(dir) + "/" + f).c_str());
    ::rmdir(dir);
  };
  Status st = make_test_certs(dir);
  Endpoint plain = ep;
  plain.tls = false;
  std::unique_ptr<Listener> l;
  if (st) st = listen_on(plain, &l);
  if (!st) {
    remove_dir();
    die(st.message());
  }
  *pid = fork();
  if (*pid == 0) relay_echo(*l, dir);
  l.reset();
  TlsClientOptions opt;
  opt.ca_file = std::string(dir) + "/ca.pem";
  std::unique_ptr<Stream> s;
  st = connect_tls(ep, opt, &s);
  remove_dir();
  if (!st) die(st.message());
  return s;
}

int raw_bench(const std::string& text, double budget) {
  Endpoint ep;
  Status st = parse_endpoint(text, &ep);
  if (!st) die(st.message());
  pid_t pid = -1;
  std::unique_ptr<Stream> s;
  if (ep.tls) {
    s = connect_to_relay_echo(ep, &pid);
  } else {
    std::unique_ptr<Listener> l;
    st = listen_on(ep, &l);
    if (!st) die(st.message());
    pid = fork();
    if (pid == 0) raw_echo(ep);
    st = l->accept(&s);
    if (!st) die(st.message());
  }
  raw_measure(*s, budget);
  s.reset();
  int status = 0;
  waitpid(pid, &status, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--raw") == 0)
    return raw_bench(argv[2], argc > 3 ? std::atof(argv[3]) : 1.0);
  if (argc == 3 && std::strcmp(argv[1], "--make-test-cert") == 0) {
    Status c = make_test_certs(argv[2]);
    if (!c) die(c.message());
    return 0;
  }
  const double budget = argc > 1 ? std::atof(argv[1]) : 1.0;
  ClientSecurity sec;
  Status s = resolve_client_security(&sec);
  if (!s) die(s.message());
  client::SessionOptions base;
  if (!sec.token_file.empty()) {
    s = auth::load_token_file(sec.token_file, sec.token_source, &base.auth_key);
    if (!s) die(s.message());
    base.auth_source = sec.token_source;
  }
  base.connect = client::endpoint_connector(sec);
  base.print_loss = false;
  s = client::make_identity(&base.identity);
  if (!s) die(s.message());

  // Session setup: a new session each time (new token, so a new worker).
  int sessions = 0;
  auto t0 = Clock::now();
  do {
    client::SessionOptions o = base;
    if (!auth::random_bytes(o.identity.token, sizeof o.identity.token)) die("no random bytes");
    client::Session session(std::move(o));
    if (!ping(session)) die("session setup: " + session.error());
    ++sessions;
  } while (seconds_since(t0) < budget && sessions < 2000);
  std::printf("session_setup_ms %.4g ms\n", 1e3 * seconds_since(t0) / sessions);

  client::Session session(base);
  if (!ping(session)) die("ping: " + session.error());
  long n = 0;
  t0 = Clock::now();
  do {
    for (int i = 0; i < 100; ++i)
      if (!ping(session)) die("ping: " + session.error());
    n += 100;
  } while (seconds_since(t0) < budget);
  std::printf("ping_us %.4g us\n", 1e6 * seconds_since(t0) / static_cast<double>(n));

  // A new thread's first call: it opens the thread's own connection to the session's worker
  // (through the daemon), then pings. What a program pays once per thread that calls CUDA.
  // Threads start 10 ms apart (not timed), as a program's do, not back to back: the backend
  // may prepare for the next connection meanwhile (a spare TLS relay, tls_relay.h), and on a
  // machine of few cores that work would otherwise be timed as the next thread's.
  n = 0;
  double timed = 0;
  t0 = Clock::now();
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto t = Clock::now();
    bool ok = false;
    std::thread([&] { ok = ping(session); }).join();
    timed += seconds_since(t);
    if (!ok) die("a new thread's ping: " + session.error());
    ++n;
  } while (seconds_since(t0) < budget && n < 2000);
  std::printf("thread_first_call_ms %.4g ms\n", 1e3 * timed / static_cast<double>(n));

  // Requests sent back to back without waiting (as launches are), 1000 at a time, each batch
  // closed by one Ping that waits: what one client thread and its worker thread carry per
  // second, frames, syscalls and the worker's ordering included.
  n = 0;
  t0 = Clock::now();
  do {
    client::Connection* c = session.connection();
    if (!c) die("no connection: " + session.error());
    for (int i = 0; i < 1000; ++i) {
      uint64_t id = 0;
      if (!c->send_request(client::kCallPing, wire::kFlagNoReply, nullptr, 0, &id))
        die("send: " + session.error());
    }
    if (!ping(session)) die("ping: " + session.error());
    n += 1001;
  } while (seconds_since(t0) < budget);
  std::printf("noreply_calls_per_s %.4g calls/s\n", static_cast<double>(n) / seconds_since(t0));
  return 0;
}
