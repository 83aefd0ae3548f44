// Configuration: command-line flag over environment over file.
//
// Files are JSON, either our form
//   {"endpoint": "tcp://gpu-host:9999", "log_level": "info", "listen": ["tcp://0.0.0.0:9999"]}
// or the original GVirtuS properties.json form
//   {"communicator": [{"endpoint": {"suite": "tcp/ip", "protocol": "tcp",
//                                   "server_address": "gpu-host", "port": "9999"}}], ...}
// Environment: GVIRTUS_ENDPOINT, GVIRTUS_CONFIG (a file), GVIRTUS_HOME (file
// $GVIRTUS_HOME/etc/properties.json), GVIRTUS_LOGLEVEL.
#pragma once
#include <string>
#include <vector>

#include "common/endpoint.h"
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

}  // namespace gvirtus
