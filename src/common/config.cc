// Configuration files and the client's endpoint resolution (see config.h for the forms).
#include "common/config.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace gvirtus {
namespace {

using json = nlohmann::json;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// "line L, column C" for a byte offset into text (nlohmann reports bytes read so far).
std::string position_of(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// Checks an endpoint text and returns it unchanged, or an error naming where it came from.
Status check_endpoint(const std::string& text, const std::string& where, std::string* out) {
  Endpoint ep;
  Status s = parse_endpoint(text, &ep);
  if (!s) return invalid(where + ": bad endpoint \"" + text + "\": " + s.message());
  *out = text;
  return Status::ok();
}

// A string or an array of strings under key, each a valid endpoint.
Status read_endpoint_list(const json& doc, const char* key, const std::string& path,
                          std::vector<std::string>* out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::ok();
  const std::string where = path + ": \"" + key + "\"";
  std::vector<const json*> items;
  if (it->is_string()) {
    items.push_back(&*it);
  } else if (it->is_array()) {
    for (const json& e : *it) items.push_back(&e);
  } else {
    return invalid(where + " must be a string or an array of strings");
  }
  for (const json* e : items) {
    if (!e->is_string()) return invalid(where + " must be a string or an array of strings");
    std::string ep;
    Status s = check_endpoint(e->get<std::string>(), where, &ep);
    if (!s) return s;
    out->push_back(ep);
  }
  return Status::ok();
}

// A port given as a number or a string of digits, 1..65535.
Status read_port(const json& v, const std::string& where, int* port) {
  long long n = -1;
  if (v.is_number_integer()) {
    n = v.get<long long>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
      return invalid(where + ": port \"" + s + "\" is not a number");
    n = std::stoll(s);
  } else {
    return invalid(where + ": port must be a number or a string of digits");
  }
  if (n < 1 || n > 65535) return invalid(where + ": port " + std::to_string(n) + " is out of range 1-65535");
  *port = static_cast<int>(n);
  return Status::ok();
}

std::string get_string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

// One communicator[i].endpoint object of the original GVirtuS properties.json.
//   tcp:  {"suite": "tcp/ip", "protocol": "tcp" | "oldtcp", "server_address": A, "port": P}
//   tls:  {"protocol": "tls", "server_address": A, "port": P}  (our addition: TLS 1.3)
//   unix: {"protocol": "unix", "path": "/run/gvirtus.sock"}  (our addition)
//   shm:  {"protocol": "shm", "path": "/run/gvirtus.shm"}  (our addition: shared memory)
Status read_communicator_endpoint(const json& ep, const std::string& where, std::string* out) {
  if (!ep.is_object()) return invalid(where + " must be an object");
  std::string suite = get_string_field(ep, "suite");
  std::string protocol = get_string_field(ep, "protocol");
  if (protocol.empty()) protocol = suite;
  if (protocol.empty()) return invalid(where + ": no \"protocol\" or \"suite\"");
  if (protocol == "tcp" || protocol == "oldtcp" || protocol == "tcp/ip" || protocol == "tls") {
    if (!suite.empty() && suite != "tcp/ip")
      return invalid(where + ": suite \"" + suite + "\" does not match protocol \"" + protocol + "\"");
    std::string addr = get_string_field(ep, "server_address");
    if (addr.empty()) return invalid(where + ": \"server_address\" is missing or not a string");
    auto port_it = ep.find("port");
    if (port_it == ep.end()) return invalid(where + ": \"port\" is missing");
    int port = 0;
    Status s = read_port(*port_it, where, &port);
    if (!s) return s;
    // A bare IPv6 address needs brackets in our endpoint form.
    if (addr.find(':') != std::string::npos && addr.front() != '[') addr = "[" + addr + "]";
    const char* scheme = protocol == "tls" ? "tls://" : "tcp://";
    return check_endpoint(scheme + addr + ":" + std::to_string(port), where, out);
  }
  if (protocol == "unix" || protocol == "shm") {
    std::string path = get_string_field(ep, "path");
    if (path.empty()) return invalid(where + ": a " + protocol + " endpoint needs \"path\"");
    return check_endpoint(protocol + ":" + path, where, out);
  }
  return invalid(where + ": protocol \"" + protocol +
                 "\" is not supported (supported: tcp, oldtcp, tcp/ip, tls, unix, shm)");
}

Status read_communicators(const json& doc, const std::string& path, Config* out) {
  auto it = doc.find("communicator");
  if (it == doc.end()) return Status::ok();
  if (!it->is_array()) return invalid(path + ": \"communicator\" must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = path + ": communicator[" + std::to_string(i) + "]";
    const json& c = (*it)[i];
    if (!c.is_object() || !c.contains("endpoint"))
      return invalid(where + " must be an object with an \"endpoint\"");
    std::string ep;
    Status s = read_communicator_endpoint(c["endpoint"], where + ".endpoint", &ep);
    if (!s) return s;
    // The original form names one address for both sides: the backend listens on it and
    // clients connect to it.
    out->endpoints.push_back(ep);
    out->listen.push_back(ep);
  }
  return Status::ok();
}

Status read_log_level(const json& doc, const std::string& path, std::string* out) {
  auto it = doc.find("log_level");
  if (it == doc.end()) return Status::ok();
  std::string text;
  if (it->is_string()) {
    text = it->get<std::string>();
  } else if (it->is_number_integer()) {
    text = std::to_string(it->get<long long>());
  } else {
    return invalid(path + ": \"log_level\" must be a string or a number");
  }
  log::Level level;
  if (!log::parse_level(text, &level))
    return invalid(path + ": \"log_level\" \"" + text +
                   "\" is not one of trace, debug, info, warn, error, off or 0..6");
  *out = text;
  return Status::ok();
}

// A path under key, made absolute against the config file's directory.
Status read_path(const json& doc, const char* key, const std::string& path,
                 const std::string& where, std::string* out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::ok();
  if (!it->is_string() || it->get<std::string>().empty())
    return invalid(where + ": \"" + key + "\" must be a non-empty string (a file path)");
  std::string v = it->get<std::string>();
  if (v[0] != '/') {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) v = path.substr(0, slash + 1) + v;
  }
  *out = v;
  return Status::ok();
}

Status read_security(const json& doc, const std::string& path, const std::string& where,
                     Config* c) {
  struct {
    const char* key;
    std::string* out;
  } paths[] = {{"token_file", &c->token_file},       {"tls_cert", &c->tls_cert},
               {"tls_key", &c->tls_key},             {"tls_client_ca", &c->tls_client_ca},
               {"tls_ca", &c->tls_ca},               {"tls_client_cert", &c->tls_client_cert},
               {"tls_client_key", &c->tls_client_key}};
  for (auto& p : paths) {
    Status s = read_path(doc, p.key, path, where, p.out);
    if (!s) return s;
  }
  auto g = doc.find("unix_socket_group");
  if (g != doc.end()) {
    if (!g->is_string() || g->get<std::string>().empty())
      return invalid(where + ": \"unix_socket_group\" must be a group name");
    c->unix_socket_group = g->get<std::string>();
  }
  auto u = doc.find("allowed_uids");
  if (u != doc.end()) {
    if (!u->is_array())
      return invalid(where + ": \"allowed_uids\" must be an array of user ids or names");
    c->allowed_uids_set = true;
    for (const json& e : *u) {
      if (e.is_number_unsigned() && e.get<unsigned long long>() <= 0xfffffffeull) {
        c->allowed_uids.push_back(static_cast<unsigned>(e.get<unsigned long long>()));
      } else if (e.is_string()) {
        struct passwd* pw = ::getpwnam(e.get<std::string>().c_str());
        if (!pw)
          return invalid(where + ": \"allowed_uids\": no user named \"" + e.get<std::string>() + "\"");
        c->allowed_uids.push_back(pw->pw_uid);
      } else {
        return invalid(where + ": \"allowed_uids\" must hold user ids (numbers) or names");
      }
    }
  }
  auto sa = doc.find("secure_application");
  if (sa != doc.end()) {
    if (!sa->is_boolean())
      return invalid(where + ": \"secure_application\" must be true or false (true: every "
                     "listener requires authentication, see docs/security.md)");
    c->secure_application = sa->get<bool>();
  }
  return Status::ok();
}

}  // namespace

Status parse_config_json(const std::string& text, const std::string& path, Config* out) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid("config file " + path + " is not valid JSON (" + position_of(text, e.byte) + ")");
  }
  if (!doc.is_object()) return invalid("config file " + path + " must hold a JSON object");
  Config c;
  c.source = path;
  const std::string where = "config file " + path;
  Status s = read_endpoint_list(doc, "endpoint", where, &c.endpoints);
  if (s) s = read_endpoint_list(doc, "endpoints", where, &c.endpoints);
  if (s) s = read_endpoint_list(doc, "listen", where, &c.listen);
  if (s) s = read_communicators(doc, where, &c);
  if (s) s = read_log_level(doc, where, &c.log_level);
  if (s) s = read_security(doc, path, where, &c);
  if (s) s = read_isolation_config(&doc, where, &c.isolation);
  if (s) s = read_module_cache_config(&doc, where, &c.module_cache);
  if (s) {
    int64_t spin = c.receive_spin_us;
    s = read_config_count(&doc, "receive_spin_us", where, &spin, kMaxReceiveSpinMicros);
    c.receive_spin_us = static_cast<int>(spin);
  }
  if (s) {
    auto lp = doc.find("library_path");
    if (lp != doc.end()) {
      if (lp->is_string()) {
        c.library_path = lp->get<std::string>();
      } else if (lp->is_array()) {
        for (const auto& d : *lp) {
          if (!d.is_string()) {
            s = invalid(where + ": \"library_path\" must be a string or an array of strings");
            break;
          }
          c.library_path += (c.library_path.empty() ? "" : ":") + d.get<std::string>();
        }
      } else {
        s = invalid(where + ": \"library_path\" must be a string or an array of strings");
      }
    }
  }
  if (!s) return s;
  *out = std::move(c);
  return Status::ok();
}

Status load_config_file(const std::string& path, Config* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalid("cannot read config file " + path + ": " + std::strerror(errno));
  return parse_config_json(text.str(), path, out);
}

Status load_config_from_env_file(Config* out, bool* found) {
  *found = false;
  const std::string named = env_or_empty("GVIRTUS_CONFIG");
  if (!named.empty()) {
    // A file named explicitly must exist.
    Status s = load_config_file(named, out);
    if (!s) return invalid(s.message() + " (named by GVIRTUS_CONFIG)");
    *found = true;
    return s;
  }
  const std::string home = env_or_empty("GVIRTUS_HOME");
  if (home.empty()) return Status::ok();
  const std::string path = home + "/etc/properties.json";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return Status::ok();
  Status s = load_config_file(path, out);
  if (!s) return invalid(s.message() + " (found through GVIRTUS_HOME)");
  *found = true;
  return s;
}

Status resolve_client_endpoint(Endpoint* out, std::string* source) {
  const std::string text = env_or_empty("GVIRTUS_ENDPOINT");
  if (!text.empty()) {
    Status s = parse_endpoint(text, out);
    if (!s) return invalid("GVIRTUS_ENDPOINT=\"" + text + "\" is not an endpoint: " + s.message());
    if (source) *source = "GVIRTUS_ENDPOINT";
    return Status::ok();
  }
  Config c;
  bool found = false;
  Status s = load_config_from_env_file(&c, &found);
  if (!s) return s;
  if (!found)
    return invalid(
        "no GVirtuS endpoint configured: set GVIRTUS_ENDPOINT (e.g. tcp://gpu-host:9999), "
        "GVIRTUS_CONFIG or GVIRTUS_HOME, or start the program with `gvirtus run`");
  if (c.endpoints.empty())
    return invalid("config file " + c.source + " names no endpoint (\"endpoint\" or \"communicator\")");
  s = parse_endpoint(c.endpoints.front(), out);
  if (!s) return invalid("config file " + c.source + ": " + s.message());
  if (source) *source = c.source;
  return Status::ok();
}

Status resolve_client_security(ClientSecurity* out) {
  ClientSecurity c;
  Config file;
  bool found = false;
  Status s = load_config_from_env_file(&file, &found);
  if (!s) return s;
  auto pick = [&](const char* env, const std::string& from_file, std::string* dst) {
    std::string v = env_or_empty(env);
    *dst = !v.empty() ? v : (found ? from_file : std::string());
    return !v.empty();
  };
  if (pick("GVIRTUS_TOKEN_FILE", file.token_file, &c.token_file))
    c.token_source = "GVIRTUS_TOKEN_FILE";
  else if (!c.token_file.empty())
    c.token_source = "\"token_file\" of config file " + file.source;
  pick("GVIRTUS_TLS_CA", file.tls_ca, &c.tls_ca);
  pick("GVIRTUS_TLS_CLIENT_CERT", file.tls_client_cert, &c.tls_client_cert);
  pick("GVIRTUS_TLS_CLIENT_KEY", file.tls_client_key, &c.tls_client_key);
  *out = std::move(c);
  return Status::ok();
}

}  // namespace gvirtus
