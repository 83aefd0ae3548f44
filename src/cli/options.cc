#include "cli/options.h"

#include "common/log.h"

namespace gvirtus::cli {
namespace {

// Matches "--name VALUE", "--name=VALUE" and the short form "-s VALUE". Advances *i past the
// value. Returns false if args[*i] is not this option.
bool take_value(const std::vector<std::string>& args, size_t* i, const std::string& name,
                const char* short_name, std::string* value, Status* error) {
  const std::string& a = args[*i];
  if (a.rfind(name + "=", 0) == 0) {
    *value = a.substr(name.size() + 1);
  } else if (a == name || (short_name && a == short_name)) {
    if (*i + 1 >= args.size()) {
      *error = invalid(a + " needs a value");
      return true;
    }
    *value = args[++*i];
  } else {
    return false;
  }
  if (value->empty()) *error = invalid(name + " needs a non-empty value");
  return true;
}

}  // namespace

Status parse_args(const std::vector<std::string>& args, Options* out) {
  Options o;
  if (args.empty()) {
    *out = o;
    return invalid("no command given");
  }
  const std::string& cmd = args[0];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    o.command = Command::kHelp;
  } else if (cmd == "version" || cmd == "--version" || cmd == "-V") {
    o.command = Command::kVersion;
  } else if (cmd == "run") {
    o.command = Command::kRun;
  } else if (cmd == "env") {
    o.command = Command::kEnv;
  } else if (cmd == "status") {
    o.command = Command::kStatus;
  } else {
    return invalid("unknown command \"" + cmd + "\"");
  }
  if (o.command == Command::kHelp || o.command == Command::kVersion) {
    if (args.size() > 1) return invalid("\"" + cmd + "\" takes no arguments");
    *out = o;
    return Status::ok();
  }
  size_t i = 1;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') break;  // the program starts here
    if (a == "-h" || a == "--help") {
      o.command = Command::kHelp;
      *out = o;
      return Status::ok();
    }
    Status err;
    if (take_value(args, &i, "--endpoint", "-e", &o.endpoint, &err) ||
        take_value(args, &i, "--config", "-c", &o.config, &err) ||
        take_value(args, &i, "--log-level", nullptr, &o.log_level, &err) ||
        take_value(args, &i, "--transport", nullptr, &o.transport, &err)) {
      if (!err) return invalid("gvirtus " + cmd + ": " + err.message());
      continue;
    }
    return invalid("gvirtus " + cmd + ": unknown option " + a);
  }
  log::Level level;
  if (!o.log_level.empty() && !log::parse_level(o.log_level, &level))
    return invalid("--log-level " + o.log_level +
                   ": expected trace, debug, info, warn, error, off or 0..6");
  if (o.transport != "shm" && o.transport != "unix")
    return invalid("--transport " + o.transport + ": expected shm or unix");
  o.program.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (o.command == Command::kRun && o.program.empty())
    return invalid("gvirtus run: no program given (gvirtus run [options] -- PROGRAM [ARGS...])");
  if ((o.command == Command::kEnv || o.command == Command::kStatus) && !o.program.empty())
    return invalid("gvirtus " + cmd + ": unexpected argument " + o.program[0]);
  *out = o;
  return Status::ok();
}

std::string usage() {
  return R"(usage: gvirtus COMMAND [OPTIONS]

Runs unmodified CUDA programs (the CUDA runtime shared or linked in) on a GPU behind
a gvirtus-backend, local or remote.

commands:
  run [OPTIONS] [--] PROGRAM [ARGS...]
        Run PROGRAM with the GVirtuS CUDA runtime in place of NVIDIA's. Its exit
        status is the program's (128+N if signal N ended it).
  env [OPTIONS]
        Print, as shell assignments, the environment `run` gives the program.
  status [OPTIONS]
        List the backend's live sessions: client, identity, start time, calls,
        bytes each way, connections, libraries loaded, GPU memory.
  help  This text.
  version
        The version of gvirtus and of its wire protocol.

options (run, env, status):
  -e, --endpoint EP    the backend: tcp://HOST:PORT, unix:/PATH or shm:/PATH
  -c, --config FILE    a config file (JSON; ours or the original properties.json)
      --log-level L    trace, debug, info, warn, error or off (client and private backend)
      --transport T    how the program reaches a private backend: shm (shared memory,
                       the default) or unix (a Unix socket)

Where the backend is, first match wins: --endpoint; the --config file; GVIRTUS_ENDPOINT;
the file named by GVIRTUS_CONFIG; $GVIRTUS_HOME/etc/properties.json. If none names an
endpoint, `run` starts a private gvirtus-backend on shared memory (--transport) for this one program and
stops it when the program ends.

exit status of gvirtus itself: 2 usage error, 125 set-up failed (config, private backend),
126 program not executable, 127 program not found.
)";
}

}  // namespace gvirtus::cli
