// The gvirtus-backend daemon: listens, reads and checks each connection's Hello, starts a
// worker per client session (fork and exec, spawn.h) and passes later connections of a
// session to its worker. It is single-threaded and never calls CUDA (CUDA must not be initialised before fork).
// docs/backend.md describes its behaviour for operators.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/isolation_config.h"
#include "common/module_cache_config.h"
#include "common/status.h"
#include "common/tls.h"

namespace gvirtus::backend {

struct DaemonOptions {
  std::vector<Endpoint> listen;       // at least one
  int max_sessions = 0;               // live sessions at once; 0: no limit
  int ready_fd = -1;                  // gets "ready\n" and is closed once listening
  int handshake_timeout_ms = 10000;   // a connection must complete its Hello within this

  // Access (docs/security.md).
  std::string auth_key;               // the token; empty: no token authentication
  bool auth_everywhere = false;       // secure_application: every listener needs authentication
  bool insecure = false;              // --insecure: serve non-local listeners without it
  std::shared_ptr<TlsServerContext> tls;  // for tls:// listeners
  // Its files: an exec'd TLS relay (tls_relay.h) loads them itself.
  std::string tls_cert, tls_key, tls_client_ca;
  std::vector<uid_t> allowed_uids;    // Unix sockets: peers with these uids only
  gid_t unix_group = static_cast<gid_t>(-1);  // Unix socket files: 0660 and this group

  // Isolation (docs/security.md, "Isolation and quotas"; spawn.h, limits.h).
  std::string worker_exe;             // exec this in worker and relay mode; empty: fork only
  uid_t worker_uid = static_cast<uid_t>(-1);  // "worker_user"
  gid_t worker_gid = static_cast<gid_t>(-1);
  IsolationConfig isolation;          // limits by identity, worker rlimits
  bool clear_device_memory = false;   // workers zero new allocations (cudart/clearing.h)
  bool dumpable = false;              // "dumpable" (isolation_config.h), for workers and relays
  int receive_spin_us = 0;            // "receive_spin_us" (config.h), for workers and relays
  // Workers keep uploaded modules here (cudart/module_cache.h); an absolute path, or empty.
  ModuleCacheSettings module_cache;
  // Observability (docs/backend.md): the Prometheus endpoint, http://HOST:PORT; empty: none.
  std::string metrics_url;
};

// Whether connections on ep must authenticate (token proof or a verified client certificate):
// always with a token or secure_application; otherwise on listeners other hosts can reach,
// unless --insecure.
bool listener_needs_auth(const DaemonOptions& opt, const Endpoint& ep);

// Checks that every listener that needs authentication can get it (a token, or TLS with
// client certificates) and that tls:// listeners have a certificate. The error says what
// to configure.
Status check_access_policy(const DaemonOptions& opt);

// Runs until SIGTERM or SIGINT; returns the process exit code (0 after a clean shutdown, 1 if
// it could not listen).
int run_daemon(const DaemonOptions& opt);

}  // namespace gvirtus::backend
