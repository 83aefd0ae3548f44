// gvirtus-bench-transport: what the connection itself costs, without a GPU: setting up a
// session (connect, TLS and token handshakes where configured, the worker's fork, the first
// Ping) and a Ping's round trip. The backend and the security settings come from the
// environment as for any client (GVIRTUS_ENDPOINT, GVIRTUS_TOKEN_FILE, GVIRTUS_TLS_CA, ...).
// bench/run.sh runs it over tcp://, unix: and tls://.
//   gvirtus-bench-transport [SECONDS_PER_METRIC]
//   gvirtus-bench-transport --make-test-cert DIR
// Output lines: "metric value unit", as gvirtus-bench. --make-test-cert writes DIR/ca.pem and
// DIR/server.pem + DIR/server.key (a certificate for 127.0.0.1 and localhost signed by that CA,
// valid two days), so bench/run.sh can measure TLS where the openssl command is missing.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/auth.h"
#include "common/config.h"
#include "common/tls.h"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--make-test-cert") == 0) {
    Status c = make_test_certificate(argv[2], "ca", "", "");
    if (c) c = make_test_certificate(argv[2], "server", "IP:127.0.0.1,DNS:localhost", "ca");
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
  return 0;
}
