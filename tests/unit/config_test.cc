// Config files (our form and the original GVirtuS properties.json), precedence, errors.
#include "common/config.h"

#include <gtest/gtest.h>

#include <string>

#include "test_env.h"

namespace gvirtus {
namespace {

using testenv::EnvGuard;
using testenv::TempDir;

// Clears every variable that resolve_client_endpoint reads.
struct CleanEnv {
  EnvGuard ep{"GVIRTUS_ENDPOINT", nullptr};
  EnvGuard cfg{"GVIRTUS_CONFIG", nullptr};
  EnvGuard home{"GVIRTUS_HOME", nullptr};
};

const char* kOriginalForm = R"({
  "communicator": [
    {"endpoint": {"suite": "tcp/ip", "protocol": "tcp", "server_address": "10.1.2.3", "port": "9988"},
     "plugins": ["cudart", "cublas"]}
  ],
  "secure_application": false
})";

TEST(ConfigParse, OurForm) {
  Config c;
  Status s = parse_config_json(
      R"({"endpoint": "tcp://gpu-host:9999", "log_level": "debug",
          "listen": ["tcp://0.0.0.0:9999", "unix:/run/gv.sock"]})",
      "a.json", &c);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0], "tcp://gpu-host:9999");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0], "tcp://0.0.0.0:9999");
  EXPECT_EQ(c.listen[1], "unix:/run/gv.sock");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.source, "a.json");
}

TEST(ConfigParse, ListenAsOneString) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"listen": "unix:/tmp/x.sock"})", "f", &c));
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0], "unix:/tmp/x.sock");
  EXPECT_TRUE(c.endpoints.empty());
  EXPECT_TRUE(c.log_level.empty());
}

TEST(ConfigParse, LibraryPathAsStringOrArray) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"library_path": "/a/lib:/b/lib"})", "f", &c));
  EXPECT_EQ(c.library_path, "/a/lib:/b/lib");
  Config d;
  ASSERT_TRUE(parse_config_json(R"({"library_path": ["/a/lib", "/b/lib"]})", "f", &d));
  EXPECT_EQ(d.library_path, "/a/lib:/b/lib");
  Config e;
  Status s = parse_config_json(R"({"library_path": ["/a/lib", 3]})", "f", &e);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("library_path"), std::string::npos);
  EXPECT_FALSE(parse_config_json(R"({"library_path": 7})", "f", &e));
}

TEST(ConfigParse, ModuleCache) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"listen": "unix:/tmp/x.sock"})", "f", &c));
  EXPECT_TRUE(c.module_cache.dir.empty());  // off unless asked for
  ASSERT_TRUE(parse_config_json(
      R"({"module_cache": "/var/cache/gv", "module_cache_bytes": 1048576,
          "module_cache_shared": true})",
      "f", &c));
  EXPECT_EQ(c.module_cache.dir, "/var/cache/gv");
  EXPECT_EQ(c.module_cache.max_bytes, 1048576u);
  EXPECT_TRUE(c.module_cache.shared);
  for (const char* bad : {R"({"module_cache": ""})", R"({"module_cache": 3})",
                          R"({"module_cache_bytes": 0})", R"({"module_cache_bytes": -1})",
                          R"({"module_cache_shared": "yes"})"}) {
    Status s = parse_config_json(bad, "f", &c);
    EXPECT_FALSE(s) << bad;
    EXPECT_NE(s.message().find("module_cache"), std::string::npos) << s.message();
  }
}

TEST(ConfigParse, OriginalPropertiesForm) {
  Config c;
  Status s = parse_config_json(kOriginalForm, "properties.json", &c);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0], "tcp://10.1.2.3:9988");
  // The original form's one address is also where a backend listens.
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0], "tcp://10.1.2.3:9988");
}

TEST(ConfigParse, OriginalFormNumericPortAndOldProtocols) {
  Config c;
  Status s = parse_config_json(
      R"({"communicator": [
           {"endpoint": {"suite": "tcp/ip", "protocol": "oldtcp", "server_address": "h1", "port": 7000}},
           {"endpoint": {"suite": "tcp/ip", "server_address": "::1", "port": "7001"}},
           {"endpoint": {"protocol": "unix", "path": "/tmp/gv.sock"}}]})",
      "p.json", &c);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_EQ(c.endpoints.size(), 3u);
  EXPECT_EQ(c.endpoints[0], "tcp://h1:7000");
  EXPECT_EQ(c.endpoints[1], "tcp://[::1]:7001");
  EXPECT_EQ(c.endpoints[2], "unix:/tmp/gv.sock");
}

TEST(ConfigParse, NumericLogLevelOfTheOriginal) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"log_level": 2})", "f", &c));
  EXPECT_EQ(c.log_level, "2");
}

// Each bad file gives kInvalid with the file's name and the problem in the message.
struct BadCase {
  const char* text;
  const char* needle;  // must appear in the message
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NamesFileAndProblem) {
  Config c;
  c.endpoints.push_back("untouched");
  Status s = parse_config_json(GetParam().text, "/etc/gv/bad.json", &c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_NE(s.message().find("/etc/gv/bad.json"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(GetParam().needle), std::string::npos) << s.message();
  // A failed parse leaves the output alone.
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0], "untouched");
}

INSTANTIATE_TEST_SUITE_P(
    Bad, ConfigErrors,
    ::testing::Values(
        BadCase{"{\"endpoint\": \"tcp://a:1\",\n  oops}", "line 2"},
        BadCase{"[1, 2]", "JSON object"},
        BadCase{R"({"endpoint": 5})", "\"endpoint\" must be a string"},
        BadCase{R"({"endpoint": "http://x:1"})", "bad endpoint \"http://x:1\""},
        BadCase{R"({"listen": ["tcp://a:1", 3]})", "\"listen\""},
        BadCase{R"({"log_level": "loud"})", "\"loud\""},
        BadCase{R"({"communicator": {}})", "\"communicator\" must be an array"},
        BadCase{R"({"communicator": [{"x": 1}]})", "communicator[0] must be an object"},
        BadCase{R"({"communicator": [{"endpoint": {"suite": "infiniband-rdma", "protocol": "ib",
                 "server_address": "a", "port": "1"}}]})",
                "protocol \"ib\" is not supported"},
        BadCase{R"({"communicator": [{"endpoint": {"protocol": "tcp", "port": "1"}}]})",
                "server_address"},
        BadCase{R"({"communicator": [{"endpoint": {"protocol": "tcp", "server_address": "a"}}]})",
                "\"port\" is missing"},
        BadCase{R"({"communicator": [{"endpoint": {"protocol": "tcp", "server_address": "a",
                 "port": "99x"}}]})",
                "port \"99x\" is not a number"},
        BadCase{R"({"communicator": [{"endpoint": {"protocol": "tcp", "server_address": "a",
                 "port": 70000}}]})",
                "out of range"},
        BadCase{R"({"communicator": [{"endpoint": {"protocol": "unix"}}]})", "\"path\""}));

TEST(ConfigFile, MissingFileNamesPath) {
  Config c;
  Status s = load_config_file("/nonexistent/gvirtus/x.json", &c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("/nonexistent/gvirtus/x.json"), std::string::npos);
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();
}

TEST(ConfigFile, LoadsAndRecordsSource) {
  TempDir d;
  std::string p = d.write("c.json", R"({"endpoint": "unix:/tmp/s.sock"})");
  Config c;
  ASSERT_TRUE(load_config_file(p, &c));
  EXPECT_EQ(c.source, p);
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0], "unix:/tmp/s.sock");
}

TEST(Resolve, NothingConfiguredIsAClearError) {
  CleanEnv clean;
  Endpoint ep;
  std::string source;
  Status s = resolve_client_endpoint(&ep, &source);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_NE(s.message().find("GVIRTUS_ENDPOINT"), std::string::npos);
}

TEST(Resolve, EnvironmentEndpoint) {
  CleanEnv clean;
  EnvGuard e("GVIRTUS_ENDPOINT", "tcp://127.0.0.1:4242");
  Endpoint ep;
  std::string source;
  ASSERT_TRUE(resolve_client_endpoint(&ep, &source));
  EXPECT_EQ(ep.type, Endpoint::Type::kTcp);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 4242);
  EXPECT_EQ(source, "GVIRTUS_ENDPOINT");
}

TEST(Resolve, BadEnvironmentEndpointSaysWhere) {
  CleanEnv clean;
  EnvGuard e("GVIRTUS_ENDPOINT", "gpu-host:9999");
  Endpoint ep;
  Status s = resolve_client_endpoint(&ep, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("GVIRTUS_ENDPOINT=\"gpu-host:9999\""), std::string::npos) << s.message();
}

TEST(Resolve, EndpointBeatsConfigFileBeatsHome) {
  CleanEnv clean;
  TempDir d;
  d.mkdir("etc");
  d.write("etc/properties.json", kOriginalForm);
  std::string cfg = d.write("mine.json", R"({"endpoint": "unix:/tmp/mine.sock"})");
  EnvGuard home("GVIRTUS_HOME", d.path().c_str());

  Endpoint ep;
  std::string source;
  ASSERT_TRUE(resolve_client_endpoint(&ep, &source));
  EXPECT_EQ(ep.type, Endpoint::Type::kTcp);
  EXPECT_EQ(ep.host, "10.1.2.3");
  EXPECT_EQ(ep.port, 9988);
  EXPECT_EQ(source, d.path() + "/etc/properties.json");

  {
    EnvGuard c("GVIRTUS_CONFIG", cfg.c_str());
    ASSERT_TRUE(resolve_client_endpoint(&ep, &source));
    EXPECT_EQ(ep.type, Endpoint::Type::kUnix);
    EXPECT_EQ(ep.path, "/tmp/mine.sock");
    EXPECT_EQ(source, cfg);
    {
      EnvGuard e("GVIRTUS_ENDPOINT", "tcp://h:1");
      ASSERT_TRUE(resolve_client_endpoint(&ep, &source));
      EXPECT_EQ(ep.host, "h");
      EXPECT_EQ(source, "GVIRTUS_ENDPOINT");
    }
  }
}

TEST(Resolve, HomeWithoutFileIsNotAnError) {
  CleanEnv clean;
  TempDir d;
  EnvGuard home("GVIRTUS_HOME", d.path().c_str());
  Config c;
  bool found = true;
  ASSERT_TRUE(load_config_from_env_file(&c, &found));
  EXPECT_FALSE(found);
}

TEST(Resolve, NamedConfigMustExist) {
  CleanEnv clean;
  EnvGuard cfg("GVIRTUS_CONFIG", "/nonexistent/gv.json");
  Config c;
  bool found = true;
  Status s = load_config_from_env_file(&c, &found);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("/nonexistent/gv.json"), std::string::npos);
  EXPECT_NE(s.message().find("GVIRTUS_CONFIG"), std::string::npos);
}

TEST(Resolve, BrokenHomeFileIsReportedNotIgnored) {
  CleanEnv clean;
  TempDir d;
  d.mkdir("etc");
  std::string p = d.write("etc/properties.json", "{ not json");
  EnvGuard home("GVIRTUS_HOME", d.path().c_str());
  Endpoint ep;
  Status s = resolve_client_endpoint(&ep, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("GVIRTUS_HOME"), std::string::npos) << s.message();
}

TEST(Resolve, ConfigWithoutEndpointSaysSo) {
  CleanEnv clean;
  TempDir d;
  std::string p = d.write("l.json", R"({"listen": ["tcp://0.0.0.0:1"]})");
  EnvGuard cfg("GVIRTUS_CONFIG", p.c_str());
  Endpoint ep;
  Status s = resolve_client_endpoint(&ep, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find(p), std::string::npos);
  EXPECT_NE(s.message().find("names no endpoint"), std::string::npos) << s.message();
}

TEST(ConfigSecurity, KeysAndRelativePaths) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"token_file": "token", "tls_cert": "/etc/s.pem",
      "tls_key": "k/s.key", "tls_client_ca": "ca.pem", "tls_ca": "/x/ca.pem",
      "tls_client_cert": "c.pem", "tls_client_key": "c.key", "unix_socket_group": "gpu",
      "secure_application": true})",
                                "/etc/gvirtus/properties.json", &c));
  EXPECT_EQ(c.token_file, "/etc/gvirtus/token");
  EXPECT_EQ(c.tls_cert, "/etc/s.pem");
  EXPECT_EQ(c.tls_key, "/etc/gvirtus/k/s.key");
  EXPECT_EQ(c.tls_client_ca, "/etc/gvirtus/ca.pem");
  EXPECT_EQ(c.tls_ca, "/x/ca.pem");
  EXPECT_EQ(c.tls_client_cert, "/etc/gvirtus/c.pem");
  EXPECT_EQ(c.tls_client_key, "/etc/gvirtus/c.key");
  EXPECT_EQ(c.unix_socket_group, "gpu");
  EXPECT_TRUE(c.secure_application);
  EXPECT_FALSE(c.allowed_uids_set);
  Status s = parse_config_json(R"({"token_file": 5})", "f.json", &c);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("token_file"), std::string::npos) << s.message();
  EXPECT_FALSE(parse_config_json(R"({"tls_cert": ""})", "f.json", &c));
  EXPECT_FALSE(parse_config_json(R"({"unix_socket_group": 1})", "f.json", &c));
  EXPECT_FALSE(parse_config_json(R"({"secure_application": 1})", "f.json", &c));
}

TEST(ConfigSecurity, ClientSettingsFromTheEnvironmentOverTheFile) {
  CleanEnv clean;
  TempDir d;
  std::string cfg = d.write("c.json", R"({"token_file": "/f/token", "tls_ca": "/f/ca.pem",
      "tls_client_cert": "/f/c.pem", "tls_client_key": "/f/c.key"})");
  EnvGuard g{"GVIRTUS_CONFIG", cfg.c_str()};
  EnvGuard t{"GVIRTUS_TOKEN_FILE", nullptr};
  EnvGuard a{"GVIRTUS_TLS_CA", "/e/ca.pem"};
  EnvGuard b{"GVIRTUS_TLS_CLIENT_CERT", nullptr};
  EnvGuard k{"GVIRTUS_TLS_CLIENT_KEY", nullptr};
  ClientSecurity sec;
  ASSERT_TRUE(resolve_client_security(&sec));
  EXPECT_EQ(sec.token_file, "/f/token");
  EXPECT_NE(sec.token_source.find(cfg), std::string::npos) << sec.token_source;
  EXPECT_EQ(sec.tls_ca, "/e/ca.pem");
  EXPECT_EQ(sec.tls_client_cert, "/f/c.pem");
  EXPECT_EQ(sec.tls_client_key, "/f/c.key");
  EnvGuard t2{"GVIRTUS_TOKEN_FILE", "/e/token"};
  ASSERT_TRUE(resolve_client_security(&sec));
  EXPECT_EQ(sec.token_file, "/e/token");
  EXPECT_EQ(sec.token_source, "GVIRTUS_TOKEN_FILE");
}

TEST(ConfigSecurity, NoConfigurationMeansNoSecuritySettings) {
  CleanEnv clean;
  EnvGuard t{"GVIRTUS_TOKEN_FILE", nullptr};
  EnvGuard a{"GVIRTUS_TLS_CA", nullptr};
  ClientSecurity sec;
  ASSERT_TRUE(resolve_client_security(&sec));
  EXPECT_TRUE(sec.token_file.empty());
  EXPECT_TRUE(sec.tls_ca.empty());
}

TEST(ConfigSecurity, OriginalFormTlsProtocol) {
  Config c;
  ASSERT_TRUE(parse_config_json(R"({"communicator": [{"endpoint": {"suite": "tcp/ip",
      "protocol": "tls", "server_address": "gpu-host", "port": 9999}}]})", "f.json", &c));
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0], "tls://gpu-host:9999");
  EXPECT_EQ(c.listen[0], "tls://gpu-host:9999");
}

}  // namespace
}  // namespace gvirtus
