#include "common/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gvirtus::auth {
namespace {

void proof(const std::string& key, const char* label, const uint8_t* a, const uint8_t* b,
           uint8_t out[wire::kProofSize]) {
  uint8_t msg[64 + 2 * wire::kNonceSize];
  size_t llen = std::strlen(label);
  std::memcpy(msg, label, llen);
  std::memcpy(msg + llen, a, wire::kNonceSize);
  std::memcpy(msg + llen + wire::kNonceSize, b, wire::kNonceSize);
  unsigned int outlen = wire::kProofSize;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg,
            llen + 2 * wire::kNonceSize, out, &outlen))
    std::memset(out, 0, wire::kProofSize);  // never equal to a real proof by chance
}

}  // namespace

Status load_token_file(const std::string& path, const std::string& what, std::string* key) {
  const std::string where = what + " " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return invalid("cannot read the token file (" + where + "): " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid("the token file (" + where + ") is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return invalid("the token file (" + where + ") can be read or written by other users " +
                   "(mode " + std::to_string((st.st_mode >> 6) & 7) +
                   std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                   "): make it private with chmod 600");
  }
  std::string text;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return invalid("cannot read the token file (" + where + "): " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxTokenBytes + 64) break;
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t'))
    text.pop_back();
  if (text.size() < kMinTokenBytes)
    return invalid("the token file (" + where + ") holds " + std::to_string(text.size()) +
                   " bytes; a token needs at least " + std::to_string(kMinTokenBytes) +
                   " (e.g. openssl rand -hex 32 > FILE)");
  if (text.size() > kMaxTokenBytes)
    return invalid("the token file (" + where + ") is longer than " +
                   std::to_string(kMaxTokenBytes) + " bytes");
  *key = std::move(text);
  return Status::ok();
}

bool random_bytes(uint8_t* buf, size_t n) {
  return RAND_bytes(buf, static_cast<int>(n)) == 1;
}

void server_proof(const std::string& key, const uint8_t client_nonce[wire::kNonceSize],
                  const uint8_t server_nonce[wire::kNonceSize], uint8_t out[wire::kProofSize]) {
  proof(key, "GVirtuS server proof v2", client_nonce, server_nonce, out);
}

void client_proof(const std::string& key, const uint8_t server_nonce[wire::kNonceSize],
                  const uint8_t client_nonce[wire::kNonceSize], uint8_t out[wire::kProofSize]) {
  proof(key, "GVirtuS client proof v2", server_nonce, client_nonce, out);
}

bool proof_equal(const uint8_t a[wire::kProofSize], const uint8_t b[wire::kProofSize]) {
  return CRYPTO_memcmp(a, b, wire::kProofSize) == 0;
}

}  // namespace gvirtus::auth
