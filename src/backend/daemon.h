// The gvirtus-backend daemon: listens, reads and checks each connection's Hello, forks a
// worker per client session and passes later connections of a session to its worker. It is
// single-threaded and never calls CUDA (CUDA must not be initialised before fork).
// docs/backend.md describes its behaviour for operators.
#pragma once
#include <vector>

#include "common/endpoint.h"

namespace gvirtus::backend {

struct DaemonOptions {
  std::vector<Endpoint> listen;       // at least one
  int max_sessions = 0;               // live sessions at once; 0: no limit
  int ready_fd = -1;                  // gets "ready\n" and is closed once listening
  int handshake_timeout_ms = 10000;   // a connection must complete its Hello within this
};

// Runs until SIGTERM or SIGINT; returns the process exit code (0 after a clean shutdown, 1 if
// it could not listen).
int run_daemon(const DaemonOptions& opt);

}  // namespace gvirtus::backend
