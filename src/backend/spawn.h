// Workers as fresh process images. The daemon forks and, in the child, execs gvirtus-backend
// in worker mode ("--worker"): the worker holds nothing of the daemon's memory (other
// sessions' tokens, the authentication token, the TLS key). What it needs arrives as
// descriptors it inherits and a few plain numbers in argv; nothing secret is in argv or the
// environment. docs/backend.md, "Workers".
//
// The contract between the daemon and a worker (one definition, both sides here):
//   argv:  EXE --worker --control-fd N --session ID [--max-connections N] [--identity TEXT]
//          [--gpu-memory BYTES] [--upload-bytes BYTES]
//          [--log-level LEVEL] [--clear-memory 1] [--fd NAME=N]...
//          [--module-cache DIR --module-cache-bytes N [--module-cache-shared 1]]
//   fd N:  the control socket (SOCK_SEQPACKET); its first message is the session's primary
//          connection (descriptor, peer text, Hello payload; send_connection in handshake.h),
//          later ones its secondary connections, as for a forked worker.
//   --fd NAME=N: further descriptors the worker inherits for a purpose named NAME (e.g. a
//          counter block); worker_fd() finds them. Unknown names are ignored by the worker.
// Every other descriptor the worker inherits is one the daemon inherited without CLOEXEC
// (the dynamic loader's LD_DEBUG_OUTPUT file, a sanitizer's log): exec keeps those.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backend/worker.h"
#include "common/log.h"

namespace gvirtus::backend {

struct SpawnSpec {
  std::string exe;                       // the gvirtus-backend to exec ("/proc/self/exe")
  int control_fd = -1;                   // the worker's end of the control socket
  uint64_t session_id = 0;
  int64_t max_connections = -1;          // -1: no limit
  std::string identity;                  // for the worker's messages
  bool clear_memory = false;             // zero new device allocations
  bool dumpable = false;                 // --dumpable 1: "dumpable" (isolation_config.h)
  int receive_spin_us = 0;               // --receive-spin-us N: "receive_spin_us" (config.h)
  int64_t gpu_memory_limit = -1;         // --gpu-memory N: the session's GPU memory; -1: none
  int64_t upload_limit = -1;             // --upload-bytes N: pending upload bytes; -1: none
  std::string module_cache_dir;          // empty: no module cache
  uint64_t module_cache_bytes = 0;
  bool module_cache_shared = false;
  std::vector<std::pair<std::string, int>> extra_fds;  // --fd NAME=N, inherited
  std::vector<std::string> unset_env;    // removed from the worker's environment
  uid_t uid = static_cast<uid_t>(-1);    // run as this user and group (the daemon is root)
  gid_t gid = static_cast<gid_t>(-1);
  std::vector<std::pair<int, uint64_t>> rlimits;  // setrlimit(resource, value) before exec
  std::function<void()> in_child;        // runs in the child right after fork (closes fds)
};

// Makes this process non-dumpable (prctl PR_SET_DUMPABLE 0) unless `dumpable`: processes of
// the same user can then no longer trace it or read its memory (/proc/PID/mem,
// process_vm_readv), and it leaves no core file. The daemon calls it once its configuration is
// read, a worker and a TLS relay first thing (exec makes a process dumpable again). A failure
// is logged.
void set_dumpable(bool dumpable);

// A "0" / "1" argument of a worker or relay (--clear-memory, --dumpable, ...): false if it is
// neither.
bool parse_switch(const char* v, bool* on);
// A decimal argument of a worker or relay, 0 to max (--session, --receive-spin-us, ...): false
// for anything else (a sign, a space, no digits, more than max).
bool parse_u64(const char* text, uint64_t max, uint64_t* out);

// Forks and execs a worker. The parent learns of a failed exec (or setuid, setrlimit) at once:
// returns -1 and *error. The caller blocks signals around it as for fork.
pid_t spawn_worker(const SpawnSpec& spec, std::string* error);

// Any fresh image of the backend (a worker, a TLS relay: tls_relay.h): argv as given, the
// descriptors in `inherit` kept across exec, the rest as for spawn_worker. `what` names it in
// *error ("a worker", "a TLS relay").
struct ExecSpec {
  std::vector<std::string> args;         // args[0]: the file to exec
  std::vector<int> inherit;
  std::vector<std::string> unset_env;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::vector<std::pair<int, uint64_t>> rlimits;
  std::function<void()> in_child;
  std::string what = "a worker";
};
pid_t spawn_exec(const ExecSpec& spec, std::string* error);

// The --log-level value that gives a fresh image this process's level.
const char* level_name(log::Level l);

// Worker mode: argv after "--worker"; returns only on a bad command line (exit code 2).
int worker_main(int argc, char** argv);

// A descriptor passed with --fd NAME=N, or -1 (worker side; valid once worker_main started).
int worker_fd(const std::string& name);

}  // namespace gvirtus::backend
