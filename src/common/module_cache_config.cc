#include "common/module_cache_config.h"

#include <nlohmann/json.hpp>

namespace gvirtus {

Status read_module_cache_config(const void* json_doc, const std::string& where,
                                ModuleCacheSettings* out) {
  using json = nlohmann::json;
  const json& doc = *static_cast<const json*>(json_doc);
  auto d = doc.find("module_cache");
  if (d != doc.end()) {
    if (!d->is_string() || d->get<std::string>().empty())
      return invalid(where + ": \"module_cache\" must be a directory");
    out->dir = d->get<std::string>();
  }
  auto b = doc.find("module_cache_bytes");
  if (b != doc.end()) {
    if (!b->is_number_unsigned() || b->get<unsigned long long>() == 0)
      return invalid(where + ": \"module_cache_bytes\" must be a whole number > 0");
    out->max_bytes = b->get<unsigned long long>();
  }
  auto sh = doc.find("module_cache_shared");
  if (sh != doc.end()) {
    if (!sh->is_boolean())
      return invalid(where + ": \"module_cache_shared\" must be true or false");
    out->shared = sh->get<bool>();
  }
  return Status::ok();
}

}  // namespace gvirtus
