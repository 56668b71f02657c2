// config_changes: both documents flattened to "section.key" -> value text, then compared.
#include "core/config_changes.hpp"

#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "core/error.hpp"

namespace aha::config {

namespace {

void flatten(const toml::node& node, const std::string& key, std::map<std::string, std::string>& out) {
  if (const auto* table = node.as_table()) {
    for (const auto& [name, child] : *table)
      flatten(child, key.empty() ? std::string(name.str()) : key + "." + std::string(name.str()), out);
  } else if (const auto* array = node.as_array(); array && array->is_array_of_tables()) {
    for (std::size_t i = 0; i < array->size(); ++i) flatten(*array->get(i), key + "." + std::to_string(i), out);
  } else {
    std::ostringstream text;
    node.visit([&text](const auto& value) { text << value; });
    out[key] = text.str();
  }
}

std::map<std::string, std::string> flattened(std::string_view text, const char* which) {
  std::map<std::string, std::string> out;
  try {
    flatten(toml::parse(text), "", out);
  } catch (const toml::parse_error& e) {
    throw ConfigError(std::string(which) + " config is not TOML: " + std::string(e.description()));
  }
  return out;
}

}  // namespace

std::vector<ConfigChange> config_changes(std::string_view before, std::string_view after) {
  const auto old_values = flattened(before, "the earlier"), new_values = flattened(after, "the new");
  std::vector<ConfigChange> changes;
  for (const auto& [key, value] : old_values) {
    const auto now = new_values.find(key);
    if (now == new_values.end()) changes.push_back({key, value, ""});
    else if (now->second != value) changes.push_back({key, value, now->second});
  }
  for (const auto& [key, value] : new_values)
    if (!old_values.contains(key)) changes.push_back({key, "", value});
  return changes;
}

}  // namespace aha::config
