// The GVirtuS wire format: frame header, payload writer and reader, handshake messages.
// docs/protocol.md describes every byte; keep the two in step.
//
// All integers are little-endian. Hosts are little-endian (x86-64, aarch64); a static_assert
// below refuses to build elsewhere rather than silently send the wrong bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"

namespace gvirtus::wire {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "GVirtuS assumes a little-endian host");

constexpr uint32_t kFrameMagic = 0x31465647;  // "GVF1" as bytes on the wire
constexpr uint16_t kProtocolMajor = 3;         // a different major is refused
constexpr uint16_t kProtocolMinor = 11;        // a lower minor from the peer is accepted
constexpr uint16_t kLanedMinor = 6;  // the first minor whose servers accept kFlagLaned
// The first minor whose servers accept kFlagLaned on stream synchronisations too.
constexpr uint16_t kLanedSyncMinor = 8;
constexpr size_t kHeaderSize = 32;
// Largest payload either side accepts in one frame. Bulk copies are cut into chunks below this.
constexpr uint32_t kMaxPayload = 64u << 20;
// Bulk copies travel in chunks of this many bytes (docs/frontend.md, "Copies").
constexpr uint32_t kCopyChunk = 8u << 20;
// Handshake frames are small; anything bigger is refused before it is read.
constexpr uint32_t kMaxHelloPayload = 16u << 10;

enum class Kind : uint16_t {
  kHello = 1,    // client -> server, first frame on a connection
  kWelcome = 2,  // server -> client, answer to Hello
  kRequest = 3,  // client -> server, a call
  kReply = 4,    // server -> client, the answer to a request that wants one
  kGoodbye = 5,  // either way: the sender is closing; payload is a UTF-8 reason
  kOutput = 6,   // server -> client, before a Reply: bytes for the application's stdout or
                 // stderr (call_id: kOutputStdout or kOutputStderr)
  kAuthStart = 7,  // client -> server, before the Hello: the client's nonce (token auth)
  kChallenge = 8,  // server -> client, answer to AuthStart: server nonce and server proof
};

// The CUDA release both sides were built for, as CUDART_VERSION writes it (13000 for 13.0).
// Set by CMake from the toolkit found at build time.
#ifndef GVIRTUS_CUDART_VERSION
#error "GVIRTUS_CUDART_VERSION must be defined by the build"
#endif
constexpr uint32_t kCudaVersion = GVIRTUS_CUDART_VERSION;
// Token authentication: nonces and HMAC-SHA256 proofs (docs/protocol.md, "Authentication").
constexpr size_t kNonceSize = 32;
constexpr size_t kProofSize = 32;

// call_id of an Output frame: which of the application's streams its bytes are for. (0 was the
// only value before stderr was captured; it still means stdout.)
constexpr uint32_t kOutputStdout = 1;
constexpr uint32_t kOutputStderr = 2;

enum Flags : uint16_t {
  kFlagNoReply = 1u << 0,  // request: the server sends no Reply; a failure becomes deferred
  // reply: aux is the first failure of a NoReply request of this call's own library (a plugin
  // such as cuBLAS), not of the runtime; see docs/protocol.md, "Deferred failures"
  kFlagLibraryDeferred = 1u << 1,
  // request (protocol 3.6; stream synchronisations since 3.8): a laned launch; the payload
  // starts with its LaneDeps (kLaneDepsSize bytes), ordered after those two tickets only
  // (docs/protocol.md, "Lanes")
  kFlagLaned = 1u << 2,
  // request (protocol 3.11): the host bytes of this gvMemcpyH2DChunk came from pageable memory,
  // so the copy may return once they are staged, its DMA still running, as CUDA's copy from
  // pageable memory does (docs/frontend.md, call 2902); ignored on other calls
  kFlagPageableSource = 1u << 3,
};
// The first minor whose servers accept kFlagPageableSource (an older one ends the session).
constexpr uint16_t kPageableSourceMinor = 11;

// What a laned request waits for, as distances back from its own ticket T (so a dependency can
// only name an earlier ticket): lane_back, T minus the previous request of the same lane;
// global_back, T minus the last request before T that is not laned. 0: none. On the wire: the
// two as u32, little-endian, before the call's own payload.
struct LaneDeps {
  uint32_t lane_back = 0;
  uint32_t global_back = 0;
};
constexpr size_t kLaneDepsSize = 8;
inline void encode_lane_deps(const LaneDeps& d, uint8_t out[kLaneDepsSize]) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<uint8_t>(d.lane_back >> (8 * i));
    out[4 + i] = static_cast<uint8_t>(d.global_back >> (8 * i));
  }
}
inline LaneDeps decode_lane_deps(const uint8_t in[kLaneDepsSize]) {
  LaneDeps d;
  for (int i = 0; i < 4; ++i) {
    d.lane_back |= static_cast<uint32_t>(in[i]) << (8 * i);
    d.global_back |= static_cast<uint32_t>(in[4 + i]) << (8 * i);
  }
  return d;
}

struct FrameHeader {
  uint32_t magic = kFrameMagic;
  uint32_t length = 0;   // payload bytes after the header
  uint16_t kind = 0;     // Kind
  uint16_t flags = 0;    // Flags
  uint32_t call_id = 0;  // request: which call; reply: echoes the request's
  uint64_t request_id = 0;
  int32_t status = 0;  // reply: the call's result (library error code, 0 = success)
  int32_t aux = 0;     // reply: first failure of a NoReply request since the last reply, else 0
  // A request's status and aux hold its ticket instead (set_ticket / ticket): its place in
  // the session-wide order of requests, 0 for none (docs/protocol.md, "Tickets").
};

inline void set_ticket(FrameHeader* h, uint64_t t) {
  h->status = static_cast<int32_t>(static_cast<uint32_t>(t));
  h->aux = static_cast<int32_t>(static_cast<uint32_t>(t >> 32));
}
inline uint64_t ticket(const FrameHeader& h) {
  return static_cast<uint64_t>(static_cast<uint32_t>(h.status)) |
         static_cast<uint64_t>(static_cast<uint32_t>(h.aux)) << 32;
}

void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]);
// Checks magic, kind and length (against max_payload). Never trusts the peer.
Status decode_header(const uint8_t in[kHeaderSize], uint32_t max_payload, FrameHeader* h);

// Thrown by Reader when the payload is shorter than what it is asked to read, or a length
// inside it is over its bound. The server turns it into "end this session".
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends little-endian fields to a growable buffer.
class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "put() takes plain data");
    put_bytes(&v, sizeof(T));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  // u32 length, then the bytes (no terminator).
  void put_string(std::string_view s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    put_bytes(s.data(), s.size());
  }
  // u8 presence flag, then sizeof(T) bytes if present. For optional in/out pointers.
  template <typename T>
  void put_opt(const T* p) {
    put<uint8_t>(p != nullptr);
    if (p) put(*p);
  }
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }
  std::vector<uint8_t>& buffer() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

// Reads fields from an untrusted payload. Every read is bounds-checked; a short payload or an
// oversize length throws DecodeError.
class Reader {
 public:
  Reader(const void* p, size_t n) : p_(static_cast<const uint8_t*>(p)), n_(n) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>, "get() returns plain data");
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  // Returns a pointer to n bytes inside the payload (valid while the payload lives).
  const uint8_t* get_bytes(size_t n) { return take(n); }
  std::string get_string(size_t max_len);
  // Reads a presence flag (0: the application passed NULL, 1: it did not); anything else is a
  // DecodeError naming the value.
  bool get_flag() {
    const uint8_t present = get<uint8_t>();
    if (present > 1)
      throw DecodeError("presence flag is neither 0 nor 1: " + std::to_string(present));
    return present != 0;
  }
  // Reads a presence flag; if set, copies sizeof(T) bytes into *out and returns true.
  template <typename T>
  bool get_opt(T* out) {
    const bool present = get_flag();
    if (present) *out = get<T>();
    return present;
  }
  size_t remaining() const { return n_ - off_; }
  const uint8_t* rest() const { return p_ + off_; }
  // Throws unless everything was consumed: trailing bytes mean client and server disagree.
  void expect_end() const;

 private:
  const uint8_t* take(size_t n);
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
};

// Handshake. Hello is the payload of the first frame a client sends on a connection.
struct Hello {
  uint16_t major = kProtocolMajor;
  uint16_t minor = kProtocolMinor;
  uint8_t token[16] = {};  // random per client process; joins connections into one session
  // 1 on the process's first connection: the session lives as long as it. kHelloStatus (2): not
  // a client session but `gvirtus status`, answered by the daemon (docs/protocol.md, 3.1).
  uint8_t primary = 0;
  uint32_t pid = 0;
  uint64_t thread = 0;     // client thread id, for logs
  std::string hostname;    // <= 255 bytes
  std::string program;     // <= 4096 bytes
  std::vector<std::string> plugins;  // e.g. {"cudart"}; <= 64 entries of <= 64 bytes
  uint32_t cuda_version = kCudaVersion;  // CUDART_VERSION the client was built for
  // Token authentication: present after an AuthStart / Challenge exchange on this connection.
  bool has_proof = false;
  uint8_t proof[kProofSize] = {};
};

// Hello.primary of a status query (`gvirtus status`): the daemon answers it with a Welcome and
// one Reply of call kCallStatus, then closes; no session starts (docs/protocol.md).
constexpr uint8_t kHelloStatus = 2;
constexpr uint32_t kCallStatus = 10;

// AuthStart (client -> server): the client wants to authenticate with the shared token.
struct AuthStart {
  uint16_t major = kProtocolMajor;
  uint16_t minor = kProtocolMinor;
  uint8_t client_nonce[kNonceSize] = {};
};

// Challenge (server -> client): the server's nonce and, if it has a token, its proof.
struct Challenge {
  uint16_t major = kProtocolMajor;
  uint16_t minor = kProtocolMinor;
  uint8_t has_token = 0;  // 0: the server has no token (it cannot prove itself)
  uint8_t server_nonce[kNonceSize] = {};
  uint8_t server_proof[kProofSize] = {};  // zeros without a token
};

struct Welcome {
  uint16_t major = kProtocolMajor;
  uint16_t minor = kProtocolMinor;
  int32_t status = 0;  // 0 accepted; otherwise refused and the server closes the connection
  std::string message;  // <= 4096 bytes, why it was refused (or a greeting)
  uint32_t worker_pid = 0;
  uint64_t session_id = 0;
  uint64_t connection_id = 0;  // this connection's number in the session (0: the primary)
  uint32_t cuda_version = kCudaVersion;  // CUDART_VERSION the backend was built for
};

enum WelcomeStatus : int32_t {
  kWelcomeOk = 0,
  kWelcomeBadVersion = 1,
  kWelcomeUnknownPlugin = 2,
  kWelcomeBadSession = 3,  // secondary connection for a session that does not exist
  kWelcomeBusy = 4,
  kWelcomeMalformed = 5,
  kWelcomeUnauthorized = 6,  // no or wrong token proof, peer uid not allowed, TLS required
  kWelcomeCudaMismatch = 7,  // client and backend built for CUDA releases that disagree
};

void encode_hello(const Hello& h, Writer& w);
Hello decode_hello(Reader& r);  // throws DecodeError
void encode_welcome(const Welcome& m, Writer& w);
Welcome decode_welcome(Reader& r);  // throws DecodeError
void encode_auth_start(const AuthStart& a, Writer& w);
AuthStart decode_auth_start(Reader& r);  // throws DecodeError (a major mismatch stops early)
void encode_challenge(const Challenge& c, Writer& w);
Challenge decode_challenge(Reader& r);  // throws DecodeError (a major mismatch stops early)

}  // namespace gvirtus::wire
