// The private backend of `gvirtus run` when no endpoint is configured: a gvirtus-backend
// listening on a Unix socket in a fresh private directory, for one program.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace gvirtus::cli {

class EmbeddedBackend {
 public:
  // Starts `backend --listen T:DIR/backend.sock --ready-fd N [--log-level L]` (T: "shm" or
  // "unix", the private backend's transport) and waits until
  // it writes "ready\n" to fd N. The backend gets this process's environment unchanged (none of
  // the program's LD_PRELOAD / LD_LIBRARY_PATH), its own process group (a Ctrl-C meant for the
  // program does not stop it under the program's feet) and SIGTERM if this process dies.
  // Fails with a clear message if it exits first or says nothing within timeout_ms.
  static Status start(const std::string& backend, const std::string& log_level, int timeout_ms,
                      std::unique_ptr<EmbeddedBackend>* out,
                      const std::string& transport = "shm");
  ~EmbeddedBackend();  // stop()
  EmbeddedBackend(const EmbeddedBackend&) = delete;
  EmbeddedBackend& operator=(const EmbeddedBackend&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then SIGKILL if it has not exited after a grace period; removes the directory.
  // Fails (with the reason) if the backend did not exit cleanly. Idempotent.
  Status stop();

 private:
  EmbeddedBackend() = default;
  void remove_dir();
  pid_t pid_ = -1;
  std::string dir_;
  std::string endpoint_;
};

// "exited with status N" / "was killed by signal N (SIGTERM)", from a waitpid status.
std::string describe_wait_status(int status);

}  // namespace gvirtus::cli
