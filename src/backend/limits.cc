// Client identities and their limits (limits.h).
#include "backend/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "backend/handshake.h"

namespace gvirtus::backend {

std::string client_identity(bool token_proof, const std::string& cert_subject, long uid, int fd) {
  // At most 256 characters in all ("cert:", the subject, "..." where it was cut): what status
  // and metrics carry.
  if (!cert_subject.empty()) return "cert:" + printable(cert_subject, 256 - 5 - 3);
  if (token_proof) return "token";
  if (uid >= 0) return "uid:" + std::to_string(uid);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char text[INET6_ADDRSTRLEN] = {};
  if (fd >= 0 && getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET &&
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text))
      return std::string("host:") + text;
    if (ss.ss_family == AF_INET6 &&
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text))
      return std::string("host:") + text;
  }
  return "host:unknown";
}

ClientLimits limits_for(const IsolationConfig& cfg, const std::string& identity) {
  ClientLimits out = cfg.default_limits;
  auto it = cfg.limits.find(identity);
  if (it == cfg.limits.end() && identity.rfind("cert:", 0) == 0) it = cfg.limits.find("certificate");
  if (it != cfg.limits.end()) {
    if (it->second.sessions >= 0) out.sessions = it->second.sessions;
    if (it->second.connections >= 0) out.connections = it->second.connections;
  }
  return out;
}

std::string session_limit_text(const std::string& identity, int64_t limit) {
  return "session limit reached: identity \"" + identity + "\" may hold " +
         std::to_string(limit) + " session(s) at once (\"sessions\" in the backend's " +
         "\"limits\" config); end one and try again";
}

std::string connection_limit_text(const std::string& identity, int64_t limit) {
  return "connection limit reached: a session of identity \"" + identity + "\" may have " +
         std::to_string(limit) + " connection(s) (client threads) at once (\"connections\" " +
         "in the backend's \"limits\" config)";
}

}  // namespace gvirtus::backend
