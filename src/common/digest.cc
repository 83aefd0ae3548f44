#include "common/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace gvirtus {

Digest sha256(const void* data, size_t size) {
  Digest d{};
  unsigned int n = 0;
  // EVP_Digest cannot fail for SHA-256 short of an OpenSSL that is not there; a zero digest
  // would name nothing, so stop rather than risk two images under one name.
  if (!EVP_Digest(data, size, d.data(), &n, EVP_sha256(), nullptr) || n != d.size()) std::abort();
  return d;
}

std::string hex(const Digest& d) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(2 * d.size(), '0');
  for (size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kDigits[d[i] >> 4];
    s[2 * i + 1] = kDigits[d[i] & 15];
  }
  return s;
}

}  // namespace gvirtus
