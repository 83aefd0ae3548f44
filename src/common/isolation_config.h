// The backend's isolation and quota settings from the config file (docs/security.md,
// "Isolation and quotas"); config.h lists the keys. Parsed here, applied by the daemon
// (src/backend/limits.h, src/backend/spawn.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gvirtus {

// Limits of one client identity. -1: not set here (the default's value, else no limit).
struct ClientLimits {
  int64_t sessions = -1;     // live sessions of this identity at once
  int64_t connections = -1;  // connections (client threads) of one session at once
  int64_t gpu_memory = -1;   // bytes of GPU memory one session may hold (memory_quota.h)
  int64_t upload_bytes = -1; // bytes received from the client, not yet used (upload_quota.h)
};

// "upload_bytes" below this is refused: one copy chunk (wire::kCopyChunk, 8 MiB) must fit.
constexpr int64_t kMinUploadBytes = int64_t{8} << 20;

struct IsolationConfig {
  std::string devices;                        // "0,2": CUDA_VISIBLE_DEVICES of the workers
  std::string worker_user;                    // run workers as this user (daemon run as root)
  std::vector<std::pair<int, uint64_t>> rlimits;  // (RLIMIT_*, value) set in each worker
  ClientLimits default_limits;
  std::map<std::string, ClientLimits> limits;  // by identity (see limits.h)
  int clear_device_memory = -1;  // "clear_device_memory": 1 or 0; -1: not set (the default)
  // "dumpable": the daemon, its workers and TLS relays may be traced and dumped by their user
  // (core files, gdb, /proc/PID/mem). Off by default: each one makes itself non-dumpable
  // (prctl PR_SET_DUMPABLE 0), so one worker cannot read another's memory, keys or data.
  bool dumpable = false;
};

// Checks a device list ("0,2", "1"): comma-separated distinct GPU ordinals 0-1023.
Status check_device_list(const std::string& text);

// Parses "devices", "worker_user", "worker_rlimits", "limits", "clear_device_memory" and
// "dumpable" of a parsed config document (a nlohmann::json object, passed as void* to keep
// JSON out of this header). where: the file, for messages.
Status read_isolation_config(const void* json_doc, const std::string& where,
                             IsolationConfig* out);

// A whole number from 0 to `max` under `key` of such a document (the limits' counts, and
// config.cc's "receive_spin_us"): *out stays as it is when the key is absent; anything else
// (a sign, a fraction, a string, more than max) is refused, naming the key.
Status read_config_count(const void* json_doc, const char* key, const std::string& where,
                         int64_t* out, unsigned long long max);

}  // namespace gvirtus
