#include "common/endpoint.h"

#include <gtest/gtest.h>

namespace gvirtus {
namespace {

Endpoint parse_ok(const std::string& text) {
  Endpoint ep;
  Status s = parse_endpoint(text, &ep);
  EXPECT_TRUE(s) << text << ": " << s.to_string();
  return ep;
}

TEST(Endpoint, Tcp) {
  Endpoint ep = parse_ok("tcp://127.0.0.1:9999");
  EXPECT_EQ(ep.type, Endpoint::Type::kTcp);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 9999);
  EXPECT_EQ(ep.to_string(), "tcp://127.0.0.1:9999");

  ep = parse_ok("tcp://gpu-host.example.org:1");
  EXPECT_EQ(ep.host, "gpu-host.example.org");
  EXPECT_EQ(ep.port, 1);

  ep = parse_ok("tcp://0.0.0.0:65535");
  EXPECT_EQ(ep.port, 65535);
}

TEST(Endpoint, TcpIpv6InBrackets) {
  Endpoint ep = parse_ok("tcp://[::1]:7001");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 7001);
  EXPECT_EQ(ep.to_string(), "tcp://[::1]:7001");
  ep = parse_ok("tcp://[fe80::1:2]:80");
  EXPECT_EQ(ep.host, "fe80::1:2");
  EXPECT_EQ(parse_ok("tcp://[::ffff:10.0.0.1]:5").host, "::ffff:10.0.0.1");
}

TEST(Endpoint, Unix) {
  Endpoint ep = parse_ok("unix:/run/gvirtus.sock");
  EXPECT_EQ(ep.type, Endpoint::Type::kUnix);
  EXPECT_EQ(ep.path, "/run/gvirtus.sock");
  EXPECT_EQ(ep.to_string(), "unix:/run/gvirtus.sock");
  EXPECT_EQ(parse_ok("unix:///tmp/x.sock").path, "/tmp/x.sock");
  EXPECT_EQ(parse_ok("unix:relative.sock").path, "relative.sock");
  // The longest path a sockaddr_un holds.
  EXPECT_TRUE(parse_endpoint("unix:/" + std::string(106, 'a'), &ep));
}

TEST(Endpoint, Shm) {
  Endpoint ep = parse_ok("shm:/run/gvirtus.shm");
  EXPECT_EQ(ep.type, Endpoint::Type::kShm);
  EXPECT_EQ(ep.path, "/run/gvirtus.shm");
  EXPECT_EQ(ep.to_string(), "shm:/run/gvirtus.shm");
  EXPECT_EQ(parse_ok("shm:///tmp/x").path, "/tmp/x");
  EXPECT_TRUE(is_local(ep));
  EXPECT_FALSE(parse_endpoint("shm:", &ep));
  EXPECT_FALSE(parse_endpoint("shm://host/x", &ep));
  EXPECT_FALSE(parse_endpoint("shm:/" + std::string(107, 'a'), &ep));
}

TEST(Endpoint, RoundTripThroughText) {
  for (const char* t : {"tcp://h:1", "tcp://[::]:9999", "unix:/a/b", "shm:/a/b"}) {
    Endpoint a = parse_ok(t);
    Endpoint b = parse_ok(a.to_string());
    EXPECT_EQ(a.to_string(), b.to_string());
  }
}

TEST(Endpoint, Rejects) {
  const char* bad[] = {
      "",
      "tcp://",
      "tcp://host",
      "tcp://host:",
      "tcp://:9999",
      "tcp://host:0",
      "tcp://host:65536",
      "tcp://host:99999999999",
      "tcp://host:12a",
      "tcp://host:-1",
      "tcp://::1:9999",
      "tcp://[::1]9999",
      "tcp://[::1",
      "tcp://[]:1",
      "tcp://[zz]:1",
      "tcp://ho st:1",
      "tcp://h/x:1",
      "http://host:1",
      "TCP://host:1",
      "unix:",
      "unix://",
      "unix://host/path",
      "udp://h:1",
  };
  for (const char* t : bad) {
    Endpoint ep;
    ep.port = 4242;
    Status s = parse_endpoint(t, &ep);
    EXPECT_EQ(s.code(), Code::kInvalid) << "\"" << t << "\" parsed";
    EXPECT_EQ(ep.port, 4242) << "output touched on failure for " << t;
  }
  Endpoint ep;
  EXPECT_FALSE(parse_endpoint("unix:/" + std::string(107, 'a'), &ep));
  EXPECT_FALSE(parse_endpoint(std::string("unix:/a\0b", 9), &ep));
  EXPECT_FALSE(parse_endpoint("tcp://" + std::string(256, 'a') + ":1", &ep));
}

TEST(Endpoint, Tls) {
  Endpoint ep = parse_ok("tls://gpu-host:9999");
  EXPECT_EQ(ep.type, Endpoint::Type::kTcp);
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.host, "gpu-host");
  EXPECT_EQ(ep.port, 9999);
  EXPECT_EQ(ep.to_string(), "tls://gpu-host:9999");
  EXPECT_EQ(parse_ok("tls://[::1]:5").to_string(), "tls://[::1]:5");
  EXPECT_FALSE(parse_ok("tcp://gpu-host:9999").tls);
  Endpoint bad;
  EXPECT_FALSE(parse_endpoint("tls://gpu-host", &bad));
  EXPECT_FALSE(parse_endpoint("tls:/path", &bad));
}

TEST(Endpoint, LocalMeansUnreachableFromOtherHosts) {
  EXPECT_TRUE(is_local(parse_ok("unix:/tmp/x.sock")));
  EXPECT_TRUE(is_local(parse_ok("tcp://127.0.0.1:1")));
  EXPECT_TRUE(is_local(parse_ok("tcp://127.3.2.1:1")));
  EXPECT_TRUE(is_local(parse_ok("tcp://[::1]:1")));
  EXPECT_TRUE(is_local(parse_ok("tcp://localhost:1")));
  EXPECT_TRUE(is_local(parse_ok("tls://127.0.0.1:1")));
  EXPECT_FALSE(is_local(parse_ok("tcp://0.0.0.0:1")));
  EXPECT_FALSE(is_local(parse_ok("tcp://[::]:1")));
  EXPECT_FALSE(is_local(parse_ok("tcp://10.0.0.1:1")));
  EXPECT_FALSE(is_local(parse_ok("tcp://gpu-host:1")));
}

}  // namespace
}  // namespace gvirtus
