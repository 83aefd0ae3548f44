// Token authentication: the shared secret (a token file), nonces and the HMAC-SHA256 proofs
// exchanged in the handshake (docs/protocol.md, "Authentication"; docs/security.md).
//
//   client -> AuthStart(client nonce)
//   server -> Challenge(server nonce, server proof = HMAC(K, "GVirtuS server proof v2" | cn | sn))
//   client    checks the server proof, then
//   client -> Hello(..., client proof = HMAC(K, "GVirtuS client proof v2" | sn | cn))
//
// Both nonces are fresh random 32 bytes per connection, so a recorded exchange replayed to
// either side fails; the two labels differ, so one side's proof is never valid for the other.
// The token never travels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "common/wire.h"

namespace gvirtus::auth {

constexpr size_t kMinTokenBytes = 16;
constexpr size_t kMaxTokenBytes = 4096;

// Reads a token file: its bytes with trailing whitespace (a final newline) removed. Refused:
// unreadable, shorter than kMinTokenBytes, longer than kMaxTokenBytes, or readable or writable
// by group or others (chmod 600). `what` names where the path came from, for messages.
Status load_token_file(const std::string& path, const std::string& what, std::string* key);

// Fills buf with bytes from the system's random source; false if it failed.
bool random_bytes(uint8_t* buf, size_t n);

void server_proof(const std::string& key, const uint8_t client_nonce[wire::kNonceSize],
                  const uint8_t server_nonce[wire::kNonceSize], uint8_t out[wire::kProofSize]);
void client_proof(const std::string& key, const uint8_t server_nonce[wire::kNonceSize],
                  const uint8_t client_nonce[wire::kNonceSize], uint8_t out[wire::kProofSize]);
// Constant-time comparison of two proofs.
bool proof_equal(const uint8_t a[wire::kProofSize], const uint8_t b[wire::kProofSize]);

}  // namespace gvirtus::auth
