// Configuration: command-line flag over environment over file.
//
// Files are JSON, either our form
//   {"endpoint": "tcp://gpu-host:9999", "log_level": "info", "listen": ["tcp://0.0.0.0:9999"]}
// or the original GVirtuS properties.json form
//   {"communicator": [{"endpoint": {"suite": "tcp/ip", "protocol": "tcp",
//                                   "server_address": "gpu-host", "port": "9999"}}], ...}
// Environment: GVIRTUS_ENDPOINT, GVIRTUS_CONFIG (a file), GVIRTUS_HOME (file
// $GVIRTUS_HOME/etc/properties.json), GVIRTUS_LOGLEVEL; for security (docs/security.md)
// GVIRTUS_TOKEN_FILE (both sides), GVIRTUS_TLS_CA, GVIRTUS_TLS_CLIENT_CERT and
// GVIRTUS_TLS_CLIENT_KEY (client).
//
// Security keys (paths relative to the config file's directory):
//   "token_file"        both: the shared secret for token authentication
//   "tls_cert", "tls_key", "tls_client_ca"   backend: certificate and key of tls:// listeners;
//                       with tls_client_ca, clients must present a certificate it signed
//   "tls_ca", "tls_client_cert", "tls_client_key"   client: the CA the backend's certificate
//                       must chain to; a client certificate for mutual TLS
//   "unix_socket_group" backend: Unix socket files get mode 0660 and this group (else 0600)
//   "allowed_uids"      backend: user ids (numbers or names) allowed on Unix sockets (default:
//                       the backend's own user and root)
//   "secure_application"  the original GVirtuS key: true requires authentication on every
//                       listener, Unix and loopback included; false changes nothing
//
// Isolation keys, backend (docs/security.md, "Isolation and quotas"; isolation_config.h):
//   "devices"           "0,2" or [0, 2]: the GPUs the workers see (CUDA_VISIBLE_DEVICES);
//                       --devices overrides it
//   "worker_user"       a user name: workers run as this user (and its group); the daemon
//                       must run as root for it
//   "worker_rlimits"    {"nofile": 4096, "as": ..., "core": 0, ...}: setrlimit in each worker
//                       (as, core, cpu, data, fsize, memlock, nofile, nproc, stack)
//   "limits"            {"default": {"sessions": 4, "connections": 64},
//                        "clients": {"token": {...}, "uid:1000": {...}, "host:10.0.0.5": {...}}}
//                       per client identity (backend/limits.h says which identity a client has)
//                       "sessions": live sessions at once; "connections": connections (client
//                       threads) of one session at once; "gpu_memory": bytes of GPU memory one
//                       session may hold; "upload_bytes": bytes one session's client may have
//                       sent that the worker has not used yet (>= 8 MiB)
//   "clear_device_memory"  true: zero device memory before a client gets it (default: true
//                       when a listener other hosts can reach is configured, else false)
//   "module_cache", "module_cache_bytes", "module_cache_shared"  backend: where workers keep
//                       uploaded modules (module_cache_config.h; docs/backend.md)
//
// Latency key, backend (docs/backend.md, "Waiting for requests"):
//   "receive_spin_us"   0-1000: how long a worker's connection thread, and a TLS relay, look
//                       for the next request without sleeping (default 30 where the daemon
//                       may use 2 CPUs or more, else 0)
#pragma once
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/isolation_config.h"
#include "common/module_cache_config.h"
#include "common/status.h"

namespace gvirtus {

struct Config {
  std::vector<std::string> endpoints;  // client: where to connect (first one used for now)
  std::vector<std::string> listen;     // backend: where to listen
  std::string log_level;               // empty: component default
  // backend: directories searched first for the real libraries of library plugins (cuBLAS,
  // cuDNN, ...), colon-separated ("library_path": a string or an array of strings)
  std::string library_path;
  std::string source;                  // where it came from, for messages ("GVIRTUS_ENDPOINT", a path)
  // Security (docs/security.md); empty: not set.
  std::string token_file;
  std::string tls_cert, tls_key, tls_client_ca;           // backend
  std::string tls_ca, tls_client_cert, tls_client_key;    // client
  std::string unix_socket_group;                          // backend
  bool allowed_uids_set = false;                          // backend
  std::vector<unsigned> allowed_uids;
  bool secure_application = false;                        // backend: auth on every listener
  IsolationConfig isolation;                              // backend
  ModuleCacheSettings module_cache;                       // backend (module_cache_config.h)
  int receive_spin_us = -1;                               // backend; -1: not set
};

// The most "receive_spin_us" may say, and what it is where it is not set (2 CPUs or more).
constexpr int kMaxReceiveSpinMicros = 1000;
constexpr int kDefaultReceiveSpinMicros = 30;

// Client side: how to authenticate and what to trust. Each setting: its environment
// variable, else the config file the environment names.
struct ClientSecurity {
  std::string token_file;  // empty: no token authentication
  std::string token_source;  // "GVIRTUS_TOKEN_FILE" or "config file PATH", for messages
  std::string tls_ca, tls_client_cert, tls_client_key;
};

// Parses a config file's text (either form). path is only used in messages.
Status parse_config_json(const std::string& text, const std::string& path, Config* out);
// Reads a file and parses it.
Status load_config_file(const std::string& path, Config* out);
// The config file named by the environment (GVIRTUS_CONFIG, then GVIRTUS_HOME/etc/properties.json);
// sets *found = false and returns ok if none is named or the GVIRTUS_HOME file does not exist.
Status load_config_from_env_file(Config* out, bool* found);
// Client side: the endpoint from GVIRTUS_ENDPOINT, else the config file from the environment.
// kInvalid with a clear message if nothing is configured or the text does not parse.
Status resolve_client_endpoint(Endpoint* out, std::string* source);
Status resolve_client_security(ClientSecurity* out);

}  // namespace gvirtus
