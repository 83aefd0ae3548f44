// The `gvirtus` command. See `gvirtus help` and docs/usage.md.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/run.h"
#include "cli/status.h"
#include "common/wire.h"

using namespace gvirtus;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cli::Options o;
  Status s = cli::parse_args(args, &o);
  if (!s) {
    if (args.empty())
      std::fputs(cli::usage().c_str(), stderr);
    else
      std::fprintf(stderr, "gvirtus: %s\nRun `gvirtus help` for usage.\n", s.message().c_str());
    return cli::kExitUsage;
  }
  switch (o.command) {
    case cli::Command::kHelp:
      std::fputs(cli::usage().c_str(), stdout);
      return 0;
    case cli::Command::kVersion:
      std::printf("gvirtus %s (wire protocol %u.%u, built with CUDA %s)\n", GVIRTUS_VERSION,
                  unsigned{wire::kProtocolMajor}, unsigned{wire::kProtocolMinor}, GVIRTUS_CUDA_VERSION);
      return 0;
    case cli::Command::kStatus:
      return cli::status_command(o);
    case cli::Command::kRun:
    case cli::Command::kEnv:
      break;
  }
  cli::Install in;
  s = cli::locate_install(&in);
  if (!s) {
    std::fprintf(stderr, "gvirtus: %s\n", s.message().c_str());
    return cli::kExitSetupFailed;
  }
  if (o.command == cli::Command::kRun) return cli::run_command(o, in);
  std::string text;
  s = cli::env_text(o, in, &text);
  if (!s) {
    std::fprintf(stderr, "gvirtus: %s\n", s.message().c_str());
    return cli::kExitSetupFailed;
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}
