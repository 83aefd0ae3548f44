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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/auth.h"
#include "common/config.h"
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

EVP_PKEY* new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) die("cannot make a key");
  return k;
}

// A certificate for `key` named CN=cn, signed by issuer_key under issuer (itself when null).
X509* new_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               const char* san, long serial) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 2 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!e || !X509_add_ext(x, e, -1)) die(std::string("cannot add extension ") + value);
    X509_EXTENSION_free(e);
  };
  add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
  if (san) add(NID_subject_alt_name, san);
  if (!X509_sign(x, issuer_key, EVP_sha256())) die("cannot sign a certificate");
  return x;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) die("cannot write " + path);
  if (key) ::fchmod(fileno(f), 0600);
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (std::fclose(f) != 0 || !ok) die("cannot write " + path);
}

int make_test_cert(const std::string& dir) {
  EVP_PKEY* ca_key = new_key();
  X509* ca = new_cert(ca_key, "gvirtus-bench-ca", nullptr, ca_key, true, nullptr, 1);
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(key, "127.0.0.1", ca, ca_key, false, "IP:127.0.0.1,DNS:localhost", 2);
  write_pem(dir + "/ca.pem", ca, nullptr);
  write_pem(dir + "/server.pem", cert, nullptr);
  write_pem(dir + "/server.key", nullptr, key);
  X509_free(cert);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return 0;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--make-test-cert") == 0) return make_test_cert(argv[2]);
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
