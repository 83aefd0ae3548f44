#include "backend/handshake.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/fd_passing.h"

namespace gvirtus::backend {
namespace {

constexpr size_t kMaxPeerText = 256;
constexpr size_t kMaxControlMessage = 4 + kMaxPeerText + wire::kMaxHelloPayload;

std::string version_text(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

std::string cuda_version_text(uint32_t v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string printable(const std::string& s, size_t max_len) {
  std::string out;
  out.reserve(std::min(s.size(), max_len));
  for (char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

bool check_hello(const uint8_t* payload, size_t n, const Registry& reg, wire::Hello* hello,
                 wire::Welcome* refusal) {
  *refusal = wire::Welcome{};
  wire::Hello h;
  try {
    wire::Reader r(payload, n);
    h = wire::decode_hello(r);
  } catch (const wire::DecodeError& e) {
    refusal->status = wire::kWelcomeMalformed;
    refusal->message = std::string("malformed Hello: ") + e.what();
    return false;
  }
  if (h.major != wire::kProtocolMajor) {
    refusal->status = wire::kWelcomeBadVersion;
    refusal->message = "protocol version mismatch: the client speaks GVirtuS protocol " +
                       version_text(h.major, h.minor) + ", this backend speaks " +
                       version_text(wire::kProtocolMajor, wire::kProtocolMinor) +
                       "; use a client and a gvirtus-backend of the same release";
    return false;
  }
  // Structures (cudaDeviceProp, launch attributes, ...) travel as their bytes: a client built
  // for another CUDA major release would lay them out differently.
  if (h.cuda_version / 1000 != wire::kCudaVersion / 1000) {
    refusal->status = wire::kWelcomeCudaMismatch;
    refusal->message = "CUDA version mismatch: the client was built for CUDA " +
                       cuda_version_text(h.cuda_version) + ", this backend for CUDA " +
                       cuda_version_text(wire::kCudaVersion) +
                       "; CUDA structures differ between major releases: use a client and a "
                       "gvirtus-backend built for the same CUDA major release";
    return false;
  }
  for (const auto& p : h.plugins) {
    if (!reg.has_plugin(p)) {
      refusal->status = wire::kWelcomeUnknownPlugin;
      refusal->message = "this backend has no plugin \"" + printable(p, 64) +
                         "\" (it serves: " + join(reg.plugins()) + ")";
      return false;
    }
  }
  *hello = std::move(h);
  return true;
}

std::vector<uint8_t> welcome_frame(const wire::Welcome& w) {
  wire::Writer body;
  wire::encode_welcome(w, body);
  wire::FrameHeader h;
  h.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
  h.length = static_cast<uint32_t>(body.size());
  std::vector<uint8_t> out(wire::kHeaderSize + body.size());
  wire::encode_header(h, out.data());
  std::memcpy(out.data() + wire::kHeaderSize, body.data(), body.size());
  return out;
}

Status send_welcome(Stream& s, const wire::Welcome& w) {
  std::vector<uint8_t> f = welcome_frame(w);
  struct iovec iov = {f.data(), f.size()};
  return s.send(&iov, 1);
}

Status send_connection(int control_fd, int conn_fd, const std::string& peer,
                       const std::vector<uint8_t>& hello_payload, int aux_fd) {
  if (hello_payload.size() > wire::kMaxHelloPayload) return invalid("Hello too large to pass on");
  std::string p = peer.substr(0, kMaxPeerText);
  uint32_t plen = static_cast<uint32_t>(p.size());
  struct iovec iov[3] = {{&plen, sizeof plen},
                         {const_cast<char*>(p.data()), p.size()},
                         {const_cast<uint8_t*>(hello_payload.data()), hello_payload.size()}};
  const int nfds = aux_fd >= 0 ? 2 : 1;
  const int fds_out[2] = {conn_fd, aux_fd};
  if (send_with_fds(control_fd, iov, 3, fds_out, nfds) >= 0) return Status::ok();
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return Status(Code::kOverloaded, "the session's worker is not taking new connections");
  return disconnected(std::string("passing the connection to its worker: ") +
                      std::strerror(errno));
}

Status recv_connection(int control_fd, int* conn_fd, std::string* peer,
                       std::vector<uint8_t>* hello_payload, int* aux_fd) {
  std::vector<uint8_t> buf(kMaxControlMessage);
  std::vector<int> fds;
  int flags = 0;
  ssize_t n = recv_with_fds(control_fd, buf.data(), buf.size(), 0, &fds, &flags);
  if (n < 0) return disconnected(std::string("control socket: ") + std::strerror(errno));
  if (n == 0 && fds.empty()) return disconnected("the daemon closed the control socket");
  auto fail = [&](const std::string& why) {
    for (int fd : fds) ::close(fd);
    return protocol_error("control message: " + why);
  };
  if (flags & (MSG_TRUNC | MSG_CTRUNC)) return fail("truncated");
  if (fds.size() != 1 && !(aux_fd && fds.size() == 2))
    return fail(std::to_string(fds.size()) + " descriptors instead of 1");
  size_t len = static_cast<size_t>(n);
  uint32_t plen = 0;
  if (len < sizeof plen) return fail("too short");
  std::memcpy(&plen, buf.data(), sizeof plen);
  if (plen > kMaxPeerText || plen > len - sizeof plen) return fail("bad peer length");
  *conn_fd = fds[0];
  if (aux_fd) *aux_fd = fds.size() == 2 ? fds[1] : -1;
  peer->assign(reinterpret_cast<const char*>(buf.data()) + sizeof plen, plen);
  hello_payload->assign(buf.begin() + sizeof plen + plen, buf.begin() + len);
  return Status::ok();
}

}  // namespace gvirtus::backend
