// `gvirtus status`: asks a backend for its live sessions and prints them (docs/usage.md).
#pragma once
#include <string>

#include "cli/options.h"
#include "common/session_status.h"
#include "common/status.h"

namespace gvirtus::cli {

// Connects where a client of this process would (GVIRTUS_ENDPOINT, the config; the caller sets
// those from --endpoint and --config), with the same token and TLS settings, and fetches the
// backend's status. Waits at most timeout_ms in all.
Status fetch_status(BackendStatus* out, std::string* where, int timeout_ms = 10000);

// The table `gvirtus status` prints.
std::string format_status(const BackendStatus& s, const std::string& where);

// The whole command; returns its exit status (0, or 1 if the backend could not be asked).
int status_command(const Options& o);

}  // namespace gvirtus::cli
