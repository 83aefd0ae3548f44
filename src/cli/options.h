// Command line of the `gvirtus` command: which subcommand, its options, the program to run.
#pragma once
#include <string>
#include <vector>

#include "common/status.h"

namespace gvirtus::cli {

enum class Command { kRun, kEnv, kStatus, kHelp, kVersion };

struct Options {
  Command command = Command::kHelp;
  std::string endpoint;   // --endpoint: where the backend is ("" = not given)
  std::string config;     // --config: a config file ("" = not given)
  std::string log_level;  // --log-level: for the program's client library and a private backend
  std::string transport = "shm";  // --transport: how the program reaches a private backend
  std::vector<std::string> program;  // run: the program and its arguments
};

// Parses the arguments after argv[0]. kInvalid with a message fit for the user on a mistake.
// `run` options end at "--" or at the first argument that is not an option, so both
// `gvirtus run -- ./app -x` and `gvirtus run ./app -x` pass -x to the program.
Status parse_args(const std::vector<std::string>& args, Options* out);

// The text of `gvirtus help`.
std::string usage();

}  // namespace gvirtus::cli
