// The config file's isolation keys (isolation_config.h).
#include "common/isolation_config.h"

#include <pwd.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>
#include <set>

namespace gvirtus {
namespace {

using json = nlohmann::json;

// A count >= 0 (0 allowed: e.g. an identity that may hold no session), at most `max`.
Status read_count(const json& obj, const char* key, const std::string& where, int64_t* out,
                  unsigned long long max = 1ull << 40) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::ok();
  if (!it->is_number_unsigned() || it->get<unsigned long long>() > max)
    return invalid(where + ": \"" + key + "\" must be a whole number from 0 to " +
                   std::to_string(max));
  *out = static_cast<int64_t>(it->get<unsigned long long>());
  return Status::ok();
}

Status read_limits(const json& obj, const std::string& where, ClientLimits* out) {
  if (!obj.is_object()) return invalid(where + " must be an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k == "sessions" || k == "connections" || k == "gpu_memory" || k == "upload_bytes")
      continue;
    return invalid(where + ": unknown key \"" + k + "\" (known: \"sessions\", \"connections\", "
                   "\"gpu_memory\", \"upload_bytes\")");
  }
  Status s = read_count(obj, "sessions", where, &out->sessions);
  if (s) s = read_count(obj, "connections", where, &out->connections);
  // Bytes: up to 2^50 (1 PiB), far above any GPU, far below any overflow in the accounting.
  if (s) s = read_count(obj, "gpu_memory", where, &out->gpu_memory, 1ull << 50);
  if (s) s = read_count(obj, "upload_bytes", where, &out->upload_bytes, 1ull << 50);
  if (s && out->connections == 0)
    return invalid(where + ": \"connections\" must be at least 1 (the session's first "
                   "connection is one)");
  if (s && out->upload_bytes >= 0 && out->upload_bytes < kMinUploadBytes)
    return invalid(where + ": \"upload_bytes\" must be at least " +
                   std::to_string(kMinUploadBytes) + " (one 8 MiB copy chunk)");
  return s;
}

struct RlimitName {
  const char* name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"as", RLIMIT_AS},         {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},     {"memlock", RLIMIT_MEMLOCK},
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},     {"stack", RLIMIT_STACK},
};

}  // namespace

Status check_device_list(const std::string& text) {
  if (text.empty()) return invalid("an empty device list (give GPU ordinals such as 0,2)");
  std::set<long> seen;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(i, comma - i);
    if (item.empty() || item.size() > 4 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return invalid("device list \"" + text + "\": \"" + item +
                     "\" is not a GPU ordinal (give numbers such as 0,2)");
    long v = std::stol(item);
    if (v > 1023) return invalid("device list \"" + text + "\": " + item + " is out of range");
    if (!seen.insert(v).second)
      return invalid("device list \"" + text + "\": " + item + " appears twice");
    i = comma + 1;
  }
  return Status::ok();
}

Status read_config_count(const void* json_doc, const char* key, const std::string& where,
                         int64_t* out, unsigned long long max) {
  return read_count(*static_cast<const json*>(json_doc), key, where, out, max);
}

Status read_isolation_config(const void* json_doc, const std::string& where,
                             IsolationConfig* out) {
  const json& doc = *static_cast<const json*>(json_doc);
  auto d = doc.find("devices");
  if (d != doc.end()) {
    std::string text;
    if (d->is_string()) {
      text = d->get<std::string>();
    } else if (d->is_array()) {
      for (const json& e : *d) {
        if (!e.is_number_unsigned())
          return invalid(where + ": \"devices\" must hold GPU ordinals (numbers >= 0)");
        text += (text.empty() ? "" : ",") + std::to_string(e.get<unsigned long long>());
      }
    } else {
      return invalid(where + ": \"devices\" must be a string (\"0,2\") or an array of numbers");
    }
    Status s = check_device_list(text);
    if (!s) return invalid(where + ": \"devices\": " + s.message());
    out->devices = text;
  }
  auto u = doc.find("worker_user");
  if (u != doc.end()) {
    if (!u->is_string() || u->get<std::string>().empty())
      return invalid(where + ": \"worker_user\" must be a user name");
    out->worker_user = u->get<std::string>();
  }
  auto r = doc.find("worker_rlimits");
  if (r != doc.end()) {
    if (!r->is_object())
      return invalid(where + ": \"worker_rlimits\" must be an object such as {\"nofile\": 4096}");
    for (auto it = r->begin(); it != r->end(); ++it) {
      const RlimitName* found = nullptr;
      for (const auto& n : kRlimits)
        if (it.key() == n.name) found = &n;
      if (!found)
        return invalid(where + ": \"worker_rlimits\": unknown limit \"" + it.key() +
                       "\" (known: as, core, cpu, data, fsize, memlock, nofile, nproc, stack)");
      if (!it->is_number_unsigned())
        return invalid(where + ": \"worker_rlimits\": \"" + it.key() +
                       "\" must be a whole number >= 0");
      out->rlimits.emplace_back(found->resource, it->get<unsigned long long>());
    }
  }
  auto cm = doc.find("clear_device_memory");
  if (cm != doc.end()) {
    if (!cm->is_boolean())
      return invalid(where + ": \"clear_device_memory\" must be true or false");
    out->clear_device_memory = cm->get<bool>() ? 1 : 0;
  }
  auto dm = doc.find("dumpable");
  if (dm != doc.end()) {
    if (!dm->is_boolean()) return invalid(where + ": \"dumpable\" must be true or false");
    out->dumpable = dm->get<bool>();
  }
  auto l = doc.find("limits");
  if (l != doc.end()) {
    if (!l->is_object())
      return invalid(where + ": \"limits\" must be an object with \"default\" and \"clients\"");
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (it.key() == "default") {
        Status s = read_limits(*it, where + ": \"limits\": \"default\"", &out->default_limits);
        if (!s) return s;
      } else if (it.key() == "clients") {
        if (!it->is_object())
          return invalid(where + ": \"limits\": \"clients\" must map identities to limits");
        for (auto c = it->begin(); c != it->end(); ++c) {
          ClientLimits cl;
          Status s = read_limits(*c, where + ": \"limits\": \"clients\": \"" + c.key() + "\"",
                                 &cl);
          if (!s) return s;
          out->limits[c.key()] = cl;
        }
      } else {
        return invalid(where + ": \"limits\": unknown key \"" + it.key() +
                       "\" (known: \"default\", \"clients\")");
      }
    }
  }
  return Status::ok();
}

}  // namespace gvirtus
