// Endpoint text forms: "tcp://host:port" (host a name, an IPv4 address or "[v6]") and
// "unix:/path" / "unix:///path".
#include "common/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cctype>

namespace gvirtus {
namespace {

constexpr size_t kMaxHostLen = 255;  // DNS name limit; addresses are shorter

// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

bool parse_port(const std::string& text, int* port) {
  if (text.empty() || text.size() > 5) return false;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 65535) return false;
  *port = n;
  return true;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

Status parse_tcp(const std::string& text, const std::string& rest, Endpoint* out) {
  std::string host, port_text;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos)
      return invalid("\"" + text + "\": missing ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':')
      return invalid("\"" + text + "\": expected ':port' after ']'");
    port_text = rest.substr(close + 2);
    if (host.empty()) return invalid("\"" + text + "\": empty IPv6 address");
    for (char c : host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return invalid("\"" + text + "\": \"" + host + "\" is not an IPv6 address");
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return invalid("\"" + text + "\": missing ':port'");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (host.empty()) return invalid("\"" + text + "\": missing host");
    if (host.find(':') != std::string::npos)
      return invalid("\"" + text + "\": write an IPv6 address in brackets, e.g. tcp://[::1]:9999");
    for (char c : host)
      if (!valid_host_char(c))
        return invalid("\"" + text + "\": \"" + host + "\" is not a host name or address");
  }
  if (host.size() > kMaxHostLen) return invalid("\"" + text + "\": host name too long");
  int port = 0;
  if (!parse_port(port_text, &port))
    return invalid("\"" + text + "\": port \"" + port_text + "\" is not a number in 1-65535");
  out->type = Endpoint::Type::kTcp;
  out->host = host;
  out->port = port;
  out->path.clear();
  return Status::ok();
}

Status parse_unix(const std::string& text, std::string rest, Endpoint* out,
                  const char* scheme = "unix") {
  const std::string sc = scheme;
  // "unix:///p" is the URL spelling of "unix:/p"; "unix://p" would name a host, which a Unix
  // socket does not have.
  if (rest.compare(0, 3, "///") == 0) {
    rest.erase(0, 2);
  } else if (rest.compare(0, 2, "//") == 0) {
    return invalid("\"" + text + "\": write " + sc + ":/path or " + sc + ":///path");
  }
  if (rest.empty()) return invalid("\"" + text + "\": missing socket path");
  if (rest.find('\0') != std::string::npos)
    return invalid("\"" + text + "\": NUL byte in the socket path");
  if (rest.size() > kMaxUnixPath)
    return invalid("\"" + text + "\": socket path longer than " + std::to_string(kMaxUnixPath) +
                   " bytes");
  out->type = sc == "shm" ? Endpoint::Type::kShm : Endpoint::Type::kUnix;
  out->host.clear();
  out->port = 0;
  out->path = rest;
  return Status::ok();
}

}  // namespace

std::string Endpoint::to_string() const {
  if (type == Type::kUnix) return "unix:" + path;
  if (type == Type::kShm) return "shm:" + path;
  const char* scheme = tls ? "tls://" : "tcp://";
  if (host.find(':') != std::string::npos)
    return scheme + ("[" + host + "]:") + std::to_string(port);
  return scheme + host + ":" + std::to_string(port);
}

bool is_local(const Endpoint& ep) {
  if (ep.type == Endpoint::Type::kUnix || ep.type == Endpoint::Type::kShm) return true;
  if (ep.host == "localhost" || ep.host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, ep.host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, ep.host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

Status parse_endpoint(const std::string& text, Endpoint* out) {
  static const std::string kTcp = "tcp://";
  static const std::string kUnix = "unix:";
  static const std::string kTls = "tls://";
  static const std::string kShm = "shm:";
  Endpoint ep;
  Status s;
  if (text.compare(0, kTcp.size(), kTcp) == 0) {
    s = parse_tcp(text, text.substr(kTcp.size()), &ep);
  } else if (text.compare(0, kTls.size(), kTls) == 0) {
    s = parse_tcp(text, text.substr(kTls.size()), &ep);
    ep.tls = true;
  } else if (text.compare(0, kUnix.size(), kUnix) == 0) {
    s = parse_unix(text, text.substr(kUnix.size()), &ep);
  } else if (text.compare(0, kShm.size(), kShm) == 0) {
    s = parse_unix(text, text.substr(kShm.size()), &ep, "shm");
  } else {
    s = invalid("\"" + text +
                "\": expected tcp://host:port, tls://host:port, unix:/path or shm:/path");
  }
  if (s) *out = ep;
  return s;
}

}  // namespace gvirtus
