// `gvirtus run` and `gvirtus env`.
#pragma once
#include <string>

#include "cli/options.h"
#include "common/status.h"

namespace gvirtus::cli {

// Exit statuses of gvirtus itself (as env(1) and timeout(1) use them).
constexpr int kExitUsage = 2;
constexpr int kExitSetupFailed = 125;
constexpr int kExitNotExecutable = 126;
constexpr int kExitNotFound = 127;

// Where this installation's pieces are.
struct Install {
  std::string frontend_dir;  // holds libcudart.so.13
  std::string backend;       // gvirtus-backend, for the embedded default
  int ready_timeout_ms = 30000;
};

// The installation the running gvirtus belongs to: BIN/gvirtus-backend and the frontend
// directory found from BIN (see find_frontend_dir).
Status locate_install(Install* out);

// Runs o.program through GVirtuS and returns its exit status (128+N if signal N ended it).
// Starts and stops a private backend if no endpoint is configured. SIGINT, SIGTERM, SIGHUP and
// SIGQUIT sent to gvirtus by another process are passed on to the program (those a terminal
// sends reach the program's process group anyway). Errors of its own go to stderr.
int run_command(const Options& o, const Install& in);

// The shell assignments (`export NAME='value'`) that `run` would add to the environment.
Status env_text(const Options& o, const Install& in, std::string* out);

}  // namespace gvirtus::cli
