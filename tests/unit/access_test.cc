// Access to the backend (docs/security.md): token authentication both ways and replays, the
// refusal to listen where other hosts reach without authentication (and --insecure), Unix
// socket permissions and peer uids, secure_application, the CUDA version in the handshake,
// and TLS 1.3 (trusted, untrusted and misnamed certificates, mutual TLS, plaintext to a TLS
// port and TLS to a plaintext port, secondary and auxiliary connections through the relay).
// Certificates are made at test time (OpenSSL's API, make_test_certificate); no key is committed.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <fcntl.h>
#include <iterator>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <future>
#include <vector>

#include "backend_process.h"
#include "common/auth.h"
#include "common/config.h"
#include "backend/tls_relay.h"
#include "common/tls.h"
#include "fake_backend.h"
#include "frontend/core/session.h"
#include "test_env.h"
#include "test_streams.h"

namespace gvirtus {
namespace {

using namespace std::chrono_literals;
using testenv::TempDir;
using testing::Backend;
using Clock = std::chrono::steady_clock;
using testing::free_tcp_port;
using testing::hello_frame;
using testing::Raw;
using testing::test_hello;

const char kToken[] = "0123456789abcdef0123456789abcdef";
const char kOtherToken[] = "fedcba9876543210fedcba9876543210";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string cuda_text(uint32_t v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// A frame as bytes.
std::vector<uint8_t> frame(wire::Kind kind, const wire::Writer& body) {
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(kind);
  return testing::frame_bytes(h, std::vector<uint8_t>(body.data(), body.data() + body.size()));
}

std::vector<uint8_t> auth_start_frame(const uint8_t nonce[wire::kNonceSize]) {
  wire::AuthStart a;
  std::memcpy(a.client_nonce, nonce, wire::kNonceSize);
  wire::Writer w;
  wire::encode_auth_start(a, w);
  return frame(wire::Kind::kAuthStart, w);
}

bool read_challenge(Raw& r, wire::Challenge* c) {
  std::vector<uint8_t> p;
  if (!r.expect_frame(wire::Kind::kChallenge, &p)) return false;
  wire::Reader rd(p.data(), p.size());
  *c = wire::decode_challenge(rd);
  return true;
}

// A backend started with a config file (and more arguments), plus a scratch directory.
struct Rig {
  TempDir dir;
  std::string tcp;   // tcp://127.0.0.1:PORT
  std::string sock;  // unix:DIR/gv.sock
  std::unique_ptr<Backend> backend;

  Rig() {
    tcp = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    sock = "unix:" + dir.path() + "/gv.sock";
  }
  std::string token_file(const char* token = kToken, const std::string& name = "token") {
    return dir.write(name, std::string(token) + "\n", 0600);
  }
  // config: the JSON text of the backend's config file.
  void start(const std::string& config, std::vector<std::string> args = {},
             std::vector<std::string> env = {}) {
    std::string cfg = dir.write("backend.json", config);
    args.insert(args.begin(), {"--config", cfg});
    backend = std::make_unique<Backend>(args, -1, env);
  }
};

client::SessionOptions options(client::Connector c, const std::string& key = {}) {
  client::SessionOptions o = testing::test_session_options(std::move(c));
  o.auth_key = key;
  o.auth_source = "the test's token";
  o.handshake_timeout_ms = 5000;
  return o;
}

client::Connector connector_to(const std::string& endpoint, ClientSecurity sec = {}) {
  return [endpoint, sec](std::unique_ptr<Stream>* out, std::string* where) -> Status {
    Endpoint ep;
    Status s = parse_endpoint(endpoint, &ep);
    if (!s) return s;
    *where = endpoint;
    if (ep.tls) {
      TlsClientOptions t;
      t.ca_file = sec.tls_ca;
      t.cert_file = sec.tls_client_cert;
      t.key_file = sec.tls_client_key;
      t.handshake_timeout_ms = 5000;
      return connect_tls(ep, t, out);
    }
    return connect_stream(ep, out);
  };
}

// A Ping on the calling thread's connection of `s`.
bool ping(client::Session& s, bool auxiliary = false) {
  client::Connection* c = s.connection(auxiliary);
  if (!c) return false;
  uint64_t id = 0;
  if (!c->send_request(client::kCallPing, 0, nullptr, 0, &id)) return false;
  wire::FrameHeader h;
  return c->recv_reply_header(id, &h) && h.status == 0;
}

// ---- listening where other hosts can reach ----

TEST(AccessPolicy, NonLoopbackListenWithoutAuthIsRefused) {
  Rig t;
  std::string any = "tcp://0.0.0.0:" + std::to_string(free_tcp_port());
  t.start("{}", {"--listen", any});
  EXPECT_FALSE(t.backend->ready());
  EXPECT_EQ(t.backend->exit_code(), 2);
  std::string log = t.backend->log();
  EXPECT_TRUE(contains(log, "refusing to listen on " + any + " without authentication")) << log;
  EXPECT_TRUE(contains(log, "--insecure")) << log;
  EXPECT_TRUE(contains(log, "token_file")) << log;
}

TEST(AccessPolicy, InsecureAllowsIt) {
  Rig t;
  std::string any = "tcp://0.0.0.0:" + std::to_string(free_tcp_port());
  t.start("{}", {"--listen", any, "--insecure"});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  EXPECT_TRUE(contains(t.backend->log(), "WITHOUT authentication (--insecure)"));
  // Reached through loopback: no token asked.
  Raw c("tcp://127.0.0.1:" + any.substr(any.rfind(':') + 1));
  EXPECT_EQ(c.handshake(test_hello(1)).status, wire::kWelcomeOk);
}

TEST(AccessPolicy, NonLoopbackListenWithATokenStarts) {
  Rig t;
  std::string any = "tcp://0.0.0.0:" + std::to_string(free_tcp_port());
  t.start("{\"token_file\": \"" + t.token_file() + "\"}", {"--listen", any});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  EXPECT_TRUE(contains(t.backend->log(), "(token required)"));
}

TEST(AccessPolicy, TokenFileReadableByOthersIsRefused) {
  Rig t;
  std::string tf = t.dir.write("token", kToken, 0644);
  t.start("{\"token_file\": \"" + tf + "\"}", {"--listen", t.tcp});
  EXPECT_EQ(t.backend->exit_code(), 2);
  EXPECT_TRUE(contains(t.backend->log(), "chmod 600")) << t.backend->log();
}

TEST(AccessPolicy, ShortTokenIsRefused) {
  Rig t;
  std::string tf = t.dir.write("token", "short", 0600);
  t.start("{\"token_file\": \"" + tf + "\"}", {"--listen", t.tcp});
  EXPECT_EQ(t.backend->exit_code(), 2);
  EXPECT_TRUE(contains(t.backend->log(), "at least 16")) << t.backend->log();
}

TEST(AccessPolicy, SecureApplicationNeedsAuthenticationEverywhere) {
  Rig t;
  t.start("{\"secure_application\": true}", {"--listen", t.sock});
  EXPECT_EQ(t.backend->exit_code(), 2);
  EXPECT_TRUE(contains(t.backend->log(), "\"secure_application\" is true")) << t.backend->log();

  Rig u;
  u.start("{\"secure_application\": true, \"token_file\": \"" + u.token_file() + "\"}",
          {"--listen", u.sock});
  ASSERT_TRUE(u.backend->ready()) << u.backend->log();
  Raw c(u.sock);
  wire::Welcome w = c.handshake(test_hello(1));
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized) << w.message;
}

TEST(AccessPolicy, SecureApplicationFalseChangesNothingAndOtherValuesAreRefused) {
  Config c;
  EXPECT_TRUE(parse_config_json(R"({"secure_application": false})", "f.json", &c));
  EXPECT_FALSE(c.secure_application);
  Status s = parse_config_json(R"({"secure_application": "yes"})", "f.json", &c);
  EXPECT_FALSE(s);
  EXPECT_TRUE(contains(s.message(), "secure_application")) << s.message();
}

// ---- token authentication ----

class Token : public ::testing::Test {
 protected:
  void SetUp() override {
    t.start("{\"token_file\": \"" + t.token_file() + "\"}",
            {"--listen", t.tcp, "--listen", t.sock});
    ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  }
  Rig t;
};

TEST_F(Token, RightTokenIsAcceptedOverTcpAndUnix) {
  uint8_t n = 0;
  for (const std::string& ep : {t.tcp, t.sock}) {
    client::SessionOptions o = options(connector_to(ep), kToken);
    o.identity.token[0] = ++n;  // two sessions: the first may still be ending
    client::Session s(std::move(o));
    EXPECT_TRUE(ping(s)) << ep << ": " << s.error();
  }
}

// Each connection of a session proves the token: the secondary ones (other threads) and the
// auxiliary one (the host-callback thread's) as the primary.
TEST_F(Token, SecondaryAndAuxiliaryConnectionsProveItToo) {
  client::Session s(options(connector_to(t.tcp), kToken));
  ASSERT_TRUE(ping(s)) << s.error();
  bool second = false, aux = false;
  std::thread([&] { second = ping(s); }).join();
  std::thread([&] { aux = ping(s, /*auxiliary=*/true); }).join();
  EXPECT_TRUE(second) << s.error();
  EXPECT_TRUE(aux) << s.error();
  // A secondary connection without the proof is refused even with the session's token.
  Raw c(t.tcp);
  wire::Hello h = test_hello(0x5a, /*primary=*/false);
  wire::Welcome w = c.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized) << w.message;
}

TEST_F(Token, NoTokenIsRefused) {
  client::Session s(options(connector_to(t.tcp)));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "requires authentication")) << s.error();
  EXPECT_TRUE(contains(s.error(), "GVIRTUS_TOKEN_FILE")) << s.error();
  EXPECT_TRUE(contains(t.backend->log(), "this backend requires authentication"))
      << t.backend->log();
}

TEST_F(Token, WrongTokenIsRefusedByTheClientAndTheBackendSaysSo) {
  client::Session s(options(connector_to(t.tcp), kOtherToken));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "does not know this client's token")) << s.error();
  // The client said why before closing.
  auto until = Clock::now() + 5s;
  while (!contains(t.backend->log(), "after our authentication challenge") && Clock::now() < until)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(contains(t.backend->log(), "after our authentication challenge")) << t.backend->log();
}

TEST_F(Token, WrongProofIsRefusedByTheBackend) {
  Raw c(t.tcp);
  uint8_t cn[wire::kNonceSize];
  ASSERT_TRUE(auth::random_bytes(cn, sizeof cn));
  ASSERT_TRUE(c.send(auth_start_frame(cn)));
  wire::Challenge ch;
  ASSERT_TRUE(read_challenge(c, &ch));
  EXPECT_EQ(ch.has_token, 1);
  wire::Hello h = test_hello(3);
  auth::client_proof(kOtherToken, ch.server_nonce, cn, h.proof);
  h.has_proof = true;
  wire::Welcome w = c.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized);
  EXPECT_TRUE(contains(w.message, "authentication failed")) << w.message;
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(contains(t.backend->log(), "authentication failed")) << t.backend->log();
}

TEST_F(Token, ProofWithoutChallengeIsRefused) {
  Raw c(t.tcp);
  wire::Hello h = test_hello(3);
  h.has_proof = true;  // made up: there was no challenge to answer
  EXPECT_EQ(c.handshake(h).status, wire::kWelcomeMalformed);
}

// Hostile handshakes before any proof: each is refused with a reason, none reaches a worker.
TEST_F(Token, MalformedAuthExchangesAreRefused) {
  {  // an AuthStart too short
    Raw c(t.tcp);
    wire::Writer w;
    w.put<uint16_t>(wire::kProtocolMajor);
    w.put<uint16_t>(0);
    w.put<uint32_t>(7);
    ASSERT_TRUE(c.send(frame(wire::Kind::kAuthStart, w)));
    wire::Welcome r;
    ASSERT_TRUE(c.welcome(&r));
    EXPECT_EQ(r.status, wire::kWelcomeMalformed) << r.message;
    EXPECT_TRUE(contains(r.message, "AuthStart")) << r.message;
  }
  {  // an AuthStart of another major
    Raw c(t.tcp);
    wire::Writer w;
    w.put<uint16_t>(wire::kProtocolMajor + 1);
    w.put<uint16_t>(3);
    ASSERT_TRUE(c.send(frame(wire::Kind::kAuthStart, w)));
    wire::Welcome r;
    ASSERT_TRUE(c.welcome(&r));
    EXPECT_EQ(r.status, wire::kWelcomeBadVersion);
    EXPECT_TRUE(contains(r.message, std::to_string(wire::kProtocolMajor + 1) + ".3")) << r.message;
  }
  {  // two AuthStarts
    Raw c(t.tcp);
    uint8_t cn[wire::kNonceSize] = {};
    ASSERT_TRUE(c.send(auth_start_frame(cn)));
    wire::Challenge ch;
    ASSERT_TRUE(read_challenge(c, &ch));
    ASSERT_TRUE(c.send(auth_start_frame(cn)));
    wire::Welcome r;
    ASSERT_TRUE(c.welcome(&r));
    EXPECT_EQ(r.status, wire::kWelcomeMalformed) << r.message;
  }
  {  // a Challenge sent to the server
    Raw c(t.tcp);
    wire::Writer w;
    wire::encode_challenge(wire::Challenge{}, w);
    ASSERT_TRUE(c.send(frame(wire::Kind::kChallenge, w)));
    wire::Welcome r;
    ASSERT_TRUE(c.welcome(&r));
    EXPECT_EQ(r.status, wire::kWelcomeMalformed) << r.message;
  }
  EXPECT_FALSE(contains(t.backend->log(), "serves client")) << t.backend->log();
}

TEST_F(Token, ReplayedHandshakeIsRefused) {
  // A genuine exchange, recorded.
  uint8_t cn[wire::kNonceSize];
  ASSERT_TRUE(auth::random_bytes(cn, sizeof cn));
  std::vector<uint8_t> start = auth_start_frame(cn);
  wire::Challenge first;
  std::vector<uint8_t> hello;
  {
    Raw c(t.tcp);
    ASSERT_TRUE(c.send(start));
    ASSERT_TRUE(read_challenge(c, &first));
    uint8_t want[wire::kProofSize];
    auth::server_proof(kToken, cn, first.server_nonce, want);
    EXPECT_TRUE(auth::proof_equal(want, first.server_proof));
    wire::Hello h = test_hello(4);
    auth::client_proof(kToken, first.server_nonce, cn, h.proof);
    h.has_proof = true;
    hello = hello_frame(h);
    wire::Welcome w = c.handshake(h);
    ASSERT_EQ(w.status, wire::kWelcomeOk) << w.message;
  }
  // The same bytes again, by someone who does not know the token.
  Raw c(t.tcp);
  ASSERT_TRUE(c.send(start));
  wire::Challenge second;
  ASSERT_TRUE(read_challenge(c, &second));
  EXPECT_NE(std::memcmp(first.server_nonce, second.server_nonce, wire::kNonceSize), 0);
  ASSERT_TRUE(c.send(hello));
  wire::Welcome w;
  ASSERT_TRUE(c.welcome(&w));
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized);
  EXPECT_TRUE(contains(w.message, "replayed")) << w.message;
}

// The client side of a replay: a fake server that answers with a Challenge recorded from the
// real backend for another client nonce. The client must refuse it.
TEST_F(Token, ClientRefusesAReplayedChallenge) {
  std::vector<uint8_t> recorded;
  {
    Raw c(t.tcp);
    uint8_t cn[wire::kNonceSize];
    ASSERT_TRUE(auth::random_bytes(cn, sizeof cn));
    ASSERT_TRUE(c.send(auth_start_frame(cn)));
    wire::FrameHeader h;
    std::vector<uint8_t> p;
    ASSERT_TRUE(c.read_frame(&h, &p));
    recorded = testing::frame_bytes(h, p);
  }
  std::unique_ptr<Stream> client_end, server_end;
  ASSERT_TRUE(stream_pair(&client_end, &server_end));
  std::thread fake([&] {
    uint8_t hdr[wire::kHeaderSize];
    wire::FrameHeader h;
    if (!server_end->recv(hdr, sizeof hdr) || !wire::decode_header(hdr, 1 << 14, &h)) return;
    std::vector<uint8_t> p(h.length);
    if (!server_end->recv(p.data(), p.size())) return;
    struct iovec iov = {recorded.data(), recorded.size()};
    (void)server_end->send(&iov, 1);
    char b;
    while (server_end->recv(&b, 1)) {
    }
  });
  auto shared = std::make_shared<std::unique_ptr<Stream>>(std::move(client_end));
  client::Session s(options(
      [shared](std::unique_ptr<Stream>* out, std::string* where) {
        *where = "a fake backend";
        *out = std::move(*shared);
        return *out ? Status::ok() : failed("used");
      },
      kToken));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "does not know this client's token")) << s.error();
  server_end->shutdown();
  fake.join();
}

TEST(TokenClient, RefusesABackendWithoutAToken) {
  Rig t;
  t.start("{}", {"--listen", t.tcp});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  client::Session s(options(connector_to(t.tcp), kToken));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "has no token configured")) << s.error();
}

TEST(TokenClient, UnreadableTokenFileIsReportedAtLoad) {
  TempDir d;
  std::string key;
  Status s = auth::load_token_file(d.path() + "/missing", "GVIRTUS_TOKEN_FILE", &key);
  EXPECT_FALSE(s);
  EXPECT_TRUE(contains(s.message(), "GVIRTUS_TOKEN_FILE")) << s.message();
  std::string f = d.write("t", std::string(kToken) + "\n", 0600);
  ASSERT_TRUE(auth::load_token_file(f, "x", &key));
  EXPECT_EQ(key, kToken);  // the final newline is not part of it
}

// ---- Unix sockets ----

TEST(UnixAccess, SocketFileIsPrivate) {
  Rig t;
  t.start("{}", {"--listen", t.sock});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  struct stat st{};
  ASSERT_EQ(::stat(t.sock.substr(5).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UnixAccess, AGroupMakesTheSocket0660AndItsGroup) {
  Rig t;
  struct group* g = ::getgrgid(::getgid());
  ASSERT_NE(g, nullptr);
  t.start(std::string("{\"unix_socket_group\": \"") + g->gr_name + "\"}", {"--listen", t.sock});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  struct stat st{};
  ASSERT_EQ(::stat(t.sock.substr(5).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, ::getgid());
  Rig u;
  u.start(R"({"unix_socket_group": "no-such-group-gv"})", {"--listen", u.sock});
  EXPECT_EQ(u.backend->exit_code(), 2);
  EXPECT_TRUE(contains(u.backend->log(), "no group named")) << u.backend->log();
}

TEST(UnixAccess, PeerUidNotAllowedIsRefused) {
  Rig t;
  const unsigned other = ::getuid() + 12345;
  t.start("{\"allowed_uids\": [" + std::to_string(other) + "]}", {"--listen", t.sock});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  Raw c(t.sock);
  wire::Welcome w = c.handshake(test_hello(1));
  EXPECT_EQ(w.status, wire::kWelcomeUnauthorized);
  const std::string me = "user id " + std::to_string(::getuid()) + " may not use";
  EXPECT_TRUE(contains(w.message, me)) << w.message;
  EXPECT_TRUE(contains(t.backend->log(), me)) << t.backend->log();
}

TEST(UnixAccess, AllowedUidsByName) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"allowed_uids": ["root", 1234]})", "f.json", &c));
  EXPECT_TRUE(c.allowed_uids_set);
  ASSERT_EQ(c.allowed_uids.size(), 2u);
  EXPECT_EQ(c.allowed_uids[0], 0u);
  EXPECT_EQ(c.allowed_uids[1], 1234u);
  EXPECT_FALSE(parse_config_json(R"({"allowed_uids": ["no-such-user-gv"]})", "f.json", &c));
  EXPECT_FALSE(parse_config_json(R"({"allowed_uids": 5})", "f.json", &c));
}

// ---- CUDA version ----

TEST(CudaVersion, MajorMismatchIsRefusedNamingBoth) {
  Rig t;
  t.start("{}", {"--listen", t.sock});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  Raw c(t.sock);
  wire::Hello h = test_hello(1);
  h.cuda_version = wire::kCudaVersion - 1000 + 80;  // e.g. 12.8 against 13.0
  wire::Welcome w = c.handshake(h);
  EXPECT_EQ(w.status, wire::kWelcomeCudaMismatch);
  EXPECT_TRUE(contains(w.message, "CUDA " + cuda_text(h.cuda_version))) << w.message;
  EXPECT_TRUE(contains(w.message, "CUDA " + cuda_text(wire::kCudaVersion))) << w.message;
  EXPECT_TRUE(contains(t.backend->log(), "CUDA version mismatch")) << t.backend->log();
}

TEST(CudaVersion, MinorDifferenceIsAccepted) {
  Rig t;
  t.start("{}", {"--listen", t.sock});
  ASSERT_TRUE(t.backend->ready()) << t.backend->log();
  Raw c(t.sock);
  wire::Hello h = test_hello(1);
  h.cuda_version = wire::kCudaVersion / 1000 * 1000 + 90;
  EXPECT_EQ(c.handshake(h).status, wire::kWelcomeOk);
}

// ---- TLS ----

// Certificates for the TLS tests, made once per run.
class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const std::string d = dir_->path();
    // CAs, then certificates they sign. "selfsigned" is a CA nobody trusts, used as a server
    // certificate as it is.
    struct {
      const char* name;
      const char* san;
      const char* issuer;
    } certs[] = {{"ca", "", ""},
                 {"otherca", "", ""},
                 {"selfsigned", "", ""},
                 {"server", "DNS:localhost,IP:127.0.0.1", "ca"},
                 {"misnamed", "DNS:elsewhere.example", "ca"},
                 {"stranger", "DNS:localhost,IP:127.0.0.1", "otherca"},
                 {"client", "DNS:client.example", "ca"},
                 {"client2", "DNS:client2.example", "ca"},
                 {"badclient", "DNS:client.example", "otherca"}};
    for (const auto& c : certs) {
      Status s = make_test_certificate(d, c.name, c.san, c.issuer);
      if (!s) {
        error_ = new std::string(s.message());
        return;
      }
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    delete error_;
    error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(error_, nullptr) << "test certificates: " << *error_; }
  static std::string f(const std::string& name) { return dir_->path() + "/" + name; }
  // Puts a copy of the test file `name` at `path` as a rotation does: a new file renamed in.
  static void install_at(const std::string& name, const std::string& path) {
    std::filesystem::copy_file(f(name), path + ".new",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(path + ".new", path);
  }
  // A backend with a tls:// listener using `cert`, and a plain tcp:// one.
  void start(const std::string& cert, const std::string& extra_config = {},
             bool any_address = false) {
    port_ = free_tcp_port();
    tls_ = "tls://127.0.0.1:" + std::to_string(port_);
    std::string listen = any_address ? "tls://0.0.0.0:" + std::to_string(port_) : tls_;
    t_.start("{\"tls_cert\": \"" + f(cert + ".pem") + "\", \"tls_key\": \"" + f(cert + ".key") +
                 "\"" + extra_config + "}",
             {"--listen", listen, "--listen", t_.tcp});
    ASSERT_TRUE(t_.backend->ready()) << t_.backend->log();
  }
  ClientSecurity trusting(const std::string& ca) {
    ClientSecurity s;
    s.tls_ca = f(ca + ".pem");
    return s;
  }
  // A relay process (tls_relay.h, forked) for one connection to a fresh port, and a TLS client
  // (trusting "ca") connected through it; *plain is the relay's plaintext side, as the daemon
  // would hold it.
  // socket_buffer > 0: the relay's TLS socket sends and the client's receives through buffers
  // of about that size (SO_SNDBUF, SO_RCVBUF), so that little is in flight between the two.
  void relay_with_client(pid_t* relay, int* plain, std::unique_ptr<Stream>* client,
                         int socket_buffer = 0) {
    std::unique_ptr<TlsServerContext> ctx;
    ASSERT_TRUE(TlsServerContext::create(f("server.pem"), f("server.key"), "", &ctx));
    Endpoint ep;
    ASSERT_TRUE(parse_endpoint("tcp://127.0.0.1:" + std::to_string(free_tcp_port()), &ep));
    std::unique_ptr<Listener> l;
    ASSERT_TRUE(listen_on(ep, &l));
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *relay = fork();
    if (*relay == 0) {
      std::unique_ptr<Stream> net;
      if (!l->accept(&net)) _exit(9);
      ::close(sv[0]);
      if (socket_buffer > 0)
        setsockopt(net->fd(), SOL_SOCKET, SO_SNDBUF, &socket_buffer, sizeof socket_buffer);
      backend::run_tls_relay(ctx->ctx(), net->release_fd(), sv[1], 5000, "test peer", 0);
    }
    ::close(sv[1]);
    *plain = sv[0];
    Endpoint tls_ep = ep;
    tls_ep.tls = true;
    TlsClientOptions opt;
    opt.ca_file = f("ca.pem");
    Status st = connect_tls(tls_ep, opt, client);
    ASSERT_TRUE(st) << st.message();
    if (socket_buffer > 0)
      setsockopt((*client)->fd(), SOL_SOCKET, SO_RCVBUF, &socket_buffer, sizeof socket_buffer);
  }
  std::string log() { return t_.backend->log(); }
  bool log_says(const std::string& text) {
    auto until = Clock::now() + 5s;
    while (Clock::now() < until) {
      if (contains(log(), text)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  static TempDir* dir_;
  static std::string* error_;
  Rig t_;
  int port_ = 0;
  std::string tls_;
};
TempDir* Tls::dir_ = nullptr;
std::string* Tls::error_ = nullptr;

TEST_F(Tls, TrustedCertificateWorksForPrimarySecondaryAndAuxiliaryConnections) {
  start("server");
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  ASSERT_TRUE(ping(s)) << s.error();
  bool second = false, aux = false;
  std::thread([&] { second = ping(s); }).join();
  std::thread([&] { aux = ping(s, /*auxiliary=*/true); }).join();
  EXPECT_TRUE(second) << s.error();
  EXPECT_TRUE(aux) << s.error();
  EXPECT_TRUE(ping(s)) << s.error();
  EXPECT_TRUE(contains(log(), "TLS 1.3")) << log();
}

// Gathered sends over TLS (send_queue.h): each connection's send thread writes the SSL
// connection while its own thread reads replies from it; the two take turns on the SSL object.
// Four threads each send a request that waits, then thousands without waiting, and only then
// read the first one's reply, so that the send thread writes while its thread reads: every
// record decrypts on the backend (a garbled one would end the session) and every reply comes.
// (OpenSSL documents one SSL call at a time, which TlsStream's lock gives; without it this
// test has still passed here, so it guards the gathering over TLS, not the lock itself.)
TEST_F(Tls, GatheredRequestsFromSeveralThreadsKeepTheSessionWhole) {
  start("server");
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  ASSERT_TRUE(ping(s)) << s.error();
  std::atomic<int> ok{0};
  std::atomic<uint64_t> gathered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        client::Connection* c = s.connection();
        if (!c) return;
        uint64_t first = 0;
        if (!c->send_request(client::kCallPing, 0, nullptr, 0, &first)) return;
        for (int i = 0; i < 2000; ++i) {
          uint64_t id = 0;
          if (!c->send_request(client::kCallPing, wire::kFlagNoReply, nullptr, 0, &id)) return;
        }
        wire::FrameHeader h;
        if (!c->recv_reply_header(first, &h) || h.status != 0) return;
        if (!ping(s)) return;
      }
      auto* sc = dynamic_cast<client::StreamConnection*>(s.current_connection());
      if (sc && sc->send_queue()) gathered += sc->send_queue()->frames_posted();
      ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4) << s.error();
  EXPECT_GT(gathered.load(), 0u) << "TLS connections gather their sends";
  EXPECT_TRUE(ping(s)) << s.error();
  EXPECT_FALSE(s.lost()) << s.error();
}

TEST_F(Tls, ByHostName) {
  start("server");
  client::Session s(options(connector_to("tls://localhost:" + std::to_string(port_),
                                         trusting("ca"))));
  EXPECT_TRUE(ping(s)) << s.error();
}

TEST_F(Tls, CertificateFromAnotherCaIsRefused) {
  start("stranger");
  auto t0 = Clock::now();
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  EXPECT_FALSE(ping(s));
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_TRUE(contains(s.error(), "certificate is not trusted")) << s.error();
  EXPECT_TRUE(log_says("TLS handshake failed")) << log();
}

TEST_F(Tls, SelfSignedCertificateIsRefused) {
  start("selfsigned");
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "certificate is not trusted")) << s.error();
  EXPECT_TRUE(contains(s.error(), "self-signed")) << s.error();
}

TEST_F(Tls, CertificateForAnotherNameIsRefused) {
  start("misnamed");
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  EXPECT_FALSE(ping(s));
  EXPECT_TRUE(contains(s.error(), "certificate is not trusted")) << s.error();
  EXPECT_TRUE(contains(s.error(), "mismatch")) << s.error();
}

TEST_F(Tls, PlaintextClientOnATlsPortIsToldSo) {
  start("server");
  auto t0 = Clock::now();
  client::Session s(options(connector_to("tcp://127.0.0.1:" + std::to_string(port_))));
  EXPECT_FALSE(ping(s));
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_TRUE(contains(s.error(), "speaks TLS")) << s.error();
  EXPECT_TRUE(log_says("a plaintext GVirtuS client on a TLS listener")) << log();
}

TEST_F(Tls, TlsClientOnAPlaintextPortFailsFast) {
  start("server");
  auto t0 = Clock::now();
  std::string plain_as_tls = "tls://127.0.0.1:" + t_.tcp.substr(t_.tcp.rfind(':') + 1);
  client::Session s(options(connector_to(plain_as_tls, trusting("ca"))));
  EXPECT_FALSE(ping(s));
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_TRUE(contains(s.error(), "plain tcp:// endpoint")) << s.error();
  EXPECT_TRUE(log_says("a TLS client on a plaintext listener")) << log();
}

TEST_F(Tls, TlsListenerWithoutCertificateIsRefusedAtStart) {
  Rig t;
  t.start("{}", {"--listen", "tls://127.0.0.1:" + std::to_string(free_tcp_port())});
  EXPECT_EQ(t.backend->exit_code(), 2);
  EXPECT_TRUE(contains(t.backend->log(), "\"tls_cert\"")) << t.backend->log();
}

TEST_F(Tls, MutualTlsAuthenticatesANonLoopbackListener) {
  // No token: client certificates are the authentication, so 0.0.0.0 is allowed.
  start("server", ", \"tls_client_ca\": \"" + f("ca.pem") + "\"", /*any_address=*/true);
  {
    client::Session s(options(connector_to(tls_, trusting("ca"))));
    EXPECT_FALSE(ping(s));
    EXPECT_TRUE(contains(s.error(), "client certificate")) << s.error();
    EXPECT_TRUE(log_says("TLS handshake failed")) << log();
  }
  {
    ClientSecurity sec = trusting("ca");
    sec.tls_client_cert = f("badclient.pem");
    sec.tls_client_key = f("badclient.key");
    client::Session s(options(connector_to(tls_, sec)));
    EXPECT_FALSE(ping(s));
    EXPECT_TRUE(contains(s.error(), "did not accept this client's certificate")) << s.error();
  }
  {
    ClientSecurity sec = trusting("ca");
    sec.tls_client_cert = f("client.pem");
    sec.tls_client_key = f("client.key");
    client::Session s(options(connector_to(tls_, sec)));
    EXPECT_TRUE(ping(s)) << s.error();
    bool second = false;
    std::thread([&] { second = ping(s); }).join();
    EXPECT_TRUE(second) << s.error();
  }
}

TEST_F(Tls, TokenOverTls) {
  Rig dummy;
  std::string tf = dummy.token_file();
  start("server", ", \"token_file\": \"" + tf + "\"");
  client::Session good(options(connector_to(tls_, trusting("ca")), kToken));
  EXPECT_TRUE(ping(good)) << good.error();
  client::Session none(options(connector_to(tls_, trusting("ca"))));
  EXPECT_FALSE(ping(none));
  EXPECT_TRUE(contains(none.error(), "requires authentication")) << none.error();
}

// 16 random bytes: a session token no other session of the test has.
std::string random_token() {
  std::string t(16, '\0');
  for (auto& c : t) c = static_cast<char>(std::rand() & 0xff);
  return t;
}

// Mutual TLS: the identity is the client certificate's subject (limits.h), so per-identity
// limits, logs and status name the certificate holder; another certificate of the same CA is
// another identity.
TEST_F(Tls, ClientCertificateSubjectIsTheIdentity) {
  start("server", ", \"tls_client_ca\": \"" + f("ca.pem") +
                      "\", \"limits\": {\"clients\": {\"cert:CN=client\": {\"sessions\": 1}}}");
  auto with_cert = [&](const std::string& name) {
    ClientSecurity sec = trusting("ca");
    sec.tls_client_cert = f(name + ".pem");
    sec.tls_client_key = f(name + ".key");
    client::SessionOptions o = options(connector_to(tls_, sec));
    std::memcpy(o.identity.token, random_token().data(), sizeof o.identity.token);
    return o;
  };
  client::Session first(with_cert("client"));
  ASSERT_TRUE(ping(first)) << first.error();
  EXPECT_TRUE(log_says("(identity cert:CN=client)")) << log();
  client::Session second(with_cert("client"));
  EXPECT_FALSE(ping(second));
  EXPECT_TRUE(contains(second.error(), "session limit")) << second.error();
  EXPECT_TRUE(contains(second.error(), "\"cert:CN=client\"")) << second.error();
  // CN=client2 has no entry: the default (no limit).
  client::Session other(with_cert("client2"));
  EXPECT_TRUE(ping(other)) << other.error();
  client::Session other2(with_cert("client2"));
  EXPECT_TRUE(ping(other2)) << other2.error();
  EXPECT_TRUE(log_says("(identity cert:CN=client2)")) << log();
}

// The note a relay sends the daemon: its bounds.
TEST(RelayNote, RoundTripsAndRefusesWhatIsNoNote) {
  std::vector<uint8_t> n = backend::encode_relay_note("CN=alice,O=Example");
  ASSERT_EQ(n.size(), backend::kRelayNoteHeader + 18);
  uint32_t len = 0;
  ASSERT_TRUE(backend::decode_relay_note_header(n.data(), &len));
  EXPECT_EQ(len, 18u);
  EXPECT_EQ(std::string(n.begin() + backend::kRelayNoteHeader, n.end()), "CN=alice,O=Example");
  // Longer subjects are cut at the bound, never sent as a length the daemon refuses.
  n = backend::encode_relay_note(std::string(5000, 'x'));
  ASSERT_TRUE(backend::decode_relay_note_header(n.data(), &len));
  EXPECT_EQ(len, backend::kMaxRelayNoteSubject);
  uint8_t bad[backend::kRelayNoteHeader];
  std::memcpy(bad, n.data(), sizeof bad);
  bad[0] ^= 1;
  EXPECT_FALSE(backend::decode_relay_note_header(bad, &len));
  const uint32_t too_long[2] = {backend::kRelayNoteMagic,
                                static_cast<uint32_t>(backend::kMaxRelayNoteSubject + 1)};
  std::memcpy(bad, too_long, sizeof bad);
  EXPECT_FALSE(backend::decode_relay_note_header(bad, &len));
}

// A TLS send to a peer that has gone fails with an error; the SIGPIPE the write raised is
// swallowed (the test process keeps the default action, which would end it), and a SIGPIPE
// the application itself had pending under its own block is left pending.
TEST_F(Tls, SendToAGonePeerFailsWithoutSigpipe) {
  pid_t relay = 0;
  int plain = -1;
  std::unique_ptr<Stream> c;
  ASSERT_NO_FATAL_FAILURE(relay_with_client(&relay, &plain, &c));
  ::kill(relay, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(relay, &status, 0), relay);
  ::close(plain);

  auto pipe_pending = [] {
    sigset_t p;
    sigpending(&p);
    return sigismember(&p, SIGPIPE) == 1;
  };
  std::vector<uint8_t> block(4096, 7);
  struct iovec iov = {block.data(), block.size()};
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) failed = !c->send(&iov, 1);  // the reset may take one
  EXPECT_TRUE(failed);
  EXPECT_FALSE(pipe_pending());

  // The application blocks SIGPIPE and has one pending: a failing send leaves it there.
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe_only, &old), 0);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);
  ASSERT_TRUE(pipe_pending());
  EXPECT_FALSE(c->send(&iov, 1));
  EXPECT_TRUE(pipe_pending());
  struct timespec zero{};
  EXPECT_EQ(sigtimedwait(&pipe_only, nullptr, &zero), SIGPIPE);
  EXPECT_FALSE(pipe_pending());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// A receive that the connection's shutdown ends (as a lost session ends every connection while
// other threads wait for replies): OpenSSL answers the end of the stream with an alert it
// writes, to a socket already shut down. That raised SIGPIPE in the application, which killed
// it; now it is an error of the call. In a child process: a SIGPIPE would end it.
TEST_F(Tls, AReceiveEndedByShutdownRaisesNoSigpipe) {
  EXPECT_EXIT(
      {
        pid_t relay = 0;
        int plain = -1;
        std::unique_ptr<Stream> c;
        relay_with_client(&relay, &plain, &c);
        if (!c) _exit(3);
        std::atomic<int> result{-1};
        std::thread reader([&] {
          char buf[8];
          result = c->recv(buf, sizeof buf) ? 1 : 0;
        });
        std::this_thread::sleep_for(100ms);
        c->shutdown();
        reader.join();
        ::kill(relay, SIGKILL);
        _exit(result.load() == 0 ? 0 : 4);
      },
      ::testing::ExitedWithCode(0), "");
}

// Connections to a tls:// port that never speak start at most 64 relay processes (a fork and
// an exec each, before anyone proved anything); the others wait in the listen queue, and a real
// client behind them gets in once the silent ones time out.
TEST_F(Tls, SilentConnectionsStartAtMost64RelaysAndTheRestWait) {
  port_ = free_tcp_port();
  tls_ = "tls://127.0.0.1:" + std::to_string(port_);
  t_.start("{\"tls_cert\": \"" + f("server.pem") + "\", \"tls_key\": \"" + f("server.key") +
               "\"}",
           {"--listen", tls_, "--listen", t_.tcp, "--handshake-timeout-ms", "2000"});
  ASSERT_TRUE(t_.backend->ready()) << t_.backend->log();
  std::vector<int> silent;
  for (int i = 0; i < 80; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    silent.push_back(fd);
  }
  int most = 0;
  for (auto until = Clock::now() + 1s; Clock::now() < until;) {  // within the 2 s timeout
    most = std::max(most, static_cast<int>(testing::child_pids(t_.backend->pid()).size()));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(most, 1) << t_.backend->log();  // more than the spare relay alone
  EXPECT_LE(most, 64);
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  EXPECT_TRUE(ping(s)) << s.error() << "\n" << t_.backend->log();
  for (int fd : silent) ::close(fd);
}

// The backend's children started as spare TLS relays (tls_relay.h: "--wait-fd" on their
// command line, which stays there once one serves its connection), polled for up to 5 s until
// there are `want` of them.
std::vector<pid_t> spare_relays(pid_t parent, size_t want = 1) {
  std::vector<pid_t> found;
  for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    found.clear();
    for (pid_t p : testing::child_pids(parent)) {
      const std::string cmd = testing::proc_text("/proc/" + std::to_string(p) + "/cmdline");
      if (cmd.find(std::string("--wait-fd") + '\0') != std::string::npos) found.push_back(p);
    }
    if (found.size() == want) break;
  }
  return found;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// A relay started before its connection takes it (no fork and exec while the client waits);
// the daemon then starts the next spare, and the first one ends with its connection.
TEST_F(Tls, ASpareRelayStartedAheadTakesTheNextConnection) {
  start("server");
  const std::vector<pid_t> before = spare_relays(t_.backend->pid());
  ASSERT_EQ(before.size(), 1u) << log();
  {
    client::Session s(options(connector_to(tls_, trusting("ca"))));
    ASSERT_TRUE(ping(s)) << s.error();
    // The first one serves this session, and a new spare waits.
    const std::vector<pid_t> after = spare_relays(t_.backend->pid(), 2);
    ASSERT_EQ(after.size(), 2u) << log();
    EXPECT_TRUE(after[0] == before[0] || after[1] == before[0]);
    bool second = false;
    std::thread([&] { second = ping(s); }).join();  // the new spare's connection
    EXPECT_TRUE(second) << s.error();
  }
  for (auto until = Clock::now() + 5s; alive(before[0]) && Clock::now() < until;)
    std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(alive(before[0])) << "the relay outlived its connection\n" << log();
  EXPECT_EQ(spare_relays(t_.backend->pid()).size(), 1u);
}

// SIGTERM ends a spare that waits; the next connection then gets a relay started for it, and
// a new spare is started after its handshake.
TEST_F(Tls, ASpareThatEndedIsReplacedAfterTheNextConnection) {
  start("server");
  const std::vector<pid_t> first = spare_relays(t_.backend->pid());
  ASSERT_EQ(first.size(), 1u) << log();
  ASSERT_EQ(::kill(first[0], SIGTERM), 0);
  for (auto until = Clock::now() + 5s; alive(first[0]) && Clock::now() < until;)
    std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(alive(first[0])) << "SIGTERM did not end a waiting spare";
  EXPECT_TRUE(log_says("before a connection came")) << log();
  EXPECT_TRUE(spare_relays(t_.backend->pid(), 1).empty());  // none until a connection comes
  client::Session s(options(connector_to(tls_, trusting("ca"))));
  EXPECT_TRUE(ping(s)) << s.error() << "\n" << log();
  const std::vector<pid_t> next = spare_relays(t_.backend->pid());
  ASSERT_EQ(next.size(), 1u) << log();
  EXPECT_NE(next[0], first[0]);
}

// Certificate files replaced on disk are what the next connection gets: a spare that loaded
// the old ones is ended instead of used.
TEST_F(Tls, ASpareRelayStartedBeforeTheFilesChangedIsNotUsed) {
  Rig& t = t_;
  const std::string cert = t.dir.path() + "/live.pem", key = t.dir.path() + "/live.key";
  auto install = [&](const std::string& from) {
    install_at(from + ".pem", cert);
    install_at(from + ".key", key);
  };
  install("server");
  port_ = free_tcp_port();
  tls_ = "tls://127.0.0.1:" + std::to_string(port_);
  t.start("{\"tls_cert\": \"" + cert + "\", \"tls_key\": \"" + key + "\"}",
          {"--listen", tls_, "--listen", t.tcp});
  ASSERT_TRUE(t.backend->ready()) << log();
  const std::vector<pid_t> old_spare = spare_relays(t.backend->pid());
  ASSERT_EQ(old_spare.size(), 1u) << log();
  install("stranger");  // the same names, signed by "otherca"
  {
    client::Session s(options(connector_to(tls_, trusting("ca"))));
    EXPECT_FALSE(ping(s));  // the old certificate would have passed
    EXPECT_TRUE(contains(s.error(), "not trusted")) << s.error();
  }
  client::Session s(options(connector_to(tls_, trusting("otherca"))));
  EXPECT_TRUE(ping(s)) << s.error() << "\n" << log();
  EXPECT_TRUE(log_says("files changed")) << log();
}

// The client's TLS context is made once and shared by its connections (client_context), yet a
// CA file replaced on disk is what the next connection trusts: the trust a replaced file gave
// is not kept, nor is the one it takes away.
TEST_F(Tls, ConnectionsShareTheClientContextUntilTheCaFileChanges) {
  start("stranger");  // signed by "otherca"
  const std::string ca = t_.dir.path() + "/trusted.pem";
  auto install = [&](const std::string& from) { install_at(from + ".pem", ca); };
  install("ca");
  TlsClientOptions opt;
  opt.ca_file = ca;
  SSL_CTX* first = nullptr;
  SSL_CTX* again = nullptr;
  ASSERT_TRUE(client_context(opt, &first));
  ASSERT_TRUE(client_context(opt, &again));
  EXPECT_EQ(first, again) << "a second connection made a context of its own";
  SSL_CTX_free(again);
  ClientSecurity sec;
  sec.tls_ca = ca;
  auto connects = [&] {
    client::Session s(options(connector_to(tls_, sec)));
    return ping(s);
  };
  EXPECT_FALSE(connects()) << "trusted with a CA file that does not name its CA";
  install("otherca");
  EXPECT_TRUE(connects()) << "the new CA file was not read\n" << log();
  SSL_CTX* after = nullptr;
  ASSERT_TRUE(client_context(opt, &after));
  EXPECT_NE(after, first);
  SSL_CTX_free(after);
  SSL_CTX_free(first);
  install("ca");
  EXPECT_FALSE(connects()) << "still trusted after its CA left the file";
}

TEST(TlsFilesStamp, ChangesWhenAFileIsReplacedOrGoes) {
  TempDir d;
  const std::string a = d.write("a.pem", "one"), b = d.write("b.key", "two");
  const std::string first = tls_files_stamp({a, b, ""});
  EXPECT_EQ(tls_files_stamp({a, b, ""}), first);
  d.write("b.key.new", "two");
  std::filesystem::rename(d.path() + "/b.key.new", b);  // same bytes, another file
  EXPECT_NE(tls_files_stamp({a, b, ""}), first);
  const std::string second = tls_files_stamp({a, b, ""});
  std::filesystem::remove(a);
  EXPECT_NE(tls_files_stamp({a, b, ""}), second);
  EXPECT_NE(tls_files_stamp({a, b, b}), tls_files_stamp({a, b, ""}));
}

// A client TLS stream that polls before it sleeps (set_receive_spin) gets bytes that come
// during the poll and long after it, and sees the end of the stream.
TEST_F(Tls, ASpinningReceiveGetsEarlyAndLateBytesAndSeesTheEnd) {
  pid_t relay = 0;
  int plain = -1;
  std::unique_ptr<Stream> c;
  ASSERT_NO_FATAL_FAILURE(relay_with_client(&relay, &plain, &c));
  c->set_receive_spin(200);
  char buf[2] = {};
  auto late = std::async(std::launch::async, [plain] {
    std::this_thread::sleep_for(50ms);  // long after the poll gave up
    return ::send(plain, "ab", 2, MSG_NOSIGNAL) == 2;
  });
  ASSERT_TRUE(c->recv(buf, 2).is_ok());
  ASSERT_TRUE(late.get());
  EXPECT_EQ(std::string(buf, 2), "ab");
  ASSERT_EQ(::send(plain, "cd", 2, MSG_NOSIGNAL), 2);  // there before the receive polls
  ASSERT_TRUE(c->recv(buf, 2).is_ok());
  EXPECT_EQ(std::string(buf, 2), "cd");
  ::close(plain);
  EXPECT_EQ(c->recv(buf, 1).code(), Code::kDisconnected);
  ::kill(relay, SIGKILL);
  ::waitpid(relay, nullptr, 0);
}

// A relay left waiting on one side (here: to write to a client that does not read) while the
// other side has hung up (the worker closed) sleeps in poll(). It spun at 100% of a CPU:
// poll() reports a hangup whatever it is asked for, and nothing cleared it.
TEST_F(Tls, RelayWaitingOnOneSideDoesNotSpinOnTheOthersHangup) {
  pid_t relay = 0;
  int plain = -1;
  std::unique_ptr<Stream> c;
  ASSERT_NO_FATAL_FAILURE(relay_with_client(&relay, &plain, &c));
  // The worker's side writes until everything between it and the client is full.
  ASSERT_EQ(fcntl(plain, F_SETFL, O_NONBLOCK), 0);
  std::vector<uint8_t> block(1u << 16, 5);
  auto last_write = Clock::now();
  while (Clock::now() - last_write < 500ms) {
    if (::send(plain, block.data(), block.size(), MSG_NOSIGNAL) > 0) last_write = Clock::now();
    else std::this_thread::sleep_for(10ms);
  }
  ::close(plain);
  auto cpu_seconds = [relay] {
    std::ifstream f("/proc/" + std::to_string(relay) + "/stat");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  };
  std::this_thread::sleep_for(100ms);
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = cpu_seconds() - before;
  EXPECT_LT(used, 0.2) << "the relay used " << used << " s of CPU in 1 s of waiting";
  ::kill(relay, SIGKILL);
  int status = 0;
  waitpid(relay, &status, 0);
}

// The relay alone: a TLS client on one side, an echo on the socketpair's other end; 16 MiB of
// varied bytes cross both ways unchanged.
TEST_F(Tls, RelayCarriesLargeDataIntact) {
  pid_t relay = 0;
  int plain = -1;
  std::unique_ptr<Stream> c;
  ASSERT_NO_FATAL_FAILURE(relay_with_client(&relay, &plain, &c));
  auto echo = stream_from_fd(plain, "relay");
  std::string note_error = "no note";
  std::thread echoer([&] {
    // First the relay's note (tls_relay.h): no client certificate asked for, so no subject.
    uint8_t head[backend::kRelayNoteHeader];
    uint32_t len = 99;
    if (!echo->recv(head, sizeof head)) return;
    if (!backend::decode_relay_note_header(head, &len)) return;
    note_error = len == 0 ? "" : "a subject of " + std::to_string(len) + " bytes";
    std::vector<uint8_t> buf(100000);
    for (;;) {
      ssize_t n = ::recv(echo->fd(), buf.data(), buf.size(), 0);
      if (n <= 0) return;
      struct iovec iov = {buf.data(), static_cast<size_t>(n)};
      if (!echo->send(&iov, 1)) return;
    }
  });
  std::vector<uint8_t> chunk(1 << 20), back(1 << 20);
  for (int i = 0; i < 16; ++i) {
    for (size_t j = 0; j < chunk.size(); ++j) chunk[j] = static_cast<uint8_t>(j * 31 + i * 7 + (j >> 9));
    struct iovec iov = {chunk.data(), chunk.size()};
    ASSERT_TRUE(c->send(&iov, 1));
    ASSERT_TRUE(c->recv(back.data(), back.size()));
    ASSERT_EQ(chunk, back) << "chunk " << i;
  }
  c.reset();  // the relay sees the close and ends; the echo sees EOF
  echoer.join();
  EXPECT_EQ(note_error, "");
  int status = 0;
  ASSERT_EQ(waitpid(relay, &status, 0), relay);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// The worker's last bytes before it closes (a reply, then the end of the session) all reach
// the client, through the relay's write buffer, and then the client sees the end: also when
// the client reads late and the relay must wait for room to flush them.
TEST_F(Tls, RelayDeliversTheWorkersLastBytesBeforeItsClose) {
  pid_t relay = 0;
  int plain = -1;
  std::unique_ptr<Stream> c;
  ASSERT_NO_FATAL_FAILURE(relay_with_client(&relay, &plain, &c, 64 * 1024));
  auto worker = stream_from_fd(plain, "relay");
  std::vector<uint8_t> sent(1 << 20);
  for (size_t j = 0; j < sent.size(); ++j) sent[j] = static_cast<uint8_t>(j * 13 + (j >> 11));
  std::thread writer([&] {
    uint8_t head[backend::kRelayNoteHeader];
    if (!worker->recv(head, sizeof head)) return;
    uint32_t len = 0;
    if (!backend::decode_relay_note_header(head, &len) || len != 0) return;
    // Writes of odd sizes, then the close.
    const size_t cuts[] = {0, 1000, (512 << 10) + 7, sent.size()};
    for (int k = 0; k < 3; ++k) {
      struct iovec iov = {sent.data() + cuts[k], cuts[k + 1] - cuts[k]};
      if (!worker->send(&iov, 1)) return;
    }
    worker.reset();
  });
  // All but the last 448 KiB, then a pause: the worker finishes and closes while the relay
  // still holds records it cannot send yet (the sockets hold about 256 KiB of them).
  std::vector<uint8_t> got(sent.size());
  const size_t first = sent.size() - (448 << 10);
  Status head = c->recv(got.data(), first);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Status rest = head ? c->recv(got.data() + first, sent.size() - first) : head;
  uint8_t more;
  Status end = rest ? c->recv(&more, 1) : rest;
  writer.join();
  ASSERT_TRUE(head) << head.to_string();
  ASSERT_TRUE(rest) << rest.to_string();
  EXPECT_EQ(got, sent);
  EXPECT_EQ(end.code(), Code::kDisconnected) << end.to_string();
  int status = 0;
  ASSERT_EQ(waitpid(relay, &status, 0), relay);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace gvirtus
